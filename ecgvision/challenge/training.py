"""train_models' work: learn from a Challenge training folder (signals + labels + images).

The signal classifier learns from the folder's own signals (resampled to its rate), shown as on paper;
a held-out share of the folder tunes its thresholds. The learned trace finder learns from pages
rendered from the same signals (pixel-exact masks); it is kept only when it reaches a validation
Dice worth using, else the digitizer stays classical. The prevalence baseline is always written too,
as the named fallback when too few labelled signals exist.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ecgvision.classify.baseline import PrevalenceBaseline
from ecgvision.classify.signal_input import (
    CLASSIFIER_FS_HZ,
    CLASSIFIER_SAMPLES,
    fit_length,
    resample_masked,
    to_lead_order,
)
from ecgvision.config import load_config
from ecgvision.data.signal_arrays import SignalArrays, subset
from ecgvision.io.headers import load_header, parse_header
from ecgvision.io.records import find_records, has_signal_file, load_labels, load_signals
from ecgvision.models.weights import read_model_meta
from ecgvision.training.signal_data import labels_to_multi_hot
from ecgvision.training.signal_task import SignalTrainConfig, train_signal_classifier
from ecgvision.training.trace_data import TraceDataConfig
from ecgvision.training.trace_task import TraceTrainConfig, fit_trace_model
from ecgvision.training.trainer import METRICS_LOG

log = logging.getLogger(__name__)
TRACE_MODEL_DIR = "trace_model"


def challenge_trace_config() -> TraceTrainConfig:
    # 2000 pages in 1000 steps: ~15 min on 2 CPU cores, ~1 min on a GPU; half-resolution input as
    # the shipped model (4x faster inference)
    return TraceTrainConfig(data=TraceDataConfig(pages_per_epoch=2000, input_scale=0.5), val_pages=16)


@dataclass
class ChallengeTrainConfig:
    signal: SignalTrainConfig = field(default_factory=SignalTrainConfig)
    trace: TraceTrainConfig = field(default_factory=challenge_trace_config)
    train_trace_model: bool = True
    trace_min_dice: float = 0.85  # a trace model below this validation Dice is not kept
    min_labelled_records: int = 20  # fewer -> prevalence baseline only
    validation_share: float = 0.1
    seed: int = 0


def load_train_config(yaml_path: str | os.PathLike | None) -> ChallengeTrainConfig:
    return load_config(ChallengeTrainConfig, yaml_path)


def read_folder_arrays(data_folder: str, verbose: bool) -> SignalArrays:
    """Labelled records that have signal files, at the classifier's rate, in LEADS order."""
    ids, signals, targets = [], [], []
    for i, record in enumerate(tqdm(find_records(data_folder), desc="signals", disable=not verbose)):
        path = os.path.join(data_folder, record)
        labels = load_labels(path)
        if not labels or not has_signal_file(path):
            continue
        try:
            signal, fs = load_signals(path)
            names = parse_header(load_header(path)).signal_names
        except (OSError, ValueError) as error:
            log.warning("%s: signals unreadable (%s); skipped", record, error)
            continue
        values, mask = resample_masked(to_lead_order(signal, names), fs)
        ids.append(i)
        signals.append(fit_length(np.where(mask, values, np.nan), CLASSIFIER_SAMPLES).astype(np.float32))
        targets.append(labels_to_multi_hot(labels))
    if not ids:
        return SignalArrays(
            np.zeros(0, int),
            np.zeros((0, CLASSIFIER_SAMPLES, 12), np.float32),
            np.zeros((0, 11), np.float32),
            CLASSIFIER_FS_HZ,
        )
    return SignalArrays(np.array(ids), np.stack(signals), np.stack(targets), CLASSIFIER_FS_HZ)


def split(arrays: SignalArrays, share: float, seed: int) -> tuple[SignalArrays, SignalArrays]:
    order = np.random.default_rng(seed).permutation(len(arrays.ecg_ids))
    cut = max(1, int(round(share * len(order))))
    return subset(arrays, order[cut:]), subset(arrays, order[:cut])


def train_from_folder(
    data_folder: str, model_folder: str, config: ChallengeTrainConfig, verbose: bool
) -> dict:
    records = find_records(data_folder)
    if not records:
        raise FileNotFoundError(f"no records (.hea files) found in {data_folder}")
    folder = Path(model_folder)
    folder.mkdir(parents=True, exist_ok=True)
    baseline = PrevalenceBaseline.fit([load_labels(os.path.join(data_folder, r)) for r in records])
    baseline.save(folder)
    manifest = {
        "digitizer": "classical",
        "classifier": "prevalence-baseline",
        "trained_on": {"records": len(records), "labelled": baseline.num_records},
    }
    arrays = read_folder_arrays(data_folder, verbose)
    if len(arrays.ecg_ids) >= config.min_labelled_records:
        train, val = split(arrays, config.validation_share, config.seed)
        with tempfile.TemporaryDirectory(
            prefix="ecgvision-train-"
        ) as runs:  # checkpoints stay out of the model
            trainer = dataclasses.replace(config.signal.trainer, output_dir=runs, progress=verbose)
            signal_config = dataclasses.replace(config.signal, trainer=trainer)
            output = train_signal_classifier(signal_config, train, val, output=folder / "signal_classifier")
            # The run folder is thrown away; its loss log is kept so the training can be inspected.
            if (Path(runs) / METRICS_LOG).is_file():
                shutil.copyfile(Path(runs) / METRICS_LOG, output / METRICS_LOG)
        manifest["classifier"] = "signal-classifier"
        manifest["trained_on"]["signal_records"] = len(arrays.ecg_ids)
        if config.train_trace_model:
            manifest.update(train_trace_finder(train, val, folder, config, verbose))
    elif verbose:
        print(
            f"{len(arrays.ecg_ids)} labelled records with signals: classifier stays the prevalence baseline"
        )
    return manifest


def train_trace_finder(
    train: SignalArrays, val: SignalArrays, folder: Path, config: ChallengeTrainConfig, verbose: bool
) -> dict:
    """Train the trace finder on pages rendered from the folder's signals; keep it in
    `folder/trace_model` only when its validation Dice reaches `trace_min_dice`. Returns manifest keys."""
    with tempfile.TemporaryDirectory(prefix="ecgvision-trace-") as runs:
        trainer = dataclasses.replace(config.trace.trainer, output_dir=runs, progress=verbose)
        trace_config = dataclasses.replace(config.trace, trainer=trainer)
        # masked (unrecorded) samples are drawn as a flat line: the page still teaches what trace looks like
        trained = fit_trace_model(
            trace_config,
            np.nan_to_num(train.signals_mv),
            np.nan_to_num(val.signals_mv),
            train.fs_hz,
            Path(runs) / TRACE_MODEL_DIR,
        )
        dice = float(read_model_meta(trained)["extra"].get("validation", {}).get("dice", 0.0))
        # an older trace model in the folder would be loaded in place of the one just judged
        shutil.rmtree(folder / TRACE_MODEL_DIR, ignore_errors=True)
        if dice < config.trace_min_dice:
            note = f"not kept: validation Dice {dice:.3f} < {config.trace_min_dice}"
            log.warning("trace model %s; the digitizer stays classical", note)
            return {"trace_model": note}
        shutil.copytree(trained, folder / TRACE_MODEL_DIR)
    return {"digitizer": "learned-trace+classical", "trace_model": f"validation Dice {dice:.3f}"}
