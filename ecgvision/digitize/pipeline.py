"""Image of a paper ECG -> calibrated 12-lead signal: deskew, grid, trace evidence, layout, vectorize,
calibrate, consistency. Every stage reports failure as NaN plus a reason; `digitize_image` never raises
on a bad image (only on bad arguments).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from ecgvision.constants import MAX_ABS_MV
from ecgvision.digitize.calibrate import (
    Calibration,
    CalibrationConfig,
    calibrate,
    origin_from_separators,
    pitch_from_separators,
)
from ecgvision.digitize.consistency import ConsistencyConfig, ConsistencyReport, check_consistency
from ecgvision.digitize.deskew import (
    DeskewConfig,
    DeskewResult,
    deskew,
    refine_with_pulses,
    rotation_matrix,
    shear_matrix,
    unshear_with_pulses,
)
from ecgvision.digitize.grid import GridConfig, GridEstimate, find_grid
from ecgvision.digitize.layout import (
    LayoutConfig,
    Pulse,
    Row,
    bar_candidates,
    choose_layout,
    find_pulse,
    find_rows,
    find_separators,
)
from ecgvision.digitize.perspective import PerspectiveConfig, correct_perspective, to_input_coords
from ecgvision.digitize.trace import TraceEvidenceConfig, colour_trace_probability, trace_probability
from ecgvision.digitize.vectorize import (
    RowTrace,
    VectorizeConfig,
    blank_columns,
    fit_at_knots,
    row_baseline_mode,
    trace_polyline,
    track_row,
)
from ecgvision.layouts import LAYOUTS, Layout, segment_samples

PULSE_EDGE_BLANK_MM = 0.5  # columns around the pulse's falling edge hold the edge, not the signal
SEPARATOR_BLANK_MM = 0.5  # half width blanked around a separator bar (0.7 mm bar, anti-aliased rim) ...
SEPARATOR_REACH_MM = 1.0  # ... and beyond, up to this, the columns whose ink spans the bar (blurred) ...
SEPARATOR_SPAN_FRACTION = 0.6  # ... over this fraction of its height (a QRS beside it: half at most)
BAR_RETRACK_MM = 5.0  # a bar's columns are tracked again from this far before it
BAR_STROKE_MIN_WIDTHS = 3.0  # ink left in a bar's columns is a stroke when it spans this many line widths
BAR_RIM_MM = 0.25  # a bar's blurred rim, cleared with it (when the row's line width is unknown)
SEPARATOR_ORIGIN_SEARCH_MM = 10.0  # without a pulse, bars are sought this far from where first ink puts them
PLOT_DURATION_STEP_S = 0.5  # a row shorter than the record prints a whole number of half seconds
MAX_CLIPPED_FRACTION = 0.01  # a lead with more samples at the +-MAX_ABS_MV clip is misread ...
MAX_MEDIAN_OFFSET_MV = 2.5  # ... as is one whose median is this far from 0 (ECG sits on its baseline)
MAX_BASELINE_DISAGREEMENT_MV = 1.0  # pulse zero vs the row's most common height; beyond it, the latter


@dataclass(frozen=True)
class DigitizeConfig:
    perspective: PerspectiveConfig = field(default_factory=PerspectiveConfig)
    deskew: DeskewConfig = field(default_factory=DeskewConfig)
    grid: GridConfig = field(default_factory=GridConfig)
    trace: TraceEvidenceConfig = field(default_factory=TraceEvidenceConfig)
    layout: LayoutConfig = field(default_factory=LayoutConfig)
    vectorize: VectorizeConfig = field(default_factory=VectorizeConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    consistency: ConsistencyConfig = field(default_factory=ConsistencyConfig)
    layout_name: str = "auto"  # auto | a name in ecgvision.layouts.LAYOUTS


@dataclass
class LeadGeometry:
    """Where one printed segment was read, in the input image's pixel coordinates."""

    lead: str
    row: int
    column: int
    start_sample: int
    end_sample: int  # exclusive
    polyline_xy_px: np.ndarray  # (n, 2) x, y of the read trace (NaN samples dropped)


@dataclass
class DigitizationResult:
    signal_mv: np.ndarray  # (num_samples, len(lead_names)) float, NaN where not read
    lead_names: list[str]
    leads_read: list[str]
    failures: dict[str, str]  # lead -> reason
    geometry: list[LeadGeometry] = field(default_factory=list)
    rotation_deg: float = math.nan
    calibration: Calibration | None = None
    layout_name: str = ""
    consistency: ConsistencyReport | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _lead_index(lead_names: list[str]) -> dict[str, int]:
    return {name.casefold(): j for j, name in enumerate(lead_names)}


