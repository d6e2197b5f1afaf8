"""Per-class decision thresholds tuned on validation probabilities to maximise each class's F."""

from __future__ import annotations

import os

import numpy as np

from ecgvision.constants import CLASSES
from ecgvision.models.weights import read_model_meta

DEFAULT_THRESHOLD = 0.5


def f_measure(truth: np.ndarray, predicted: np.ndarray) -> float:
    """2TP / (2TP + FP + FN) for boolean vectors; NaN when the class never occurs nor is predicted."""
    tp = np.sum(truth & predicted)
    denominator = 2 * tp + np.sum(~truth & predicted) + np.sum(truth & ~predicted)
    return float(2 * tp / denominator) if denominator else float("nan")


def best_threshold(probabilities: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(threshold, F) maximising F for one class; midpoints between sorted scores are the candidates.

    With no positive example the threshold stays at DEFAULT_THRESHOLD (nothing to learn from).
    """
    truth = truth.astype(bool)
    if not truth.any():
        return DEFAULT_THRESHOLD, float("nan")
    scores = np.unique(probabilities)
    candidates = np.concatenate([[scores[0] - 1e-6], (scores[:-1] + scores[1:]) / 2, [scores[-1] + 1e-6]])
    fs = np.array([f_measure(truth, probabilities > t) for t in candidates])
    best = int(np.nanargmax(fs))
    return float(candidates[best]), float(fs[best])


def tune_thresholds(probabilities: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """probabilities, targets: (R, num_classes) -> (num_classes,) thresholds."""
    return np.array(
        [best_threshold(probabilities[:, k], targets[:, k])[0] for k in range(probabilities.shape[1])]
    )


def per_class_f(probabilities: np.ndarray, truth: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(R, C) probabilities, (R, C) bool truth, (C,) thresholds -> (C,) F per class (NaN: class absent)."""
    return np.array(
        [f_measure(truth[:, k], probabilities[:, k] > thresholds[k]) for k in range(truth.shape[1])]
    )


def decide(
    probabilities: np.ndarray, thresholds: np.ndarray, classes: tuple[str, ...] = CLASSES
) -> list[str]:
    """Classes whose probability exceeds its threshold, in the classes' order; none when any
    probability is NaN (nothing was readable, so nothing is guessed)."""
    if not np.isfinite(probabilities).all():
        return []
    return [c for c, p, t in zip(classes, probabilities, thresholds, strict=True) if p > t]


def stored_thresholds(folder: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """(thresholds (num_classes,), the weights' `extra` metadata) of a classifier's weights folder."""
    extra = read_model_meta(folder).get("extra", {})
    if extra.get("classes") != list(CLASSES) or "thresholds" not in extra:
        raise ValueError(f"{folder}: weights lack thresholds for the 11 Challenge classes")
    return np.asarray(extra["thresholds"], dtype=np.float64), extra
