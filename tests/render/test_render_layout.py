import gzip
import json

import numpy as np
import pytest

from ecgvision.layouts import LAYOUTS, plotted_mask
from ecgvision.render.config import RenderConfig
from ecgvision.render.layout import place_segments, plot_duration_s
from ecgvision.render.render import render_record

EXPECTED_SEGMENTS = {"3x4+II": 13, "3x4+3": 15, "6x2": 12, "12x1": 12}


@pytest.mark.parametrize("fs", [100.0, 500.0])
def test_3x4_columns_start_at_quarter_records_and_rhythm_is_full(fs):
    segments = place_segments(RenderConfig(), int(10 * fs), fs)
    grid = [s for s in segments if s.row < 3]
    assert sorted({s.start_s for s in grid}) == [0.0, 2.5, 5.0, 7.5]
    for s in grid:
        assert s.start_sample == round(s.column * 2.5 * fs) and s.end_sample == round(
            (s.column + 1) * 2.5 * fs
        )
    rhythm = [s for s in segments if s.row == 3]
    assert [(s.lead, s.start_sample, s.end_sample) for s in rhythm] == [("II", 0, int(10 * fs))]


def test_time_to_x_is_one_continuous_mapping_across_columns():
    fs = 500.0
    config = RenderConfig()
    row = sorted((s for s in place_segments(config, 5000, fs) if s.row == 0), key=lambda s: s.column)
    px_per_s = config.speed_mm_per_s * config.px_per_mm
    for s in row:
        n = np.array([s.start_sample, s.end_sample - 1])
        np.testing.assert_allclose(s.x_page_px(n), 15.0 * config.px_per_mm + n / fs * px_per_s)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_layout_renders_its_segments_and_masks_the_reference(layout, ptbxl_signals):
    signal, fs = ptbxl_signals[0]
    rendered = render_record(signal, fs, RenderConfig(layout=layout), 0)
    truth = rendered.truth
    assert len(truth.segments) == EXPECTED_SEGMENTS[layout]
    assert all(len(s.x_px) == s.end_sample - s.start_sample for s in truth.segments)
    expected_mask = plotted_mask(LAYOUTS[layout], fs, signal.shape[0])
    np.testing.assert_array_equal(np.isfinite(truth.reference_mv), expected_mask)
    np.testing.assert_array_equal(truth.reference_mv[expected_mask], signal[expected_mask])


def test_50_mm_per_s_prints_the_first_five_seconds(challenge_signal):
    signal, fs = challenge_signal
    config = RenderConfig(speed_mm_per_s=50.0)
    assert plot_duration_s(config, 10.0) == 5.0
    truth = render_record(signal, fs, config, 0).truth
    assert sorted({s.start_sample for s in truth.segments}) == [0, 625, 1250, 1875]
    assert np.isfinite(truth.reference_mv).any(axis=1)[:2500].all()
    assert not np.isfinite(truth.reference_mv[2500:]).any()
    first = truth.segments[0]
    assert first.x_px[1] - first.x_px[0] == pytest.approx(50.0 * config.px_per_mm / fs)


def test_clean_render_reproduces_the_challenge_sidecar_coordinates(challenge_examples, challenge_signal):
    """Same rows, columns, scale and masked samples as the official 00005_hr-0 image."""
    signal, fs = challenge_signal
    truth = render_record(signal, fs, RenderConfig(), 0).truth
    with gzip.open(challenge_examples / "00005_hr-0.json.gz", "rt") as handle:
        sidecar = json.load(handle)
    ours = {(s.lead.upper(), s.start_sample, s.end_sample): s for s in truth.segments}
    assert len(ours) == len(sidecar["leads"]) == 13
    for lead in sidecar["leads"]:
        segment = ours[(lead["lead_name"].upper(), lead["start_sample"], lead["end_sample"])]
        yx = np.asarray(lead["plotted_pixels"])
        assert np.abs(segment.y_px - yx[:, 0]).max() < 0.05
        assert np.abs(segment.x_px - yx[:, 1]).max() < 0.05
    assert (truth.width_px, truth.height_px) == (sidecar["width"], sidecar["height"])
