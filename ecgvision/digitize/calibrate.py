"""Calibration: pixel <-> (seconds, millivolts) from the grid pitch, the pulses and the rows.

Time: x = x0 + t * speed * px_per_mm_x, where x0 (the first sample's x) is the pulses' falling
edge (per row on a sheared page: a line through the rows' pulses), else the separator bars, else
the rows' first ink. Voltage: mV = (baseline_y - y) / (gain * px_per_mm_y), with the
baseline 1 mV (gain mm) below the centre of the pulse's top stroke, else (filled in by the
pipeline) the row's most common trace height. Pitch falls back grid -> pulse -> page width; speed and gain are
read off the pulse (snapped to the allowed values) or take the nominal 25 mm/s and 10 mm/mV.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from ecgvision.constants import MM_PER_MV, MM_PER_S
from ecgvision.digitize.grid import GridEstimate
from ecgvision.digitize.layout import Pulse, Row

PULSE_DURATION_S = 0.2
PULSE_AMPLITUDE_MV = 1.0
ALLOWED_SPEEDS_MM_PER_S = (25.0, 50.0)
ALLOWED_GAINS_MM_PER_MV = (5.0, 10.0, 20.0)
# origin_offset_mm of ecg-image-kit (Challenge) pages: on both examples sample 0 lies 0.48 px (200 dpi)
# left of the pulse edge's coverage centre; ecgvision.render prints the same geometry.
ECGKIT_ORIGIN_OFFSET_MM = -0.06


@dataclass(frozen=True)
class CalibrationConfig:
    read_speed_from_pulse: bool = True
    read_gain_from_pulse: bool = True
    snap_tolerance: float = 0.25  # a pulse within 25 % of an allowed speed/gain snaps to it
    # The first sample sits this far right of the pulse's falling-edge centre. The Challenge 2024
    # pages (ecg-image-kit, which pixel-snaps the pulse but not the trace) and ecgvision.render draw
    # sample 0 ~0.5 px left of the edge; a page that follows the printing convention (pulse ends
    # where the trace starts) wants 0. At 100 Hz the scorer's whole-sample alignment cannot absorb it.
    origin_offset_mm: float = ECGKIT_ORIGIN_OFFSET_MM
    pulse_max_xy_mismatch: float = 0.15  # a pulse whose x and y pitches differ more is misread
    pulse_prior_ratio: float = 1.6  # ... as is one implying a page more than this far from letter width
    grid_pulse_tolerance: float = 0.1  # a grid pitch that no pulse size fits within this is misread
    page_width_agreement: float = (
        0.03  # without a grid, the page-width pitch is used if the pulse is this close
    )
    # without a pulse, separator bars (printed where a row changes lead, at whole quarters of the
    # row) place the origin when at least this many agree within `bar_agreement_mm`
    min_agreeing_bars: int = 3
    bar_agreement_mm: float = 1.0
    # rows get their own origin (a line through the pulses' edges) when it moves this far from the
    # top to the bottom row: a photo's residual shear; a straight page keeps one origin (less noise)
    shear_min_mm: float = 0.3
    # without a grid, the separator bars' spacing sets the time scale when it is off the page-width or
    # pulse pitch by more than the bars' own error (a px in 1000; 0.03 % cost a b/w page's V4-V6 9 dB
    # at 100 Hz: the page-width pitch of an uncropped page is exact) and at most the largest error
    # of those pitches (a photo's page-width pitch is 1-3 % off: a 10 s row drifts 0.1-0.3 s)
    bar_rescale_min: float = 0.005
    bar_rescale_max: float = 0.04


@dataclass
class Calibration:
    px_per_mm_x: float
    px_per_mm_y: float
    speed_mm_per_s: float
    gain_mm_per_mv: float
    x0_px: float  # x of t = 0 (the record's first sample)
    baseline_y_px: list[float] = field(default_factory=list)  # per row: y of 0 mV; NaN = not yet known
    pitch_source: str = ""  # grid | pulse | page-width
    origin_source: str = ""  # pulse | separators | first-ink
    notes: list[str] = field(default_factory=list)
    # per row: x of t = 0 where the rows' pulses show the page sheared (a photo's residual
    # perspective); NaN or missing = x0_px
    row_x0_px: list[float] = field(default_factory=list)

    @property
    def px_per_s(self) -> float:
        return self.speed_mm_per_s * self.px_per_mm_x

    @property
    def px_per_mv(self) -> float:
        return self.gain_mm_per_mv * self.px_per_mm_y

    def origin_of_row(self, row: int | None) -> float:
        if row is None or row >= len(self.row_x0_px) or not math.isfinite(self.row_x0_px[row]):
            return self.x0_px
        return self.row_x0_px[row]

    def x_of_time(self, t_s: np.ndarray, row: int | None = None) -> np.ndarray:
        """x of time t (s): on `row` when given (its own origin), else at the page's origin."""
        return self.origin_of_row(row) + np.asarray(t_s, dtype=np.float64) * self.px_per_s

    def mv_of_y(self, y_px: np.ndarray, row: int) -> np.ndarray:
        return (self.baseline_y_px[row] - np.asarray(y_px, dtype=np.float64)) / self.px_per_mv


