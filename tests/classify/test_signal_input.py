import numpy as np

from ecgvision.classify.signal_input import CLASSIFIER_SAMPLES, INPUT_CHANNELS, to_classifier_input
from ecgvision.constants import LEADS
from ecgvision.io.records import load_signals
from ecgvision.layouts import LAYOUTS, plotted_mask


def test_paper_view_of_a_500hz_record_is_resampled_and_masked(challenge_examples):
    signal, fs = load_signals(challenge_examples / "00005_hr", list(LEADS))
    signal[~plotted_mask(LAYOUTS["3x4+II"], fs, signal.shape[0])] = np.nan
    x = to_classifier_input(signal, fs)
    assert x.shape == (INPUT_CHANNELS, CLASSIFIER_SAMPLES) and np.isfinite(x).all()
    masks = x[len(LEADS) :]
    assert masks[1].all(), "lead II is the full rhythm strip"
    assert masks[0, :250].all() and not masks[0, 250:].any(), "lead I only in the first 2.5 s"
    assert masks[6, 500:750].all() and not masks[6, :500].any(), "V1 in the third column"
    # values follow the source (every 5th 500 Hz sample ~ the 100 Hz value, away from window edges)
    assert np.abs(x[1, 10:-10] - signal[50:-50:5, 1]).max() < 0.15


def test_lead_names_are_matched_case_insensitively_and_missing_leads_masked():
    names = ["v6", "AVR", "I"]
    signal = np.ones((1000, 3)) * np.array([0.6, -0.3, 0.1])
    x = to_classifier_input(signal, 100.0, names)
    assert np.allclose(x[0], 0.1) and np.allclose(x[3], -0.3) and np.allclose(x[11], 0.6)
    assert not x[len(LEADS) + 1].any(), "lead II absent -> mask 0"
