"""scripts/check_cuda.py: skips cleanly without a GPU, passes its checks on the CPU, and on CUDA when present."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_cuda.py"
CHECK_LINES = 5  # classifier placement, run_models, trace forward, two trainer steps


def run_check(*args: str, env: dict[str, str] | None = None, timeout_s: int = 600):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, **(env or {})},
    )


def test_without_cuda_the_check_is_skipped():
    done = run_check(env={"CUDA_VISIBLE_DEVICES": ""}, timeout_s=20)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no CUDA device: skipped"


def assert_all_passed(stdout: str, device: str) -> None:
    lines = stdout.splitlines()
    assert lines[0].startswith(f"device: {device}")
    results = [line for line in lines if line.startswith(("ok ", "FAIL"))]
    assert len(results) == CHECK_LINES and all(line.startswith("ok ") for line in results), stdout
    assert lines[-1] == "all checks passed"


@pytest.mark.slow
def test_the_checks_pass_on_cpu():
    done = run_check("--device", "cpu", env={"CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert_all_passed(done.stdout, "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_checks_pass_on_cuda():
    done = run_check()
    assert done.returncode == 0, done.stdout + done.stderr
    assert_all_passed(done.stdout, "")  # the device line names the GPU
