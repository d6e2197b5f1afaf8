"""The Challenge's three entry points, built from the package's stages.

Model folder layout (all safetensors + JSON; `manifest.json` names what is inside):
  signal_classifier/   SignalNet weights + config.json (with per-class thresholds)
  trace_model/         learned trace-probability network (optional; classical trace evidence without it)
  prevalence_baseline.json   fallback classifier when no signal classifier could be trained
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgvision.challenge.digitizer import RecordDigitizer
from ecgvision.challenge.training import (
    TRACE_MODEL_DIR,
    ChallengeTrainConfig,
    load_train_config,
    train_from_folder,
)
from ecgvision.classify.baseline import PrevalenceBaseline
from ecgvision.classify.signal_classifier import SignalClassifier
from ecgvision.constants import MAX_RECORD_DURATION_S
from ecgvision.io.atomic import atomic_write_text
from ecgvision.io.headers import load_header, parse_header
from ecgvision.io.images import ImageReadError, load_images

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
SIGNAL_CLASSIFIER_DIR = "signal_classifier"


@dataclass
class Classifier:
    """Signal classifier when trained, else the named prevalence baseline."""

    signal_classifier: SignalClassifier | None = None
    baseline: PrevalenceBaseline | None = None

    @property
    def kind(self) -> str:
        return "signal-classifier" if self.signal_classifier else "prevalence-baseline"

    def labels(self, signal_mv: np.ndarray | None, fs_hz: float, lead_names: list[str]) -> list[str]:
        if self.signal_classifier is None:
            return self.baseline.predict() if self.baseline else []
        if signal_mv is None:
            return []
        return self.signal_classifier.labels(
            self.signal_classifier.probabilities(signal_mv, fs_hz, lead_names)
        )


def train_models(data_folder: str, model_folder: str, verbose: bool = False) -> None:
    """Fit everything from a Challenge training folder into `model_folder`.

    Settings: configs/challenge.yaml semantics via `ECGVISION_TRAIN_CONFIG` (a YAML path), else defaults.
    """
    config: ChallengeTrainConfig = load_train_config(os.environ.get("ECGVISION_TRAIN_CONFIG"))
    manifest = train_from_folder(data_folder, model_folder, config, verbose)
    atomic_write_text(Path(model_folder) / MANIFEST, json.dumps(manifest, indent=2))


def load_trace_model_if_present(folder: Path):
    if not (folder / TRACE_MODEL_DIR).is_dir():
        return None
    from ecgvision.models.trace_model import load_trace_model

    return load_trace_model(folder / TRACE_MODEL_DIR)


def load_models(model_folder: str, verbose: bool = False):
    """(digitization_model, classification_model) ready to run; loaded once."""
    folder = Path(model_folder)
    if not (folder / MANIFEST).is_file():
        raise FileNotFoundError(f"no {MANIFEST} in model folder {model_folder}: train first")
    digitizer = RecordDigitizer(trace_model=load_trace_model_if_present(folder))
    if (folder / SIGNAL_CLASSIFIER_DIR).is_dir():
        classifier = Classifier(signal_classifier=SignalClassifier.load(folder / SIGNAL_CLASSIFIER_DIR))
    else:
        classifier = Classifier(baseline=PrevalenceBaseline.load(folder))
    if verbose:
        print(f"Loaded digitizer={digitizer.kind}, classifier={classifier.kind}")
    return digitizer, classifier


def run_models(record: str, digitization_model, classification_model, verbose: bool = False):
    """(signals (num_samples, num_signals) mV with NaN, labels list) for one record."""
    info = parse_header(load_header(record))
    if info.duration_s > MAX_RECORD_DURATION_S:  # a header claiming hours would exhaust memory
        raise ValueError(f"record of {info.duration_s:.0f} s is over {MAX_RECORD_DURATION_S:.0f} s")
    try:
        images = load_images(record)
    except ImageReadError as error:
        log.warning("%s: %s; signals left NaN, no labels", record, error)
        images = []
    if not images:
        log.warning("%s: no image (none listed or none readable); signals NaN, no labels", record)
        empty = np.full((info.num_samples, info.num_signals), np.nan)
        return (empty if digitization_model is not None else None), ([] if classification_model else None)
    signals = (
        digitization_model.digitize(images, info.fs_hz, info.num_samples, info.signal_names)
        if digitization_model is not None
        else None
    )
    labels = None
    if classification_model is not None:
        labels = classification_model.labels(signals, info.fs_hz, info.signal_names)
    return signals, labels
