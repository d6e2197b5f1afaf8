"""scripts/check_submission.py: the Challenge's train -> hide -> run -> score cycle on a clean copy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_check_submission_passes_on_three_records(tmp_path):
    venv = Path(sys.prefix)  # this venv: skips the fresh pip install
    command = [
        sys.executable,
        "scripts/check_submission.py",
        "--reuse-venv",
        str(venv),
        "--records",
        "3",
        "--include-untracked",  # check the working tree as it is, committed or not
        "--work",
        str(tmp_path),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "submission check: PASSED" in done.stdout
    for step in (
        "imports come from the copy",
        "run_model.py",
        "hidden data left unchanged",
        "scores written",
    ):
        assert any(line.startswith("PASS") and step in line for line in done.stdout.splitlines()), step
    assert (tmp_path / "submission" / "team_code.py").is_file()
    assert not list((tmp_path / "hidden").rglob("*.dat")), "the hidden copy has no signal files"
    assert len(list((tmp_path / "outputs").rglob("*.hea"))) == 3


def test_check_submission_fails_on_a_missing_training_folder(tmp_path):
    command = [
        sys.executable,
        "scripts/check_submission.py",
        "--reuse-venv",
        str(Path(sys.prefix)),
        "--data",
        str(tmp_path / "no_such_folder"),
        "--work",
        str(tmp_path / "work"),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "submission check: FAILED" in done.stdout
    assert any(line.startswith("FAIL") and "train_model.py" in line for line in done.stdout.splitlines())
