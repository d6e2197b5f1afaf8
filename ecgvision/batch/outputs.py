"""Writing one record's outputs exactly as the Challenge's run_model.py does.

Copy the input header to `<output_record>.hea`; if signals are given, write them with the input
header's format, gain, baseline, units, names and fs (this rewrites the header, re-emitting its
`#` comment lines, and writes the `.dat`); if labels are given, append `# Labels: A, B`.
"""

from __future__ import annotations

import os

import numpy as np

from ecgvision.io.headers import load_header, save_header
from ecgvision.io.records import save_labels, save_signals


def save_outputs(
    data_record: str | os.PathLike,
    output_record: str | os.PathLike,
    signals: np.ndarray | None,
    labels: list[str] | None,
) -> None:
    """Write `output_record`.hea (and .dat) from `data_record`'s header, `signals` (N, C) mV and `labels`.

    `None` for signals or labels means "not produced": only the header copy is written for it.
    Every file is written atomically, so an interrupted call leaves no half-written file.
    """
    data_header = load_header(data_record)
    save_header(output_record, data_header)
    if signals is not None:
        save_signals(output_record, signals, data_header)
    if labels is not None:
        save_labels(output_record, labels)
