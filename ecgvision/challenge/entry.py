"""The Challenge's three entry points, built from the package's stages.

train_models -> folder of weights/configs; load_models -> ready objects (once); run_models -> per record.
Until the learned stages land, the digitizer is the NaN baseline (scores 0 dB) and the classifier is
the label-prevalence baseline; both are named as such in the model folder's manifest.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ecgvision.classify.baseline import PrevalenceBaseline
from ecgvision.io.atomic import atomic_write_text
from ecgvision.io.headers import load_header, parse_header
from ecgvision.io.images import ImageReadError, load_images
from ecgvision.io.records import find_records, load_labels

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"


@dataclass
class NanDigitizer:
    """Baseline digitizer: every sample NaN (the Challenge scores an all-NaN lead 0 dB)."""

    kind: str = "nan-baseline"

    def digitize(
        self, images: list[np.ndarray], fs_hz: float, num_samples: int, lead_names: list[str]
    ) -> np.ndarray:
        return np.full((num_samples, len(lead_names)), np.nan)


def train_models(data_folder: str, model_folder: str, verbose: bool = False) -> None:
    """Fit everything from a Challenge training folder into `model_folder`."""
    records = find_records(data_folder)
    if not records:
        raise FileNotFoundError(f"no records (.hea files) found in {data_folder}")
    label_lists = [
        load_labels(os.path.join(data_folder, r)) for r in tqdm(records, disable=not verbose, desc="labels")
    ]
    Path(model_folder).mkdir(parents=True, exist_ok=True)
    classifier = PrevalenceBaseline.fit(label_lists)
    classifier.save(model_folder)
    manifest = {
        "digitizer": NanDigitizer().kind,
        "classifier": "prevalence-baseline",
        "trained_on": {"records": len(records), "labelled": classifier.num_records},
    }
    atomic_write_text(Path(model_folder) / MANIFEST, json.dumps(manifest, indent=2))
    if verbose:
        print(f"Trained on {len(records)} records ({classifier.num_records} labelled).")


def load_models(model_folder: str, verbose: bool = False):
    """(digitization_model, classification_model) ready to run."""
    manifest_path = Path(model_folder) / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"no {MANIFEST} in model folder {model_folder}: train first")
    manifest = json.loads(manifest_path.read_text())
    digitizer = NanDigitizer()
    classifier = PrevalenceBaseline.load(model_folder) if manifest.get("classifier") else None
    if verbose:
        print(f"Loaded digitizer={digitizer.kind}, classifier={manifest.get('classifier')}")
    return digitizer, classifier


def run_models(record: str, digitization_model, classification_model, verbose: bool = False):
    """(signals (num_samples, num_signals) mV with NaN, labels list) for one record."""
    info = parse_header(load_header(record))
    try:
        images = load_images(record)
    except ImageReadError as error:
        log.warning("%s: %s; signals left NaN, no labels", record, error)
        images = []
    signals = None
    if digitization_model is not None:
        if images:
            signals = digitization_model.digitize(images, info.fs_hz, info.num_samples, info.signal_names)
        else:
            signals = np.full((info.num_samples, info.num_signals), np.nan)
    labels = None
    if classification_model is not None:
        labels = classification_model.predict() if images else []
    return signals, labels
