import shutil

import numpy as np

from ecgvision.io.headers import load_header, save_header
from ecgvision.io.records import find_records, load_labels, load_signals, save_labels, save_signals


def test_find_records_is_recursive_sorted_and_relative(tmp_path, challenge_examples):
    for sub in ("b", "a/deeper"):
        (tmp_path / sub).mkdir(parents=True)
        for name in ("00666_hr", "00005_hr"):
            shutil.copy(challenge_examples / f"{name}.hea", tmp_path / sub / f"{name}.hea")
    assert find_records(tmp_path) == [
        "a/deeper/00005_hr",
        "a/deeper/00666_hr",
        "b/00005_hr",
        "b/00666_hr",
    ]


def test_wfdb_write_read_round_trip_keeps_nan_clips_and_comments(tmp_path, challenge_examples):
    source = challenge_examples / "00005_hr"
    signal, fs = load_signals(source)
    assert signal.shape == (5000, 12) and fs == 500.0
    estimate = signal.copy()
    estimate[:250, 3] = np.nan
    estimate[10, 0] = 99.0  # beyond format-16 range: must be clipped, not crash the writer
    estimate[11, 0] = -99.0
    out = tmp_path / "out" / "00005_hr"
    header = load_header(source)
    save_header(out, header)
    save_signals(out, estimate, header)
    save_labels(out, ["NORM", "CD"])
    back, back_fs = load_signals(out)
    assert back_fs == 500.0
    assert np.isnan(back[:250, 3]).all() and np.isfinite(back[250:, 3]).all()
    assert back[10, 0] == 32.767 and back[11, 0] == -32.767
    mask = np.isfinite(estimate) & (np.abs(estimate) < 32)
    assert np.max(np.abs(back[mask] - estimate[mask])) <= 0.0005 + 1e-9
    text = load_header(out)
    assert "# Age: 19" in text and "# Image: 00005_hr-0.png" in text
    assert load_labels(out) == ["NORM", "CD"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["00005_hr.dat", "00005_hr.hea"]


def test_load_signals_reorders_by_name_case_insensitively(challenge_examples):
    signal, _ = load_signals(challenge_examples / "00666_hr")
    picked, _ = load_signals(challenge_examples / "00666_hr", ["aVR", "ii", "X"])
    np.testing.assert_array_equal(picked[:, 0], signal[:, 3])
    np.testing.assert_array_equal(picked[:, 1], signal[:, 1])
    assert np.isnan(picked[:, 2]).all()


def test_reads_500hz_mat_records(shared_data):
    signal, fs = load_signals(shared_data / "cinc2021-500hz" / "E07500")
    assert signal.shape == (5000, 12) and fs == 500.0 and np.isfinite(signal).all()
