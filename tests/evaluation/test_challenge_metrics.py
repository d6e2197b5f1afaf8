"""Challenge 2024 metrics, one hand-computed case per rule of section 4 of the contract."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecgvision.evaluation.metrics import (
    align_signals,
    asci_metric,
    compute_coverage,
    compute_f_measure,
    compute_snr,
    ks_metric,
    quantize,
    shift_signal,
    weighted_absolute_difference,
)

FS_HZ = 100.0
NUM_SAMPLES = 1000


def alternating(n: int = 100) -> np.ndarray:
    """+1, -1, +1, ... mV: power exactly 1 mV^2."""
    return np.where(np.arange(n) % 2 == 0, 1.0, -1.0)


def bumps_signal() -> np.ndarray:
    """A non-periodic 10 s trace at 100 Hz: Gaussian 'beats' at irregular times and heights (mV)."""
    t = np.arange(NUM_SAMPLES) / FS_HZ
    centres = [0.8, 1.9, 2.6, 4.1, 4.9, 6.4, 7.0, 8.7, 9.3]
    heights = [1.2, -0.6, 1.8, 0.9, -1.1, 1.5, 0.7, -0.9, 1.3]
    widths = [0.05, 0.12, 0.04, 0.2, 0.08, 0.05, 0.3, 0.1, 0.06]
    return sum(
        h * np.exp(-0.5 * ((t - c) / w) ** 2) for c, h, w in zip(centres, heights, widths, strict=True)
    )


def delayed(x: np.ndarray, k: int) -> np.ndarray:
    """x delayed by k samples: y[t] = x[t - k], the first k samples unknown (NaN)."""
    return np.concatenate([np.full(k, np.nan), x[:-k]])


# --- SNR ------------------------------------------------------------------------------------------


def test_perfect_match_is_nan():
    x = alternating()
    assert math.isnan(compute_snr(x, x.copy()))


def test_known_noise_gives_known_snr():
    # Ps = 1, Pn = 0.1^2 -> 10 log10(100) = 20 dB
    x = alternating()
    assert compute_snr(x, x + 0.1) == pytest.approx(20.0)


def test_half_the_estimate_nan_halves_the_snr():
    x = alternating()
    y = x + 0.1
    y[::2] = np.nan
    assert compute_coverage(x, y) == pytest.approx(0.5)
    assert compute_snr(x, y) == pytest.approx(10.0)


def test_shorter_estimate_is_padded_with_nan():
    x = alternating()
    assert compute_snr(x, x[:25] + 0.1) == pytest.approx(20.0 * 0.25)


def test_all_nan_estimate_scores_zero_db():
    x = alternating()
    assert compute_snr(x, np.full_like(x, np.nan)) == 0.0


def test_unscored_reference_samples_are_ignored():
    # NaN/inf in the reference are not scored, whatever the estimate holds there
    x = alternating()
    y = x + 0.1
    x_masked = x.copy()
    x_masked[:50] = np.nan
    x_masked[50] = np.inf
    y[:51] = 99.0
    assert compute_snr(x_masked, y) == pytest.approx(20.0)


def test_nothing_to_score_or_silent_reference_is_nan():
    assert math.isnan(compute_snr(np.full(10, np.nan), np.zeros(10)))
    assert math.isnan(compute_snr(np.zeros(10), np.ones(10)))


def test_snr_median_uses_the_median_noise_power():
    # noise 0.1 on 3 samples of 4 and 1.0 on one: median noise power 0.01 -> 20 dB; mean would be lower
    x = np.array([1.0, -1.0, 1.0, -1.0])
    y = x + np.array([0.1, 0.1, 0.1, 1.0])
    assert compute_snr(x, y, noise_median=True) == pytest.approx(20.0)
    assert compute_snr(x, y) < 10.0


# --- alignment ------------------------------------------------------------------------------------


def test_quantization_uses_both_extremes_and_clips():
    # 255 * (0 + 1) / 2 + 1 = 128.5 rounds half to even (numpy, as the official code) -> 128
    assert quantize(np.array([-1.0, 0.0, 1.0, 5.0]), -1.0, 1.0).tolist() == [1, 128, 256, 256]
    assert quantize(np.array([2.0, 2.0]), 2.0, 2.0).tolist() == [1, 1]  # a == b: no vertical range


def test_shift_rules_pad_and_drop_samples():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert np.array_equal(shift_signal(y, 1, 0.5), [1.5, 2.5, 3.5, np.nan], equal_nan=True)
    assert np.array_equal(shift_signal(y, -2, 0.0), [np.nan, np.nan, 1, 2, 3, 4], equal_nan=True)


def test_small_horizontal_shift_is_realigned_and_scores_high():
    x = bumps_signal()
    noise = 0.01 * np.random.default_rng(0).standard_normal(NUM_SAMPLES)
    k = 20  # 0.2 s < round(0.5 fs) = 50 samples
    y = delayed(x, k) + noise
    alignment = align_signals(x, y, FS_HZ)
    assert alignment.applied and alignment.shift_samples == k
    assert abs(alignment.shift_mv) <= 0.02
    assert compute_snr(x, alignment.signal_mv) > 25.0
    assert compute_snr(x, y) < 5.0  # the same estimate, unaligned


def test_shift_beyond_half_a_second_is_not_applied():
    x = bumps_signal()
    k = 70  # 0.7 s > 0.5 s
    y = delayed(x, k) + 0.01 * np.random.default_rng(1).standard_normal(NUM_SAMPLES)
    alignment = align_signals(x, y, FS_HZ)
    assert alignment.shift_samples == k and not alignment.applied
    assert np.array_equal(alignment.signal_mv, y, equal_nan=True)


def test_vertical_offset_within_one_millivolt_is_realigned():
    x = bumps_signal()
    alignment = align_signals(x, x + 0.5, FS_HZ)
    step_mv = (x.max() + 0.5 - x.min()) / 255  # one quantization level
    assert alignment.applied and alignment.shift_samples == 0
    assert alignment.shift_mv == pytest.approx(0.5, abs=step_mv)
    assert compute_snr(x, alignment.signal_mv) > 30.0


def test_vertical_offset_beyond_one_millivolt_is_not_applied():
    x = bumps_signal()
    y = x + 1.5
    alignment = align_signals(x, y, FS_HZ)
    assert alignment.shift_mv == pytest.approx(1.5, abs=0.02) and not alignment.applied
    ps = np.mean(x**2)
    assert compute_snr(x, alignment.signal_mv) == pytest.approx(10 * np.log10(ps / 1.5**2))


def test_no_alignment_without_finite_samples():
    x = bumps_signal()
    alignment = align_signals(x, np.full_like(x, np.nan), FS_HZ)
    assert not alignment.applied and np.isnan(alignment.signal_mv).all()


# --- extras ---------------------------------------------------------------------------------------


def test_ks_metric_hand_computed():
    # F_x = [.25, .5, .75, 1], F_y = [.5, .5, .5, 1] -> 1 - 0.25
    assert ks_metric(np.ones(4), np.array([2.0, 0.0, 0.0, 2.0])) == pytest.approx(0.75)
    assert ks_metric(alternating(), 3 * alternating()) == pytest.approx(1.0)  # scale invariant


def test_asci_metric_hand_computed():
    # std(x) = 1 -> tolerance 0.05: three samples within, one outside -> (3 - 1) / 4
    x = alternating(4)
    assert asci_metric(x, x + np.array([0.0, 0.0, 0.04, 0.2])) == pytest.approx(0.5)


def test_weighted_absolute_difference_offset_and_weights():
    x = bumps_signal()
    assert weighted_absolute_difference(x, x + 0.3, FS_HZ) == pytest.approx(0.3)
    # step 0 -> 2 mV: weights ~1 on the low half, ~0.5 on the high half (m / max(m) ~ 1)
    step = np.concatenate([np.zeros(500), np.full(500, 2.0)])
    error_high = step + np.concatenate([np.zeros(500), np.full(500, 0.1)])
    error_low = step + np.concatenate([np.full(500, 0.1), np.zeros(500)])
    assert weighted_absolute_difference(step, error_high, FS_HZ) == pytest.approx(25 / 750, abs=2e-3)
    assert weighted_absolute_difference(step, error_low, FS_HZ) == pytest.approx(50 / 750, abs=2e-3)


def test_extras_are_nan_without_scored_samples():
    x = alternating()
    nan = np.full_like(x, np.nan)
    assert math.isnan(ks_metric(x, nan)) and math.isnan(asci_metric(x, nan))
    assert math.isnan(weighted_absolute_difference(x, nan, FS_HZ))


# --- classification -------------------------------------------------------------------------------

REFERENCE = [["NORM", "STTC"], ["NORM", "STTC"]]


def test_worked_example_f_measure():
    # NORM: TP 1, FN 1 -> 2/3; STTC: FN 2 -> 0; CD is not a reference class -> ignored
    macro, classes, per_class = compute_f_measure(REFERENCE, [["NORM", "CD"], []])
    assert classes == ["NORM", "STTC"]
    assert per_class == pytest.approx([2 / 3, 0.0])
    assert round(macro, 3) == 0.333


def test_predictions_outside_reference_classes_are_ignored():
    base = compute_f_measure(REFERENCE, [["NORM"], ["STTC"]])
    extra = compute_f_measure(REFERENCE, [["NORM", "CD", "PVC"], ["STTC", "HYP"]])
    assert extra[0] == pytest.approx(base[0]) and extra[1] == base[1]


def test_unlabelled_reference_records_are_skipped():
    # the unlabelled record's NORM prediction would otherwise be a false positive
    with_unlabelled = compute_f_measure([*REFERENCE, [], [""]], [["NORM"], ["NORM"], ["NORM"], ["NORM"]])
    macro, classes, per_class = compute_f_measure(REFERENCE, [["NORM"], ["NORM"]])
    assert with_unlabelled == (macro, classes, per_class)
    assert per_class == pytest.approx([1.0, 0.0])


def test_no_predicted_label_gives_nan():
    macro, classes, per_class = compute_f_measure(REFERENCE, [[], None])
    assert math.isnan(macro)
    assert classes == ["NORM", "STTC"] and per_class == [0.0, 0.0]
