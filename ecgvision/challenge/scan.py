"""Digitize a user's scan: image -> WFDB + CSV signals, an overlay PNG, and the diagnoses."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ecgvision.constants import CLASSES, LEADS
from ecgvision.data.prepare_ptbxl import build_header
from ecgvision.digitize.pipeline import draw_overlay
from ecgvision.io.atomic import atomic_write_bytes, atomic_write_text
from ecgvision.io.images import read_image
from ecgvision.io.records import save_signals


@dataclass
class ScanResult:
    name: str
    leads_read: list[str]
    failures: dict[str, str]  # lead -> why it was not read
    probabilities: dict[str, float]  # class -> probability (empty without a signal classifier)
    labels: list[str]
    notes: list[str] = field(default_factory=list)  # what the geometry stages found (rectified, no grid...)


def write_csv(path: Path, signal_mv: np.ndarray, fs_hz: float) -> None:
    lines = ["time_s," + ",".join(LEADS)]
    for i, row in enumerate(signal_mv):
        lines.append(f"{i / fs_hz:.4f}," + ",".join("" if np.isnan(v) else f"{v:.3f}" for v in row))
    atomic_write_text(path, "\n".join(lines) + "\n")


def write_png(path: Path, image_rgb: np.ndarray) -> None:
    buffer = io.BytesIO()
    Image.fromarray(image_rgb).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def digitize_scan(
    image_path: str | os.PathLike,
    output_folder: str | os.PathLike,
    models,
    fs_hz: float = 500.0,
    duration_s: float = 10.0,
) -> ScanResult:
    """Read one image; write `<stem>.hea/.dat` (WFDB), `<stem>.csv` and `<stem>-overlay.png`."""
    digitizer, classifier = models
    image = read_image(image_path)
    num_samples = int(round(fs_hz * duration_s))
    result = digitizer.digitize_all([image], fs_hz, num_samples, list(LEADS))[0]
    out, name = Path(output_folder), Path(image_path).stem
    save_signals(out / name, result.signal_mv, build_header(name, fs_hz, num_samples, list(LEADS), []))
    write_csv(out / f"{name}.csv", result.signal_mv, fs_hz)
    write_png(out / f"{name}-overlay.png", draw_overlay(image, result))
    probabilities, labels = {}, []
    if classifier is not None and classifier.signal_classifier is not None and result.leads_read:
        p = classifier.signal_classifier.probabilities(result.signal_mv, fs_hz, list(LEADS))
        probabilities = dict(zip(CLASSES, p.round(3).tolist(), strict=True))
        labels = classifier.signal_classifier.labels(p)
    return ScanResult(name, result.leads_read, result.failures, probabilities, labels, result.notes)
