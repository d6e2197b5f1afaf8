"""Image-only head vs signal-only (digitizer + signal classifier) vs their fusion, on fold-9 renders.

Fold 9 is also the validation fold: the image head's thresholds were tuned on renders of the LAST
labelled fold-9 records (listed in its config.json), and the fusion weights + fused thresholds are
fitted here on fresh renders of the last `--fit-records` of them. The benchmark uses the FIRST
`--records` labelled fold-9 records, disjoint from both (checked). Signal-only uses the signal
classifier's shipped thresholds, exactly as bench/bench_classify.py.

Usage:
    .venv/bin/python bench/bench_classify_heads.py --model model --image-dx runs/image_dx/image_dx
        [--records 60] [--fit-records 100] [--variants clean mix] [--workers 2] [--log]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from bench_pages import load_worker_models, per_class_table, render_page  # bench/ is on sys.path
from results_log import append_benchmark  # bench/ is on sys.path

from ecgvision.classify.fusion import FUSION_MODES, fit_fusion
from ecgvision.classify.image_classifier import ImageDxClassifier
from ecgvision.constants import CLASSES, LEADS
from ecgvision.data.prepare_ptbxl import resample_signal
from ecgvision.data.signal_arrays import load_folds, subset
from ecgvision.models.weights import read_model_meta
from ecgvision.render.config import RenderConfig
from ecgvision.render.render import render_record
from ecgvision.training.image_dx_task import labelled_only

REPO = Path(__file__).resolve().parents[1]
FS_HZ = 500.0
_MODELS = None


def _init(model_folder: str, image_dx_folder: str) -> None:
    global _MODELS
    digitizer, classifier = load_worker_models(model_folder)
    _MODELS = (digitizer, classifier.signal_classifier, ImageDxClassifier.load(image_dx_folder))


def probabilities_one(job: tuple[np.ndarray, float, str, int]) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(signal probabilities, image probabilities, s digitize+signal classifier, s image head)."""
    signal_mv, fs_hz, variant, seed = job
    digitizer, signal_classifier, image_classifier = _MODELS
    signal = resample_signal(signal_mv.astype(np.float64), fs_hz, FS_HZ)
    page = render_page(signal, FS_HZ, variant, seed)
    started = time.perf_counter()
    digitized = digitizer.digitize([page.image], FS_HZ, signal.shape[0], list(LEADS))
    signal_p = signal_classifier.probabilities(digitized, FS_HZ, list(LEADS))
    middle = time.perf_counter()
    image_p = image_classifier.probabilities([page.image])
    return signal_p, image_p, middle - started, time.perf_counter() - middle


def run_set(pool: ProcessPoolExecutor, arrays, variant: str, seed0: int) -> dict[str, np.ndarray]:
    jobs = [(s, arrays.fs_hz, variant, seed0 + i) for i, s in enumerate(arrays.signals_mv)]
    out = list(pool.map(probabilities_one, jobs, chunksize=2))
    return {
        "signal": np.stack([o[0] for o in out]),
        "image": np.stack([o[1] for o in out]),
        "s_signal": np.array([o[2] for o in out]),
        "s_image": np.array([o[3] for o in out]),
    }


def time_image_head(image_dx: str, arrays, pages: int = 10) -> dict[str, float]:
    """Seconds per page of the image head alone (preprocessing included) with 1 and 2 torch
    threads, in this process after the worker pool has closed. Two threads only pay off on idle
    cores: on a loaded machine they wait on each other (measured 1.0 s vs 0.06 s)."""
    import torch

    classifier = ImageDxClassifier.load(image_dx)
    images = []
    for i, signal_mv in enumerate(arrays.signals_mv[:pages]):
        signal = resample_signal(signal_mv.astype(np.float64), arrays.fs_hz, FS_HZ)
        rng = np.random.default_rng(1000 + i)
        images.append(render_record(signal, FS_HZ, RenderConfig(), rng).image)
    seconds = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        classifier.probabilities(images[:1])  # warm-up: first-call allocations
        started = time.perf_counter()
        for image in images:
            classifier.probabilities([image])
        seconds[f"{threads}_threads"] = round((time.perf_counter() - started) / len(images), 4)
    return seconds


def names(multi_hot: np.ndarray) -> list[list[str]]:
    return [[c for c, on in zip(CLASSES, row, strict=True) if on] for row in multi_hot.astype(bool)]


