"""Check the models on CUDA: the bundled model folder, one digitize + classify, one AMP trainer step.

Usage: .venv/bin/python scripts/check_cuda.py [--model model] [--amp bf16] [--device cuda]

1. `load_models` on the bundled folder must place the classifier on the GPU by itself;
2. `run_models` (digitize + classify) on one fold-9 record rendered as a clean page, cold and warm;
3. the learned trace model's forward on that page (the folder's own, else an untrained one);
4. one optimizer step of the signal classifier and one of the trace model, with AMP.

Every torch op of 2-4 is recorded (ecgvision.training.device_check): none may compute off the GPU
or mix devices. Prints one line per check with its timings; exits 1 if any fails, 0 with
"no CUDA device: skipped" when there is no GPU. `--device cpu` runs the same checks on the CPU
(the tests use it to keep this script working on machines without a GPU).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


class Checks:
    """Collects pass/fail lines; `failed` is True once any check failed."""

    def __init__(self):
        self.failed = False

    def report(self, name: str, ok: bool, detail: str) -> None:
        self.failed |= not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)


def timed(function: Callable, device: torch.device):
    """(result, seconds) of `function()`, waiting for the GPU to finish."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    result = function()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return result, time.perf_counter() - started


def placement_detail(report) -> str:
    if report.ok:
        moved = f"{len(report.transfers_in)} copies in, {len(report.transfers_out)} out"
        return f"{report.num_ops} ops on {report.device}, {moved}"
    return f"{len(report.violations)} ops off {report.device}: {report.violations[:3]}"


def prepare_record(work: Path) -> tuple[Path, Path]:
    """One fold-9 record at 500 Hz: (its prepared signal folder, its hidden rendered record)."""
    from ecgvision.data.hidden import hide_folder
    from ecgvision.data.prepare_ptbxl import prepare_ptbxl
    from ecgvision.io.records import find_records
    from ecgvision.render.dataset_writer import write_rendered_records

    prepare_ptbxl(work / "signals", folds=(9,), fs_hz=500, limit=1, cache=work / "cache")
    records = [work / "signals" / r for r in find_records(work / "signals")]
    write_rendered_records(records, work / "rendered", input_folder=work / "signals")
    hidden = hide_folder(work / "rendered", work / "hidden")
    return work / "signals", work / "hidden" / hidden[0]


def check_run_models(checks: Checks, model_folder: Path, record: Path, device: torch.device):
    """load_models + run_models twice (cold and recorded, then warm); returns the loaded digitizer."""
    from ecgvision.challenge.entry import load_models, run_models
    from ecgvision.training.device_check import DeviceRecorder, check_placement

    digitizer, classifier = load_models(str(model_folder))
    model = classifier.signal_classifier.model if classifier.signal_classifier else None
    placed = model is not None and next(model.parameters()).device.type == device.type
    checks.report("classifier placed by load_models", placed, f"{classifier.kind} on {device.type}")
    if model is not None and not placed:
        model.to(device)  # go on with the rest of the checks
    with DeviceRecorder() as recorder:  # the first (cold) call is the recorded one
        _, cold_s = timed(lambda: run_models(str(record), digitizer, classifier), device)
    (signals, labels), warm_s = timed(lambda: run_models(str(record), digitizer, classifier), device)
    report = check_placement(recorder.events, device)
    read = int(np.isfinite(signals).any(0).sum()) if signals is not None else 0
    timing = f"cold {cold_s:.2f} s, warm {warm_s:.2f} s"
    detail = f"{read} leads read, labels {labels}; {timing}; {placement_detail(report)}"
    checks.report(f"run_models {record.name} ({digitizer.kind})", report.ok and read > 0, detail)
    return digitizer


def check_trace_model(checks: Checks, digitizer, record: Path, device: torch.device) -> None:
    from ecgvision.io.images import load_images
    from ecgvision.models.networks import EcgNet
    from ecgvision.models.trace_model import LearnedTraceModel
    from ecgvision.training.device_check import DeviceRecorder, check_placement
    from ecgvision.training.trace_task import default_trace_net

    trace_model = digitizer.trace_model
    kind = "bundled"
    if trace_model is None:
        trace_model, kind = LearnedTraceModel(EcgNet(default_trace_net()).to(device)), "untrained"
    page = load_images(record)[0]
    with DeviceRecorder() as recorder:
        _, cold_s = timed(lambda: trace_model(page), device)
    probability, warm_s = timed(lambda: trace_model(page), device)
    report = check_placement(recorder.events, device)
    ok = report.ok and probability.shape == page.shape[:2]
    timing = f"cold {cold_s:.2f} s, warm {warm_s:.3f} s"
    detail = f"page {page.shape[1]}x{page.shape[0]} px; {timing}; {placement_detail(report)}"
    checks.report(f"trace model forward ({kind})", ok, detail)


