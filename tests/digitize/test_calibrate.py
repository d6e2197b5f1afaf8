"""Calibration from pulses: each pulse votes; one misread pulse neither moves the reading nor places a baseline."""

import dataclasses
import math

import numpy as np

from ecgvision.digitize.calibrate import (
    Calibration,
    CalibrationConfig,
    calibrate,
    origin_from_separators,
    pitch_from_separators,
)
from ecgvision.digitize.grid import GridEstimate
from ecgvision.digitize.layout import Pulse, Row

PPM = 7.874  # 200 dpi


def rows(n: int) -> list[Row]:
    return [Row(i, 700.0 + 280 * i, 0, 2000, 80.0, 2100.0) for i in range(n)]


def pulse(top_y: float, height_mm: float, width_mm: float = 5.0) -> Pulse:
    return Pulse(80.0, 80.0 + width_mm * PPM, top_y, top_y + height_mm * PPM)


def test_a_misread_pulse_is_outvoted_and_ignored():
    grid = GridEstimate(PPM, PPM, 100.0, 100.0, "grid")
    # rows 0 and 1: a 10 mm pulse; row 2: a grid line taken for a 0.8 mm tall pulse (b/w page)
    pulses = [pulse(620.0, 10.0), pulse(900.0, 10.0), pulse(1456.0, 0.8)]
    calib = calibrate(grid, rows(3), pulses)
    assert calib.gain_mm_per_mv == 10.0 and calib.speed_mm_per_s == 25.0
    assert math.isfinite(calib.baseline_y_px[0]) and math.isnan(calib.baseline_y_px[2])
    assert any("disagree" in note for note in calib.notes)
    # the median of two (10 mm and 0.8 mm) would have read 5 mm/mV


def test_pulses_that_all_misfit_keep_the_nominal_values():
    grid = GridEstimate(PPM, PPM, 100.0, 100.0, "grid")
    calib = calibrate(grid, rows(2), [pulse(620.0, 2.2), pulse(900.0, 2.3)])
    assert calib.gain_mm_per_mv == 10.0
    assert any("fits no gain" in note for note in calib.notes)
    assert calib.origin_source == "pulse"  # their edges still place the time origin


def test_a_pulse_whose_width_fits_no_speed_places_the_origin_from_its_rising_edge():
    """Fold-9 photo 69: the pulse's falling edge lay on a dark grid line and was lost; the first QRS,
    1.8 mm on, was taken for it (6.78 mm: no speed) and every lead started 12 px late (8.4 dB; 9.7
    with the rising edge and the nominal 5 mm)."""
    grid = GridEstimate(PPM, PPM, 100.0, 100.0, "grid")
    calib = calibrate(grid, rows(4), [pulse(620.0, 10.0, width_mm=6.78), None, None, None])
    assert calib.speed_mm_per_s == 25.0 and any("fits no speed" in note for note in calib.notes)
    offset = CalibrationConfig().origin_offset_mm * PPM
    assert abs(calib.x0_px - (80.0 + 5.0 * PPM + offset)) < 1e-6
    # a pulse that fits a speed keeps its own falling edge
    calib = calibrate(grid, rows(4), [pulse(620.0, 10.0, width_mm=5.1), None, None, None])
    assert abs(calib.x0_px - (80.0 + 5.1 * PPM + offset)) < 1e-6


def test_a_gridless_page_keeps_its_width_when_either_side_of_the_pulse_confirms_it():
    """A b/w pulse is 39 +- 1 px wide: its width alone 4 % off the page-width pitch would rescale the
    whole page; its height (10 mm) agrees to 0.2 %. A cropped page disagrees both ways."""
    prior = GridEstimate(PPM, PPM, 0.0, 0.0, "page-width")
    wide = [pulse(620.0, 10.02, width_mm=5.2), pulse(900.0, 10.02, width_mm=5.2)]
    assert calibrate(prior, rows(2), wide).pitch_source == "page-width"
    cropped = [pulse(620.0, 11.0, width_mm=5.5), pulse(900.0, 11.0, width_mm=5.5)]
    calib = calibrate(prior, rows(2), cropped)
    assert calib.pitch_source == "pulse" and abs(calib.px_per_mm_x / PPM - 1.1) < 1e-6


def test_a_grid_pitch_no_pulse_setting_explains_is_not_used():
    """Fold-9 b/w page 23: the dash pattern gave a 'grid' of 6.56 px/mm on a 7.874 px/mm page; its 4
    pulses (39 x 79 px) fit no speed or gain at that pitch. The page read at -3.0 dB, 17.7 with this."""
    misread = GridEstimate(6.562, 6.562, 50.0, 50.0, "grid", "", PPM)
    pulses = [pulse(620.0, 10.0), pulse(900.0, 10.0), pulse(1180.0, 10.0), pulse(1440.0, 10.0)]
    calib = calibrate(misread, rows(4), pulses)
    assert calib.pitch_source == "page-width" and abs(calib.px_per_mm_x - PPM) < 1e-9
    assert any("misread" in note for note in calib.notes)
    # a real 50 mm/s, 20 mm/mV page: pulses twice the grid's size both ways; that is a setting
    fast = [pulse(620.0, 20.0, width_mm=10.0), pulse(900.0, 20.0, width_mm=10.0)]
    calib = calibrate(GridEstimate(PPM, PPM, 50.0, 50.0, "grid", "", PPM), rows(2), fast)
    assert calib.pitch_source == "grid" and (calib.speed_mm_per_s, calib.gain_mm_per_mv) == (50.0, 20.0)
    # a single pulse is not enough to overrule the grid
    calib = calibrate(misread, rows(4), [pulse(620.0, 10.0), None, None, None])
    assert calib.pitch_source == "grid"