def snap(value: float, allowed: tuple[float, ...], tolerance: float) -> float | None:
    """The allowed value within a relative tolerance of `value`, else None."""
    best = min(allowed, key=lambda a: abs(value / a - 1.0))
    return best if abs(value / best - 1.0) <= tolerance else None


def pulse_pitch(pulses: list[Pulse]) -> tuple[float, float] | None:
    """(px/mm x, px/mm y) from the median pulse size at the nominal 25 mm/s and 10 mm/mV."""
    if not pulses:
        return None
    width = float(np.median([p.width_px for p in pulses]))
    height = float(np.median([p.height_px for p in pulses]))
    return width / (PULSE_DURATION_S * MM_PER_S), height / (PULSE_AMPLITUDE_MV * MM_PER_MV)


def _vote(values: list[float | None], usual: float) -> float | None:
    """The most common non-None value, None if there is none. A tie goes to the `usual` setting
    when it is among the tied (two pulses that disagree: one misread is likelier than an unusual
    setting), else to the first seen."""
    seen = [v for v in values if v is not None]
    if not seen:
        return None
    most = max(seen.count(v) for v in seen)
    return usual if seen.count(usual) == most else next(v for v in seen if seen.count(v) == most)


def pulse_speed(pulse: Pulse, ppm_x: float, config: CalibrationConfig) -> float | None:
    """The allowed paper speed (mm/s) the pulse's width fits, None if it fits none."""
    return snap(pulse.width_px / ppm_x / PULSE_DURATION_S, ALLOWED_SPEEDS_MM_PER_S, config.snap_tolerance)


def read_speed_and_gain(
    pulses: list[Pulse], ppm_x: float, ppm_y: float, config: CalibrationConfig
) -> tuple[float, float, list[bool], list[str]]:
    """(speed mm/s, gain mm/mV, which pulses agree, notes): each pulse's size snapped to the allowed
    values, then a vote. One misread pulse (a grid line or the trace taken for an edge) neither
    moves the others' reading, as a median of two would, nor places the origin or a baseline."""
    speed, gain, notes = MM_PER_S, MM_PER_MV, []
    if not pulses:
        return speed, gain, [], ["no calibration pulse: nominal 25 mm/s, 10 mm/mV"]
    speeds = [pulse_speed(p, ppm_x, config) for p in pulses]
    gains = [
        snap(p.height_px / ppm_y / PULSE_AMPLITUDE_MV, ALLOWED_GAINS_MM_PER_MV, config.snap_tolerance)
        for p in pulses
    ]
    agree = [True] * len(pulses)
    if config.read_speed_from_pulse:
        found = _vote(speeds, MM_PER_S)
        speed = found or speed
        agree = [a and s == found for a, s in zip(agree, speeds, strict=True)]
        if found is None:
            width_mm = float(np.median([p.width_px for p in pulses])) / ppm_x
            notes.append(f"pulse width {width_mm:.2f} mm fits no speed; 25 mm/s assumed")
    if config.read_gain_from_pulse:
        found = _vote(gains, MM_PER_MV)
        gain = found or gain
        agree = [a and g == found for a, g in zip(agree, gains, strict=True)]
        if found is None:
            height_mm = float(np.median([p.height_px for p in pulses])) / ppm_y
            notes.append(f"pulse height {height_mm:.2f} mm fits no gain; 10 mm/mV assumed")
    if 0 < sum(agree) < len(pulses):
        notes.append(f"{len(pulses) - sum(agree)} of {len(pulses)} pulses disagree with the others: ignored")
    return speed, gain, agree, notes


