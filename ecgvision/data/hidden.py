"""Hidden (test) copies of training records, as the Challenge hands them to run_model.py.

The record line keeps name, signals, fs and samples; signal lines keep file, format, gain/units,
ADC resolution and zero, three blank fields and the name; only `# Image:` survives (and `# Labels:`
when labels are not hidden). Images are copied; the signal file is not.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ecgvision.io.atomic import atomic_write_text
from ecgvision.io.headers import load_header
from ecgvision.io.records import find_records, get_image_files


def hidden_header(header: str, keep_labels: bool = False) -> str:
    lines = [line.strip() for line in header.splitlines() if line.strip()]
    record = lines[0].split()
    num_signals = int(record[1])
    out = [" ".join(record[:4])]
    for line in lines[1 : 1 + num_signals]:
        tokens = line.split()
        name = " ".join(tokens[8:]) if len(tokens) > 8 else tokens[-1]
        out.append(" ".join(tokens[:5]) + "    " + name)
    keep = ("# Image", "# Labels") if keep_labels else ("# Image",)
    out += [line for line in lines if line.startswith(keep)]
    return "\n".join(out) + "\n"


def hide_folder(
    source: str | os.PathLike, destination: str | os.PathLike, keep_labels: bool = False
) -> list[str]:
    """Write hidden copies of every record under `source` into `destination`; returns the records."""
    records = find_records(source)
    for record in records:
        src, dst = Path(source) / record, Path(destination) / record
        header = load_header(src)
        atomic_write_text(f"{dst}.hea", hidden_header(header, keep_labels))
        for image in get_image_files(header):
            shutil.copy2(src.parent / image, dst.parent / image)
    return records
