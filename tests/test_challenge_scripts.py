"""The root Challenge scripts, run as the organizers run them (subprocesses), on real records."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgvision.data.hidden import hide_folder
from ecgvision.io.headers import get_list, load_header
from ecgvision.io.records import load_signals

ROOT = Path(__file__).resolve().parents[1]


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture
def challenge_folders(tmp_path, challenge_examples):
    train = tmp_path / "train"
    shutil.copytree(challenge_examples, train)
    hidden = tmp_path / "hidden"
    hide_folder(train, hidden)
    return train, hidden, tmp_path / "model", tmp_path / "out"


def test_train_run_writes_contract_outputs(challenge_folders):
    train, hidden, model, out = challenge_folders
    trained = run_script("train_model.py", "-d", str(train), "-m", str(model), "-v")
    assert trained.returncode == 0, trained.stderr
    ran = run_script("run_model.py", "-d", str(hidden), "-m", str(model), "-o", str(out), "-v")
    assert ran.returncode == 0, ran.stderr
    for name in ("00005_hr", "00666_hr"):
        header = load_header(out / name)
        assert "# Image: " in header
        assert get_list(header, "Labels"), "a labels line with at least one class"
        signal, fs = load_signals(out / name)
        assert signal.shape == (5000, 12) and fs == 500.0


def test_run_with_failures_finishes_the_batch(challenge_folders):
    train, hidden, model, out = challenge_folders
    assert run_script("train_model.py", "-d", str(train), "-m", str(model)).returncode == 0
    (hidden / "00005_hr-0.png").write_bytes(b"corrupt")  # unreadable image
    (hidden / "broken.hea").write_text("broken 12 500\n")  # malformed header
    no_image = (hidden / "00666_hr.hea").read_text().replace("# Image: 00666_hr-0.png", "")
    (hidden / "noimage.hea").write_text(no_image.replace("00666_hr", "noimage"))
    ran = run_script("run_model.py", "-d", str(hidden), "-m", str(model), "-o", str(out), "-f")
    assert ran.returncode == 0, ran.stderr
    assert "broken failed" in ran.stderr
    signal, _ = load_signals(out / "00005_hr")
    assert np.isnan(signal).all(), "an unreadable image gives NaN, not a guess"
    assert get_list(load_header(out / "00005_hr"), "Labels") == []
    assert (out / "noimage.hea").exists() and (out / "00666_hr.dat").exists()
    assert not list(out.glob(".*tmp")), "no partial files left behind"


def test_run_without_records_is_an_error(tmp_path, challenge_folders):
    train, _, model, out = challenge_folders
    assert run_script("train_model.py", "-d", str(train), "-m", str(model)).returncode == 0
    (tmp_path / "empty").mkdir()
    ran = run_script("run_model.py", "-d", str(tmp_path / "empty"), "-m", str(model), "-o", str(out))
    assert ran.returncode != 0 and "No data" in ran.stderr