def plausible_pulse_pitch(
    pulse: tuple[float, float], prior_px_per_mm: float, config: CalibrationConfig
) -> bool:
    """A pulse-derived pitch is square (x ~ y) and within a factor `pulse_prior_ratio` of the page-width prior."""
    ppm_x, ppm_y = pulse
    if not (ppm_x > 0 and ppm_y > 0 and math.isfinite(prior_px_per_mm)):
        return False
    square = abs(ppm_x / ppm_y - 1.0) <= config.pulse_max_xy_mismatch
    return square and abs(math.log(ppm_x / prior_px_per_mm)) <= math.log(config.pulse_prior_ratio)


def grid_contradicted(grid: GridEstimate, pulse: tuple[float, float], config: CalibrationConfig) -> bool:
    """True when the pulses' pitch, square and of a plausible size for the page, says the grid's pitch
    is off by a factor no setting explains (speed 25 or 50 mm/s, gain 5, 10 or 20 mm/mV): a
    periodicity of something else (a b/w page's dash pattern) taken for the grid would scale every
    value."""
    if not plausible_pulse_pitch(pulse, grid.prior_px_per_mm, config):
        return False
    ratio_x, ratio_y = pulse[0] / grid.px_per_mm_x, pulse[1] / grid.px_per_mm_y
    tolerance = config.grid_pulse_tolerance
    fits_speed = snap(ratio_x, tuple(s / MM_PER_S for s in ALLOWED_SPEEDS_MM_PER_S), tolerance) is not None
    fits_gain = snap(ratio_y, tuple(g / MM_PER_MV for g in ALLOWED_GAINS_MM_PER_MV), tolerance) is not None
    return not fits_speed and not fits_gain


def choose_pitch(
    grid: GridEstimate, pulse: tuple[float, float] | None, config: CalibrationConfig
) -> tuple[float, float, str]:
    """(px/mm x, px/mm y, source): the grid; else the page width when the pulse agrees with it; else the pulse.

    A pulse edge is placed to ~0.5 px, i.e. ~1 % of its 39 px width at 200 dpi, which drifts a
    10 s row by 0.1 s; the page-width prior is exact for a whole, uncropped page. The pulse only
    checks it (a cropped or non-letter page disagrees and the pulse is used instead).
    """
    if grid.found:
        return grid.px_per_mm_x, grid.px_per_mm_y, "grid"
    if pulse is not None and not plausible_pulse_pitch(pulse, grid.px_per_mm_x, config):
        pulse = None  # a misread pulse (text, a page edge) would scale every value
    if pulse is None:
        return grid.px_per_mm_x, grid.px_per_mm_y, grid.source
    # either side of the pulse may confirm the page width: its 10 mm height is read twice as finely
    # as its 5 mm width (a b/w page's edges are +-1 px), its width holds at any gain
    mismatch = min(abs(pitch / grid.px_per_mm_x - 1.0) for pitch in pulse)
    if grid.source == "page-width" and mismatch <= config.page_width_agreement:
        return grid.px_per_mm_x, grid.px_per_mm_y, "page-width"
    return pulse[0], pulse[1], "pulse"


def calibrate(
    grid: GridEstimate, rows: list[Row], pulses: list[Pulse | None], config: CalibrationConfig | None = None
) -> Calibration:
    """Combine grid, pulses and rows into one pixel <-> physical mapping."""
    config = config or CalibrationConfig()
    found = [p for p in pulses if p is not None]
    pulse = pulse_pitch(found)
    notes = []
    if grid.found and len(found) >= 2 and grid_contradicted(grid, pulse, config):  # one pulse cannot tell
        notes.append(
            f"grid pitch {grid.px_per_mm_x:.3f} px/mm fits no speed or gain of the pulses: misread, not used"
        )
        prior = grid.prior_px_per_mm
        grid = dataclasses.replace(grid, px_per_mm_x=prior, px_per_mm_y=prior, source="page-width")
    ppm_x, ppm_y, source = choose_pitch(grid, pulse, config)
    if source == "grid":
        speed, gain, agree, read_notes = read_speed_and_gain(found, ppm_x, ppm_y, config)
        notes += read_notes
        if any(agree):  # when none agrees (all misfit), the pulses still place the origin
            kept = iter(agree)
            pulses = [p if p is None or next(kept) else None for p in pulses]
            found = [p for p in pulses if p is not None]
        if config.read_speed_from_pulse and not any(pulse_speed(p, ppm_x, config) for p in found):
            pulses = [None if p is None else nominal_fall(p, speed * ppm_x) for p in pulses]
            found = [p for p in pulses if p is not None]
    else:
        speed, gain = MM_PER_S, MM_PER_MV
        notes.append(f"pitch from {source}: nominal 25 mm/s, 10 mm/mV")
    offset = config.origin_offset_mm * ppm_x
    row_x0 = []
    if found:
        x0 = float(np.median([p.fall_x_px for p in found])) + offset
        origin = "pulse"
        row_x0 = [x + offset for x in sheared_origins(rows, pulses, config.shear_min_mm * ppm_x)]
    else:
        firsts = [r.first_ink_x_px for r in rows if math.isfinite(r.first_ink_x_px)]
        x0, origin = (float(np.median(firsts)) if firsts else math.nan), "first-ink"
    px_per_mv = gain * ppm_y
    baselines = [p.top_y_px + px_per_mv * PULSE_AMPLITUDE_MV if p is not None else math.nan for p in pulses]
    return Calibration(ppm_x, ppm_y, speed, gain, x0, baselines, source, origin, notes, row_x0)


