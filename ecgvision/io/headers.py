"""WFDB header text: record line, signal lines and the Challenge's `#` comment fields.

Keys are matched as the Challenge does: a comment line that starts with `# Key:`; values are
split on commas and stripped. Lead names are compared case-insensitively but always reported in
the header's own order and spelling.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ecgvision.io.atomic import atomic_write_text

HEADER_EXTENSION = ".hea"


def header_path(record: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(record)}{HEADER_EXTENSION}")


def load_header(record: str | os.PathLike) -> str:
    """Header text of `record` (a path without extension)."""
    path = header_path(record)
    if not path.is_file():
        raise FileNotFoundError(f"no header file {path}")
    return path.read_text()


def save_header(record: str | os.PathLike, text: str) -> None:
    atomic_write_text(header_path(record), text)


def _lines(header: str) -> list[str]:
    return [line.strip() for line in header.splitlines() if line.strip()]


def get_variable(header: str, key: str) -> str | None:
    """Value of the `# key:` comment line (the last one, as the Challenge reads it), or None."""
    prefix = key.strip().rstrip(":").strip()
    value = None
    for line in comment_lines(header):
        rest = line.lstrip("#").strip()
        if rest.startswith(prefix) and rest[len(prefix) :].lstrip().startswith(":"):
            value = rest[len(prefix) :].lstrip()[1:].strip()
    return value


def get_list(header: str, key: str) -> list[str]:
    """Comma-separated comment value as a list of non-empty stripped items."""
    value = get_variable(header, key)
    if value is None:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


def comment_lines(header: str) -> list[str]:
    return [line for line in _lines(header) if line.startswith("#")]


@dataclass
class SignalSpec:
    """One signal line of a header."""

    file_name: str
    fmt: str
    adc_gain: float  # digital units per physical unit
    baseline: int
    units: str
    name: str


@dataclass
class HeaderInfo:
    record_name: str
    num_signals: int
    fs_hz: float
    num_samples: int
    signals: list[SignalSpec] = field(default_factory=list)

    @property
    def signal_names(self) -> list[str]:
        return [s.name for s in self.signals]

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.fs_hz


def _parse_gain(token: str) -> tuple[float, int, str]:
    """`1000.0(0)/mV` -> (1000.0, 0, 'mV'); missing parts take WFDB defaults (200, adc zero, mV)."""
    units = "mV"
    if "/" in token:
        token, units = token.split("/", 1)
    baseline: int | None = None
    if "(" in token:
        token, rest = token.split("(", 1)
        baseline = int(float(rest.rstrip(")")))
    gain = float(token) if token else 200.0
    if gain == 0 or not math.isfinite(gain):
        gain = 200.0  # WFDB: a zero gain means "uncalibrated", read with the default
    return gain, (0 if baseline is None else baseline), units


def _parse_signal_line(line: str) -> SignalSpec:
    tokens = line.split()
    if len(tokens) < 2:
        raise ValueError(f"malformed signal line: {line!r}")
    fmt = tokens[1].split("x")[0].split(":")[0].split("+")[0]
    gain, baseline, units = _parse_gain(tokens[2]) if len(tokens) > 2 else (200.0, 0, "mV")
    # Training headers put the description 9th; hidden headers blank the 3 fields before it.
    if len(tokens) > 8:
        name = " ".join(tokens[8:])
    elif len(tokens) > 5:
        name = tokens[-1]
    else:
        name = ""
    return SignalSpec(tokens[0], fmt, gain, baseline, units, name)


def parse_header(header: str) -> HeaderInfo:
    """Parse the record line and signal lines; raise ValueError with the reason when malformed."""
    lines = [line for line in _lines(header) if not line.startswith("#")]
    if not lines:
        raise ValueError("header has no record line")
    record = lines[0].split()
    if len(record) < 4:
        raise ValueError(f"record line needs name, signals, fs and samples: {lines[0]!r}")
    name = record[0].split("/")[0]
    try:
        num_signals = int(record[1])
        fs = float(record[2].split("/")[0])
        num_samples = int(record[3])
    except ValueError as error:
        raise ValueError(f"record line has non-numeric fields: {lines[0]!r}") from error
    if num_signals < 0 or num_samples < 0 or not fs > 0 or not math.isfinite(fs):
        raise ValueError(f"record line has invalid values: {lines[0]!r}")
    signals = [_parse_signal_line(line) for line in lines[1 : 1 + num_signals]]
    if len(signals) != num_signals:
        raise ValueError(f"header declares {num_signals} signals but lists {len(signals)}")
    return HeaderInfo(name, num_signals, fs, num_samples, signals)


def reorder_to_header(names_from: list[str], names_to: list[str]) -> list[int | None]:
    """For each name in `names_to`, the index of the same lead in `names_from` (case-insensitive)."""
    lookup = {name.casefold(): i for i, name in reversed(list(enumerate(names_from)))}
    return [lookup.get(name.casefold()) for name in names_to]