def failed_result(
    num_samples: int, lead_names: list[str], reason: str, started: float, notes: list[str] | None = None
) -> DigitizationResult:
    """All leads NaN with `reason`; `notes` keeps what the stages before the failure found."""
    signal = np.full((num_samples, len(lead_names)), np.nan)
    failures = {name: reason for name in lead_names}
    return DigitizationResult(
        signal, list(lead_names), [], failures, seconds=time.perf_counter() - started, notes=list(notes or [])
    )


def plotted_duration_s(rows: list[Row], calib: Calibration, record_s: float) -> float:
    """Seconds each row prints: the record, or (at 50 mm/s) what the rows' ink spans, in half seconds."""
    lasts = [r.last_ink_x_px for r in rows if math.isfinite(r.last_ink_x_px)]
    if not lasts or not math.isfinite(calib.x0_px):
        return record_s
    spanned = (float(np.median(lasts)) - calib.x0_px) / calib.px_per_s
    if spanned >= record_s - PLOT_DURATION_STEP_S / 2:
        return record_s
    return max(PLOT_DURATION_STEP_S, round(spanned / PLOT_DURATION_STEP_S) * PLOT_DURATION_STEP_S)


def quarter_starts(rows, calib: Calibration, duration_s: float):
    """(row, k, x) where each row's k-th quarter (k = 1-3) starts: where a separator bar stands."""
    for row in rows:
        for k in (1, 2, 3):
            yield row, k, float(calib.x_of_time(k * duration_s / 4, row.index))


def origin_without_pulse(prob, rows, calib: Calibration, duration_s: float, config) -> Calibration:
    """The calibration, its origin taken from the separator bars when no pulse placed it.

    The rows' first ink may be a grid remnant or the pulse's rising edge (5 mm early); the bars
    are sought within `SEPARATOR_ORIGIN_SEARCH_MM` of where that origin expects them.
    """
    if calib.origin_source != "first-ink":
        return calib
    reach = SEPARATOR_ORIGIN_SEARCH_MM * calib.px_per_mm_x
    bars = []
    for row, k, x in quarter_starts(rows, calib, duration_s):
        found = bar_candidates(prob, row, x - reach, x + reach, calib.px_per_mm_x, config.layout)
        bars += [(centre, k, row.index) for centre, _ in found]
    heights = [row.baseline_y_px for row in rows]
    return origin_from_separators(calib, bars, duration_s / 4, config.calibration, heights)


def bars_at_quarters(prob, rows, calib: Calibration, duration_s: float, config) -> tuple[int, float]:
    """(bars found, minus their mean distance in mm) where the rows' quarters start (k * duration / 4,
    k = 1-3): more bars, then closer ones, say the duration fits the page better."""
    offsets = []
    for row, _, expected in quarter_starts(rows, calib, duration_s):
        found = find_separators(prob, row, [expected], calib.px_per_mm_x, config.layout)
        offsets += [abs(x - expected) / calib.px_per_mm_x for x in found]
    return len(offsets), -float(np.mean(offsets)) if offsets else 0.0


def scaled_by_separators(prob, rows, calib: Calibration, duration_s: float, config) -> Calibration:
    """The calibration with the time scale of the separator bars (sought up to `bar_rescale_max`
    further than the pitch puts them; see `pitch_from_separators`)."""
    if calib.pitch_source == "grid":
        return calib
    quarter_px = duration_s / 4 * calib.px_per_s
    bars = []
    for row, k, x in quarter_starts(rows, calib, duration_s):
        reach = max(
            config.layout.separator_search_mm * calib.px_per_mm_x,
            config.calibration.bar_rescale_max * k * quarter_px,
        )
        found = bar_candidates(prob, row, x - reach, x + reach, calib.px_per_mm_x, config.layout)
        if found:
            bars.append((min((c for c, _ in found), key=lambda c: abs(c - x)), k, row.index))
    return pitch_from_separators(calib, bars, duration_s / 4, config.calibration)


