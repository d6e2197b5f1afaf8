"""Render PTB-XL fold-9 records with each realism preset, digitize them, and score with the Challenge SNR.

Usage:
    .venv/bin/python bench/bench_digitize.py [--records 20] [--variants clean scan bw photo stained mix]
        [--fs 100 500] [--workers 2] [--trace-model DIR] [--set KEY=VALUE ...] [--grid colour] [--log]

Per image: render (ecgvision.render, pixel-exact truth) -> digitize_image -> per lead
compute_snr(reference, align_signals(reference, estimate)) with reference = truth.reference_mv
(the record masked to the plotted samples), averaged over the leads. Prints the mean SNR per
variant and sampling rate, the failure count, seconds per image (digitization only) and the peak
resident memory of the worker processes. --log appends an entry to submissions.yaml.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from bench_pages import record_signal, render_page  # bench/ is on sys.path
from results_log import SUBMISSIONS, append_submission, git_commit  # bench/ is on sys.path

from ecgvision.config import load_config
from ecgvision.constants import LEADS
from ecgvision.data.archives import cache_dir, extract_fold
from ecgvision.digitize.pipeline import DigitizeConfig, digitize_image
from ecgvision.evaluation.metrics import align_signals, compute_snr
from ecgvision.render.config import RenderConfig

DEFAULT_VARIANTS = ("clean", "scan", "bw", "photo", "stained", "mix")
_TRACE_MODEL = None  # per worker process: loaded once by _init_worker
_CONFIG = DigitizeConfig()  # ... with the --set overrides


@dataclass(frozen=True)
class Job:
    record: str  # path without extension
    variant: str
    fs_hz: float
    seed: int
    grid_mode: str


@dataclass(frozen=True)
class Outcome:
    variant: str  # the requested variant ('mix' stays 'mix')
    fs_hz: float
    snr_db: float  # mean over the plotted leads; 0 dB leads count (as the Challenge counts them)
    seconds: float
    failed: bool  # no lead read at all
    reason: str
    max_rss_mb: float


def _init_worker(trace_model_dir: str | None, torch_threads: int, overrides: list[str]) -> None:
    """Load the learned trace model once per process (one torch thread per pool worker: no oversubscription)."""
    global _TRACE_MODEL, _CONFIG
    _CONFIG = load_config(DigitizeConfig, None, overrides)
    if trace_model_dir:
        import torch

        from ecgvision.models.trace_model import load_trace_model

        torch.set_num_threads(torch_threads)
        _TRACE_MODEL = load_trace_model(trace_model_dir, device="cpu")


def mean_lead_snr(reference: np.ndarray, estimate: np.ndarray, fs_hz: float) -> float:
    """Mean over the leads of the Challenge SNR after the Challenge alignment (dB)."""
    values = [
        compute_snr(reference[:, j], align_signals(reference[:, j], estimate[:, j], fs_hz).signal_mv)
        for j in range(reference.shape[1])
    ]
    return float(np.nanmean(values))


def run_job(job: Job) -> Outcome:
    """Render, digitize and score one image."""
    signal = record_signal(job.record, job.fs_hz)
    rendered = render_page(signal, job.fs_hz, job.variant, job.seed, RenderConfig(grid_mode=job.grid_mode))
    started = time.perf_counter()
    result = digitize_image(rendered.image, job.fs_hz, signal.shape[0], list(LEADS), _CONFIG, _TRACE_MODEL)
    seconds = time.perf_counter() - started
    snr = mean_lead_snr(rendered.truth.reference_mv, result.signal_mv, job.fs_hz)
    reason = "" if result.leads_read else next(iter(result.failures.values()), "")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return Outcome(job.variant, job.fs_hz, snr, seconds, not result.leads_read, reason, rss_mb)


def make_jobs(
    records: list[Path], variants: list[str], rates: list[float], grid_mode: str, first: int = 0
) -> list[Job]:
    """One job per (record, variant, rate); the seed depends on the record (its index in fold 9, the
    first of `records` being number `first`) and the variant's name only, so a run over fewer
    variants renders the same images."""
    return [
        Job(str(record), variant, fs, 1000 * k + zlib.crc32(variant.encode()) % 1000, grid_mode)
        for k, record in enumerate(records, start=first)
        for variant in variants
        for fs in rates
    ]


def run_all(
    jobs: list[Job], workers: int, trace_model_dir: str | None, overrides: list[str] = ()
) -> list[Outcome]:
    if workers <= 1:
        _init_worker(trace_model_dir, os.cpu_count() or 1, list(overrides))
        return [run_job(job) for job in jobs]
    init = (trace_model_dir, 1, list(overrides))
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=init) as pool:
        return list(pool.map(run_job, jobs, chunksize=1))


def summarise(outcomes: list[Outcome], variants: list[str], rates: list[float]) -> dict:
    """{variant: {fs: {snr_db, failed, images, seconds_per_image}}} plus 'overall'."""
    table: dict = {}
    for variant in [*variants, "overall"]:
        table[variant] = {}
        for fs in [*rates, "all"]:
            chosen = [
                o
                for o in outcomes
                if (variant == "overall" or o.variant == variant) and (fs == "all" or o.fs_hz == fs)
            ]
            if chosen:
                table[variant][str(fs if fs == "all" else int(fs))] = {
                    "snr_db": round(float(np.mean([o.snr_db for o in chosen])), 2),
                    "failed": sum(o.failed for o in chosen),
                    "images": len(chosen),
                    "seconds_per_image": round(float(np.mean([o.seconds for o in chosen])), 2),
                }
    return table


def print_table(table: dict, rates: list[float]) -> None:
    keys = [str(int(fs)) for fs in rates] + ["all"]
    print(f"{'variant':10s}" + "".join(f"{'SNR@' + k + ' (fail/n)':>22s}" for k in keys) + f"{'s/img':>8s}")
    for variant, row in table.items():
        cells = "".join(
            f"{row[k]['snr_db']:>10.2f} dB ({row[k]['failed']}/{row[k]['images']})".rjust(22)
            if k in row
            else " " * 22
            for k in keys
        )
        print(f"{variant:10s}{cells}{row['all']['seconds_per_image']:8.2f}")


def log_entry(table: dict, args: argparse.Namespace, peak_mb: float, wall_s: float) -> None:
    """Append one entry to submissions.yaml (a YAML list; created when missing)."""
    model = "classical digitizer (DigitizeConfig defaults)"
    if args.trace_model:
        model = f"classical digitizer + learned trace model {args.trace_model}"
    if args.set:
        model += f" with {' '.join(args.set)}"
    append_submission(
        {
            "date": datetime.date.today().isoformat(),
            "commit": git_commit(dirty_paths=("ecgvision/digitize", "bench/bench_digitize.py")),
            "model": model,
            "data": (
                f"PTB-XL fold 9, {record_span(args.skip, args.records)}, rendered 200 dpi 3x4+II, grid {args.grid}, "
                f"variants {' '.join(args.variants)}, fs {' '.join(str(int(f)) for f in args.fs)} Hz"
            ),
            "figures": {
                "mean_snr_db": {v: row["all"]["snr_db"] for v, row in table.items()},
                "by_fs": {
                    v: {k: c["snr_db"] for k, c in row.items() if k != "all"} for v, row in table.items()
                },
                "failed_images": table["overall"]["all"]["failed"],
                "seconds_per_image": table["overall"]["all"]["seconds_per_image"],
                "peak_rss_mb": round(peak_mb, 1),
                "wall_s": round(wall_s, 1),
                "workers": args.workers,
                "cpu_note": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end (shared)",
            },
            "command": " ".join(["bench/bench_digitize.py", *sys.argv[1:]]),
        }
    )


def record_span(skip: int, count: int) -> str:
    return f"first {count} records" if skip == 0 else f"records {skip + 1}-{skip + count}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20, help="first K fold-9 records (default 20)")
    parser.add_argument(
        "--skip", type=int, default=0, help="start after the first N records (a check on pages not tuned on)"
    )
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS), help="render presets")
    parser.add_argument("--fs", nargs="+", type=float, default=[100.0, 500.0], help="sampling rates (Hz)")
    parser.add_argument("--grid", default="colour", choices=("colour", "grey", "none"), help="grid mode")
    parser.add_argument("--workers", type=int, default=1, help="process pool size (1 = in process)")
    parser.add_argument("--trace-model", help="learned trace model folder (ecgvision.models.trace_model)")
    parser.add_argument(
        "--set", nargs="*", default=[], help="DigitizeConfig overrides, e.g. trace.learned_dilate_px=3"
    )
    parser.add_argument("--log", action="store_true", help="append the result to submissions.yaml")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    records = extract_fold(9, cache_dir() / "ptbxl", limit=args.skip + args.records)[args.skip :]
    jobs = make_jobs(records, args.variants, args.fs, args.grid, first=args.skip)
    started = time.perf_counter()
    outcomes = run_all(jobs, args.workers, args.trace_model, args.set)
    wall_s = time.perf_counter() - started
    table = summarise(outcomes, args.variants, args.fs)
    print_table(table, args.fs)
    peak_mb = max(o.max_rss_mb for o in outcomes)
    print(f"{len(jobs)} images in {wall_s:.0f} s with {args.workers} worker(s); peak RSS {peak_mb:.0f} MB")
    for reason in sorted({o.reason for o in outcomes if o.failed}):
        print(f"  failure: {reason}")
    if args.log:
        log_entry(table, args, peak_mb, wall_s)
        print(f"logged to {SUBMISSIONS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
