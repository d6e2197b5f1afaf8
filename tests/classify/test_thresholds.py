import numpy as np

from ecgvision.classify.thresholds import best_threshold, decide, f_measure, tune_thresholds


def test_f_measure_hand_cases():
    truth = np.array([1, 1, 0, 0], bool)
    assert f_measure(truth, np.array([1, 0, 1, 0], bool)) == 0.5  # TP1 FP1 FN1 -> 2/4
    assert np.isnan(f_measure(np.zeros(3, bool), np.zeros(3, bool)))


def test_threshold_finds_the_known_optimum():
    # Positives score 0.3 and 0.4, negatives 0.1, 0.2 and 0.35: the best cut keeps both positives
    # and one false positive (F = 0.8) at a threshold between 0.2 and 0.3.
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.4])
    y = np.array([0, 0, 1, 0, 1])
    threshold, f = best_threshold(p, y)
    assert 0.2 < threshold < 0.3 and abs(f - 0.8) < 1e-12


def test_separable_case_is_perfect_and_absent_class_keeps_default():
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.3]])
    y = np.array([[1, 0], [1, 0], [0, 0]])
    thresholds = tune_thresholds(p, y)
    assert 0.2 < thresholds[0] < 0.8 and thresholds[1] == 0.5
    assert decide(p[0], thresholds, ("A", "B")) == ["A"]
    assert decide(p[2], thresholds, ("A", "B")) == []
