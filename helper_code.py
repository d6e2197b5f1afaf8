#!/usr/bin/env python
"""Helper functions with the names and behaviour of the Challenge 2024 helper_code.py (our own code).

The organizers use their own copy of this file; team_code.py therefore never imports it, and these
functions are thin wrappers over the ecgvision package.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ecgvision.io import headers as _headers
from ecgvision.io import images as _images
from ecgvision.io import records as _records


def is_number(x) -> bool:
    try:
        float(x)
        return True
    except (TypeError, ValueError):
        return False


def find_records(folder: str) -> list[str]:
    return _records.find_records(folder)


def load_text(filename: str) -> str:
    with open(filename) as f:
        return f.read()


def load_header(record: str) -> str:
    return _headers.load_header(record)


def save_header(record: str, header: str) -> None:
    _headers.save_header(record, header)


def get_record_name(header: str) -> str:
    return _headers.parse_header(header).record_name


def get_num_signals(header: str) -> int:
    return _headers.parse_header(header).num_signals


def get_sampling_frequency(header: str) -> float:
    return _headers.parse_header(header).fs_hz


def get_num_samples(header: str) -> int:
    return _headers.parse_header(header).num_samples


def get_signal_names(header: str) -> list[str]:
    return _headers.parse_header(header).signal_names


def get_variable(header: str, key: str) -> tuple[str, bool]:
    value = _headers.get_variable(header, key)
    return ("" if value is None else value), value is not None


def get_labels_from_header(header: str) -> list[str]:
    return _headers.get_list(header, "Labels")


def get_image_files(header: str) -> list[str]:
    return _records.get_image_files(header)


def load_labels(record: str) -> list[str]:
    return _records.load_labels(record)


def save_labels(record: str, labels: list[str]) -> None:
    _records.save_labels(record, labels)


def load_signals(record: str) -> tuple[np.ndarray, dict]:
    signal, fs = _records.load_signals(record)
    info = _headers.parse_header(load_header(record))
    fields = {"fs": fs, "sig_len": signal.shape[0], "n_sig": signal.shape[1], "sig_name": info.signal_names}
    return signal, fields


def save_signals(record: str, signal: np.ndarray, comments: list[str] | None = None) -> None:
    """Write `signal` using the header already at `record`; `comments` replace its comment lines."""
    header = load_header(record)
    if comments is not None:
        body = [line for line in header.splitlines() if not line.startswith("#")]
        header = "\n".join(body + ["# " + c.lstrip("# ") for c in comments]) + "\n"
    _records.save_signals(record, signal, header)


def load_images(record: str) -> list[Image.Image]:
    return [Image.fromarray(array) for array in _images.load_images(record)]


def get_image_paths(record: str) -> list[str]:
    return [os.fspath(p) for p in _images.image_paths(record)]