def duration_and_origin(prob, rows, calib: Calibration, record_s: float, config) -> tuple[Calibration, float]:
    """(calibration, seconds each row prints). A row's ink that ends early says the rows print less
    than the record (50 mm/s), unless the image cut the page: then the separator bars decide, the
    duration whose quarters they mark winning (photos cropped 0.4-0.5 s short read every column 5 %
    short and placed their leads up to 0.4 s late: fold-9 photos 26 and 51, 3.3 -> 5.3 and
    0.8 -> 3.5 dB with the bars' time scale). Without a grid the bars also set the time scale
    (`scaled_by_separators`)."""
    spanned = plotted_duration_s(rows, calib, record_s)
    candidates = [
        (origin_without_pulse(prob, rows, scaled_by_separators(prob, rows, calib, d, config), d, config), d)
        for d in dict.fromkeys((record_s, spanned))
    ]
    if len(candidates) == 1:  # the ink spans the record (most pages): nothing to decide
        return candidates[0]
    return max(candidates, key=lambda c: bars_at_quarters(prob, rows, c[0], c[1], config))


def detect_layout(
    prob, rows, calib, duration_s, config: DigitizeConfig
) -> tuple[Layout | None, list[list[float]]]:
    """The layout and, per row, the separators found at the quarter/half positions of the row."""
    ppm = calib.px_per_mm_x
    quarters = [[calib.x_of_time(k * duration_s / 4, row.index) for k in (1, 2, 3)] for row in rows]
    separators = [
        find_separators(prob, row, q, ppm, config.layout) for row, q in zip(rows, quarters, strict=True)
    ]
    tolerance = 2 * ppm

    def has(found: list[float], x: float) -> bool:
        return any(abs(f - x) < tolerance for f in found)

    found_quarters = list(zip(separators, quarters, strict=True))
    with_quarter = sum(has(s, q[0]) or has(s, q[2]) for s, q in found_quarters)
    with_half = sum(has(s, q[1]) for s, q in found_quarters)
    if config.layout_name != "auto":
        return LAYOUTS[config.layout_name], separators
    return choose_layout(len(rows), with_quarter, with_half), separators


def separator_box(trace: RowTrace, centre_px: float, px_per_mm: float) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of a separator bar: the x range it covers (its printed 0.7 mm and a rim, and
    where the bar is blurred, a photo, a scan, the further columns whose ink still spans the bar:
    their edges would read as the tops of tall strokes; a QRS beside the bar spans a different
    height and is kept) and its ink's height (NaN when the columns hold no ink)."""
    core = np.abs(trace.x_px - centre_px) <= SEPARATOR_BLANK_MM * px_per_mm
    lo, hi = centre_px - SEPARATOR_BLANK_MM * px_per_mm, centre_px + SEPARATOR_BLANK_MM * px_per_mm
    if not np.isfinite(trace.top_px[core]).any():
        return lo, hi, math.nan, math.nan
    bar_top = float(np.nanmedian(trace.top_px[core]))
    bar_bottom = float(np.nanmedian(trace.bottom_px[core]))
    overlap = np.minimum(trace.bottom_px, bar_bottom) - np.maximum(trace.top_px, bar_top)
    spans = overlap >= SEPARATOR_SPAN_FRACTION * (bar_bottom - bar_top)
    reach = SEPARATOR_REACH_MM * px_per_mm
    for j in np.flatnonzero((trace.x_px < lo) & (trace.x_px >= centre_px - reach))[::-1]:
        if not spans[j]:
            break
        lo = trace.x_px[j]
    for j in np.flatnonzero((trace.x_px > hi) & (trace.x_px <= centre_px + reach)):
        if not spans[j]:
            break
        hi = trace.x_px[j]
    return lo, hi, bar_top, bar_bottom


def cleared_rows(top_px: float, bottom_px: float, margin_px: float) -> tuple[int, int]:
    """First and last pixel row that clearing a bar's ink [top, bottom] with its rim takes."""
    return max(0, int(math.floor(top_px - margin_px))), max(0, int(math.ceil(bottom_px + margin_px)))


def without_bars(prob: np.ndarray, boxes: list[tuple[float, float, float, float]], margin_px: float):
    """A copy of `prob` with each separator bar's box (x0, x1, y0, y1), grown by `margin_px` up and
    down (its rim), cleared."""
    cleared = prob.copy()
    for x0, x1, y0, y1 in boxes:
        first, last = cleared_rows(y0, y1, margin_px)
        cleared[first : last + 1, max(0, int(math.ceil(x0))) : max(0, int(math.floor(x1)) + 1)] = 0.0
    return cleared


