import numpy as np
import pytest

from ecgvision.digitize.layout import find_rows
from ecgvision.digitize.trace import trace_probability
from ecgvision.digitize.vectorize import (
    blank_columns,
    drop_foreign_stretches,
    sample_polyline,
    trace_polyline,
    track_row,
)

PX_PER_MM = 200 / 25.4
JSON_OFFSET_PX = 0.5  # the sidecar's pixel coordinates put pixel centres at +0.5


def test_vectorizer_follows_the_plotted_pixels(examples):
    """Trace y at each sample's x vs the sidecar's plotted pixels: sub-2-px RMS over all leads."""
    for ex in examples:
        prob = trace_probability(ex.image, PX_PER_MM)
        rows = find_rows(prob, PX_PER_MM)
        errors = []
        for lead in ex.meta["leads"]:
            pixels = np.asarray(lead["plotted_pixels"]) - JSON_OFFSET_PX
            full = lead["end_sample"] - lead["start_sample"] == ex.reference_mv.shape[0]
            row = (
                rows[3]
                if full
                else min(rows[:3], key=lambda r: abs(r.baseline_y_px - np.median(pixels[:, 0])))
            )
            trace = track_row(prob, row, 110, 2095, row.baseline_y_px, PX_PER_MM)
            trace = blank_columns(trace, [(x - 6, x + 6) for x in (610, 1102, 1594)] + [(110, 122)])
            band = prob[row.band_top_px : row.band_bottom_px, 110:2095]
            x_poly, y_poly = trace_polyline(trace, band, row.band_top_px)
            errors.append(sample_polyline(x_poly, y_poly, pixels[:, 1], 8.0) - pixels[:, 0])
        error = np.concatenate(errors)
        assert np.isfinite(error).mean() > 0.97
        assert np.sqrt(np.nanmean(error**2)) < 2.0, ex.name


def test_rendered_trace_is_recovered(examples):
    render = pytest.importorskip("ecgvision.render.render")
    from ecgvision.digitize.pipeline import digitize_image
    from ecgvision.evaluation.metrics import align_signals, compute_snr

    ex = examples[0]
    signal = np.nan_to_num(ex.reference_mv)  # any realistic 12-lead signal will do
    rendered = render.render_record(signal, ex.fs_hz, None, 0, lead_names=ex.lead_names)
    result = digitize_image(rendered.image, ex.fs_hz, signal.shape[0], ex.lead_names)
    reference = rendered.truth.reference_mv
    snr = [
        compute_snr(
            reference[:, j], align_signals(reference[:, j], result.signal_mv[:, j], ex.fs_hz).signal_mv
        )
        for j in range(len(ex.lead_names))
    ]
    assert result.layout_name == "3x4+II"
    assert np.nanmean(snr) > 8.0


def test_tracker_waits_over_a_gap_instead_of_visiting_a_neighbouring_trace():
    """A row's flat trace breaks for 12 columns where a neighbour's stroke sits 60 px above: the
    path must hold its place (NaN there) and never report the neighbour's height."""
    from ecgvision.digitize.layout import Row

    prob = np.zeros((200, 120), np.float32)
    prob[149:152, :] = 1.0  # own trace, baseline y = 150
    prob[149:152, 50:62] = 0.0  # ... broken (a faint stretch of a scan)
    prob[88:91, 45:70] = 1.0  # the neighbouring row's deflection reaching into the band
    row = Row(0, 150.0, 0, 200, 0.0, 119.0)
    trace = track_row(prob, row, 0, 120, 150.0, PX_PER_MM)
    centre = trace.centre_px
    assert np.all(np.isnan(centre[50:62]))
    finite = centre[np.isfinite(centre)]
    assert np.allclose(finite, 150.0, atol=0.6)


def test_a_long_stretch_on_the_next_rows_trace_is_dropped_and_a_qrs_spike_is_kept():
    """Fold-9 photo 74: V2's path ran 40 columns along the next row's trace, 230 px below its zero
    line (-10.9 dB; 8.1 without them). A QRS reaching past the midpoint for a few columns stays."""
    top = np.full(300, 248.0)
    top[60:100] = 478.0  # the next row's trace (zero line 500; this row's 250, band 0-500)
    top[70:75] = np.nan  # inkless columns inside the stretch do not end it
    top[200:205] = 100.0  # an R wave's tip above the upper midpoint (125)
    bottom = top + 4.0
    drop_foreign_stretches(top, bottom, [125.0, 375.0], min_columns=20.0)
    assert np.all(np.isnan(top[60:100])) and np.all(np.isnan(bottom[60:100]))
    assert np.all(top[200:205] == 100.0)
    assert np.isfinite(top[:60]).all() and np.isfinite(top[100:200]).all()


