"""Re-tune the signal classifier's per-class thresholds on digitized renders of held-out fold-9 records.

The thresholds shipped by `train-signal-classifier` are tuned on exact (plotted) signals; at run time
the classifier sees the digitizer's output, which is noisier and partly missing, so its best cuts
differ. This renders the LAST `--records` labelled fold-9 records (bench_classify.py scores the first
ones, so the two never share a record) with each variant, digitizes them with the model folder's
digitizer, classifies, and tunes each class's threshold on the pooled probabilities (unread pages
left out; classes with fewer than `--min-positives` positives keep their threshold). `--write` stores
them in MODEL/signal_classifier/config.json (extra.thresholds; the previous ones are kept as
extra.thresholds_exact_signal) and logs the change in submissions.yaml.

Usage:
    .venv/bin/python bench/tune_signal_thresholds.py --model model --records 300 [--variants clean mix]
        [--workers 2] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from bench_pages import (  # bench/ is on sys.path
    add_model_arguments,
    load_worker_models,
    record_signal,
    render_page,
)
from results_log import append_submission, git_commit  # bench/ is on sys.path

from ecgvision.challenge.entry import load_models
from ecgvision.classify.thresholds import per_class_f, tune_thresholds
from ecgvision.constants import CLASSES, LEADS
from ecgvision.data.archives import cache_dir, ecg_id_of, extract_fold
from ecgvision.data.ptbxl import PtbxlLabeler
from ecgvision.io.atomic import atomic_write_text
from ecgvision.training.signal_data import labels_to_multi_hot

FS_HZ = 500.0
SEED_OFFSET = 500_000  # render seeds disjoint from bench_classify.py's
_MODELS = None


def _init(model_folder: str) -> None:
    global _MODELS
    _MODELS = load_worker_models(model_folder)


def probabilities_one(job: tuple[str, str, int]) -> np.ndarray:
    """Signal-classifier probabilities (num_classes,) of one rendered, digitized page; NaN if unread."""
    record, variant, seed = job
    digitizer, classifier = _MODELS
    signal = record_signal(record, FS_HZ)
    page = render_page(signal, FS_HZ, variant, seed)
    digitized = digitizer.digitize([page.image], FS_HZ, signal.shape[0], list(LEADS))
    return classifier.signal_classifier.probabilities(digitized, FS_HZ, list(LEADS))


def last_labelled_records(count: int) -> tuple[list[Path], np.ndarray]:
    """The last `count` fold-9 records that carry at least one Challenge class, with multi-hot targets."""
    labeler = PtbxlLabeler()
    chosen, targets = [], []
    for record in reversed(extract_fold(9, cache_dir() / "ptbxl")):
        labels = labeler.labels(ecg_id_of(record.name))
        if labels:
            chosen.append(record)
            targets.append(labels_to_multi_hot(labels))
        if len(chosen) == count:
            break
    return chosen[::-1], np.asarray(targets[::-1])


def tune(probabilities: np.ndarray, targets: np.ndarray, old: np.ndarray, min_positives: int) -> np.ndarray:
    """New thresholds where a class has enough positives among the read pages, else the old ones."""
    read = np.isfinite(probabilities).all(axis=1)
    new = tune_thresholds(probabilities[read], targets[read])
    enough = targets[read].sum(axis=0) >= min_positives
    return np.where(enough, new, old)


def macro_f(probabilities: np.ndarray, targets: np.ndarray, thresholds: np.ndarray) -> float:
    """Macro F over classes present; unread pages predict nothing (as run_model.py does)."""
    per_class = per_class_f(np.nan_to_num(probabilities, nan=-1.0), targets > 0.5, thresholds)
    return float(np.mean(per_class[targets.sum(axis=0) > 0]))


def write_thresholds(model_folder: Path, thresholds: np.ndarray, note: str) -> None:
    path = model_folder / "signal_classifier" / "config.json"
    meta = json.loads(path.read_text())
    extra = meta.setdefault("extra", {})
    extra.setdefault("thresholds_exact_signal", extra["thresholds"])
    extra["thresholds"] = [float(t) for t in thresholds]
    extra["thresholds_tuned_on"] = note
    atomic_write_text(path, json.dumps(meta, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_model_arguments(parser, records=300)
    parser.add_argument("--min-positives", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="store the thresholds in the model folder")
    args = parser.parse_args(argv)

    records, targets = last_labelled_records(args.records)
    jobs = [
        (str(r), v, SEED_OFFSET + 1000 * j + i)
        for j, v in enumerate(args.variants)
        for i, r in enumerate(records)
    ]
    with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(args.model,)) as pool:
        probabilities = np.asarray(list(pool.map(probabilities_one, jobs, chunksize=4)))
    pooled_targets = np.concatenate([targets] * len(args.variants))
    old = np.asarray(load_models(args.model)[1].signal_classifier.thresholds)
    new = tune(probabilities, pooled_targets, old, args.min_positives)
    before, after = macro_f(probabilities, pooled_targets, old), macro_f(probabilities, pooled_targets, new)
    unread = int((~np.isfinite(probabilities).all(axis=1)).sum())
    print(
        f"{len(jobs)} pages ({unread} unread); macro F on these pages: {before:.3f} -> {after:.3f} (tuned on them)"
    )
    for c, o, n in zip(CLASSES, old, new, strict=True):
        print(f"  {c:9s} {o:.3f} -> {n:.3f}")
    if args.write:
        note = (
            f"digitized renders ({' '.join(args.variants)}, 500 Hz) of the last {len(records)} labelled "
            f"PTB-XL fold-9 records; bench/tune_signal_thresholds.py"
        )
        write_thresholds(Path(args.model), new, note)
        append_submission(
            {
                "date": datetime.date.today().isoformat(),
                "commit": git_commit(),
                "benchmark": "signal-classifier thresholds re-tuned on digitized renders (not a held-out score)",
                "model": args.model,
                "data": note,
                "figures": {
                    "pages": len(jobs),
                    "unread_pages": unread,
                    "macro_f_on_tuning_pages_before": round(before, 4),
                    "macro_f_on_tuning_pages_after": round(after, 4),
                    "thresholds": {c: round(float(t), 4) for c, t in zip(CLASSES, new, strict=True)},
                },
                "command": "python bench/tune_signal_thresholds.py " + " ".join(sys.argv[1:]),
            }
        )
        print(f"thresholds written to {args.model}/signal_classifier/config.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
