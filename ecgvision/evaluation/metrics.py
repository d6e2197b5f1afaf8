"""Challenge 2024 metrics as pure functions (section 4 of docs/challenge-2024.md).

Signals are 1-D float arrays in mV, x = reference, y = estimate. NaN (or inf) marks a sample that
is not there: an unplotted reference sample, or an estimate sample the digitizer left out.
Every digitization metric pads the shorter signal with NaN and then works on
    R = finite(x)        (the samples that are scored)
    S = R & finite(y)    (the samples that are scored and estimated)
Only the SNR (and SNR median) multiply by the coverage |S| / |R|; the unranked extras (KS, ASCI,
weighted absolute difference) are computed over S without it, as the official code does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.signal import fftconvolve, filtfilt

NUM_QUANT_LEVELS = 256  # amplitude levels of the alignment images
ALIGN_SMOOTH_SIGMA = 0.5  # Gaussian sigma (pixels) applied to the alignment images
MAX_SHIFT_S = 0.5  # a horizontal shift larger than round(0.5 fs) samples is not applied
MAX_SHIFT_MV = 1.0  # a vertical shift larger than 1 mV is not applied
ASCI_BETA = 0.05  # ASCI tolerance, as a fraction of std(x)
WAD_WINDOW_S = 0.1  # moving-average window of the weighted absolute difference


# --- shared helpers -------------------------------------------------------------------------------


def pad_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 copies of x and y, the shorter padded at the end with NaN to the longer's length."""
    x = np.asarray(x, dtype=np.float64).ravel().copy()
    y = np.asarray(y, dtype=np.float64).ravel().copy()
    n = max(x.size, y.size)
    return _pad_to(x, n), _pad_to(y, n)


def _pad_to(v: np.ndarray, n: int) -> np.ndarray:
    return v if v.size == n else np.concatenate([v, np.full(n - v.size, np.nan)])


def scored_masks(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, S) boolean masks for equal-length x, y: R = finite(x), S = R & finite(y)."""
    reference = np.isfinite(x)
    return reference, reference & np.isfinite(y)


def compute_coverage(x: np.ndarray, y: np.ndarray) -> float:
    """|S| / |R|: the fraction of scored reference samples that the estimate covers (NaN if R is empty)."""
    x, y = pad_pair(x, y)
    reference, both = scored_masks(x, y)
    return float(both.sum() / reference.sum()) if reference.any() else float("nan")


# --- SNR ------------------------------------------------------------------------------------------


def compute_snr(x: np.ndarray, y: np.ndarray, noise_median: bool = False) -> float:
    """Signal-to-noise ratio in dB, scaled by the coverage |S| / |R|.

    Ps = mean(x[S]^2), Pn = mean((x[S] - y[S])^2) (the median instead of the mean for Pn with
    `noise_median`, the "SNR median" extra). SNR = 10 log10(Ps / Pn) when both are > 0; 0 dB when S
    is empty but R is not (a lead left all-NaN); NaN otherwise (a perfect match, a silent
    reference, or nothing to score). The result is multiplied by |S| / |R|.
    """
    x, y = pad_pair(x, y)
    reference, both = scored_masks(x, y)
    if not reference.any():
        return float("nan")
    if not both.any():
        return 0.0
    noise = (x[both] - y[both]) ** 2
    p_signal = float(np.mean(x[both] ** 2))
    p_noise = float(np.median(noise) if noise_median else np.mean(noise))
    if not (p_signal > 0 and p_noise > 0):
        return float("nan")
    return float(10.0 * np.log10(p_signal / p_noise) * both.sum() / reference.sum())


# --- alignment ------------------------------------------------------------------------------------


@dataclass
class Alignment:
    """Result of `align_signals`.

    signal_mv: the estimate to score (shifted when `applied`, else the input unchanged), 1-D;
        one |shift_samples| longer than the input when the shift prepended NaNs.
    shift_samples: dh, the horizontal shift found (samples; > 0 means y lagged x).
    shift_mv: dv, the vertical shift found (mV; > 0 means y sat above x).
    applied: whether |dh| <= round(0.5 fs) and |dv| <= 1 mV, i.e. whether the shift was kept.
    """

    signal_mv: np.ndarray
    shift_samples: int = 0
    shift_mv: float = 0.0
    applied: bool = False


def quantize(v: np.ndarray, low: float, high: float) -> np.ndarray:
    """Q(v) = clip(round(255 (v - a) / (b - a) + 1), 1, 256) as ints (finite v only).

    When a == b (both signals one constant) every level is 1: there is no vertical information.
    """
    if high <= low:
        return np.ones(v.shape, dtype=np.int64)
    levels = np.round((NUM_QUANT_LEVELS - 1) * (v - low) / (high - low) + 1)
    return np.clip(levels, 1, NUM_QUANT_LEVELS).astype(np.int64)


def draw_signal_image(v: np.ndarray, low: float, high: float, num_columns: int) -> np.ndarray:
    """Binary image (256, num_columns): 1 at (Q(v[t]) - 1, t) for each finite sample t."""
    image = np.zeros((NUM_QUANT_LEVELS, num_columns))
    columns = np.flatnonzero(np.isfinite(v))
    image[quantize(v[columns], low, high) - 1, columns] = 1.0
    return image


def correlate_images(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Full 2-D cross-correlation: FFT convolution of `reference` with the 2-D flipped `estimate`."""
    return fftconvolve(reference, estimate[::-1, ::-1], mode="full")


