"""Vectorize: trace probability map -> one sub-pixel polyline per row -> samples per lead.

Per pixel column the ink of the band splits into vertical runs (runs joined by fainter ink are one:
a blurred steep stroke dips under the threshold every few pixels); a Viterbi pass picks one run per
column so that consecutive runs touch (a drawn trace is continuous), which keeps a row on its own
trace where a neighbouring row's large deflection reaches into the band, and that explain the most
ink (a tall stroke rather than a grid line the trace left). Each chosen run gives a
sub-pixel top and bottom edge (anti-aliased coverage); half a line width inside them lie the extreme
values the signal takes in that column, ordered by the trace's local direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_banded

from ecgvision.digitize.layout import Row, index_runs


@dataclass(frozen=True)
class VectorizeConfig:
    ink_threshold: float = 0.5
    merge_gap_px: float = 1.5  # runs of one column closer than this are one stroke (a grid line cut it)
    # ... and so are runs joined by ink this faint or darker (hysteresis): a blurred steep stroke on
    # a photo or a noisy page dips under `ink_threshold` every few pixels; 0 disables it
    ink_low_threshold: float = 0.25
    baseline_prior_px: float = 0.02  # cost per px of distance from the row baseline (breaks ties only)
    # a chosen run earns this much per px of its height: the path explains the ink it passes, so a
    # QRS stroke beats the thin grid line that its flat trace lay on (b/w pages)
    ink_reward_px: float = 0.12
    gap_cost: float = 1.0  # cost per px of vertical gap between runs of consecutive columns
    skip_cost: float = 6.0  # cost per inked column the path skips (holding its last position)
    thin_run_mm: float = 0.25  # runs thinner than this (specks where a grid line meets the trace rim) ...
    thin_run_cost: float = 2.0  # ... cost this much per px of missing height
    steep_ratio: float = 3.0  # a column whose ink is this many line widths tall is steep
    steep_run_max_ratio: float = 1.2  # a steep stroke crosses a pixel row in at most this many line widths
    detour_jump_mm: float = 2.0  # the path leaving its trace by more than this ...
    detour_max_mm: float = 1.0  # ... and coming back within this is a detour over a gap in the ink
    apex_clear_px: float = 0.5  # steep points this close to a spike's sub-pixel apex x are dropped
    # the samples are the knots of a piecewise-linear fit (`fit_at_knots`), each held to the sampled
    # polyline with this weight per px of knot spacing (0.5 at 100 Hz and 200 dpi; chosen on fold-9
    # records 1-30: 0.05 clean / photo 26.06 / 15.10 dB, 0.25 26.77 / 15.46, 0.75 26.66 / 15.28)
    knot_hold_per_px: float = 0.25
    knot_robust_px: float = 1.0  # points farther than this from the fit count less (Huber)
    knot_iterations: int = 2
    knot_min_spacing_px: float = 1.0
    max_fill_gap_mm: float = 3.0  # interior gaps up to this wide are interpolated, longer ones stay NaN
    # a stretch this long past the midpoint to a neighbouring row's zero line is that row's trace (a
    # QRS reaching that far is a spike of a few columns); 0 disables the check
    # ... but at least this far from its own zero line (an edge row has no neighbour)
    foreign_min_mm: float = 2.5
    foreign_min_offset_mm: float = 12.0


@dataclass(frozen=True)
class RowTrace:
    """The chosen ink run per pixel column of one row (NaN where the column has no ink)."""

    x_px: np.ndarray  # (n,) column x
    top_px: np.ndarray  # (n,) sub-pixel top edge of the ink
    bottom_px: np.ndarray  # (n,) sub-pixel bottom edge
    line_width_px: float  # median run height: the stroke width on flat stretches

    @property
    def centre_px(self) -> np.ndarray:
        return 0.5 * (self.top_px + self.bottom_px)


def low_run_labels(prob: np.ndarray, low_threshold: float) -> np.ndarray:
    """(h, w) int: per pixel, a label shared by the pixels of one vertical run above `low_threshold`."""
    low = prob > low_threshold
    starts = np.zeros(low.shape, dtype=np.int32)
    starts[0] = low[0]
    starts[1:] = low[1:] & ~low[:-1]
    return np.cumsum(starts.T.ravel()).reshape(low.shape[1], low.shape[0]).T


def column_runs(
    prob: np.ndarray, threshold: float, merge_gap_px: float = 0.0, low_threshold: float = 0.0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per column of `prob` (h, w): (tops, bottoms) of its ink runs as sub-pixel edges.

    An edge is placed inside the boundary pixel by its coverage: top = first - 0.5 - p(first - 1).
    Runs of a column closer than `merge_gap_px`, or joined by pixels above `low_threshold`, merge.
    """
    columns, tops, bottoms = all_runs(prob, threshold, merge_gap_px, low_threshold)
    split = np.searchsorted(columns, np.arange(1, prob.shape[1]))
    return list(zip(np.split(tops, split), np.split(bottoms, split), strict=True))


