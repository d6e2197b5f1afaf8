"""DDP on CPU: two gloo processes under torchrun end with identical weights; only rank 0 writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from ecgvision.training.distributed import DistInfo, broadcast_object, init_distributed, launched_by_torchrun

SCRIPT = Path(__file__).with_name("ddp_toy_run.py")


def test_two_cpu_ranks_end_with_identical_weights(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(SCRIPT),
        str(tmp_path),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-3000:]

    facts = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    # 24 samples -> 12 per rank -> 3 micro-batches per epoch, 2 epochs; steps of 2 + 1 batches;
    # the resumed run adds one epoch (3 more calls, 2 more steps).
    assert facts == [{"world_size": 2, "calls": 9, "steps": [4, 6]}] * 2
    final = [load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1)]
    initial = [load_file(str(tmp_path / f"rank{r}_initial.safetensors")) for r in (0, 1)]
    assert all(torch.equal(final[0][k], final[1][k]) for k in final[0])
    assert not torch.equal(initial[0]["body.0.weight"], initial[1]["body.0.weight"])
    assert not torch.equal(final[0]["body.0.weight"], initial[0]["body.0.weight"])
    resumed = [load_file(str(tmp_path / f"rank{r}_resumed.safetensors")) for r in (0, 1)]
    assert all(torch.equal(resumed[0][k], resumed[1][k]) for k in resumed[0])
    assert not torch.equal(resumed[0]["body.0.weight"], final[0]["body.0.weight"])

    lines = [json.loads(ln) for ln in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [ln["step"] for ln in lines if ln["kind"] == "train"] == [1, 2, 3, 4, 5, 6]  # one writer
    saved = load_file(str(tmp_path / "run" / "final" / "model.safetensors"))
    assert all(torch.equal(saved[k], resumed[0][k]) for k in saved)
    checkpoint = load_file(str(tmp_path / "run" / "checkpoints" / "step_00000006" / "model.safetensors"))
    assert set(checkpoint) == set(saved)  # unwrapped keys, no 'module.' prefix


def test_single_process_without_torchrun(monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = init_distributed("cpu")
    assert not launched_by_torchrun()
    assert info == DistInfo(device=torch.device("cpu")) and info.is_main and not info.is_distributed
    assert broadcast_object({"a": 1}) == {"a": 1}
