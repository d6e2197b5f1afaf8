"""CSV tables of an evaluation: per (record, lead) SNR, per-class F, per-variant SNR (atomic writes)."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, fields
from pathlib import Path

from ecgvision.evaluation.evaluate import EvaluationResult, LeadScore
from ecgvision.io.atomic import atomic_write_text

LEAD_TABLE = "per_record_lead_snr.csv"
CLASS_TABLE = "per_class_f.csv"
VARIANT_TABLE = "per_variant_snr.csv"


def format_csv(header: list[str], rows: list[list]) -> str:
    """CSV text; floats with 6 decimals, NaN written as `nan`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([f"{v:.6f}" if isinstance(v, float) else v for v in row])
    return buffer.getvalue()


def lead_table(result: EvaluationResult) -> str:
    """One row per (record, lead): names, variant, SNR (dB), coverage, shift and the extras."""
    columns = [f.name for f in fields(LeadScore)]
    rows = [[asdict(score)[name] for name in columns] for score in result.lead_scores]
    return format_csv(columns, rows)


def class_table(result: EvaluationResult) -> str:
    """One row per reference class: class, F."""
    return format_csv(["class", "f_measure"], [[name, f] for name, f in result.per_class_f.items()])


def variant_table(result: EvaluationResult) -> str:
    """One row per image variant: variant, nanmean SNR (dB), number of records and leads."""
    rows = []
    for variant, snr_db in result.variant_snr_db.items():
        scores = [s for s in result.lead_scores if s.variant == variant]
        rows.append([variant, snr_db, len({s.record for s in scores}), len(scores)])
    return format_csv(["variant", "snr_db", "num_records", "num_leads"], rows)


def write_tables(result: EvaluationResult, folder: str | os.PathLike) -> list[Path]:
    """Write the three CSV tables into `folder` (created if needed); returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        (LEAD_TABLE, lead_table(result)),
        (CLASS_TABLE, class_table(result)),
        (VARIANT_TABLE, variant_table(result)),
    ):
        atomic_write_text(folder / name, text)
        written.append(folder / name)
    return written