def all_runs(
    prob: np.ndarray, threshold: float, merge_gap_px: float = 0.0, low_threshold: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(column, top, bottom) of every run of `column_runs`, ordered by column, then top."""
    ink = prob > threshold
    padded = np.zeros((ink.shape[0] + 2, ink.shape[1]), dtype=np.int8)
    padded[1:-1] = ink
    change = np.diff(padded, axis=0)  # +1 at a run's first row, -1 one past its last
    start_x, start_y = np.nonzero(change.T == 1)
    end_x, end_y = np.nonzero(change.T == -1)
    end_y = end_y - 1
    rim = np.pad(prob, ((1, 1), (0, 0)))  # rim[y + 1] = prob[y], zero outside
    tops = start_y - 0.5 - np.minimum(rim[start_y, start_x], threshold)
    bottoms = end_y + 0.5 + np.minimum(rim[end_y + 2, end_x], threshold)
    hysteresis = 0 < low_threshold < threshold
    if (merge_gap_px > 0 or hysteresis) and start_x.size:
        new = np.ones(start_x.size, dtype=bool)
        apart = tops[1:] - bottoms[:-1] > merge_gap_px
        if hysteresis:
            label = low_run_labels(prob, low_threshold)[start_y, start_x]
            apart &= label[1:] != label[:-1]
        new[1:] = (start_x[1:] != start_x[:-1]) | apart
        last = np.append(np.flatnonzero(new)[1:] - 1, start_x.size - 1)
        start_x, tops, bottoms = start_x[new], tops[new], bottoms[last]
    return start_x, tops, bottoms


def viterbi_runs(
    runs: list[tuple[np.ndarray, np.ndarray]], baseline: float, thin_px: float, config: VectorizeConfig
) -> list[int]:
    """Index of the chosen run per column (-1: no ink, or skipped) minimising gaps + baseline prior
    - the ink the chosen runs cover.

    Besides its runs every inked column has a skip state (cost `skip_cost` per column) that holds
    the last position: where the row's own faint trace breaks up, the path waits instead of being
    forced onto a neighbouring row's stroke (or text) and back.
    A column holds a handful of runs, so the pass runs on Python floats: numpy's per-call overhead
    on such tiny arrays made it the digitizer's slowest step.
    """
    choice = [-1] * len(runs)
    back: list[tuple[list[int], int] | None] = [None] * len(runs)
    cost: list[float] = []  # per state of the previous inked column: its runs, then its skip state
    prev_top: list[float] = []
    prev_bottom: list[float] = []
    prev_col = -1
    for j, (tops_array, bottoms_array) in enumerate(runs):
        if tops_array.size == 0:
            continue
        tops, bottoms = tops_array.tolist(), bottoms_array.tolist()
        prior = [
            config.baseline_prior_px * abs(0.5 * (t + b) - baseline)
            + config.thin_run_cost * max(0.0, thin_px - (b - t))
            - config.ink_reward_px * (b - t)
            for t, b in zip(tops, bottoms, strict=True)
        ]
        if prev_col < 0:
            cost = [*prior, math.inf]  # no position to hold yet
            prev_top, prev_bottom = [*tops, math.nan], [*bottoms, math.nan]
            prev_col = j
            continue
        held = min(range(len(cost)), key=cost.__getitem__)  # the skip state holds the best position
        came_from, new_cost = [], []
        for t, b, p in zip(tops, bottoms, prior, strict=True):
            best, best_state = math.inf, 0
            for state, (c, pt, pb) in enumerate(zip(cost, prev_top, prev_bottom, strict=True)):
                if math.isnan(pt):
                    continue
                total = c + config.gap_cost * max(0.0, t - pb, pt - b)
                if total < best:
                    best, best_state = total, state
            came_from.append(best_state)
            new_cost.append(best + p)
        cost = [*new_cost, cost[held] + config.skip_cost]
        back[j] = ([*came_from, held], prev_col)
        prev_top = [*tops, prev_top[held]]
        prev_bottom = [*bottoms, prev_bottom[held]]
        prev_col = j
    if prev_col < 0:
        return choice
    index, col = min(range(len(cost)), key=cost.__getitem__), prev_col
    while col >= 0:
        is_skip = index == runs[col][0].size
        choice[col] = -1 if is_skip else index
        if back[col] is None:
            break
        index, col = back[col][0][index], back[col][1]
    return choice


def track_row(
    prob: np.ndarray,
    row: Row,
    x_start: int,
    x_stop: int,
    baseline_y_px: float,
    px_per_mm: float,
    config: VectorizeConfig | None = None,
) -> RowTrace:
    """The row's trace between columns [x_start, x_stop) inside its band."""
    config = config or VectorizeConfig()
    x_start, x_stop = max(0, x_start), min(prob.shape[1], x_stop)
    band = prob[row.band_top_px : row.band_bottom_px, x_start:x_stop]
    runs = column_runs(band, config.ink_threshold, config.merge_gap_px, config.ink_low_threshold)
    heights = np.concatenate([b - t for t, b in runs]) if runs else np.empty(0)
    # a thin-drawn trace (1 px) must not pay the speck penalty: cap it at 3/4 of the typical run
    thin_px = min(config.thin_run_mm * px_per_mm, 0.75 * float(np.median(heights))) if heights.size else 0.0
    choice = viterbi_runs(runs, baseline_y_px - row.band_top_px, thin_px, config)
    top = np.full(len(runs), np.nan)
    bottom = np.full(len(runs), np.nan)
    for j, k in enumerate(choice):
        if k >= 0:
            top[j], bottom[j] = runs[j][0][k], runs[j][1][k]
    drop_detours(top, bottom, config.detour_jump_mm * px_per_mm, int(config.detour_max_mm * px_per_mm))
    if config.foreign_min_mm > 0:
        floor = config.foreign_min_offset_mm * px_per_mm
        up = max(0.5 * (baseline_y_px - row.band_top_px), floor)
        down = max(0.5 * (row.band_bottom_px - baseline_y_px), floor)
        midpoints = [baseline_y_px - up - row.band_top_px, baseline_y_px + down - row.band_top_px]
        drop_foreign_stretches(top, bottom, midpoints, config.foreign_min_mm * px_per_mm)
    heights = bottom - top
    line_width = float(np.nanpercentile(heights, 25)) if np.isfinite(heights).any() else math.nan
    offset = row.band_top_px
    return RowTrace(np.arange(x_start, x_stop, dtype=np.float64), top + offset, bottom + offset, line_width)


def drop_detours(top: np.ndarray, bottom: np.ndarray, jump_px: float, max_columns: int) -> None:
    """NaN (in place) the short excursions where the path had to visit another trace.

    The Viterbi pass must choose a run in every inked column; where the row's own thin trace has a
    gap, it visits a neighbouring row's trace for a column or two and comes back.
    """
    valid = np.flatnonzero(np.isfinite(top))
    if valid.size < 3:
        return
    gap = np.maximum(top[valid[1:]] - bottom[valid[:-1]], top[valid[:-1]] - bottom[valid[1:]])
    jumps = np.flatnonzero(gap > jump_px)
    for leave, back in zip(jumps[:-1], jumps[1:], strict=True):
        if valid[back] - valid[leave + 1] < max_columns:
            top[valid[leave + 1] : valid[back] + 1] = np.nan
            bottom[valid[leave + 1] : valid[back] + 1] = np.nan
    # at the row's ends the path cannot come back: a short last (first) stretch after a jump is
    # another row's trace reaching into the band where this row's thin trace fades out
    if jumps.size and valid[-1] - valid[jumps[-1] + 1] < max_columns:
        top[valid[jumps[-1] + 1] :] = bottom[valid[jumps[-1] + 1] :] = np.nan
    if jumps.size and valid[jumps[0]] - valid[0] < max_columns:
        top[: valid[jumps[0]] + 1] = bottom[: valid[jumps[0]] + 1] = np.nan


def drop_foreign_stretches(
    top: np.ndarray, bottom: np.ndarray, midpoints: list[float], min_columns: float
) -> None:
    """NaN (in place) the stretches where at least `min_columns` inked columns (inkless ones between
    them do not end a stretch) lie wholly above the upper or below the lower midpoint (band
    coordinates): the path followed a neighbouring row's trace where its own faded (fold-9 photo 74:
    40 columns of the next row's trace read as V2, -10.9 dB)."""
    inkless = ~np.isfinite(top)
    for outside in (bottom < midpoints[0], top > midpoints[1]):
        columns = np.flatnonzero(outside | inkless)
        for stretch in index_runs(columns):
            if outside[stretch].sum() >= min_columns:
                top[stretch] = bottom[stretch] = np.nan


def blank_columns(trace: RowTrace, x_ranges: list[tuple[float, float]]) -> RowTrace:
    """A copy with the columns inside any [lo, hi] x range set to NaN (separator bars, pulse edges)."""
    top, bottom = trace.top_px.copy(), trace.bottom_px.copy()
    for lo, hi in x_ranges:
        inside = (trace.x_px >= lo) & (trace.x_px <= hi)
        top[inside] = bottom[inside] = np.nan
    return RowTrace(trace.x_px, top, bottom, trace.line_width_px)


def column_extremes(trace: RowTrace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(upper, lower, centre) y per column: the span of signal values the column's ink holds."""
    half = 0.5 * trace.line_width_px
    upper = trace.top_px + half
    lower = trace.bottom_px - half
    collapsed = upper > lower
    upper[collapsed] = lower[collapsed] = trace.centre_px[collapsed]
    return upper, lower, 0.5 * (upper + lower)


def classify_columns(trace: RowTrace, steep_ratio: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(peak, trough, steep) bool per column.

    A peak (trough) column holds a local top (bottom) of the ink, plateaus included; a steep column
    is a tall monotone one, whose signal is read row by row instead (`steep_stroke_points`).
    """
    upper, lower, _ = column_extremes(trace)
    tall = (lower - upper) > steep_ratio * trace.line_width_px
    peak = tall & (upper <= _neighbour(upper, -1)) & (upper <= _neighbour(upper, +1))
    trough = tall & (lower >= _neighbour(lower, -1)) & (lower >= _neighbour(lower, +1))
    steep = tall & ~peak & ~trough
    return peak, trough, steep


def steep_stroke_points(
    prob_band: np.ndarray, band_top_px: int, trace: RowTrace, steep: np.ndarray, config: VectorizeConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) centre-line points of steep strokes: one per image row, from the row's short ink run.

    In a steep stroke each pixel row crosses the line once, so the horizontal centre of that
    crossing (sub-pixel, from coverage) is where the signal takes that y: far more precise than a
    column's vertical extent. Runs longer than `steep_run_max_ratio` line widths (where strokes merge
    near an apex, or a stroke joins a flat stretch) are skipped.
    """
    if not steep.any():
        return np.empty(0), np.empty(0)
    ys = np.arange(prob_band.shape[0])[:, None]
    top = np.nan_to_num(trace.top_px - band_top_px, nan=np.inf)
    bottom = np.nan_to_num(trace.bottom_px - band_top_px, nan=-np.inf)
    mask = (ys >= np.ceil(top)) & (ys <= np.floor(bottom)) & steep[None, :]
    mask[:, 1:] |= mask[:, :-1]  # keep one anti-aliased column either side for sub-pixel edges
    mask[:, :-1] |= mask[:, 1:]
    ys, lefts, rights = all_runs(np.where(mask, prob_band, 0.0).T, config.ink_threshold)
    inside = (
        steep[np.clip(np.round(lefts + 0.5).astype(int), 0, steep.size - 1)]
        & steep[np.clip(np.round(rights - 0.5).astype(int), 0, steep.size - 1)]
    )  # both ends in steep columns: not the edge of a flat stroke seen through the rim column
    short = ((rights - lefts) <= config.steep_run_max_ratio * trace.line_width_px) & inside
    x = 0.5 * (lefts + rights)[short] + trace.x_px[0]
    return x, ys[short].astype(np.float64) + band_top_px


def trace_polyline(
    trace: RowTrace,
    prob_band: np.ndarray | None = None,
    band_top_px: int = 0,
    config: VectorizeConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) sub-pixel polyline of the trace's centre line, sorted by x; inkless columns are skipped.

    Flat and gently sloped columns give their centre; a peak (trough) column gives its top (bottom)
    signal value (the ink extreme moved in by half a line width); steep columns give one point per
    pixel row (`steep_stroke_points`) when `prob_band` is given, else their centre.
    """
    config = config or VectorizeConfig()
    upper, lower, centre = column_extremes(trace)
    peak, trough, steep = classify_columns(trace, config.steep_ratio)
    if prob_band is None:
        steep = np.zeros_like(steep)
    valid = np.isfinite(centre) & ~steep
    value = np.where(peak, upper, np.where(trough, lower, centre))
    x_steep, y_steep = (
        steep_stroke_points(prob_band, band_top_px, trace, steep, config)
        if steep.any()
        else (np.empty(0),) * 2
    )
    x_columns = trace.x_px
    if prob_band is not None:
        lone_peak, lone_trough = lone_columns(peak), lone_columns(trough)
        lone = lone_peak | lone_trough
        x_columns = apex_x(prob_band, band_top_px, trace, lone_peak, lone_trough)
        if lone.any() and x_steep.size:
            # where a spike's two strokes merge, each pixel row's run is centred on the apex: those
            # points say only where the apex is, at every height, and would make the apex's
            # column read anything between its top and its foot
            apexes = np.sort(x_columns[lone])  # a peak beside a trough may swap places by < 1 px
            index = np.clip(np.searchsorted(apexes, x_steep), 1, apexes.size) - 1
            nearest = np.minimum(
                np.abs(x_steep - apexes[index]),
                np.abs(x_steep - apexes[np.minimum(index + 1, apexes.size - 1)]),
            )
            keep = nearest >= config.apex_clear_px
            x_steep, y_steep = x_steep[keep], y_steep[keep]
    x_all = np.concatenate([x_columns[valid], x_steep])
    y_all = np.concatenate([value[valid], y_steep])
    order = np.argsort(x_all, kind="stable")
    return x_all[order], y_all[order]


def lone_columns(extreme: np.ndarray) -> np.ndarray:
    """The extreme columns whose neighbours are not extremes of the same kind (a spike's apex, not
    a plateau)."""
    before = np.concatenate([[False], extreme[:-1]])
    after = np.concatenate([extreme[1:], [False]])
    return extreme & ~before & ~after


def apex_x(
    prob_band: np.ndarray, band_top_px: int, trace: RowTrace, lone_peak: np.ndarray, lone_trough: np.ndarray
) -> np.ndarray:
    """x per column, sub-pixel at a lone peak (trough) column: the ink centroid of its cap.

    A QRS spike is a few px wide and tens of px tall; its apex lies anywhere within its column,
    and the sample taken 0.5 px beside a column-centred apex reads far down the stroke (fold-9
    photo 18, V5: 0.6 px off read 1.02 mV as 0.68). The cap's top rows, a line width deep and
    a few columns wide, hold the apex's x.
    """
    x = trace.x_px.copy()
    width = trace.line_width_px if math.isfinite(trace.line_width_px) else 2.0
    depth = max(1, int(round(width)))
    reach = max(2, int(math.ceil(width)))
    columns = prob_band.shape[1]
    for is_top, lone in ((True, lone_peak), (False, lone_trough & ~lone_peak)):
        for j in np.flatnonzero(lone):
            edge = (trace.top_px[j] if is_top else trace.bottom_px[j]) - band_top_px
            # the rim pixel the sub-pixel edge lies in, and the cap's rows inside it
            first = int(round(edge)) if is_top else int(round(edge)) - depth + 1
            weights = prob_band[max(0, first) : max(0, first + depth), max(0, j - reach) : j + reach + 1].sum(
                axis=0
            )
            if weights.sum() > 0:
                centroid = float((weights * np.arange(max(0, j - reach), min(columns, j + reach + 1))).sum())
                x[j] += float(np.clip(centroid / weights.sum() - j, -1.0, 1.0))
    return x


def _neighbour(values: np.ndarray, step: int) -> np.ndarray:
    """values shifted by one column; the edge repeats its own value (no direction at the ends)."""
    shifted = np.roll(values, -step)
    shifted[-1 if step > 0 else 0] = values[-1 if step > 0 else 0]
    return np.where(np.isfinite(shifted), shifted, values)


def sample_polyline(
    x_poly: np.ndarray, y_poly: np.ndarray, x_query: np.ndarray, max_gap_px: float
) -> np.ndarray:
    """y at each x_query by linear interpolation; NaN outside the polyline or across long gaps.

    Queries a little beyond either end (up to max_gap_px) take the end value: the first samples of a
    segment hide under a separator bar or the pulse edge.
    """
    if x_poly.size < 2:
        return np.full(x_query.shape, np.nan)
    y = np.interp(x_query, x_poly, y_poly)
    position = np.searchsorted(x_poly, x_query)
    left = x_poly[np.clip(position - 1, 0, x_poly.size - 1)]
    right = x_poly[np.clip(position, 0, x_poly.size - 1)]
    inside_gap = (position > 0) & (position < x_poly.size) & (right - left > max_gap_px)
    outside = (x_query < x_poly[0] - max_gap_px) | (x_query > x_poly[-1] + max_gap_px)
    y[inside_gap | outside] = np.nan
    return y


def row_baseline_mode(trace: RowTrace, bin_px: float = 0.5) -> float:
    """Most common centre y of the row: the isoelectric line when no calibration pulse is seen."""
    centre = trace.centre_px[np.isfinite(trace.centre_px)]
    if centre.size == 0:
        return math.nan
    bins = np.arange(centre.min(), centre.max() + 2 * bin_px, bin_px)
    counts, edges = np.histogram(centre, bins)
    smoothed = np.convolve(counts, np.ones(5) / 5, mode="same")
    best = int(np.argmax(smoothed))
    return float(0.5 * (edges[best] + edges[best + 1]))


def fit_at_knots(
    x_poly: np.ndarray, y_poly: np.ndarray, x_knots: np.ndarray, max_gap_px: float, config: VectorizeConfig
) -> np.ndarray:
    """y at the evenly spaced sample positions x_knots: the piecewise-linear curve through
    the knots that fits the polyline's points best; NaN where `sample_polyline` is NaN.

    A printed trace is straight between its samples, so every point of a stroke informs the two
    knots around it: a spike's apex and foot come from the whole of both strokes, where sampling
    the polyline at a knot trusts the one point there, at a corner that line width, blur or
    thresholding rounded off. Least squares, the points Huber-weighted, each knot held lightly
    to the sampled value (a knot in a gap keeps it; a page whose time axis is off by a fraction
    of a sample would otherwise ring). Knots closer than `knot_min_spacing_px` (500 Hz at
    200 dpi) have no points of their own: there, and for fewer than 3 knots, the polyline is sampled.
    """
    y_sampled = sample_polyline(x_poly, y_poly, x_knots, max_gap_px)
    n = x_knots.size
    if n < 3:
        return y_sampled
    step = float(x_knots[1] - x_knots[0])
    position = (x_poly - x_knots[0]) / step
    inside = (position >= 0) & (position <= n - 1)
    if step < config.knot_min_spacing_px or inside.sum() < 3:
        return y_sampled
    position, values = position[inside], y_poly[inside]
    left = np.minimum(np.floor(position).astype(int), n - 2)
    w = position - left
    known = np.isfinite(y_sampled)
    hold = config.knot_hold_per_px * step  # like the points of a knot's span (about one per px)
    prior = hold * np.where(known, y_sampled, 0.0)
    weights = np.ones_like(w)
    for _ in range(config.knot_iterations):
        normal = np.zeros((3, n))  # banded storage: entry (i, j) at [1 + i - j, j]
        normal[1] = (
            hold + np.bincount(left, weights * (1 - w) ** 2, n) + np.bincount(left + 1, weights * w**2, n)
        )
        off = np.bincount(left, weights * w * (1 - w), n - 1)
        normal[0, 1:] = off
        normal[2, :-1] = off
        rhs = prior + np.bincount(left, weights * (1 - w) * values, n)
        rhs += np.bincount(left + 1, weights * w * values, n)
        fitted = solve_banded((1, 1), normal, rhs)
        residual = values - (fitted[left] * (1 - w) + fitted[left + 1] * w)
        weights = 1.0 / np.maximum(1.0, np.abs(residual) / config.knot_robust_px)
    # beyond the points' ends a fit would extrapolate a stroke's slope: the end value is held there
    covered = (x_knots >= x_poly[inside].min() - 0.5) & (x_knots <= x_poly[inside].max() + 0.5)
    return np.where(np.isfinite(y_sampled), np.where(covered, fitted, y_sampled), np.nan)