def tracked_through(prob, row: Row, trace: RowTrace, lo: float, hi: float, calib: Calibration, config):
    """(top, bottom) in the columns [lo, hi] of `trace` of a path tracked on `prob` from BAR_RETRACK_MM
    before them (starting where `trace` is there) to as far after; NaN where it found no ink."""
    reach_px = BAR_RETRACK_MM * calib.px_per_mm_x
    inside = (trace.x_px >= lo) & (trace.x_px <= hi)
    start = int(max(trace.x_px[0], math.floor(lo - reach_px)))
    stop = int(min(trace.x_px[-1] + 1, math.ceil(hi + reach_px)))
    before = trace.centre_px[(trace.x_px >= start) & (trace.x_px < lo)]
    known = before[np.isfinite(before)]
    if stop <= start or not known.size:
        return np.full(inside.sum(), np.nan), np.full(inside.sum(), np.nan)
    path = track_row(prob, row, start, stop, float(known[0]), calib.px_per_mm_y, config)
    mine = (path.x_px >= lo) & (path.x_px <= hi)
    return path.top_px[mine], path.bottom_px[mine]


def with_ink_beside_bars(prob, row: Row, trace: RowTrace, bars, calib: Calibration, config) -> RowTrace:
    """`trace` with each bar's columns read again on `prob` (the bars cleared, `without_bars`): a
    stroke leaving the bar, a QRS at the segment boundary whose first (last) samples lie under it.
    What is left there but a flat line (a grid line along the bar's end on a b/w page; a flat trace
    passing it, which the columns either side give as well) is blanked, as are columns with nothing.
    (Taking, instead, the ink run touching the cleared box in each column cost scans 0.6 dB.)"""
    top, bottom = trace.top_px.copy(), trace.bottom_px.copy()
    for lo, hi, _, _ in bars:
        columns = (trace.x_px >= lo) & (trace.x_px <= hi)
        new_top, new_bottom = tracked_through(prob, row, trace, lo, hi, calib, config)
        found = np.isfinite(new_top)
        stroke = float(new_bottom[found].max() - new_top[found].min()) if found.any() else 0.0
        if stroke < BAR_STROKE_MIN_WIDTHS * trace.line_width_px:
            new_top, new_bottom = np.full_like(new_top, np.nan), np.full_like(new_top, np.nan)
        top[columns], bottom[columns] = new_top, new_bottom
    return RowTrace(trace.x_px, top, bottom, trace.line_width_px)


def read_row(
    prob, row: Row, calib: Calibration, duration_s: float, separators: list[float], config: DigitizeConfig
):
    """(x, y) polyline of one row between t = 0 and the end of the plotted window."""
    ppm = calib.px_per_mm_x
    x0 = calib.origin_of_row(row.index)
    x_start = int(math.floor(x0 - PULSE_EDGE_BLANK_MM * ppm))
    x_stop = int(math.ceil(calib.x_of_time(duration_s, row.index) + ppm))
    baseline = calib.baseline_y_px[row.index]
    start_y = baseline if math.isfinite(baseline) else row.baseline_y_px
    trace = track_row(prob, row, x_start, x_stop, start_y, calib.px_per_mm_y, config.vectorize)
    boxes = [separator_box(trace, s, ppm) for s in separators]
    bars = [box for box in boxes if math.isfinite(box[2])]
    if bars:
        margin = trace.line_width_px if math.isfinite(trace.line_width_px) else BAR_RIM_MM * ppm
        prob = without_bars(prob, bars, margin)
        trace = with_ink_beside_bars(prob, row, trace, bars, calib, config.vectorize)
    mode = row_baseline_mode(trace)
    # the isoelectric line is the row's most common height; a pulse-derived zero far from it means
    # the pulse top was misread (text, a grid line), which would shift every value of the row
    far = abs(baseline - mode) > MAX_BASELINE_DISAGREEMENT_MV * calib.px_per_mv
    if not math.isfinite(baseline) or (math.isfinite(mode) and far):
        calib.baseline_y_px[row.index] = mode
    blanks = [(x_start, x0 + PULSE_EDGE_BLANK_MM * ppm)]
    blanks += [(lo, hi) for lo, hi, top, _ in boxes if not math.isfinite(top)]
    band = prob[row.band_top_px : row.band_bottom_px, int(trace.x_px[0]) : int(trace.x_px[-1]) + 1]
    return trace_polyline(blank_columns(trace, blanks), band, row.band_top_px, config.vectorize)


