"""Trace evidence: a per-pixel probability that a pixel is ink of the ECG trace.

The classical rule below (dark and unsaturated, grid suppressed, lead labels removed) is the
stand-in for a learned segmentation model. Anything with the `TraceModel` call signature can replace
it: the vectorizer only ever sees the (H, W) float map in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np


class TraceModel(Protocol):
    """A learned replacement for `trace_probability`: RGB uint8 (H, W, 3) -> (H, W) float in [0, 1]."""

    def __call__(self, image_rgb: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class TraceEvidenceConfig:
    dark_value_full: float = 80.0  # max(R,G,B) at or below which an unsaturated pixel is surely ink
    dark_value_none: float = 150.0  # ... at or above which it is surely not
    saturation_full: float = 0.25  # (max-min)/max at or below which the colour counts as grey/black
    saturation_none: float = 0.5  # coloured grid lines (red, pink, purple) sit above this
    saturation_free_value: float = 90.0  # darker than any grid line: ink even if tinted (trace over grid)
    adaptive_dark: bool = True  # tighten the darkness ramp when the page's darkest ink is much darker
    label_max_width_mm: float = (
        10.0  # isolated blobs (1 px breaks bridged) narrower AND shorter than this are text
    )
    label_max_height_mm: float = 4.5


def _ramp(values: np.ndarray, full: float, none: float) -> np.ndarray:
    """1 at `full`, 0 at `none`, linear between (works for full < none)."""
    return np.clip((none - values) / (none - full), 0.0, 1.0)


def darkness_limits(
    value: np.ndarray, grey_mask: np.ndarray, config: TraceEvidenceConfig
) -> tuple[float, float]:
    """(full, none) darkness thresholds, adapted to the page.

    A grey printed grid (b/w scans) can be nearly as dark as a faint trace; when the page's ink is
    clearly darker than the fixed `dark_value_none`, the ramp is moved to sit between the darkest grey
    pixels (the trace) and the bulk of grey pixels (paper and grid).
    """
    full, none = config.dark_value_full, config.dark_value_none
    if not config.adaptive_dark:
        return full, none
    grey_values = value[grey_mask]
    if grey_values.size < 100:
        return full, none
    # a grey grid's major lines cover ~5 % of the page, the trace ~1-2 %: keep the ramp below them
    grid_level = float(np.percentile(grey_values, 4.0))
    if grid_level < none + 10.0:
        none = max(full + 10.0, grid_level - 15.0)
    ink_level = float(np.percentile(grey_values, 0.2))
    if ink_level < full - 20.0:
        return full, none
    # a faint trace (ink lighter than `full`): ramp from the ink level to halfway to the paper
    paper_level = float(np.median(grey_values))
    return ink_level + 5.0, max(ink_level + 15.0, 0.5 * (ink_level + paper_level))


def colour_trace_probability(image_rgb: np.ndarray, config: TraceEvidenceConfig) -> np.ndarray:
    """(H, W) float32 in [0, 1]: dark, unsaturated pixels; no text removal.

    Only pixels darker than the darkness cut-off are evaluated in float (a few % of the page).
    """
    red, green, blue = cv2.split(np.ascontiguousarray(image_rgb))
    value = cv2.max(cv2.max(red, green), blue)
    minimum = cv2.min(cv2.min(red, green), blue)
    sample = (slice(None, None, 4), slice(None, None, 4))  # thresholds from a 1/16 subsample (speed)
    v_s, m_s = value[sample].astype(np.float32), minimum[sample].astype(np.float32)
    grey_s = (v_s - m_s) / np.maximum(v_s, 1.0) < 0.5 * (config.saturation_full + config.saturation_none)
    full, none = darkness_limits(v_s, grey_s, config)
    prob = np.zeros(value.shape, dtype=np.float32)
    ys, xs = np.nonzero(value < none)
    v = value[ys, xs].astype(np.float32)
    saturation = (v - minimum[ys, xs]) / np.maximum(v, 1.0)
    grey = _ramp(saturation, config.saturation_full, config.saturation_none)
    # anti-aliased trace pixels over a grid line take the grid's tint; their darkness still says ink
    grey[v <= config.saturation_free_value] = 1.0
    prob[ys, xs] = _ramp(v, full, none) * grey
    return prob


def blobs_to_remove(stats: np.ndarray, shape: tuple[int, int], px_per_mm: float, config: TraceEvidenceConfig):
    """Bool per component: letters and specks (small both ways), and page frames / ruler lines."""
    height, width = shape
    w = stats[:, cv2.CC_STAT_WIDTH]
    h = stats[:, cv2.CC_STAT_HEIGHT]
    small = (w < config.label_max_width_mm * px_per_mm) & (h < config.label_max_height_mm * px_per_mm)
    frame = (w > 0.9 * width) & (h > 0.9 * height)
    thin_line = ((w > 0.5 * width) & (h < px_per_mm)) | ((h > 0.5 * height) & (w < px_per_mm))
    drop = small | frame | thin_line
    drop[0] = False  # background
    return drop


def remove_text_blobs(prob: np.ndarray, px_per_mm: float, config: TraceEvidenceConfig) -> np.ndarray:
    """Zero the connected ink blobs that cannot be trace: letters, digits, specks, page frames.

    A trace segment is one long connected stroke; lead labels and the printed text are separate
    letters. Tall thin blobs (isolated QRS spikes) and long blobs survive.
    """
    mask = (prob > 0.5).astype(np.uint8)
    # bridge 1-2 px breaks first: a noisy or JPEG-compressed trace falls apart into letter-sized pieces
    bridged = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(bridged, connectivity=8)
    drop = blobs_to_remove(stats, prob.shape, px_per_mm, config)
    if not drop.any():
        return prob
    ys, xs = np.nonzero(mask)
    hit = drop[labels[ys, xs]]
    removed = np.zeros(prob.shape, dtype=np.uint8)
    removed[ys[hit], xs[hit]] = 1
    # the faint anti-aliased rim of a dropped blob goes too, but never pixels of a kept blob
    rim = cv2.dilate(removed, np.ones((3, 3), np.uint8)).astype(bool) & (mask == 0)
    out = prob.copy()
    out[removed.astype(bool) | rim] = 0.0
    return out


def trace_probability(
    image_rgb: np.ndarray, px_per_mm: float, config: TraceEvidenceConfig | None = None, trace_model=None
) -> np.ndarray:
    """(H, W) float32 in [0, 1]: probability that each pixel belongs to the ECG trace.

    `trace_model` (a `TraceModel`) replaces the colour rule when given; text removal still applies,
    so a model need not learn to ignore lead labels.
    """
    config = config or TraceEvidenceConfig()
    if trace_model is not None:
        prob = np.clip(np.asarray(trace_model(image_rgb), dtype=np.float32), 0.0, 1.0)
        if prob.shape != image_rgb.shape[:2]:
            raise ValueError(f"trace model returned shape {prob.shape}, expected {image_rgb.shape[:2]}")
    else:
        prob = colour_trace_probability(image_rgb, config)
    return remove_text_blobs(prob, px_per_mm, config)
