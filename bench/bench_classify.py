"""Classification on held-out fold-9 renders: image -> digitizer -> signal classifier -> labels, scored
with the Challenge macro F-measure; plus the same classifier on the exact plotted signal (the
ceiling a perfect digitizer would give).

Usage:
    .venv/bin/python bench/bench_classify.py --model model [--records 200] [--variants clean mix]
        [--workers 2] [--log]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from bench_pages import (  # bench/ is on sys.path
    add_model_arguments,
    load_worker_models,
    per_class_table,
    record_signal,
    render_page,
)
from results_log import append_benchmark  # bench/ is on sys.path

from ecgvision.constants import LEADS
from ecgvision.data.archives import cache_dir, ecg_id_of, extract_fold
from ecgvision.data.ptbxl import PtbxlLabeler

REPO = Path(__file__).resolve().parents[1]
FS_HZ = 500.0
_MODELS = None


def _init(model_folder: str) -> None:
    global _MODELS
    _MODELS = load_worker_models(model_folder)


def classify_one(job: tuple[str, str, int]) -> tuple[list[str], list[str], float]:
    """(labels from the image, labels from the exact plotted signal, seconds for the image path)."""
    record, variant, seed = job
    digitizer, classifier = _MODELS
    signal = record_signal(record, FS_HZ)
    page = render_page(signal, FS_HZ, variant, seed)
    started = time.perf_counter()
    digitized = digitizer.digitize([page.image], FS_HZ, signal.shape[0], list(LEADS))
    from_image = classifier.labels(digitized, FS_HZ, list(LEADS))
    seconds = time.perf_counter() - started
    from_truth = classifier.labels(page.truth.reference_mv, FS_HZ, list(LEADS))
    return from_image, from_truth, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_model_arguments(parser, records=200)
    parser.add_argument("--log", action="store_true", help="append the figures to submissions.yaml")
    args = parser.parse_args(argv)

    records = extract_fold(9, cache_dir() / "ptbxl", limit=args.records)
    labeler = PtbxlLabeler()
    reference = [labeler.labels(ecg_id_of(r.name)) for r in records]
    results, started = {}, time.time()
    with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(args.model,)) as pool:
        for variant in args.variants:
            jobs = [(str(r), variant, 1000 + i) for i, r in enumerate(records)]
            outcomes = list(pool.map(classify_one, jobs, chunksize=4))
            results[variant] = {
                "image_pipeline": per_class_table(reference, [o[0] for o in outcomes]),
                "exact_plotted_signal": per_class_table(reference, [o[1] for o in outcomes]),
                "seconds_per_image": round(float(np.mean([o[2] for o in outcomes])), 3),
            }
            r = results[variant]
            print(
                f"{variant:8s} macro F image pipeline {r['image_pipeline']['macro_f']:.3f} | exact plotted signal "
                f"{r['exact_plotted_signal']['macro_f']:.3f} | {r['seconds_per_image']:.2f} s/image (digitize+classify)"
            )
            print("  per class (image):", r["image_pipeline"]["per_class_f"])
    if args.log:
        log_entry(results, args, time.time() - started)
    return 0


def log_entry(results: dict, args: argparse.Namespace, wall_s: float) -> None:
    model = Path(args.model).resolve()
    append_benchmark(
        "classification on fold-9 renders (bench/bench_classify.py)",
        str(model.relative_to(REPO)) if model.is_relative_to(REPO) else args.model,
        f"PTB-XL fold 9 (held out), first {args.records} records, 500 Hz, variants {args.variants}",
        results,
        wall_s,
    )


if __name__ == "__main__":
    sys.exit(main())