def test_separator_bars_place_the_origin_only_across_rows_and_quarters():
    """Without a pulse the first ink is a guess; bars at whole quarters (2.5 s = 492 px) place x0.
    One heartbeat's QRS lines up across the simultaneous rows of a 3x4 page like a bar would."""
    guess = Calibration(PPM, PPM, 25.0, 10.0, 38.0, origin_source="first-ink")
    quarter_px = 2.5 * 25.0 * PPM
    bars = [(120.0 + k * quarter_px + 0.3 * row, k, row) for row in range(3) for k in (1, 2, 3)]
    placed = origin_from_separators(guess, bars, 2.5)
    assert placed.origin_source == "separators" and abs(placed.x0_px - 120.3) < 0.01
    one_beat = [(700.0, 1, row) for row in range(3)]
    assert origin_from_separators(guess, one_beat, 2.5).x0_px == 38.0
    two_bars = bars[:2]
    assert origin_from_separators(guess, two_bars, 2.5).origin_source == "first-ink"


def test_rows_get_their_own_origin_only_on_a_sheared_page():
    """Pulses drifting 3 px per row (a photo's residual shear) give each row the origin on a line
    through them, the row without a pulse too; 0.1 px of scatter keeps one origin for the page."""
    grid = GridEstimate(PPM, PPM, 100.0, 100.0, "grid")
    level = [pulse(630.0 + 280 * i, 10.0) for i in range(3)]
    sheared = [
        Pulse(p.rise_x_px + 3 * i, p.fall_x_px + 3 * i, p.top_y_px, p.foot_y_px) for i, p in enumerate(level)
    ]
    calib = calibrate(grid, rows(4), [*sheared, None])
    offset = calib.x0_px - sheared[1].fall_x_px  # the origin convention's fraction of a pixel
    assert [round(x - offset, 3) for x in calib.row_x0_px] == [119.37, 122.37, 125.37, 128.37]
    assert calib.x_of_time(1.0, 3) - calib.x_of_time(1.0) == 6.0
    straight = [
        Pulse(p.rise_x_px, p.fall_x_px + 0.1 * (i % 2), p.top_y_px, p.foot_y_px) for i, p in enumerate(level)
    ]
    assert calibrate(grid, rows(4), [*straight, None]).row_x0_px == []


def test_sheared_separator_bars_give_each_row_its_origin():
    """Bars drifting 12 px per row (a photo's residual shear, no pulse): each row's own bars agree, the
    rows do not (1 mm agreement); a line through the rows' origins places every row, the rhythm row
    without bars too."""
    guess = Calibration(PPM, PPM, 25.0, 10.0, 38.0, origin_source="first-ink")
    quarter_px = 2.5 * 25.0 * PPM
    bars = [(120.0 + k * quarter_px + 12.0 * row, k, row) for row in range(3) for k in (1, 2, 3)]
    heights = [700.0 + 280 * i for i in range(4)]
    placed = origin_from_separators(guess, bars, 2.5, row_heights=heights)
    assert placed.origin_source == "separators"
    assert np.allclose(placed.row_x0_px, [120.0, 132.0, 144.0, 156.0])
    # level bars keep one origin for the page
    level = [(120.0 + k * quarter_px, k, row) for row in range(3) for k in (1, 2, 3)]
    assert origin_from_separators(guess, level, 2.5, row_heights=heights).row_x0_px == []


def test_separator_bar_spacing_rescales_a_page_width_pitch_only_beyond_its_error():
    prior = Calibration(PPM, PPM, 25.0, 10.0, 100.0, pitch_source="page-width", origin_source="pulse")
    quarter_px = 2.5 * 25.0 * PPM
    wider = [(100.0 + 1.02 * k * quarter_px, k, row) for row in range(3) for k in (1, 2, 3)]
    qrs = (100.0 + 1.02 * 3 * quarter_px + 40.0, 3, 3)  # a QRS beside the rhythm row's bar position
    scaled = pitch_from_separators(prior, [*wider, qrs, (wider[2][0] + 30.0, 3, 0)], 2.5)
    assert abs(scaled.px_per_mm_x / (1.02 * PPM) - 1) < 1e-6 and scaled.x0_px == 100.0
    # bars agreeing with the page width to 0.03 % (their own error) leave the exact prior alone
    close = [(100.0 + 1.0003 * k * quarter_px, k, row) for row in range(3) for k in (1, 2, 3)]
    assert pitch_from_separators(prior, close, 2.5).px_per_mm_x == PPM
    grid = dataclasses.replace(prior, pitch_source="grid")
    assert pitch_from_separators(grid, wider, 2.5).px_per_mm_x == PPM
