"""Shared inputs of the digitizer tests: the two Challenge example images, their signals and sidecars."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ecgvision.io.headers import load_header, parse_header
from ecgvision.io.images import read_image
from ecgvision.io.records import load_signals

EXAMPLES = ("00005_hr", "00666_hr")


@dataclass
class Example:
    name: str
    image: np.ndarray  # (H, W, 3) uint8
    fs_hz: float
    lead_names: list[str]
    reference_mv: np.ndarray  # (N, 12), NaN where the image does not plot the sample
    meta: dict  # the json sidecar


def load_example(folder: Path, name: str) -> Example:
    info = parse_header(load_header(str(folder / name)))
    names = list(info.signal_names)
    signal, _ = load_signals(str(folder / name), names)
    meta = json.loads(gzip.decompress((folder / f"{name}-0.json.gz").read_bytes()))
    mask = np.zeros(signal.shape, dtype=bool)
    index = {n.casefold(): j for j, n in enumerate(names)}
    for lead in meta["leads"]:
        mask[lead["start_sample"] : lead["end_sample"], index[lead["lead_name"].casefold()]] = True
    return Example(
        name, read_image(folder / f"{name}-0.png"), info.fs_hz, names, np.where(mask, signal, np.nan), meta
    )


@pytest.fixture(scope="session")
def examples(challenge_examples: Path) -> list[Example]:
    return [load_example(challenge_examples, name) for name in EXAMPLES]
