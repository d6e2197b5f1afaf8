"""Grid pitch: pixels per millimetre along x and y from the periodic ECG-paper grid.

The grid's column (row) profile is periodic with the 1 mm minor pitch; its spectral peak, refined
on the continuous DTFT, gives the pitch to a small fraction of a percent. When no grid is found (b/w
scans, plain paper) the caller falls back on the calibration pulse or on the page size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.optimize import minimize_scalar

from ecgvision.constants import MAJOR_GRID_MM, MINOR_GRID_MM, MM_PER_INCH

LETTER_WIDTH_IN = 11.0  # the Challenge pages are US letter, landscape


@dataclass(frozen=True)
class GridConfig:
    search_ratio: float = 1.6  # minor pitch searched within [prior / r, prior * r] of the page-size prior
    min_peak_ratio: float = 8.0  # peak power / median power in the search band to accept a grid
    # |px_per_mm_x / px_per_mm_y - 1| above this: periodicities of something else (trace, text), no
    # grid. A photo foreshortens one axis (fold-9 photo 6: 7.6 %, 0.03 threw its grid away for a
    # letter-width guess: -2.1 dB); each axis keeps its own pitch.
    max_xy_mismatch: float = 0.1


@dataclass(frozen=True)
class GridEstimate:
    px_per_mm_x: float  # NaN when not found
    px_per_mm_y: float
    strength_x: float  # spectral peak / band median (unitless); 0 when not found
    strength_y: float
    source: str  # "grid" | "page-width" | "none"
    reason: str = ""
    prior_px_per_mm: float = math.nan  # the page-width prior (the fallback when the grid is misread)

    @property
    def found(self) -> bool:
        return self.source == "grid"


def grid_evidence(image_rgb: np.ndarray, trace_prob: np.ndarray | None = None) -> np.ndarray:
    """(H, W) float32 in [0, 1]: how much each pixel differs from white paper, trace excluded.

    255 - min(R, G, B) responds to red, pink, brown and grey grid lines alike; the trace is removed
    so that the profiles carry the grid's periodicity only.
    """
    darkest = cv2.min(cv2.min(image_rgb[..., 0], image_rgb[..., 1]), image_rgb[..., 2])  # min(axis=2), faster
    evidence = (255.0 - darkest.astype(np.float32)) / 255.0
    if trace_prob is not None:
        evidence *= 1.0 - trace_prob
    return evidence


def page_width_prior_px_per_mm(image_width_px: int) -> float:
    """px/mm if the image spans a landscape letter page (2200 px -> 200 dpi -> 7.874 px/mm)."""
    return image_width_px / (LETTER_WIDTH_IN * MM_PER_INCH)


def _dtft_power(signal: np.ndarray, frequency: float) -> float:
    n = np.arange(signal.size)
    return float(np.abs(np.dot(signal, np.exp(-2j * math.pi * frequency * n))) ** 2)


def prepare_profile(profile: np.ndarray, max_period_px: float) -> np.ndarray:
    """High-pass (remove slow shading) and Hann-window a 1-D profile."""
    window = max(3, int(round(2 * max_period_px)) | 1)
    detrended = profile - uniform_filter1d(profile.astype(np.float64), window, mode="nearest")
    return detrended * np.hanning(detrended.size)


def estimate_period(profile: np.ndarray, min_period_px: float, max_period_px: float) -> tuple[float, float]:
    """(period px, strength) of the strongest periodicity of `profile` within the period range.

    Strength = peak power / median power of the band; the period is refined by maximising the
    DTFT power around the zero-padded FFT peak (precision ~1e-4 of the period on a 2000 px profile).
    """
    signal = prepare_profile(profile, max_period_px)
    nfft = 1 << int(math.ceil(math.log2(signal.size * 8)))
    power = np.abs(np.fft.rfft(signal, nfft)) ** 2
    freqs = np.fft.rfftfreq(nfft)
    band = (freqs >= 1.0 / max_period_px) & (freqs <= 1.0 / min_period_px)
    if band.sum() < 3:
        return math.nan, 0.0
    index = np.flatnonzero(band)[np.argmax(power[band])]
    strength = float(power[index] / max(np.median(power[band]), 1e-12))
    step = 1.0 / nfft
    result = minimize_scalar(
        lambda f: -_dtft_power(signal, f),
        bounds=(freqs[index] - step, freqs[index] + step),
        method="bounded",
        options={"xatol": 1e-9},
    )
    return 1.0 / float(result.x), strength


def resolve_minor_period(period_px: float, prior_px_per_mm: float) -> float:
    """The minor (1 mm) period: the found period, or a fifth of it if it is the 5 mm major pitch."""
    candidates = [period_px, period_px * MINOR_GRID_MM / MAJOR_GRID_MM]
    return min(candidates, key=lambda p: abs(math.log(p / (prior_px_per_mm * MINOR_GRID_MM))))


def find_grid(
    image_rgb: np.ndarray, trace_prob: np.ndarray | None = None, config: GridConfig | None = None
) -> GridEstimate:
    """Minor-grid pitch in px/mm along x and y; falls back on the page-width prior when no grid is seen."""
    config = config or GridConfig()
    height, width = image_rgb.shape[:2]
    prior = page_width_prior_px_per_mm(width)
    evidence = grid_evidence(image_rgb, trace_prob)
    low, high = prior / config.search_ratio, prior * config.search_ratio
    period_x, strength_x = estimate_period(evidence.mean(axis=0), low, high)
    period_y, strength_y = estimate_period(evidence.mean(axis=1), low, high)
    if min(strength_x, strength_y) < config.min_peak_ratio or not np.isfinite([period_x, period_y]).all():
        return GridEstimate(
            prior,
            prior,
            strength_x,
            strength_y,
            "page-width",
            f"no grid periodicity (peak ratios {strength_x:.1f}, {strength_y:.1f}); assumed letter-width page",
            prior,
        )
    ppm_x = resolve_minor_period(period_x, prior) / MINOR_GRID_MM
    ppm_y = resolve_minor_period(period_y, prior) / MINOR_GRID_MM
    if abs(ppm_x / ppm_y - 1.0) > config.max_xy_mismatch:
        # a real grid is square; periodicities that disagree come from something else (trace, text)
        reason = (
            f"x/y periods disagree ({ppm_x:.3f} vs {ppm_y:.3f} px/mm): no grid; assumed letter-width page"
        )
        return GridEstimate(prior, prior, strength_x, strength_y, "page-width", reason, prior)
    return GridEstimate(ppm_x, ppm_y, strength_x, strength_y, "grid", "", prior)
