import dataclasses

import cv2
import numpy as np
import pytest

from ecgvision.render.config import RealismConfig, RenderConfig, with_variant
from ecgvision.render.render import render_record

ROTATED = RealismConfig(rotation_prob=1.0, rotation_max_deg=10.0)
WARPED = RealismConfig(
    rotation_prob=1.0,
    perspective_prob=1.0,
    crop_prob=1.0,
    crop_max_frac=0.03,
    lowres_prob=1.0,
    lowres_min_scale=0.6,
)


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """10 log10(signal power / error power) over finite reference samples."""
    ok = np.isfinite(reference)
    noise = np.mean((reference[ok] - estimate[ok]) ** 2)
    return float(10 * np.log10(np.mean(reference[ok] ** 2) / max(noise, 1e-20)))


def recovered_snr(rendered) -> float:
    """SNR of the samples read back from the truth polylines against the plotted reference."""
    truth = rendered.truth
    estimate = np.full_like(truth.reference_mv, np.nan)
    for seg in truth.segments:
        j = [name.casefold() for name in truth.lead_names].index(seg.lead.casefold())
        estimate[seg.start_sample : seg.end_sample, j] = truth.segment_values_mv(seg)
    return snr_db(truth.reference_mv, estimate)


def ink_fraction(rendered, dark_below: int = 128) -> float:
    """Fraction of truth points (every plotted sample) within 1 px of dark ink in the image."""
    grey = cv2.cvtColor(rendered.image, cv2.COLOR_RGB2GRAY)
    to_ink = cv2.distanceTransform((grey >= dark_below).astype(np.uint8), cv2.DIST_L2, 5)
    points = np.concatenate([np.stack([s.x_px, s.y_px], 1) for s in rendered.truth.segments])
    cols, rows = np.round(points).astype(int).T
    inside = (rows >= 0) & (rows < grey.shape[0]) & (cols >= 0) & (cols < grey.shape[1])
    return float((to_ink[rows[inside], cols[inside]] <= 1.0).mean())


@pytest.mark.parametrize("realism", [RealismConfig(), ROTATED, WARPED], ids=["clean", "rotated", "warped"])
def test_truth_polylines_read_back_to_the_signal_and_lie_on_the_ink(realism, ptbxl_signals, challenge_signal):
    for signal, fs in [*ptbxl_signals[:2], challenge_signal]:
        rendered = render_record(signal, fs, RenderConfig(realism=realism), 7)
        assert recovered_snr(rendered) > 40.0
        # Shrunk images have thinner, lighter ink after resampling.
        assert ink_fraction(rendered, 128 if realism is not WARPED else 200) > 0.99


def test_rotation_moves_the_truth_with_the_pixels(challenge_signal):
    signal, fs = challenge_signal
    clean = render_record(signal, fs, RenderConfig(), 3)
    rotated = render_record(signal, fs, RenderConfig(realism=ROTATED), 3)
    assert not np.allclose(rotated.truth.homography, np.eye(3))
    shift = np.hypot(
        rotated.truth.segments[0].x_px - clean.truth.segments[0].x_px,
        rotated.truth.segments[0].y_px - clean.truth.segments[0].y_px,
    )
    assert shift.max() > 5.0  # a real warp, yet (test above) still on the ink


@pytest.mark.parametrize(("gain", "dpi"), [(10.0, 200), (20.0, 200), (5.0, 300)])
def test_calibration_pulse_is_one_millivolt_high_in_pixels(gain, dpi, ptbxl_signals):
    signal, fs = ptbxl_signals[0]
    config = RenderConfig(gain_mm_per_mv=gain, dpi=dpi, header_text=False)
    rendered = render_record(signal, fs, config, 0)
    expected_px = gain * dpi / 25.4
    pulse = rendered.truth.calibration_pulses_px[0]
    assert pulse[0, 1] - pulse[1, 1] == pytest.approx(expected_px)
    # Measured in the pixels: darkness-weighted centre of the pulse top in its middle column.
    x_mid = int(round(pulse[1:3, 0].mean()))
    top, baseline = pulse[1, 1], pulse[0, 1]
    rows = np.arange(int(top) - 4, int(top) + 5)
    darkness = 255.0 - cv2.cvtColor(rendered.image, cv2.COLOR_RGB2GRAY)[rows, x_mid]
    darkness = np.clip(darkness - np.median(darkness), 0, None)  # drop the paper and grid level
    measured_top = (rows * darkness).sum() / darkness.sum()
    assert baseline - measured_top == pytest.approx(expected_px, abs=0.35)