def read_segments(
    polylines,
    layout: Layout,
    calib: Calibration,
    fs_hz: float,
    num_samples: int,
    duration_s: float,
    lead_names: list[str],
    config: DigitizeConfig,
):
    """Fill the signal from each printed segment; longer segments first (a rhythm strip wins)."""
    signal = np.full((num_samples, len(lead_names)), np.nan)
    index = _lead_index(lead_names)
    geometry = []
    max_gap_px = config.vectorize.max_fill_gap_mm * calib.px_per_mm_x
    for seg in sorted(layout.segments(duration_s), key=lambda s: -s.duration_s):
        j = index.get(seg.lead.casefold())
        if j is None or seg.row >= len(polylines):
            continue
        start, end = segment_samples(seg, fs_hz, num_samples)
        samples = np.arange(start, end)
        x_query = calib.x_of_time(samples / fs_hz, seg.row)
        x_poly, y_poly = polylines[seg.row]
        inside = (x_poly >= x_query[0] - 1.0) & (x_poly <= x_query[-1] + 1.0) if samples.size else x_poly < 0
        y = fit_at_knots(x_poly[inside], y_poly[inside], x_query, max_gap_px, config.vectorize)
        values = np.clip(calib.mv_of_y(y, seg.row), -MAX_ABS_MV, MAX_ABS_MV)
        empty = np.isnan(signal[start:end, j])
        signal[start:end, j] = np.where(empty, values, signal[start:end, j])
        ok = np.isfinite(y)
        geometry.append(
            LeadGeometry(seg.lead, seg.row, seg.column, start, end, np.column_stack([x_query[ok], y[ok]]))
        )
    return signal, geometry


def drop_implausible_leads(signal_mv: np.ndarray) -> list[int]:
    """NaN (in place) the leads no ECG takes: pinned at the +-MAX_ABS_MV clip, or far off zero
    throughout (a misplaced zero line or scale); returns their column indices."""
    dropped = []
    for j in range(signal_mv.shape[1]):
        values = signal_mv[:, j][np.isfinite(signal_mv[:, j])]
        if values.size == 0:
            continue
        clipped = np.mean(np.abs(values) >= MAX_ABS_MV) > MAX_CLIPPED_FRACTION
        if clipped or abs(float(np.median(values))) > MAX_MEDIAN_OFFSET_MV:
            signal_mv[:, j] = np.nan
            dropped.append(j)
    return dropped


def failure_reason(lead: str, layout: Layout, printed: set[str], implausible: set[str]) -> str:
    """Why an unread lead is NaN: not on the page, read but implausible, or its trace not found."""
    if lead.casefold() not in printed:
        return "not printed in layout " + layout.name
    if lead in implausible:
        return "implausible amplitude (misread scale or zero line)"
    return "trace not found"


def _to_input_coords(
    geometry: list[LeadGeometry], skew: DeskewResult, shape: tuple[int, int], homography: np.ndarray | None
) -> None:
    """Map polylines from the deskewed (and rectified) page back into the input image (in place)."""
    angle = skew.angle_deg if math.isfinite(skew.angle_deg) else 0.0
    for matrix in (shear_matrix(shape, skew.shear), rotation_matrix(shape, angle)):
        for g in geometry:
            if g.polyline_xy_px.size:
                g.polyline_xy_px = g.polyline_xy_px @ matrix[:, :2].T + matrix[:, 2]
    if homography is not None:
        for g in geometry:
            g.polyline_xy_px = to_input_coords(g.polyline_xy_px, homography)


def digitize_image(
    image_rgb: np.ndarray,
    fs_hz: float,
    num_samples: int,
    lead_names: list[str],
    config: DigitizeConfig | None = None,
    trace_model=None,
) -> DigitizationResult:
    """Digitize one ECG image into (num_samples, len(lead_names)) mV; NaN where a lead is not read.

    `trace_model` (see `ecgvision.digitize.trace.TraceModel`) replaces the colour rule for trace
    evidence. Lead names match case-insensitively (AVR == aVR).
    """
    if fs_hz <= 0 or num_samples <= 0:
        raise ValueError(f"fs_hz and num_samples must be positive, got {fs_hz}, {num_samples}")
    started = time.perf_counter()
    config = config or DigitizeConfig()
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        return failed_result(
            num_samples, lead_names, f"image must be (H, W, 3) uint8, got {image_rgb.shape}", started
        )
    try:
        return _digitize(image_rgb, fs_hz, num_samples, list(lead_names), config, trace_model, started)
    except (ValueError, IndexError, cv2.error, FloatingPointError) as error:
        # a corner case of an unusual page must cost this image, never the batch
        return failed_result(
            num_samples, lead_names, f"digitizer error: {type(error).__name__}: {error}", started
        )


