"""Page layout: trace rows, calibration pulses, column separators, and which lead is printed where.

Coordinates are pixels of the deskewed image, pixel centres at integers, x right, y down.
The rows are the peaks of the horizontal projection of trace evidence (a baseline is long and
flat); a calibration pulse is the 1 mV x 0.2 s box at a row's left end; a separator is the short
thick bar where a row switches lead. The layout (3x4+II, 3x4+3, 6x2, 12x1) follows from the
number of rows and where the separators are.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_closing, gaussian_filter1d
from scipy.signal import find_peaks

from ecgvision.layouts import LAYOUTS, Layout


@dataclass(frozen=True)
class LayoutConfig:
    ink_threshold: float = 0.5  # trace probability above which a pixel counts as ink
    row_smooth_mm: float = 1.0  # Gaussian sigma of the row projection
    min_row_gap_mm: float = 8.0
    min_row_height_ratio: float = 0.2  # a row's projection peak vs the strongest row
    min_row_extent_frac: float = 0.3  # a row's inked columns (+-3 mm of its baseline) / page width
    # a row lies at least this far inside the image's top and bottom edges: nearer is the sheet's
    # edge or the desk beyond it along the frame (fold-9 photo 173: a 6th "row" at y = 3 px)
    min_edge_distance_mm: float = 3.0
    pulse_search_mm: float = 14.0  # the pulse box is sought this far right of a row's first ink ...
    pulse_lead_in_mm: float = 10.0  # ... plus this, when that ink is a sheet edge left of the pulse
    pulse_edge_min_mm: float = 3.5  # a pulse edge is a vertical stroke at least this tall
    pulse_edge_gap_mm: float = 1.5  # gaps up to this long in a pulse edge are bridged
    pulse_top_max_wobble_mm: float = 0.3  # median deviation of the top stroke from straight
    pulse_top_min_coverage: float = 0.9  # fraction of the columns between the edges the top stroke inks
    pulse_foot_slack_mm: float = 3.0  # the row's projection peak may lie this far below the pulse foot
    # the pulse is sought between this far above the row's projection peak (a 20 mm/mV pulse) and
    # this far below it: the row's whole band takes in the next row's pulse, which a sheared page
    # (a photo) moves sideways, so its edge was taken for this pulse's falling edge
    pulse_max_height_mm: float = 24.0
    pulse_max_depth_mm: float = 6.0
    separator_min_mm: float = 2.5  # a separator bar is at least this tall ...
    separator_min_width_px: int = 3  # ... and this many columns wide
    separator_search_mm: float = 1.5  # ... within this distance of its expected position


@dataclass(frozen=True)
class Row:
    index: int
    baseline_y_px: float  # projection peak; refined to the pulse foot by calibration
    band_top_px: int  # the vectorizer searches [band_top, band_bottom) for this row's trace
    band_bottom_px: int
    first_ink_x_px: float
    last_ink_x_px: float


@dataclass(frozen=True)
class Pulse:
    """Calibration pulse of one row (1 mV tall, 0.2 s wide at the nominal settings)."""

    rise_x_px: float
    fall_x_px: float  # the trace's first sample sits here
    top_y_px: float  # centre of the pulse's top stroke
    foot_y_px: float  # lowest ink of the pulse's edges (the baseline plus half a line width)

    @property
    def width_px(self) -> float:
        return self.fall_x_px - self.rise_x_px

    @property
    def height_px(self) -> float:
        return self.foot_y_px - self.top_y_px


@dataclass(frozen=True)
class PageLayout:
    layout: Layout | None  # None when no known layout fits
    rows: list[Row]
    pulses: list[Pulse | None]  # one per row
    separator_x_px: list[list[float]]  # per row, the separators found
    reason: str = ""


def ink_mask(prob: np.ndarray, config: LayoutConfig) -> np.ndarray:
    return prob > config.ink_threshold


def row_extent_fraction(mask: np.ndarray, y: int, half_px: int) -> float:
    band = mask[max(0, y - half_px) : y + half_px + 1]
    return float(band.any(axis=0).mean())


def find_rows(prob: np.ndarray, px_per_mm: float, config: LayoutConfig | None = None) -> list[Row]:
    """Rows of trace, top to bottom, from peaks of the smoothed horizontal ink projection."""
    config = config or LayoutConfig()
    mask = ink_mask(prob, config)
    profile = gaussian_filter1d(prob.sum(axis=1).astype(np.float64), config.row_smooth_mm * px_per_mm)
    peaks, _ = find_peaks(
        profile,
        distance=max(1, int(config.min_row_gap_mm * px_per_mm)),
        height=config.min_row_height_ratio * profile.max() if profile.max() > 0 else 1.0,
    )
    half = int(round(3 * px_per_mm))
    edge = config.min_edge_distance_mm * px_per_mm
    peaks = [
        p
        for p in peaks
        if edge <= p <= prob.shape[0] - 1 - edge
        and row_extent_fraction(mask, p, half) >= config.min_row_extent_frac
    ]
    return [_make_row(i, peaks, mask, px_per_mm) for i in range(len(peaks))]


def _make_row(i: int, peaks: list[int], mask: np.ndarray, px_per_mm: float) -> Row:
    """Row i with a search band reaching the neighbouring baselines (traces may overlap rows)."""
    height = mask.shape[0]
    pitch = np.diff(peaks).mean() if len(peaks) > 1 else 30 * px_per_mm
    top = peaks[i - 1] if i > 0 else max(0, int(peaks[i] - pitch))
    bottom = peaks[i + 1] if i + 1 < len(peaks) else min(height, int(peaks[i] + pitch))
    half = int(round(3 * px_per_mm))
    columns = np.flatnonzero(mask[max(0, peaks[i] - half) : peaks[i] + half + 1].any(axis=0))
    first, last = (float(columns[0]), float(columns[-1])) if columns.size else (math.nan, math.nan)
    return Row(i, float(peaks[i]), int(top), int(bottom), first, last)


def index_runs(columns: np.ndarray) -> list[np.ndarray]:
    """Split sorted column indices into runs of adjacent columns."""
    if columns.size == 0:
        return []
    return np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)


def find_pulse(
    prob: np.ndarray, row: Row, px_per_mm: float, config: LayoutConfig | None = None
) -> Pulse | None:
    """The calibration pulse at the row's left end: two tall vertical strokes joined by a top stroke."""
    config = config or LayoutConfig()
    if not math.isfinite(row.first_ink_x_px):
        return None
    x_start = int(row.first_ink_x_px) - 2
    y_top = max(row.band_top_px, int(row.baseline_y_px - config.pulse_max_height_mm * px_per_mm))
    y_bottom = min(
        row.band_bottom_px, int(math.ceil(row.baseline_y_px + config.pulse_max_depth_mm * px_per_mm))
    )
    # a sheet edge or border line left of the pulse may be the row's first ink: the search reaches
    # past it, and each pair of neighbouring tall strokes is tried in turn
    reach_mm = config.pulse_search_mm + config.pulse_lead_in_mm
    x_offset = max(0, x_start)
    x_stop = int(row.first_ink_x_px + reach_mm * px_per_mm)
    band = ink_mask(prob[y_top:y_bottom, x_offset:x_stop], config)
    tall = band.sum(axis=0) >= config.pulse_edge_min_mm * px_per_mm
    edges = index_runs(np.flatnonzero(tall))
    # soft (coverage) column sums, one column either side: the edge's centre to a fraction of a pixel
    soft = prob[y_top:y_bottom, x_offset:x_stop].sum(axis=0).astype(np.float64)
    for rise_edge, fall_edge in itertools.pairwise(edges):
        found = _pulse_between(
            prob, band, soft, rise_edge, fall_edge, (x_offset, y_top), row, px_per_mm, config
        )
        if found is not None:
            return found
    return None