def test_same_seed_same_image_and_other_seed_differs(challenge_signal):
    signal, fs = challenge_signal

    def render(seed):
        rng = np.random.default_rng(seed)
        name, config = with_variant(RenderConfig(), "mix", rng)
        return render_record(signal, fs, config, rng, variant=name)

    first, again, other = render(11), render(11), render(12)
    assert first.image.tobytes() == again.image.tobytes() and first.encoded_jpeg == again.encoded_jpeg
    assert first.truth.variant == again.truth.variant
    assert first.image.shape != other.image.shape or not np.array_equal(first.image, other.image)


@pytest.mark.parametrize("variant", ["clean", "scan", "bw", "photo", "stained"])
def test_each_preset_renders_a_usable_image(variant, ptbxl_signals):
    signal, fs = ptbxl_signals[1]
    rng = np.random.default_rng(5)
    name, config = with_variant(RenderConfig(), variant, rng)
    rendered = render_record(signal, fs, config, rng, variant=name)
    image = rendered.image
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert (rendered.truth.height_px, rendered.truth.width_px) == image.shape[:2]
    assert rendered.truth.variant == variant
    assert recovered_snr(rendered) > 40.0
    if variant == "bw":
        assert set(np.unique(image)) <= {0, 255}


def test_trace_mask_covers_the_dark_trace(challenge_signal):
    signal, fs = challenge_signal
    config = RenderConfig(
        grid_mode="none", calibration_pulse=False, separators=False, lead_labels=False, header_text=False
    )
    rendered = render_record(signal, fs, config, 0)
    mask = rendered.truth.trace_mask()
    # On blank paper only the trace is ink; the mask is "at least half covered": grey below 142.
    ink = cv2.cvtColor(rendered.image, cv2.COLOR_RGB2GRAY) < (255 + 30) / 2
    assert (ink & mask).sum() / ink.sum() > 0.99
    assert (ink & mask).sum() / mask.sum() > 0.99


def test_the_full_ink_mask_covers_pulses_and_separator_bars(challenge_signal):
    signal, fs = challenge_signal
    config = RenderConfig(grid_mode="none", lead_labels=False, header_text=False)
    rendered = render_record(signal, fs, config, 0)
    mask = rendered.truth.trace_mask(include_pulses=True, include_separators=True)
    ink = cv2.cvtColor(rendered.image, cv2.COLOR_RGB2GRAY) < (255 + 30) / 2
    assert (ink & mask).sum() / ink.sum() > 0.99  # all the page's ink: trace, pulses, bars
    assert (ink & mask).sum() / mask.sum() > 0.97
    trace_only = rendered.truth.trace_mask()
    assert (ink & ~trace_only).sum() > 0.02 * ink.sum()  # the pulses and bars are not trace


def test_nan_samples_leave_gaps_and_bad_input_is_refused(challenge_signal):
    signal, fs = challenge_signal
    holed = signal.copy()
    holed[100:200, 0] = np.nan
    truth = render_record(holed, fs, RenderConfig(), 0).truth
    assert np.isnan(
        truth.segments[next(i for i, s in enumerate(truth.segments) if s.lead == "I")].x_px[100:200]
    ).all()
    with pytest.raises(ValueError, match="does not match"):
        render_record(signal[:, :6], fs, RenderConfig(), 0)
    with pytest.raises(ValueError, match="dpi"):
        render_record(signal, fs, dataclasses.replace(RenderConfig(), dpi=600), 0)
