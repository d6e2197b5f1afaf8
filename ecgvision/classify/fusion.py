"""Fusing image-head and signal-classifier probabilities per class, with thresholds re-tuned.

fused_k = w_k * p_image_k + (1 - w_k) * p_signal_k, where w is per class ('per_class'), one number
('global') or 0.5 ('average'). A record whose digitization failed (any signal probability NaN)
falls back to the image head alone; a record without image probabilities falls back to the signal.
Weights are chosen on a grid to maximise F on validation records, with the thresholds tuned for
each candidate weight; the chosen weights' thresholds are stored with them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import numpy as np

from ecgvision.classify.thresholds import decide, per_class_f, tune_thresholds
from ecgvision.constants import CLASSES
from ecgvision.io.atomic import atomic_write_text

FUSION_MODES = ("average", "global", "per_class")
WEIGHT_GRID = np.linspace(0.0, 1.0, 11)  # image weight candidates; 0 = signal only, 1 = image only


@dataclass
class Fusion:
    mode: str  # one of FUSION_MODES
    image_weights: list[float]  # (num_classes,) weight of the image probability per class
    thresholds: list[float]  # (num_classes,) cut on the fused probability, tuned on validation
    classes: tuple[str, ...] = CLASSES

    def probabilities(self, image_p: np.ndarray, signal_p: np.ndarray) -> np.ndarray:
        return fuse(image_p, signal_p, np.asarray(self.image_weights))

    def labels(self, image_p: np.ndarray, signal_p: np.ndarray) -> list[str]:
        """One record's (num_classes,) probabilities -> classes over threshold; none if both are NaN."""
        fused = self.probabilities(image_p[None], signal_p[None])[0]
        return decide(fused, np.asarray(self.thresholds), self.classes)

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_text(path, json.dumps({**asdict(self), "classes": list(self.classes)}, indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Fusion:
        data = json.loads(open(path).read())
        if data.get("classes") != list(CLASSES) or data.get("mode") not in FUSION_MODES:
            raise ValueError(f"{path}: not a fusion file for the 11 Challenge classes")
        return cls(data["mode"], data["image_weights"], data["thresholds"], tuple(data["classes"]))


def fuse(image_p: np.ndarray, signal_p: np.ndarray, image_weights: np.ndarray | float) -> np.ndarray:
    """(R, C) image and signal probabilities -> (R, C) fused; rows with NaN fall back to the other."""
    image_p, signal_p = np.asarray(image_p, float), np.asarray(signal_p, float)
    w = np.broadcast_to(np.asarray(image_weights, float), image_p.shape[-1:])
    fused = w * image_p + (1 - w) * signal_p
    signal_failed = ~np.isfinite(signal_p).all(axis=-1)
    image_failed = ~np.isfinite(image_p).all(axis=-1)
    fused[signal_failed] = image_p[signal_failed]
    fused[image_failed & ~signal_failed] = signal_p[image_failed & ~signal_failed]
    return fused


def class_f(probabilities: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(R, C) probabilities, (R, C) bool truth -> (C,) best F per class (thresholds tuned in-sample)."""
    return per_class_f(probabilities, truth, tune_thresholds(probabilities, truth))


def fit_fusion(
    image_p: np.ndarray, signal_p: np.ndarray, targets: np.ndarray, mode: str = "per_class"
) -> Fusion:
    """Choose image weights on WEIGHT_GRID for `mode`, then tune the fused thresholds.

    image_p, signal_p: (R, C) probabilities (signal rows may be NaN); targets: (R, C) multi-hot.
    Ties go to the weight nearest 0.5 (the plain average), the least committal choice.
    """
    if mode not in FUSION_MODES:
        raise ValueError(f"fusion mode must be one of {FUSION_MODES}, got {mode!r}")
    truth = np.asarray(targets).astype(bool)
    if mode == "average":
        weights = np.full(truth.shape[1], 0.5)
    else:
        grid = WEIGHT_GRID[np.argsort(np.abs(WEIGHT_GRID - 0.5), kind="stable")]  # ties -> near 0.5
        scores = np.stack([class_f(fuse(image_p, signal_p, w), truth) for w in grid])  # (G, C)
        scores = np.nan_to_num(scores, nan=-1.0)
        if mode == "global":
            weights = np.full(truth.shape[1], grid[int(np.argmax(scores.mean(axis=1)))])
        else:
            weights = grid[np.argmax(scores, axis=0)]
    thresholds = tune_thresholds(fuse(image_p, signal_p, weights), truth)
    return Fusion(mode, [round(float(w), 3) for w in weights], [float(t) for t in thresholds])
