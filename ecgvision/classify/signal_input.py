"""The signal classifier's input: a record's leads as printed on paper, at a fixed rate, NaN-masked.

(num_samples, 12) mV with NaN where a lead is not printed  ->  (2 * 12, CLASSIFIER_SAMPLES) float32:
12 value channels (NaN -> 0, clipped) and 12 mask channels (1 where the value is real).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import resample_poly

from ecgvision.constants import LEADS
from ecgvision.io.headers import reorder_to_header

CLASSIFIER_FS_HZ = 100.0
CLASSIFIER_DURATION_S = 10.0
CLASSIFIER_SAMPLES = int(CLASSIFIER_FS_HZ * CLASSIFIER_DURATION_S)
INPUT_CHANNELS = 2 * len(LEADS)
CLIP_MV = 5.0  # beyond any physiological amplitude; keeps digitization outliers bounded


def to_lead_order(signal_mv: np.ndarray, lead_names: list[str]) -> np.ndarray:
    """Columns reordered to LEADS (case-insensitive); missing leads are NaN."""
    out = np.full((signal_mv.shape[0], len(LEADS)), np.nan, dtype=np.float64)
    for j, i in enumerate(reorder_to_header(list(lead_names), list(LEADS))):
        if i is not None:
            out[:, j] = signal_mv[:, i]
    return out


def resample_masked(signal_mv: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Resample (N, C) with NaN to CLASSIFIER_FS_HZ; returns values (NaN->0) and a bool mask."""
    finite = np.isfinite(signal_mv)
    filled = np.where(finite, signal_mv, 0.0)
    if fs_hz != CLASSIFIER_FS_HZ:
        up, down = _ratio(fs_hz)
        filled = resample_poly(filled, up, down, axis=0)
        index = np.minimum(
            (np.arange(filled.shape[0]) * fs_hz / CLASSIFIER_FS_HZ).round().astype(int), len(finite) - 1
        )
        finite = finite[index]
    return np.where(finite, filled, 0.0), finite


def _ratio(fs_hz: float) -> tuple[int, int]:
    from fractions import Fraction

    fraction = Fraction(CLASSIFIER_FS_HZ / fs_hz).limit_denominator(1000)
    return fraction.numerator, fraction.denominator


def fit_length(array: np.ndarray, length: int = CLASSIFIER_SAMPLES) -> np.ndarray:
    """Crop or zero-pad along time (axis 0) to `length`."""
    if array.shape[0] >= length:
        return array[:length]
    pad = np.zeros((length - array.shape[0], *array.shape[1:]), dtype=array.dtype)
    return np.concatenate([array, pad], axis=0)


def to_classifier_input(signal_mv: np.ndarray, fs_hz: float, lead_names: list[str] = LEADS) -> np.ndarray:
    """(num_samples, num_leads) mV with NaN -> (INPUT_CHANNELS, CLASSIFIER_SAMPLES) float32."""
    values, mask = resample_masked(to_lead_order(np.asarray(signal_mv, dtype=np.float64), lead_names), fs_hz)
    values = fit_length(np.clip(values, -CLIP_MV, CLIP_MV))
    mask = fit_length(mask.astype(np.float64))
    return np.concatenate([values.T, mask.T], axis=0).astype(np.float32)