def check_trainer_step(checks: Checks, name: str, task, dataset, device: torch.device, amp: str) -> None:
    """Two optimizer steps, the first (cold) recorded; AMP must show as low-precision ops on CUDA."""
    from ecgvision.training.device_check import check_placement, record_optimizer_step
    from ecgvision.training.trainer import Trainer, TrainerConfig

    with tempfile.TemporaryDirectory() as runs:
        config = TrainerConfig(
            batch_size=len(dataset), amp=amp, progress=False, output_dir=runs, device=str(device)
        )
        trainer = Trainer(config)
        collate = getattr(task, "collate_fn", None) or torch.utils.data.default_collate
        batch = collate([dataset[i] for i in range(len(dataset))])
        (_, events), cold_s = timed(lambda: record_optimizer_step(trainer, task, dataset, batch), device)
        (logs, _), warm_s = timed(
            partial(record_optimizer_step, trainer, task, dataset, batch, False), device
        )
    report = check_placement(events, device)
    low_precision = sum(any(d in ("bfloat16", "float16") for d in e.output_dtypes) for e in events)
    amp_ok = trainer.amp_dtype is None or low_precision > 0
    finite = all(math.isfinite(value) for value in logs.values())
    detail = (
        f"loss {logs['loss']:.4f}; cold {cold_s:.2f} s, warm {warm_s:.3f} s; amp {trainer.amp_dtype} "
        f"({low_precision} low-precision ops); {placement_detail(report)}"
    )
    checks.report(f"{name} trainer step", report.ok and amp_ok and finite, detail)


def check_training(checks: Checks, signal_folder: Path, device: torch.device, amp: str) -> None:
    from ecgvision.challenge.training import read_folder_arrays
    from ecgvision.classify.signal_net import SignalNet
    from ecgvision.models.losses import LossConfig, build_loss
    from ecgvision.models.networks import EcgNet
    from ecgvision.training.signal_data import SignalAugmentConfig, SignalDataset
    from ecgvision.training.signal_task import SignalClassificationTask
    from ecgvision.training.trace_data import TraceCropDataset, TraceDataConfig
    from ecgvision.training.trace_task import TraceTask, default_trace_net

    arrays = read_folder_arrays(str(signal_folder), verbose=False)
    signals, targets = np.repeat(arrays.signals_mv, 8, 0), np.repeat(arrays.targets, 8, 0)
    signal_task = SignalClassificationTask(SignalNet(), build_loss(LossConfig()))
    signal_data = SignalDataset(signals, targets, arrays.fs_hz, SignalAugmentConfig())
    check_trainer_step(checks, "signal classifier", signal_task, signal_data, device, amp)
    trace_task = TraceTask(
        EcgNet(default_trace_net()), build_loss(LossConfig(name="bce_dice", pos_weight=3.0))
    )
    trace_data = TraceCropDataset(arrays.signals_mv, arrays.fs_hz, TraceDataConfig(crops_per_page=8))
    check_trainer_step(checks, "trace model", trace_task, trace_data, device, amp)


def describe(device: torch.device) -> str:
    if device.type != "cuda":
        return f"{device} (torch {torch.__version__})"
    name = torch.cuda.get_device_name(device)
    return f"{name} ({device}, torch {torch.__version__}, CUDA {torch.version.cuda})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=str(ROOT / "model"), help="model folder (default: the bundled model/)"
    )
    parser.add_argument(
        "--amp", default="bf16", choices=("off", "bf16", "fp16"), help="trainer AMP (default bf16)"
    )
    parser.add_argument(
        "--device", default="cuda", help="cuda (default), cuda:N, or cpu to run the checks there"
    )
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: skipped")
        return 0
    if device.type == "cuda":
        device = torch.device("cuda", device.index or 0)
        torch.cuda.set_device(device)
    print(f"device: {describe(device)}", flush=True)
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="ecgvision-check-cuda-") as work:
        signal_folder, record = prepare_record(Path(work))
        digitizer = check_run_models(checks, Path(args.model), record, device)
        check_trace_model(checks, digitizer, record, device)
        check_training(checks, signal_folder, device, args.amp)
    print("FAILED" if checks.failed else "all checks passed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