def test_calibration_pulse_height_bridges_a_broken_edge():
    """Noise cuts the pulse's rising edge: the gain read from it stays 10 mm/mV (not 5)."""
    from ecgvision.digitize.layout import Row, find_pulse

    ppm = PX_PER_MM
    height = int(round(10 * ppm))  # 1 mV at 10 mm/mV
    width = int(round(5 * ppm))  # 0.2 s at 25 mm/s
    prob = np.zeros((300, 400), np.float32)
    base, x0 = 200, 20
    prob[base - 1 : base + 2, 0:x0] = 1.0
    prob[base - height : base + 2, x0 : x0 + 2] = 1.0  # rising edge
    prob[base - height - 1 : base - height + 2, x0 : x0 + width] = 1.0  # top
    prob[base - height : base + 2, x0 + width : x0 + width + 2] = 1.0  # falling edge
    prob[base + 1 : base + 40, x0 + width + 2 : x0 + width + 4] = 1.0  # the first QRS runs on below
    prob[base - height // 2 : base - height // 2 + 5, x0 : x0 + 2] = 0.0  # a 5 px break in the rise
    row = Row(0, float(base), 0, 300, 0.0, 399.0)
    pulse = find_pulse(prob, row, ppm)
    assert pulse is not None
    assert abs(pulse.height_px / ppm - 10.0) < 0.6


def dotted_s_wave() -> np.ndarray:
    """A flat trace at y = 100 that drops in a steep S wave to y = 220 over columns 48-54, whose ink
    dips under the threshold every few pixels (a blurred photo's texture and grid lines: values
    measured on fold-9 photo 3 alternate 0.75-0.8 and 0.4-0.5), and another row's trace at y = 240."""
    prob = np.zeros((300, 100), np.float32)
    prob[99:102, :48] = prob[99:102, 55:] = 0.9
    dotted = np.where((np.arange(100, 221) - 100) % 7 < 4, 0.78, 0.42).astype(np.float32)
    prob[100:221, 48:55] = dotted[:, None]
    prob[239:242, :] = 0.9
    return prob


def test_dotted_steep_stroke_is_one_run_and_paper_still_splits():
    from ecgvision.digitize.vectorize import column_runs

    runs = column_runs(dotted_s_wave(), 0.5, 1.5, 0.25)
    tops, bottoms = runs[50]
    assert tops.size == 2  # the stroke and the other row's trace: paper lies between them
    assert tops[0] < 100.5 and bottoms[0] > 219.5 and tops[1] > 238.0
    assert column_runs(dotted_s_wave(), 0.5, 1.5)[50][0].size > 10  # without it: pieces


def test_tracker_follows_a_dotted_s_wave_to_its_bottom():
    """Measured on fold-9 photo 3: V2's -2 mV S waves read as -0.5 mV before the runs were joined."""
    from ecgvision.digitize.layout import Row

    row = Row(0, 100.0, 0, 230, 0.0, 99.0)  # the band ends above the other row's trace
    trace = track_row(dotted_s_wave(), row, 0, 100, 100.0, PX_PER_MM)
    assert np.nanmax(trace.bottom_px) > 219.5


def s_wave_under_a_grid_line() -> np.ndarray:
    """A b/w page whose flat trace lies on a grid line (y = 100) that runs on, broken once, under a
    deep S wave: 1 px strokes down to y = 240 over columns 50-53 and back up over 54-59."""
    prob = np.zeros((300, 100), np.float32)
    prob[99:102, :] = 1.0
    prob[99:102, 57] = 0.0
    down = np.linspace(100, 240, 5).astype(int)
    for j, (a, b) in enumerate(zip(down[:-1], down[1:], strict=True)):
        prob[a : b + 1, 50 + j] = 1.0
    up = np.linspace(240, 100, 7).astype(int)
    for j, (a, b) in enumerate(zip(up[:-1], up[1:], strict=True)):
        prob[b : a + 1, 54 + j] = 1.0
    return prob


def test_tracker_takes_the_s_wave_not_the_grid_line_it_leaves():
    """Measured on fold-9 b/w page 2: V2's S waves (-1.8 mV) read as the grid line on its baseline."""
    from dataclasses import replace

    from ecgvision.digitize.layout import Row
    from ecgvision.digitize.vectorize import VectorizeConfig

    row = Row(0, 100.0, 0, 300, 0.0, 99.0)
    trace = track_row(s_wave_under_a_grid_line(), row, 0, 100, 100.0, PX_PER_MM)
    assert np.nanmax(trace.bottom_px) > 239.5
    assert np.all(trace.bottom_px[52:58] > 160.0)  # the S wave, down and up again
    unrewarded = replace(VectorizeConfig(), ink_reward_px=0.0)
    trace = track_row(s_wave_under_a_grid_line(), row, 0, 100, 100.0, PX_PER_MM, unrewarded)
    assert np.nanmax(trace.bottom_px) < 140.0


@pytest.mark.parametrize("apex_x", [60.2, 60.5, 60.8])
def test_a_spike_apex_between_pixel_columns_is_read_at_its_sub_pixel_x(apex_x):
    """A QRS spike 70 px tall (100 Hz at 7.2 px/mm, blurred as a photo): the sample at the apex's x
    reads the apex to 2 px. With the apex at its column's centre, and the merged strokes' row
    centres kept below it, the samples read 18-25 px down the stroke (fold-9 photo 18, V5: 1.02 mV
    read as 0.68)."""
    import cv2

    from ecgvision.digitize.layout import Row

    step = 25 * 7.21 / 100.0  # px per sample
    xs = apex_x + step * np.arange(-30, 31)
    ys = np.full(xs.shape, 150.0)
    ys[30] = 80.0
    canvas = np.zeros((200, 120), np.uint8)
    points = np.round(np.stack([xs, ys], axis=1) * 16).astype(np.int32)  # 4 fractional bits
    cv2.polylines(canvas, [points], False, 255, 2, cv2.LINE_AA, shift=4)
    # blurred and a little faint, as a photo's trace evidence
    prob = np.clip(1.5 * cv2.GaussianBlur(canvas.astype(np.float32) / 255.0, (0, 0), 1.2), 0.0, 1.0)
    row = Row(0, 150.0, 0, 200, 0.0, 119.0)
    trace = track_row(prob, row, 0, 120, 150.0, 7.21)
    x_poly, y_poly = trace_polyline(trace, prob, 0)
    apex_read = sample_polyline(x_poly, y_poly, np.array([apex_x]), 8.0)[0]
    assert abs(apex_read - 80.0) < 2.0


def test_sample_values_are_fitted_from_the_strokes_between_them():
    """A trace drawn straight between its samples (2 px apart, QRS-like jumps), read only away from
    its corners (line width and blur round them off): without the hold to the sampled value the
    knot fit recovers every sample exactly; with the shipped hold it still halves the error of
    sampling the polyline at each sample's x (which cuts every corner)."""

    from ecgvision.digitize.vectorize import VectorizeConfig, fit_at_knots

    rng = np.random.default_rng(3)
    x_knots = 10.0 + 1.97 * np.arange(60)
    y_knots = 100.0 + np.cumsum(rng.normal(0.0, 6.0, x_knots.size))
    x_points = np.arange(x_knots[0], x_knots[-1], 0.25)
    y_points = np.interp(x_points, x_knots, y_knots)
    nearest_knot = x_knots[np.argmin(np.abs(x_points[:, None] - x_knots[None, :]), axis=1)]
    away = np.abs(x_points - nearest_knot) > 0.6
    x_points, y_points = x_points[away], y_points[away]

    def rms_error(values: np.ndarray) -> float:
        return float(np.sqrt(np.mean((values - y_knots)[1:-1] ** 2)))  # end knots: points on one side

    exact = fit_at_knots(x_points, y_points, x_knots, 8.0, VectorizeConfig(knot_hold_per_px=0.0))
    held = fit_at_knots(x_points, y_points, x_knots, 8.0, VectorizeConfig())
    sampled = sample_polyline(x_points, y_points, x_knots, 8.0)
    assert rms_error(exact) < 0.01
    assert rms_error(sampled) > 1.0
    assert rms_error(held) < 0.6 * rms_error(sampled)