def nominal_fall(pulse: Pulse, px_per_s: float) -> Pulse:
    """The pulse with its falling edge one pulse duration after its rising edge. For a pulse whose
    width fits no speed: the first QRS was taken for its falling edge, the edge itself being lost on
    a dark grid line; the rising edge still marks where the pulse, and so the trace, starts."""
    return dataclasses.replace(pulse, fall_x_px=pulse.rise_x_px + PULSE_DURATION_S * px_per_s)


def sheared_origins(rows: list[Row], pulses: list[Pulse | None], min_shift_px: float) -> list[float]:
    """Per row, the pulses' falling edge on a line fitted through them against the rows' height, when
    that line moves the origin by `min_shift_px` or more over the rows (a sheared page); else []."""
    pairs = [(r.baseline_y_px, p.fall_x_px) for r, p in zip(rows, pulses, strict=True) if p is not None]
    return origins_on_a_line(pairs, [r.baseline_y_px for r in rows], min_shift_px)


def origins_on_a_line(
    pairs: list[tuple[float, float]],
    heights: list[float],
    min_shift_px: float,
    max_misfit_px: float = math.inf,
) -> list[float]:
    """Per row height, x on the line fitted through the (height, x) pairs, when two heights at least
    are known, the line explains them within `max_misfit_px` and moves x by `min_shift_px` or more
    over the heights; else []."""
    if len({y for y, _ in pairs}) < 2:
        return []
    y, x = np.array(pairs).T
    slope, intercept = np.polyfit(y, x, 1)
    heights_px = np.asarray(heights, dtype=np.float64)
    if (
        np.max(np.abs(intercept + slope * y - x)) > max_misfit_px
        or abs(slope) * float(np.ptp(heights_px)) < min_shift_px
    ):
        return []
    return [float(v) for v in intercept + slope * heights_px]


def origin_from_separators(
    calib: Calibration,
    bars: list[tuple[float, int, int]],
    quarter_s: float,
    config: CalibrationConfig | None = None,
    row_heights: list[float] | None = None,
) -> Calibration:
    """The calibration with its origin moved to where the separator bars put it, when enough agree.

    A bar (x, k, row) found where the k-th quarter (k = 1, 2, 3) of a row starts votes for
    x0 = x - k * quarter. The largest set of votes within `bar_agreement_mm` of each other wins if
    it has `min_agreeing_bars` from two rows and two quarters at least: the rows of a 3x4 page are
    simultaneous, so one heartbeat's QRS lines up across them like a bar, but not across quarters.
    With `row_heights` (the rows' baselines), rows whose own bars agree (two quarters at least)
    fit a line of origin against height, as the pulses do (`sheared_origins`): on a photo's
    residual shear each row's bars sit a few px right of the row above, more than the agreement.
    """
    config = config or CalibrationConfig()
    quarter_px = quarter_s * calib.px_per_s
    votes = [(x - k * quarter_px, k, row) for x, k, row in bars]
    reach = config.bar_agreement_mm * calib.px_per_mm_x
    row_x0 = sheared_bar_origins(votes, row_heights or [], reach, config.shear_min_mm * calib.px_per_mm_x)
    if row_x0:
        x0 = float(np.median(row_x0))
        note = "no calibration pulse: origin per row from its separator bars (sheared page)"
        return dataclasses.replace(
            calib, x0_px=x0, origin_source="separators", notes=[*calib.notes, note], row_x0_px=row_x0
        )
    best = agreeing_votes(votes, reach, config.min_agreeing_bars, min_distinct=2)
    if not best:
        return calib
    x0 = float(np.median([v[0] for v in best]))
    note = f"no calibration pulse: origin from {len(best)} separator bars"
    return dataclasses.replace(calib, x0_px=x0, origin_source="separators", notes=[*calib.notes, note])


