"""What the benchmarks share: a record's signal at a rate, one rendered page, the models of a worker,
the per-class F table and the common arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ecgvision.constants import LEADS
from ecgvision.data.prepare_ptbxl import resample_signal
from ecgvision.evaluation.metrics import compute_f_measure
from ecgvision.io.records import load_signals
from ecgvision.render.config import RenderConfig, with_variant
from ecgvision.render.render import render_record

REPO = Path(__file__).resolve().parents[1]


def record_signal(record: str, fs_hz: float) -> np.ndarray:
    """(N, 12) mV in LEADS order, resampled from the record's rate to `fs_hz`."""
    signal, fs_record = load_signals(record, list(LEADS))
    return signal if fs_hz == fs_record else resample_signal(signal, fs_record, fs_hz)


def render_page(
    signal_mv: np.ndarray, fs_hz: float, variant: str, seed: int, config: RenderConfig | None = None
):
    """The page (`RenderedRecord`) of `signal_mv` with realism preset `variant`, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    name, config = with_variant(config or RenderConfig(), variant, rng)
    return render_record(signal_mv, fs_hz, config, rng, variant=name)


def load_worker_models(model_folder: str):
    """(digitizer, classifier) of a model folder for one process-pool worker (one torch thread each)."""
    import torch

    from ecgvision.challenge.entry import load_models

    torch.set_num_threads(1)
    return load_models(model_folder)


def per_class_table(reference: list[list[str]], predicted: list[list[str]]) -> dict:
    """Challenge macro F and F per class (classes present) of predicted vs reference label lists."""
    macro, classes, per_class = compute_f_measure(reference, predicted)
    return {
        "macro_f": round(float(macro), 4),
        "per_class_f": {c: round(float(f), 3) for c, f in zip(classes, per_class, strict=True)},
    }


def add_model_arguments(parser: argparse.ArgumentParser, records: int) -> None:
    """--model, --records, --variants, --workers as the classification benchmarks take them."""
    parser.add_argument("--model", default=str(REPO / "model"))
    parser.add_argument("--records", type=int, default=records)
    parser.add_argument("--variants", nargs="+", default=["clean", "mix"])
    parser.add_argument("--workers", type=int, default=2)
