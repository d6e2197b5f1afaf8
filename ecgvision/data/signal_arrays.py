"""PTB-XL folds as in-memory arrays (signals + multi-hot labels), cached as .npz for fast reuse."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ecgvision.constants import CLASSES, LEADS
from ecgvision.data.archives import cache_dir, ecg_id_of, extract_fold
from ecgvision.data.ptbxl import PtbxlLabeler
from ecgvision.io.atomic import atomic_path
from ecgvision.io.records import load_signals


@dataclass
class SignalArrays:
    ecg_ids: np.ndarray  # (R,) int
    signals_mv: np.ndarray  # (R, N, 12) float32, LEADS order
    targets: np.ndarray  # (R, 11) float32 multi-hot, CLASSES order
    fs_hz: float


def subset(arrays: SignalArrays, index: np.ndarray) -> SignalArrays:
    return SignalArrays(arrays.ecg_ids[index], arrays.signals_mv[index], arrays.targets[index], arrays.fs_hz)


def _read_fold(fold: int, labeler: PtbxlLabeler, verbose: bool) -> SignalArrays:
    records = extract_fold(fold, cache_dir() / "ptbxl")
    ids, signals, targets = [], [], []
    for record in tqdm(records, desc=f"fold {fold}", disable=not verbose):
        ecg_id = ecg_id_of(record.name)
        if ecg_id not in labeler:
            continue
        signal, fs = load_signals(record, list(LEADS))
        labels = labeler.labels(ecg_id)
        ids.append(ecg_id)
        signals.append(signal.astype(np.float32))
        targets.append(np.array([c in labels for c in CLASSES], dtype=np.float32))
    return SignalArrays(np.array(ids), np.stack(signals), np.stack(targets), fs)


def load_fold_arrays(fold: int, labeler: PtbxlLabeler | None = None, verbose: bool = False) -> SignalArrays:
    """One fold's signals and labels; read from the shared archive once, then from the cache."""
    path = cache_dir() / f"ptbxl_fold{fold}_arrays.npz"
    if path.is_file():
        data = np.load(path)
        return SignalArrays(data["ecg_ids"], data["signals_mv"], data["targets"], float(data["fs_hz"]))
    arrays = _read_fold(fold, labeler or PtbxlLabeler(), verbose)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(
                f,
                ecg_ids=arrays.ecg_ids,
                signals_mv=arrays.signals_mv,
                targets=arrays.targets,
                fs_hz=arrays.fs_hz,
            )
    return arrays


def load_folds(folds: tuple[int, ...], verbose: bool = False) -> SignalArrays:
    labeler = (
        None if all((cache_dir() / f"ptbxl_fold{f}_arrays.npz").is_file() for f in folds) else PtbxlLabeler()
    )
    parts = [load_fold_arrays(f, labeler, verbose) for f in folds]
    return SignalArrays(
        np.concatenate([p.ecg_ids for p in parts]),
        np.concatenate([p.signals_mv for p in parts]),
        np.concatenate([p.targets for p in parts]),
        parts[0].fs_hz,
    )
