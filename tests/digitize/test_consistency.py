import numpy as np

from ecgvision.digitize.consistency import check_consistency

NAMES = ["I", "II", "III", "AVR", "AVL", "AVF"]


def limb_leads(n: int = 500) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n)
    lead_i, lead_ii = np.sin(t), 0.5 * np.cos(3 * t)
    return np.column_stack(
        [
            lead_i,
            lead_ii,
            lead_ii - lead_i,
            -(lead_i + lead_ii) / 2,
            lead_i - lead_ii / 2,
            lead_ii - lead_i / 2,
        ]
    )


def test_missing_lead_is_rebuilt_from_its_partners():
    signal = limb_leads()
    damaged = signal.copy()
    damaged[:, 2] = np.nan  # III
    fixed, report = check_consistency(damaged, NAMES, 100.0)
    np.testing.assert_allclose(fixed[:, 2], signal[:, 2], atol=1e-12)
    assert report.filled == {"III": 500} and not report.flagged


def test_inconsistent_relation_is_flagged():
    signal = limb_leads()
    signal[:, 1] *= -1  # II read upside down
    _, report = check_consistency(signal, NAMES, 100.0)
    assert report.flagged == ["+1*I + -1*II + +1*III"]


def test_a_flagged_relation_is_dropped_and_the_leads_outside_it_kept():
    signal = np.column_stack([limb_leads(), np.cos(np.linspace(0, 9, 500))])  # + V1
    names = NAMES + ["V1"]
    misread_limb = signal.copy()
    misread_limb[:, 0] *= -3.0  # lead I upside down and scaled: II = I + III breaks
    out, report = check_consistency(misread_limb, names, 100.0)
    assert len(report.flagged) == 1
    # the broken relation's leads are dropped (NaN scores 0 dB) but near lead I's zero crossings
    assert np.isnan(out[:, :3]).mean() > 0.7
    np.testing.assert_array_equal(out[:, 3:], signal[:, 3:])
    misread_limbs = misread_limb.copy()
    misread_limbs[:, 4] *= -3.0  # aVL too: every relation broken
    out, report = check_consistency(misread_limbs, names, 100.0)
    assert len(report.flagged) == 2 and np.isnan(out[:, :6]).mean() > 0.7
    np.testing.assert_array_equal(out[:, 6], signal[:, 6])  # V1 is in no relation: it stays


def test_a_stretch_misread_in_one_lead_is_dropped_there_only():
    signal = limb_leads(1000)  # 10 s at 100 Hz
    misread = signal.copy()
    misread[400:450, 2] += 1.5  # III followed something else for 0.5 s
    out, report = check_consistency(misread, NAMES, 100.0)
    dropped = np.flatnonzero(np.isnan(out[:, 0]))
    assert 400 - 3 <= dropped.min() and dropped.max() <= 450 + 3 and dropped.size >= 50
    assert np.isnan(out[400:450, :3]).all(), "the three leads of the relation go where one is wrong"
    outside = np.ones(1000, bool)
    outside[dropped] = False
    np.testing.assert_array_equal(out[outside, :3], signal[outside, :3])
    np.testing.assert_array_equal(out[:, 3:], signal[:, 3:])  # the other relation holds: kept whole
    assert report.dropped == {"+1*I + -1*II + +1*III": dropped.size} and not report.flagged


def test_implausible_leads_are_dropped_and_plausible_ones_kept():
    from ecgvision.constants import MAX_ABS_MV
    from ecgvision.digitize.pipeline import drop_implausible_leads

    t = np.linspace(0, 10, 1000)
    good = 0.8 * np.sin(2 * np.pi * 1.2 * t)
    signal = np.column_stack([good, good + 6.0, np.full_like(t, MAX_ABS_MV), good])
    signal[:500, 3] = np.nan  # a half-read lead is not implausible
    dropped = drop_implausible_leads(signal)
    assert dropped == [1, 2]
    assert np.isnan(signal[:, 1:3]).all() and np.isfinite(signal[:, 0]).all()


def test_a_misread_pulse_does_not_set_the_scale():
    from ecgvision.digitize.calibrate import CalibrationConfig, plausible_pulse_pitch

    config = CalibrationConfig()
    assert plausible_pulse_pitch((7.9, 7.8), 7.874, config)
    assert not plausible_pulse_pitch((2.66, -0.057), 7.874, config)  # seen on a photo
    assert not plausible_pulse_pitch((7.9, 3.9), 7.874, config)  # not square
    assert not plausible_pulse_pitch((20.0, 20.0), 7.874, config)  # a page 2.5x too small