def agreeing_votes(
    votes: list[tuple[float, int, int]], reach: float, min_votes: int, min_distinct: int
) -> list[tuple[float, int, int]]:
    """The largest set of origin votes (x0, quarter, row) within `reach` of each other that has
    `min_votes` and `min_distinct` quarters and rows; [] if none has."""
    votes = sorted(votes)
    best: list[tuple[float, int, int]] = []
    for i, (x0, _, _) in enumerate(votes):
        group = [v for v in votes[i:] if v[0] <= x0 + reach]
        distinct = min(len({k for _, k, _ in group}), len({row for _, _, row in group}))
        if len(group) >= min_votes and distinct >= min_distinct and len(group) > len(best):
            best = group
    return best


def sheared_bar_origins(
    votes: list[tuple[float, int, int]], row_heights: list[float], reach: float, min_shift_px: float
) -> list[float]:
    """Per row, the origin on a line fitted against the rows' heights through the origins of the
    rows whose own bars agree (two quarters at least), when at least two rows have them, the line
    explains them within `reach` and moves the origin by `min_shift_px` or more over the rows; else []."""
    pairs = []
    for row, height in enumerate(row_heights):
        group = agreeing_votes([v for v in votes if v[2] == row], reach, 2, min_distinct=1)
        if len({k for _, k, _ in group}) >= 2:
            pairs.append((height, float(np.median([v[0] for v in group]))))
    return origins_on_a_line(pairs, row_heights, min_shift_px, max_misfit_px=reach)


def pitch_from_separators(
    calib: Calibration,
    bars: list[tuple[float, int, int]],
    quarter_s: float,
    config: CalibrationConfig | None = None,
) -> Calibration:
    """The calibration with its x pitch from the spacing of the separator bars (x, k, row), when the
    pitch did not come from a grid, three bars at least (two in a row) lie within `bar_agreement_mm`
    of lines x = a_row + k * quarter (one slope, an intercept per row; the bar farthest off is
    dropped until they do: a QRS beside a bar), and the slope differs from the current quarter by
    more than `bar_rescale_min` and at most `bar_rescale_max`. The origin stays where it was."""
    config = config or CalibrationConfig()
    if calib.pitch_source == "grid":
        return calib
    tolerance = config.bar_agreement_mm * calib.px_per_mm_x
    bars = list(bars)
    while True:
        fit = bar_spacing(bars)
        if fit is None:
            return calib
        quarter_px, residuals = fit
        worst = int(np.argmax(np.abs(residuals)))
        if abs(residuals[worst]) <= tolerance:
            break
        bars.pop(worst)
    ratio = quarter_px / (quarter_s * calib.px_per_s)
    if not config.bar_rescale_min < abs(ratio - 1.0) <= config.bar_rescale_max:
        return calib
    note = f"time scale from {len(bars)} separator bars ({100 * (ratio - 1):+.1f} %)"
    return dataclasses.replace(calib, px_per_mm_x=calib.px_per_mm_x * ratio, notes=[*calib.notes, note])


def bar_spacing(bars: list[tuple[float, int, int]]) -> tuple[float, np.ndarray] | None:
    """(px per quarter, each bar's residual) of the least-squares lines x = a_row + k * quarter through
    the bars (x, k, row) of rows with two quarters at least (the others' residuals are 0: they are
    left out); None with fewer than three such bars."""
    rows = {row for _, _, row in bars}
    usable = {r for r in rows if len({k for _, k, row in bars if row == r}) >= 2}
    index = [i for i, (_, _, row) in enumerate(bars) if row in usable]
    if len(index) < 3:
        return None
    k = np.array([bars[i][1] for i in index], dtype=np.float64)
    x = np.array([bars[i][0] for i in index], dtype=np.float64)
    row = np.array([bars[i][2] for i in index])
    dk, dx = k.copy(), x.copy()
    for r in usable:
        dk[row == r] -= k[row == r].mean()
        dx[row == r] -= x[row == r].mean()
    quarter_px = float(dk @ dx) / float(dk @ dk)
    residuals = np.zeros(len(bars))
    residuals[index] = dx - quarter_px * dk
    return quarter_px, residuals