def _pulse_between(prob, band, soft, rise_edge, fall_edge, origin, row: Row, px_per_mm: float, config):
    """The pulse whose rising and falling edges are these two tall strokes (column indices of `band`,
    whose top-left pixel is `origin` (x, y) in `prob`), or None when no straight top stroke joins
    them at least `pulse_edge_min_mm` above the row's zero line."""
    x_offset, y_top = origin
    y_bottom = y_top + band.shape[0]
    rise, fall = (_edge_centre(soft, e) + x_offset for e in (rise_edge, fall_edge))
    inner = prob[y_top:y_bottom, x_offset + rise_edge[-1] + 2 : x_offset + fall_edge[0] - 1]
    inked_columns = (inner > config.ink_threshold).any(axis=0)
    inked = np.flatnonzero(inked_columns)
    # noise, JPEG or a crossing grid line may break the top stroke: short gaps are bridged
    gap = max(1, int(round(config.pulse_edge_gap_mm * px_per_mm)))
    covered = binary_closing(np.pad(inked_columns, gap), np.ones(2 * gap + 1, bool))[gap:-gap]
    if inner.shape[1] < 2 or covered.sum() < config.pulse_top_min_coverage * inner.shape[1]:
        return None
    tops = np.array([_first_run_centroid(inner[:, j], config.ink_threshold) for j in inked])
    top = float(np.median(tops))
    if np.median(np.abs(tops - top)) > config.pulse_top_max_wobble_mm * px_per_mm:
        return None  # no straight top stroke: trace or text, not a pulse
    # the rising edge ends at the baseline (the falling one runs on into the first QRS); noise and
    # JPEG break a faint edge into pieces, so short gaps are bridged before following it down
    rise_column = binary_closing(band[:, rise_edge].any(axis=1), np.ones(2 * gap + 1, bool))
    # the edge may begin a few px below the top stroke's centre (a rounded corner on a grid line)
    foot = _run_end(rise_column, int(round(top)), reach=gap)
    if foot - top < config.pulse_edge_min_mm * px_per_mm:
        return None
    baseline = row.baseline_y_px - y_top
    if (
        not top + config.pulse_edge_min_mm * px_per_mm
        <= baseline
        <= foot + config.pulse_foot_slack_mm * px_per_mm
    ):
        return None  # a pulse stands on its row's zero line: this one is the next row's (or text)
    return Pulse(rise, fall, top + y_top, float(foot) + y_top)