def decide_all(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(R, C) -> (R, C) bool; rows with NaN (nothing readable) predict nothing."""
    finite = np.isfinite(probabilities).all(axis=1, keepdims=True)
    return (np.nan_to_num(probabilities, nan=0.0) > thresholds) & finite


def split_records(image_dx: str, records: int, fit_records: int):
    """(benchmark arrays: first `records`, fit arrays: last `fit_records`) of labelled fold 9."""
    fold9 = labelled_only(load_folds((9,)))
    bench = subset(fold9, np.arange(records))
    fit = subset(fold9, np.arange(len(fold9.targets) - fit_records, len(fold9.targets)))
    tuned_on = set(read_model_meta(image_dx)["extra"].get("validation_ecg_ids", []))
    overlap = tuned_on & set(bench.ecg_ids.tolist()) | set(fit.ecg_ids.tolist()) & set(bench.ecg_ids.tolist())
    if overlap:
        raise SystemExit(f"benchmark records overlap the tuning records: {sorted(overlap)[:5]}")
    return bench, fit


def evaluate_heads(
    bench: dict, fit: dict, bench_targets: np.ndarray, fit_targets: np.ndarray, image_dx: str, model: str
) -> dict:
    """Figures per variant for signal-only, image-only and each fusion mode."""
    signal_thresholds = np.asarray(read_model_meta(Path(model) / "signal_classifier")["extra"]["thresholds"])
    image_thresholds = np.asarray(read_model_meta(image_dx)["extra"]["thresholds"])
    pooled = {k: np.concatenate([fit[v][k] for v in fit]) for k in ("image", "signal")}
    pooled_targets = np.concatenate([fit_targets] * len(fit))
    fusions = {m: fit_fusion(pooled["image"], pooled["signal"], pooled_targets, m) for m in FUSION_MODES}
    results = {}
    for variant, p in bench.items():
        r = {
            "signal_only": per_class_table(
                names(bench_targets), names(decide_all(p["signal"], signal_thresholds))
            ),
            "image_only": per_class_table(
                names(bench_targets), names(decide_all(p["image"], image_thresholds))
            ),
        }
        for mode, fusion in fusions.items():
            fused = fusion.probabilities(p["image"], p["signal"])
            r[f"fused_{mode}"] = per_class_table(
                names(bench_targets), names(decide_all(fused, np.asarray(fusion.thresholds)))
            )
        r["digitization_failed_records"] = int((~np.isfinite(p["signal"]).all(axis=1)).sum())
        r["seconds_per_image_image_head"] = round(float(np.mean(p["s_image"])), 4)
        r["seconds_per_image_digitize_signal"] = round(float(np.mean(p["s_signal"])), 3)
        results[variant] = r
    results["fusion_image_weights"] = {
        m: dict(zip(CLASSES, f.image_weights, strict=True)) for m, f in fusions.items()
    }
    return results, fusions


def print_results(results: dict, variants: list[str]) -> None:
    print("NOTE: thresholds (image head, fusion) were tuned on fold 9 (the last labelled records);")
    print("      the benchmark records are the first fold-9 records, disjoint from those.")
    heads = ["signal_only", "image_only", *[f"fused_{m}" for m in FUSION_MODES]]
    for variant in variants:
        r = results[variant]
        print(f"{variant}: " + " | ".join(f"{h} {r[h]['macro_f']:.3f}" for h in heads))
        print(
            f"  image head {r['seconds_per_image_image_head']:.3f} s/image, digitize+signal "
            f"{r['seconds_per_image_digitize_signal']:.2f} s/image, digitization failed on "
            f"{r['digitization_failed_records']} records"
        )
        for h in heads:
            print(f"  {h:20s}", r[h]["per_class_f"])
    print("image weights:", results["fusion_image_weights"])
    print(
        "image head alone (s/image, preprocessing included):", results["seconds_per_image_image_head_alone"]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default=str(REPO / "model"), help="model folder (digitizer + signal classifier)"
    )
    parser.add_argument(
        "--image-dx", default=str(REPO / "runs/image_dx/image_dx"), help="image head weights folder"
    )
    parser.add_argument(
        "--records", type=int, default=60, help="benchmark: the first N labelled fold-9 records"
    )
    parser.add_argument(
        "--fit-records", type=int, default=100, help="fusion fit: the last K labelled fold-9 records"
    )
    parser.add_argument("--variants", nargs="+", default=["clean", "mix"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--fusion-out", help="folder to write fusion_<mode>.json (default: beside --image-dx)"
    )
    parser.add_argument("--log", action="store_true", help="append the figures to submissions.yaml")
    args = parser.parse_args(argv)

    started = time.time()
    bench_arrays, fit_arrays = split_records(args.image_dx, args.records, args.fit_records)
    bench, fit = {}, {}
    with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(args.model, args.image_dx)) as pool:
        for variant in args.variants:
            bench[variant] = run_set(pool, bench_arrays, variant, 1000)
            fit[variant] = run_set(pool, fit_arrays, variant, 5000)
    head_seconds = time_image_head(args.image_dx, bench_arrays)
    results, fusions = evaluate_heads(
        bench, fit, bench_arrays.targets, fit_arrays.targets, args.image_dx, args.model
    )
    results["seconds_per_image_image_head_alone"] = head_seconds
    out = Path(args.fusion_out or Path(args.image_dx).parent)
    for mode, fusion in fusions.items():
        fusion.save(out / f"fusion_{mode}.json")
    print_results(results, args.variants)
    if args.log:
        log_entry(results, args, time.time() - started)
    return 0


def log_entry(results: dict, args: argparse.Namespace, wall_s: float) -> None:
    append_benchmark(
        "classification heads on fold-9 renders (bench/bench_classify_heads.py)",
        {"signal": args.model, "image_dx": args.image_dx},
        f"PTB-XL fold 9, first {args.records} labelled records, 500 Hz, variants {args.variants}; "
        f"image thresholds tuned on the last labelled fold-9 records, fusion fitted on the last "
        f"{args.fit_records} (disjoint from the benchmark records)",
        results,
        wall_s,
    )


if __name__ == "__main__":
    sys.exit(main())
