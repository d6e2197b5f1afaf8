"""Render WFDB records (Challenge-format or PTB-XL, any fs) into Challenge-format training records.

Per input record `<rel>` the output folder gets `<rel>.hea` / `<rel>.dat` (the full signal, format
16, 1000/mV; the original comments plus `# Image:` and `# Variant:`), `<rel>-k.png|.jpg` and
`<rel>-k.json.gz` (the ImageTruth of image k). The header is written last, so a record that
`find_records` sees is complete. Every image's seed depends only on (seed, rel, k): the result is
the same for any number of workers or order.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ecgvision.constants import LEADS
from ecgvision.io.atomic import atomic_write_bytes
from ecgvision.io.headers import comment_lines, load_header, parse_header
from ecgvision.io.records import load_signals, save_signals
from ecgvision.render.config import RenderConfig, with_variant
from ecgvision.render.ground_truth import save_truth
from ecgvision.render.render import RenderedImage, render_record

OWN_COMMENT_KEYS = ("Image", "Variant")  # replaced, not duplicated, when re-rendering rendered records
MICROVOLT_UNITS = ("uv", "µv", "μv")


@dataclass
class WrittenRecord:
    record: str  # output path without extension
    images: list[str]
    variants: list[str]


def image_seed(seed: int, rel: str, index: int) -> int:
    """Stable 63-bit seed of image `index` of record `rel` (independent of process and order)."""
    digest = hashlib.sha256(f"{seed}:{rel}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def pick_variants(variants: Sequence[str], record_index: int, images_per_record: int) -> list[str]:
    """Variants cycle over the images of consecutive records, so each is used equally often."""
    return [
        variants[(record_index * images_per_record + k) % len(variants)] for k in range(images_per_record)
    ]


def load_record_signal(record: str | os.PathLike) -> tuple[np.ndarray, float, list[str]]:
    """(N, num_leads) mV in the header's order, fs, and the header's lead names (µV headers converted)."""
    info = parse_header(load_header(record))
    signal, fs = load_signals(record)
    scale = np.array([1e-3 if s.units.casefold() in MICROVOLT_UNITS else 1.0 for s in info.signals])
    return signal * scale, fs, info.signal_names


def challenge_header(
    name: str, fs_hz: float, num_samples: int, lead_names: list[str], comments: list[str]
) -> str:
    """Template header for save_signals: format 16, gain 1000/mV, the given comment lines."""
    lines = [f"{name} {len(lead_names)} {fs_hz:g} {num_samples}"]
    lines += [f"{name}.dat 16 1000.0(0)/mV 16 0 0 0 0 {lead}" for lead in lead_names]
    return "\n".join(lines + comments) + "\n"


def kept_comments(header: str) -> list[str]:
    def is_own(line: str) -> bool:
        return any(line.lstrip("#").strip().startswith(f"{key}:") for key in OWN_COMMENT_KEYS)

    return [line for line in comment_lines(header) if not is_own(line)]


def encode_image(rendered: RenderedImage) -> tuple[bytes, str]:
    """(file bytes, extension): the JPEG artefact's own bytes, else a PNG."""
    if rendered.encoded_jpeg is not None:
        return rendered.encoded_jpeg, ".jpg"
    ok, buffer = cv2.imencode(".png", rendered.image[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buffer.tobytes(), ".png"


def write_one_record(
    record: str | os.PathLike,
    rel: str,
    output_folder: str | os.PathLike,
    config: RenderConfig,
    variants: list[str],
    seed: int,
) -> WrittenRecord:
    """Render and write one record's images, truths, signal and header; returns what was written."""
    out = Path(output_folder) / rel
    name = out.name
    signal, fs, header_leads = load_record_signal(record)
    by_name = {lead.casefold(): j for j, lead in enumerate(header_leads)}
    missing = [lead for lead in LEADS if lead.casefold() not in by_name]
    if missing:
        raise ValueError(f"record {record} lacks leads {missing}")
    plotted = signal[:, [by_name[lead.casefold()] for lead in LEADS]]
    images, used = [], []
    for k, variant in enumerate(variants):
        rng = np.random.default_rng(image_seed(seed, rel, k))
        used_variant, image_config = with_variant(config, variant, rng)
        rendered = render_record(
            plotted, fs, image_config, rng, header_text=f"ID: {name}", variant=used_variant
        )
        data, extension = encode_image(rendered)
        atomic_write_bytes(out.parent / f"{name}-{k}{extension}", data)
        save_truth(rendered.truth, out.parent / f"{name}-{k}.json.gz")
        images.append(f"{name}-{k}{extension}")
        used.append(used_variant)
    comments = kept_comments(load_header(record)) + [
        f"# Image: {', '.join(images)}",
        f"# Variant: {', '.join(used)}",
    ]
    save_signals(out, signal, challenge_header(name, fs, signal.shape[0], header_leads, comments))
    return WrittenRecord(str(out), images, used)


def _write_task(args: tuple) -> WrittenRecord:
    cv2.setNumThreads(1)  # one process per core already
    return write_one_record(*args)


def write_rendered_records(
    records: Iterable[str | os.PathLike],
    output_folder: str | os.PathLike,
    config: RenderConfig | None = None,
    variants: Sequence[str] = ("clean",),
    seed: int = 0,
    images_per_record: int = 1,
    input_folder: str | os.PathLike | None = None,
    workers: int = 1,
    progress: bool = False,
) -> list[WrittenRecord]:
    """Render every record (paths without extension) into `output_folder` as Challenge training records.

    Output paths keep each record's path relative to `input_folder` (default: its own name).
    Image k of the i-th record uses variants[(i * images_per_record + k) % len(variants)].
    """
    config = config or RenderConfig()
    config.validate()
    if images_per_record < 1 or not variants:
        raise ValueError("need at least one variant and one image per record")
    tasks = []
    for i, record in enumerate(records):
        record = Path(os.fspath(record))
        rel = record.relative_to(input_folder).as_posix() if input_folder else record.name
        tasks.append(
            (
                str(record),
                rel,
                str(output_folder),
                config,
                pick_variants(variants, i, images_per_record),
                seed,
            )
        )
    bar = _progress(len(tasks), progress)
    results = []
    if workers <= 1:
        for task in tasks:
            results.append(write_one_record(*task))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(_write_task, tasks, chunksize=4):
                results.append(result)
                bar.update()
    bar.close()
    return results


class _NoBar:
    def update(self) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="record", desc="render")
