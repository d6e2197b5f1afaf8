"""Batch inference throughput: images per second with 1 and 2 workers (and run_model.py for reference).

Usage: .venv/bin/python bench/bench_batch.py [--records 24] [--model model] [--no-record]
Builds a small rendered set (N shared PTB-XL fold-9 records, 500 Hz, one clean 200 dpi image each),
trains models on it with `python train_model.py` (or takes `--model`, e.g. the bundled `model/`), hides it, then times
`ecgvision.batch.run_batch` (wall time, including pool start-up and model loading) and the
run_model.py script. Prints the figures and appends a JSON line to bench/results/batch.jsonl.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_log import append_jsonl  # bench/ is on sys.path when a script runs

from ecgvision.batch.runner import read_run_log, run_batch
from ecgvision.data.hidden import hide_folder
from ecgvision.data.prepare_ptbxl import prepare_ptbxl
from ecgvision.io.records import find_records
from ecgvision.render.dataset_writer import write_rendered_records

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "batch.jsonl"
VALIDATION_FOLD = 9
FS_HZ = 500


def build_set(work: Path, num_records: int) -> tuple[Path, Path]:
    """(training folder with rendered images, hidden copy) of `num_records` fold-9 records."""
    prepare_ptbxl(work / "prepared", folds=[VALIDATION_FOLD], fs_hz=FS_HZ, limit=num_records)
    records = [str(work / "prepared" / r) for r in find_records(work / "prepared")]
    write_rendered_records(records, work / "train", input_folder=work / "prepared", workers=2)
    hide_folder(work / "train", work / "hidden")
    return work / "train", work / "hidden"


def run_script(*args: str) -> float:
    """Wall seconds of a root script run (interpreter start-up included); raises on failure."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def measure(work: Path, num_records: int, model: Path | None = None) -> dict:
    """Throughput of `model` (default: models trained on the set itself by train_model.py)."""
    train, hidden = build_set(work, num_records)
    figures: dict = {"records": num_records, "fs_hz": FS_HZ}
    if model is None:
        model = work / "model"
        figures["train_model_s"] = round(run_script("train_model.py", "-d", str(train), "-m", str(model)), 2)
    for workers in (1, 2):
        summary = run_batch(hidden, model, work / f"out{workers}", workers=workers, progress=False)
        assert summary.num_failed == 0, summary.format()
        figures[f"batch_{workers}w_images_per_s"] = round(summary.images_per_s, 2)
        figures[f"batch_{workers}w_s"] = round(summary.seconds, 2)
        # Steady state (no pool start-up or model loading): workers / mean seconds per record.
        per_record_s = [e["seconds"] for e in read_run_log(work / f"out{workers}")]
        figures[f"batch_{workers}w_steady_images_per_s"] = round(
            workers * len(per_record_s) / sum(per_record_s), 2
        )
    script_s = run_script("run_model.py", "-d", str(hidden), "-m", str(model), "-o", str(work / "script_out"))
    figures["run_model_py_images_per_s"] = round(num_records / script_s, 2)
    manifest = model / "manifest.json"
    figures["models"] = json.loads(manifest.read_text()) if manifest.is_file() else "unknown"
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=24, help="rendered records (one image each)")
    parser.add_argument("--no-record", action="store_true", help="do not append to batch.jsonl")
    parser.add_argument(
        "--model", type=Path, help="time this model folder (e.g. model) instead of training one"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        figures = measure(Path(tmp), args.records, args.model.resolve() if args.model else None)
    print(json.dumps(figures))
    if not args.no_record:
        append_jsonl(RESULTS, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