def read_evidence(
    image: np.ndarray, config: DigitizeConfig, trace_model
) -> tuple[GridEstimate, np.ndarray, list[Row], list[Pulse | None]]:
    """(grid, trace probability, rows, each row's calibration pulse) of a deskewed page."""
    grid = find_grid(image, colour_trace_probability(image, config.trace), config.grid)
    prob = trace_probability(image, grid.px_per_mm_x, config.trace, trace_model)
    rows = find_rows(prob, grid.px_per_mm_y, config.layout)
    pulses = [find_pulse(prob, row, grid.px_per_mm_x, config.layout) for row in rows]
    return grid, prob, rows, pulses


def _digitize(image_rgb, fs_hz, num_samples, lead_names, config, trace_model, started) -> DigitizationResult:
    page = correct_perspective(image_rgb, config.perspective)
    skew = deskew(page.image_rgb, config.deskew)
    grid, prob, rows, pulses = read_evidence(skew.image_rgb, config, trace_model)
    found = [p for p in pulses if p is not None]
    if grid.found:  # the grid levelled the rows: pulses slanting across them show a sheared page
        refined = unshear_with_pulses(skew, found, grid.px_per_mm_y, config.deskew)
    else:  # only the traces' slant voted for the angle: the pulses' column checks it
        refined = refine_with_pulses(page.image_rgb, skew, found, grid.px_per_mm_y, config.deskew)
    if refined is not skew:
        skew = refined
        grid, prob, rows, pulses = read_evidence(skew.image_rgb, config, trace_model)
    notes = [n for n in (page.reason, skew.reason, grid.reason) if n]
    if not rows:
        reasons = "; ".join(notes)
        return failed_result(
            num_samples, lead_names, f"no trace rows found ({reasons or 'no other notes'})", started, notes
        )
    calib = calibrate(grid, rows, pulses, config.calibration)
    if not math.isfinite(calib.x0_px):
        return failed_result(num_samples, lead_names, "no time origin (no pulse, no ink)", started, notes)
    calib, duration_s = duration_and_origin(prob, rows, calib, num_samples / fs_hz, config)
    layout, separators = detect_layout(prob, rows, calib, duration_s, config)
    if layout is None:
        return failed_result(
            num_samples, lead_names, f"{len(rows)} rows fit no known layout", started, notes + calib.notes
        )
    polylines = [read_row(prob, row, calib, duration_s, separators[row.index], config) for row in rows]
    signal, geometry = read_segments(
        polylines, layout, calib, fs_hz, num_samples, duration_s, lead_names, config
    )
    implausible = drop_implausible_leads(signal)
    signal, report = check_consistency(signal, lead_names, fs_hz, config.consistency)
    _to_input_coords(geometry, skew, page.image_rgb.shape[:2], page.homography)
    read = [name for j, name in enumerate(lead_names) if np.isfinite(signal[:, j]).any()]
    printed = {s.lead.casefold() for s in layout.segments(duration_s)}
    implausible_names = {lead_names[j] for j in implausible}
    failures = {
        name: failure_reason(name, layout, printed, implausible_names)
        for name in lead_names
        if name not in read
    }
    notes += [n for n in calib.notes if n]
    return DigitizationResult(
        signal,
        lead_names,
        read,
        failures,
        geometry,
        skew.angle_deg,
        calib,
        layout.name,
        report,
        time.perf_counter() - started,
        notes,
    )


def draw_overlay(image_rgb: np.ndarray, result: DigitizationResult) -> np.ndarray:
    """A copy of the image with each read segment's polyline drawn on it (one colour per lead)."""
    overlay = np.ascontiguousarray(image_rgb.copy())
    palette = [(0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167), (213, 94, 0), (86, 180, 233)]
    for k, g in enumerate(result.geometry):
        if len(g.polyline_xy_px) < 2:
            continue
        points = np.round(g.polyline_xy_px).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(overlay, [points], False, palette[k % len(palette)], 1, cv2.LINE_AA)
        x, y = points[0, 0]
        cv2.putText(overlay, g.lead, (int(x), int(y) - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 255), 1)
    return overlay