def _edge_centre(column_mass: np.ndarray, cluster: np.ndarray) -> float:
    """Mass-weighted x of a vertical stroke's columns plus their anti-aliased neighbours."""
    lo, hi = max(0, cluster[0] - 1), min(column_mass.size, cluster[-1] + 2)
    return float(np.average(np.arange(lo, hi), weights=column_mass[lo:hi]))


def _first_run_centroid(column: np.ndarray, threshold: float) -> float:
    """Probability-weighted centre of the first ink run of a column (with its anti-aliased rim)."""
    start = int(np.argmax(column > threshold))
    end = _run_end(column > threshold, start)
    lo, hi = max(0, start - 1), min(column.size, end + 2)
    weights = column[lo:hi].astype(np.float64)
    return float(np.dot(np.arange(lo, hi), weights) / weights.sum())


def _run_end(column: np.ndarray, start: int, reach: int = 0) -> int:
    """Last index of the run of True that contains `start`, or starts at most `reach` after it
    (`start` - 1 if there is none)."""
    ahead = np.flatnonzero(column[start : start + reach + 1])
    start += int(ahead[0]) if ahead.size else 0
    trues = np.flatnonzero(~column[start:])
    return start + (int(trues[0]) - 1 if trues.size else column.size - start - 1)


def find_separators(
    prob: np.ndarray,
    row: Row,
    expected_x_px: list[float],
    px_per_mm: float,
    config: LayoutConfig | None = None,
) -> list[float]:
    """Centres of the separator bars found near the expected x positions (missing ones are skipped)."""
    config = config or LayoutConfig()
    reach = config.separator_search_mm * px_per_mm
    found = []
    for x in expected_x_px:
        bars = bar_candidates(prob, row, x - reach, x + reach, px_per_mm, config)
        if bars:
            found.append(max(bars, key=lambda bar: bar[1])[0])
    return found


def bar_candidates(
    prob: np.ndarray, row: Row, x_lo: float, x_hi: float, px_per_mm: float, config: LayoutConfig
) -> list[tuple[float, int]]:
    """(centre x, width px) of every bar-like ink between columns x_lo and x_hi: runs of columns, at
    least `separator_min_width_px` wide, inked over `separator_min_mm` near the row's baseline."""
    half_bar = int(round(config.separator_min_mm * px_per_mm / 2))
    y0, y1 = int(row.baseline_y_px) - 3 * half_bar, int(row.baseline_y_px) + 3 * half_bar
    lo, hi = max(0, int(round(x_lo))), max(0, int(round(x_hi)) + 1)
    window = ink_mask(prob[max(0, y0) : y1, lo:hi], config)
    tall = window.sum(axis=0) >= config.separator_min_mm * px_per_mm
    return [
        (float(c.mean()) + lo, int(c.size))
        for c in index_runs(np.flatnonzero(tall))
        if c.size >= config.separator_min_width_px
    ]


def choose_layout(num_rows: int, rows_with_quarter_bars: int, rows_with_half_bars: int) -> Layout | None:
    """The standard layout that fits the row count and the separators seen."""
    if num_rows == 4:
        return LAYOUTS["3x4+II"]
    if num_rows == 6:
        return LAYOUTS["6x2"] if rows_with_half_bars > rows_with_quarter_bars else LAYOUTS["3x4+3"]
    if num_rows == 12:
        return LAYOUTS["12x1"]
    if num_rows == 3:
        return Layout("3x4", LAYOUTS["3x4+II"].grid)
    return None
