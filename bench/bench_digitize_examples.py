"""Digitize the Challenge 2024 example images and print SNR (masked to plotted samples) and timing.

Usage: .venv/bin/python bench/bench_digitize_examples.py [--trace-model DIR] [--overlay-dir DIR]
The reference is the record's signal masked to the samples the image plots (json start/end samples),
as the Challenge scores it; SNR is reported with the Challenge's alignment and without it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ecgvision.data.archives import shared_data_dir
from ecgvision.digitize.pipeline import digitize_image, draw_overlay
from ecgvision.evaluation.metrics import align_signals, compute_snr
from ecgvision.io.headers import load_header, parse_header
from ecgvision.io.images import read_image
from ecgvision.io.records import load_signals


def masked_reference(record: Path, image_json: Path, lead_names: list[str]) -> np.ndarray:
    """The record's signal with every sample the image does not plot set to NaN."""
    signal, _ = load_signals(str(record), lead_names)
    meta = json.loads(gzip.decompress(image_json.read_bytes()))
    mask = np.zeros(signal.shape, dtype=bool)
    index = {name.casefold(): j for j, name in enumerate(lead_names)}
    for lead in meta["leads"]:
        mask[lead["start_sample"] : lead["end_sample"], index[lead["lead_name"].casefold()]] = True
    return np.where(mask, signal, np.nan)


def score(reference: np.ndarray, estimate: np.ndarray, fs_hz: float) -> tuple[float, float]:
    """(mean SNR with the Challenge alignment, mean SNR without) over the leads, dB."""
    aligned, raw = [], []
    for j in range(reference.shape[1]):
        x, y = reference[:, j], estimate[:, j]
        raw.append(compute_snr(x, y))
        aligned.append(compute_snr(x, align_signals(x, y, fs_hz).signal_mv))
    return float(np.nanmean(aligned)), float(np.nanmean(raw))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overlay-dir", type=Path, help="write <record>-overlay.png files here")
    parser.add_argument("--trace-model", help="learned trace model folder (e.g. model/trace_model)")
    args = parser.parse_args()
    trace_model = None
    if args.trace_model:
        from ecgvision.models.trace_model import load_trace_model

        trace_model = load_trace_model(args.trace_model, device="cpu")
    folder = shared_data_dir() / "challenge2024-examples"
    results = []
    for header_path in sorted(folder.glob("*.hea")):
        record = header_path.with_suffix("")
        info = parse_header(load_header(str(record)))
        image_path = folder / f"{record.name}-0.png"
        image = read_image(image_path)
        reference = masked_reference(record, folder / f"{record.name}-0.json.gz", list(info.signal_names))
        started = time.perf_counter()
        result = digitize_image(
            image, info.fs_hz, info.num_samples, list(info.signal_names), trace_model=trace_model
        )
        seconds = time.perf_counter() - started
        snr_aligned, snr_raw = score(reference, result.signal_mv, info.fs_hz)
        results.append((snr_aligned, snr_raw, seconds))
        print(
            f"{record.name}: SNR {snr_aligned:6.2f} dB (aligned)  {snr_raw:6.2f} dB (no alignment)  "
            f"{seconds:5.2f} s  layout={result.layout_name} rotation={result.rotation_deg:.3f} deg "
            f"px/mm={result.calibration.px_per_mm_x:.4f} read={len(result.leads_read)}/{len(info.signal_names)}"
        )
        if args.overlay_dir:
            args.overlay_dir.mkdir(parents=True, exist_ok=True)
            Image.fromarray(draw_overlay(image, result)).save(args.overlay_dir / f"{record.name}-overlay.png")
    mean = np.mean(results, axis=0)
    print(f"mean: SNR {mean[0]:.2f} dB (aligned)  {mean[1]:.2f} dB (no alignment)  {mean[2]:.2f} s per image")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
