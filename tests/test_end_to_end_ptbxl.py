"""Real PTB-XL records, prepared and rendered by ecgvision, through the root scripts as the Challenge runs them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ecgvision.data.hidden import hide_folder
from ecgvision.data.prepare_ptbxl import prepare_ptbxl
from ecgvision.io.records import find_records
from ecgvision.render import write_rendered_records

ROOT = Path(__file__).resolve().parents[1]


def run_script(*args: str) -> subprocess.CompletedProcess:
    # The tiny training config keeps train_models to seconds; the code path is the production one.
    env = {**os.environ, "ECGVISION_TRAIN_CONFIG": str(ROOT / "configs" / "challenge_tiny.yaml")}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=900, env=env
    )


@pytest.fixture(scope="module")
def rendered_fold9(tmp_path_factory) -> tuple[Path, Path]:
    """6 fold-9 records at 500 Hz rendered as clean Challenge-style pages, and their hidden copy."""
    root = tmp_path_factory.mktemp("e2e")
    prepare_ptbxl(root / "signals", folds=(9,), fs_hz=500, limit=6, cache=root / "cache")
    records = [root / "signals" / r for r in find_records(root / "signals")]
    write_rendered_records(
        records, root / "rendered", variants=("clean",), seed=0, input_folder=root / "signals"
    )
    hide_folder(root / "rendered", root / "hidden")
    return root / "rendered", root / "hidden"


def test_train_run_evaluate_on_rendered_ptbxl(rendered_fold9, tmp_path):
    rendered, hidden = rendered_fold9
    model, out = tmp_path / "model", tmp_path / "out"
    # a trace model left from an earlier training must not outlive a new one that misses the bar
    shutil.copytree(ROOT / "model" / "trace_model", model / "trace_model")
    trained = run_script("train_model.py", "-d", str(rendered), "-m", str(model))
    assert trained.returncode == 0, trained.stderr
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["classifier"] == "signal-classifier" and manifest["digitizer"] == "classical"
    # the tiny config's two-step trace model misses the Dice bar: trained, validated, not kept
    assert manifest["trace_model"].startswith("not kept") and not (model / "trace_model").exists()
    ran = run_script("run_model.py", "-d", str(hidden), "-m", str(model), "-o", str(out), "-f")
    assert ran.returncode == 0, ran.stderr
    scored = run_script(
        "evaluate_model.py", "-d", str(rendered), "-o", str(out), "-s", str(tmp_path / "s.txt")
    )
    assert scored.returncode == 0, scored.stderr
    snr = float(re.search(r"^SNR: (\S+)$", scored.stdout, re.M).group(1))
    f_measure = float(re.search(r"^F-measure: (\S+)$", scored.stdout, re.M).group(1))
    assert snr >= 3.0, "clean renders must be read, not just covered with NaN"
    assert 0.0 <= f_measure <= 1.0
    assert (tmp_path / "s.txt").read_text().strip() == scored.stdout.strip()
