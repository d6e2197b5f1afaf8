"""Render throughput at 200 dpi, single process: clean and 'mix' images per second.

Usage: .venv/bin/python bench/bench_render.py [--images 30] [--no-record] [--samples docs/render_samples.png]
Prints the figures and appends a JSON line to bench/results/render.jsonl (date, commit, figures,
command). Rendering only (no file encoding); the PNG encode time is reported separately.
--samples also writes a 2x2 page of examples (clean, photo, b/w, 6x2 layout).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from results_log import append_jsonl  # bench/ is on sys.path when a script runs

from ecgvision.constants import LEADS
from ecgvision.data.archives import shared_data_dir
from ecgvision.io.records import load_signals
from ecgvision.render.config import RenderConfig, with_variant
from ecgvision.render.render import render_record

RESULTS = Path(__file__).resolve().parent / "results" / "render.jsonl"


def images_per_second(signal: np.ndarray, fs: float, variant: str, count: int) -> float:
    render_record(signal, fs, RenderConfig(), 0)  # warm the grid and glyph caches
    start = time.perf_counter()
    for seed in range(count):
        rng = np.random.default_rng(seed)
        name, config = with_variant(RenderConfig(), variant, rng)
        render_record(signal, fs, config, rng, header_text="ID: bench", variant=name)
    return count / (time.perf_counter() - start)


def png_encode_s(signal: np.ndarray, fs: float, count: int = 5) -> float:
    image = render_record(signal, fs, RenderConfig(), 0).image
    start = time.perf_counter()
    for _ in range(count):
        cv2.imencode(".png", image[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 3])
    return (time.perf_counter() - start) / count


def write_samples(path: Path, signal: np.ndarray, fs: float, tile_width_px: int = 800) -> None:
    """2x2 page: clean 3x4+II, photo, b/w, clean 6x2 (each tile downscaled to `tile_width_px`)."""
    tiles = []
    for seed, variant, layout in (
        (0, "clean", "3x4+II"),
        (2, "photo", "3x4+II"),
        (1, "bw", "3x4+II"),
        (0, "clean", "6x2"),
    ):
        rng = np.random.default_rng(seed)
        name, config = with_variant(RenderConfig(layout=layout), variant, rng)
        image = render_record(signal, fs, config, rng, header_text="ID: 00005_hr", variant=name).image
        tile_height = round(tile_width_px * 1700 / 2200)
        scale = min(tile_width_px / image.shape[1], tile_height / image.shape[0])
        tile = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        pad_y, pad_x = tile_height - tile.shape[0], tile_width_px - tile.shape[1]
        tiles.append(
            cv2.copyMakeBorder(tile, 6, 6 + pad_y, 6, 6 + pad_x, cv2.BORDER_CONSTANT, value=(255, 255, 255))
        )
    page = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
    path.parent.mkdir(parents=True, exist_ok=True)
    # A 256-colour palette keeps the noisy photo tile from bloating the PNG (target < 1.5 MB).
    Image.fromarray(page).quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=30, help="images per measurement")
    parser.add_argument("--no-record", action="store_true", help="do not append to render.jsonl")
    parser.add_argument("--samples", type=Path, default=None, help="also write a 2x2 sample page here")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # per-core figure
    signal, fs = load_signals(shared_data_dir() / "challenge2024-examples" / "00005_hr", LEADS)
    figures = {
        "clean_images_per_s": round(images_per_second(signal, fs, "clean", args.images), 2),
        "mix_images_per_s": round(images_per_second(signal, fs, "mix", args.images), 2),
        "png_encode_s": round(png_encode_s(signal, fs), 3),
        "dpi": 200,
        "fs_hz": fs,
        "images": args.images,
    }
    print(json.dumps(figures))
    if args.samples:
        write_samples(args.samples, signal, fs)
        print(f"wrote {args.samples} ({args.samples.stat().st_size / 1e6:.2f} MB)")
    if not args.no_record:
        append_jsonl(RESULTS, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
