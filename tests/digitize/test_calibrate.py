"""Calibration from pulses: each pulse votes; one misread pulse neither moves the reading nor places a baseline."""

import math

from ecgvision.digitize.calibrate import calibrate
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


def test_a_gridless_page_keeps_its_width_when_either_side_of_the_pulse_confirms_it():
    """A b/w pulse is 39 +- 1 px wide: its width alone 4 % off the page-width pitch would rescale the
    whole page; its height (10 mm) agrees to 0.2 %. A cropped page disagrees both ways."""
    prior = GridEstimate(PPM, PPM, 0.0, 0.0, "page-width")
    wide = [pulse(620.0, 10.02, width_mm=5.2), pulse(900.0, 10.02, width_mm=5.2)]
    assert calibrate(prior, rows(2), wide).pitch_source == "page-width"
    cropped = [pulse(620.0, 11.0, width_mm=5.5), pulse(900.0, 11.0, width_mm=5.5)]
    calib = calibrate(prior, rows(2), cropped)
    assert calib.pitch_source == "pulse" and abs(calib.px_per_mm_x / PPM - 1.1) < 1e-6