def first_argmax(image: np.ndarray) -> tuple[int, int]:
    """(row, column) of the first maximum in C order (np.argmax on the flattened array)."""
    row, column = np.unravel_index(np.argmax(image), image.shape)
    return int(row), int(column)


def find_shift(x: np.ndarray, y: np.ndarray) -> tuple[int, float]:
    """(dh samples, dv mV) that best align y onto x, by 2-D correlation of their drawn images.

    a, b = min and max over the finite samples of both signals; T = the longer length. Each
    signal is drawn as a 256 x T binary image, smoothed (Gaussian, sigma 0.5 px); the peak of the
    reference auto-correlation minus the peak of the cross-correlation gives the lags.
    """
    finite = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)]])
    low, high = float(finite.min()), float(finite.max())
    num_columns = max(x.size, y.size)
    image_x = gaussian_filter(draw_signal_image(x, low, high, num_columns), ALIGN_SMOOTH_SIGMA)
    image_y = gaussian_filter(draw_signal_image(y, low, high, num_columns), ALIGN_SMOOTH_SIGMA)
    row_cross, col_cross = first_argmax(correlate_images(image_x, image_y))
    row_auto, col_auto = first_argmax(correlate_images(image_x, image_x))
    shift_mv = (row_auto - row_cross) * (high - low) / (NUM_QUANT_LEVELS - 1)
    return col_auto - col_cross, float(shift_mv)


def shift_signal(y: np.ndarray, shift_samples: int, shift_mv: float) -> np.ndarray:
    """Shift y by dh samples and dv mV: dh < 0 prepends |dh| NaNs; dh >= 0 drops the first dh
    samples and appends dh NaNs; then subtracts dv."""
    if shift_samples < 0:
        shifted = np.concatenate([np.full(-shift_samples, np.nan), y])
    else:
        shifted = np.concatenate([y[shift_samples:], np.full(min(shift_samples, y.size), np.nan)])
    return shifted - shift_mv


def max_shift_samples(fs_hz: float) -> int:
    """round(0.5 fs) (numpy rounding, half to even, as the official code)."""
    return int(np.round(MAX_SHIFT_S * fs_hz))


def align_signals(x: np.ndarray, y: np.ndarray, fs_hz: float) -> Alignment:
    """Align estimate y onto reference x (both 1-D, mV) as the Challenge scorer does.

    Only when both have finite samples. The shift is kept only if |dh| <= round(0.5 fs) samples
    and |dv| <= 1 mV; otherwise y is returned unchanged (with the rejected shift reported).
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if not (np.isfinite(x).any() and np.isfinite(y).any()):
        return Alignment(y.copy())
    shift_samples, shift_mv = find_shift(x, y)
    applied = abs(shift_samples) <= max_shift_samples(fs_hz) and abs(shift_mv) <= MAX_SHIFT_MV
    signal = shift_signal(y, shift_samples, shift_mv) if applied else y.copy()
    return Alignment(signal, shift_samples, shift_mv, applied)


# --- unranked extras ------------------------------------------------------------------------------


def _scored_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x[S], y[S] after NaN padding."""
    x, y = pad_pair(x, y)
    _, both = scored_masks(x, y)
    return x[both], y[both]


def ks_metric(x: np.ndarray, y: np.ndarray) -> float:
    """Kolmogorov-Smirnov-like goodness of fit in [0, 1] (1 = same shape), over S.

    F_v = cumsum(|v[S]|) / sum(|v[S]|) (left unnormalised when the sum is 0);
    KS = 1 - max_t |F_x(t) - F_y(t)|. Invariant to a positive scale of y. NaN when S is empty.
    """
    xs, ys = _scored_pair(x, y)
    if xs.size == 0:
        return float("nan")
    cdf_x, cdf_y = np.cumsum(np.abs(xs)), np.cumsum(np.abs(ys))
    if cdf_x[-1] > 0:
        cdf_x = cdf_x / cdf_x[-1]
    if cdf_y[-1] > 0:
        cdf_y = cdf_y / cdf_y[-1]
    return float(1.0 - np.max(np.abs(cdf_x - cdf_y)))


