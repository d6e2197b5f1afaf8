"""Finding records and reading / writing their signals and labels (WFDB, via the wfdb package)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import wfdb

from ecgvision.constants import MAX_ABS_MV
from ecgvision.io.atomic import atomic_write_text
from ecgvision.io.headers import (
    HEADER_EXTENSION,
    comment_lines,
    get_list,
    get_variable,
    header_path,
    load_header,
    parse_header,
    reorder_to_header,
)

# Digital range of the WFDB formats we write; the minimum is the NaN sentinel.
DIGITAL_RANGE = {"16": (-32768, 32767), "212": (-2048, 2047), "80": (-128, 127), "32": (-(2**31), 2**31 - 1)}


def find_records(folder: str | os.PathLike) -> list[str]:
    """Relative paths (no extension, '/' separated) of every header under `folder`, sorted."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"no such folder: {root}")
    records = {
        path.relative_to(root).with_suffix("").as_posix()
        for path in root.rglob(f"*{HEADER_EXTENSION}")
        if path.is_file() and not path.name.startswith(".")
    }
    return sorted(records)


def load_labels(record: str | os.PathLike) -> list[str]:
    """The `# Labels:` classes of a record; empty when absent or empty (an unlabelled record)."""
    return get_list(load_header(record), "Labels")


def format_labels_line(labels: list[str]) -> str:
    return "# Labels: " + ", ".join(labels)


def save_labels(record: str | os.PathLike, labels: list[str]) -> None:
    """Append a `# Labels:` line to the record's header (the header must exist)."""
    text = load_header(record)
    if not text.endswith("\n"):
        text += "\n"
    atomic_write_text(header_path(record), text + format_labels_line(labels) + "\n")


def has_signal_file(record: str | os.PathLike) -> bool:
    """True when the header exists and every signal file it names exists."""
    try:
        info = parse_header(load_header(record))
    except (FileNotFoundError, ValueError):
        return False
    folder = Path(os.fspath(record)).parent
    return all((folder / spec.file_name).is_file() for spec in info.signals)


def load_signals(record: str | os.PathLike, lead_names: list[str] | None = None) -> tuple[np.ndarray, float]:
    """Physical signal (num_samples, num_leads) in the header's units and its fs in Hz.

    NaN where the file holds the format's NaN sentinel. With `lead_names`, columns follow that
    order (matched case-insensitively); a lead the record lacks is all NaN.
    """
    rec = wfdb.rdrecord(os.fspath(record))
    signal = np.asarray(rec.p_signal, dtype=np.float64)
    if lead_names is None:
        return signal, float(rec.fs)
    out = np.full((signal.shape[0], len(lead_names)), np.nan)
    for j, i in enumerate(reorder_to_header(list(rec.sig_name), lead_names)):
        if i is not None:
            out[:, j] = signal[:, i]
    return out, float(rec.fs)


def to_digital(signal: np.ndarray, gains: list[float], baselines: list[int], fmts: list[str]) -> np.ndarray:
    """Physical -> digital units, clipped to each format's range; NaN becomes the format's sentinel."""
    signal = np.clip(np.asarray(signal, dtype=np.float64), -MAX_ABS_MV, MAX_ABS_MV)
    digital = np.empty(signal.shape, dtype=np.int64)
    for j, (gain, baseline, fmt) in enumerate(zip(gains, baselines, fmts, strict=True)):
        low, high = DIGITAL_RANGE.get(fmt, DIGITAL_RANGE["16"])
        column = np.round(signal[:, j] * gain + baseline)
        column = np.clip(np.nan_to_num(column, nan=low), low + 1, high)
        column[~np.isfinite(signal[:, j])] = low
        digital[:, j] = column
    return digital


def save_signals(record: str | os.PathLike, signal: np.ndarray, template_header: str | None = None) -> None:
    """Write `signal` (num_samples, num_leads) as WFDB `record`.hea/.dat, atomically.

    Format, gain, baseline, units, names and fs come from `template_header` (default: the
    header already at `record`); its `#` comment lines are re-emitted.
    """
    record = Path(os.fspath(record))
    header = template_header if template_header is not None else load_header(record)
    info = parse_header(header)
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[1] != info.num_signals:
        raise ValueError(f"signal shape {signal.shape} does not match {info.num_signals} header signals")
    fmts = [spec.fmt for spec in info.signals]
    digital = to_digital(signal, [s.adc_gain for s in info.signals], [s.baseline for s in info.signals], fmts)
    comments = [line.lstrip("#").lstrip() for line in comment_lines(header)]
    record.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=record.parent, prefix=".wfdb-") as tmp:
        wfdb.wrsamp(
            record.name,
            fs=info.fs_hz,
            units=[s.units for s in info.signals],
            sig_name=info.signal_names,
            d_signal=digital.astype(np.int32) if digital.size else digital.reshape(0, info.num_signals),
            fmt=fmts,
            adc_gain=[s.adc_gain for s in info.signals],
            baseline=[s.baseline for s in info.signals],
            comments=comments,
            write_dir=tmp,
        )
        written_header = Path(tmp) / f"{record.name}{HEADER_EXTENSION}"
        text = written_header.read_text()
        if not text.endswith("\n"):  # wfdb omits the final newline; appenders expect one
            written_header.write_text(text + "\n")
        for suffix in (".dat", HEADER_EXTENSION):
            written = Path(tmp) / f"{record.name}{suffix}"
            if written.exists():
                shutil.move(str(written), str(record.parent / written.name))


def get_image_files(header: str) -> list[str]:
    """Image file names from `# Image:`, as listed (the Challenge lists them in suffix order)."""
    return get_list(header, "Image")


def get_demographic(header: str, key: str) -> str | None:
    return get_variable(header, key)