def asci_metric(x: np.ndarray, y: np.ndarray, beta: float = ASCI_BETA) -> float:
    """Adaptive signed correlation index in [-1, 1] (1 = every sample within tolerance), over S.

    ASCI = mean_t s(t), s(t) = +1 where |x(t) - y(t)| <= beta * std(x[S]) (population std),
    -1 elsewhere; beta = 0.05. NaN when S is empty.
    """
    if not 0 < beta <= 1:
        raise ValueError(f"ASCI beta must be in (0, 1], got {beta}")
    xs, ys = _scored_pair(x, y)
    if xs.size == 0:
        return float("nan")
    within = np.abs(xs - ys) <= beta * np.std(xs)
    return float(np.mean(np.where(within, 1.0, -1.0)))


def moving_average_zero_phase(v: np.ndarray, window: int) -> np.ndarray:
    """Zero-phase moving average: a boxcar of `window` samples (gain 1) run forward and backward.

    scipy.signal.filtfilt(ones(window), window, v, method="gust"), as the official code: the
    Gustafsson edge handling needs no padding, so short segments work. Run twice, the effective
    kernel is a triangle of 2 * window - 1 samples.
    """
    window = max(int(window), 1)
    if v.size < 2:
        return v.astype(np.float64, copy=True)
    return filtfilt(np.ones(window), float(window), v, method="gust")


def weighted_absolute_difference(x: np.ndarray, y: np.ndarray, fs_hz: float) -> float:
    """Weighted mean absolute difference in mV (0 = perfect), over S.

    m = zero-phase moving average of x[S] with a window of round(0.1 fs) samples (the scored
    samples joined end to end, as the official code filters them); w = 1 - 0.5 m / max(m), which
    down-weights samples where x runs high (QRS peaks) by up to half; WAD = sum(|x - y| w) / sum(w).
    A constant offset c gives WAD = |c|. When max(m) == 0 the weights are all 1. NaN when S is empty.
    """
    xs, ys = _scored_pair(x, y)
    if xs.size == 0:
        return float("nan")
    smooth = moving_average_zero_phase(xs, round(WAD_WINDOW_S * fs_hz))
    peak = float(np.max(smooth))
    weights = 1.0 - 0.5 * smooth / peak if peak != 0 else np.ones_like(xs)
    return float(np.sum(np.abs(xs - ys) * weights) / np.sum(weights))


# --- classification -------------------------------------------------------------------------------


def _clean_labels(labels: list[str] | None) -> list[str]:
    return [label.strip() for label in (labels or []) if label and label.strip()]


def compute_f_measure(
    reference_labels: list[list[str]], predicted_labels: list[list[str] | None]
) -> tuple[float, list[str], list[float]]:
    """Macro F-measure over the reference classes: (macro_f, classes, per_class_f).

    Records whose reference has no non-empty label are skipped. classes = sorted union of the
    remaining reference labels; predicted labels outside them are ignored. Per class
    F = 2TP / (2TP + FP + FN), NaN when that denominator is 0; macro_f = nanmean over classes.
    macro_f is NaN (per-class F still reported) when no counted record has any predicted label
    (any non-empty string, even one outside the classes, as the official scorer counts it).
    """
    if len(reference_labels) != len(predicted_labels):
        raise ValueError(
            f"{len(reference_labels)} reference label lists vs {len(predicted_labels)} predicted"
        )
    pairs = [
        (set(_clean_labels(ref)), set(_clean_labels(pred)))
        for ref, pred in zip(reference_labels, predicted_labels, strict=True)
        if _clean_labels(ref)
    ]
    classes = sorted(set().union(*(ref for ref, _ in pairs)))
    per_class = [_class_f_measure(name, pairs) for name in classes]
    any_prediction = any(pred for _, pred in pairs)
    finite = [f for f in per_class if np.isfinite(f)]
    macro = float(np.mean(finite)) if any_prediction and finite else float("nan")
    return macro, classes, per_class


def _class_f_measure(name: str, pairs: list[tuple[set[str], set[str]]]) -> float:
    tp = sum(name in ref and name in pred for ref, pred in pairs)
    fp = sum(name not in ref and name in pred for ref, pred in pairs)
    fn = sum(name in ref and name not in pred for ref, pred in pairs)
    denominator = 2 * tp + fp + fn
    return 2.0 * tp / denominator if denominator > 0 else float("nan")
