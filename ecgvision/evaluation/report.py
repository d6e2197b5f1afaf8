"""PNG plots and an index.html for an evaluation (matplotlib Agg, no display, atomic writes).

Plots: per-lead SNR box plot, per-variant SNR bar chart, per-class F bar chart, and for the
`num_worst` records with the lowest mean SNR an overlay of reference and digitized signal for their
worst leads (the estimate shifted as the scorer aligned it).
"""

from __future__ import annotations

import html
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ecgvision.evaluation.evaluate import (
    EvaluationResult,
    LeadScore,
    format_scores,
    load_estimate,
    load_reference,
    nanmean_or_nan,
)
from ecgvision.evaluation.metrics import shift_signal
from ecgvision.io.atomic import atomic_write_bytes, atomic_write_text

LEAD_PLOT = "lead_snr.png"
VARIANT_PLOT = "variant_snr.png"
CLASS_PLOT = "class_f.png"
INDEX = "index.html"
NUM_WORST_RECORDS = 5
LEADS_PER_WORST_RECORD = 3
FIGURE_DPI = 100


@dataclass
class ReportEntry:
    """One plot of the report: its file name (inside the report folder) and caption."""

    file_name: str
    caption: str


def save_figure(figure: Figure, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())


def no_data(axes, what: str) -> None:
    axes.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=axes.transAxes)


def plot_lead_snr(scores: list[LeadScore]) -> Figure:
    """Box plot of the finite per-record SNR (dB) of each lead, leads in reference order."""
    figure = Figure(figsize=(10, 4))
    axes = figure.subplots()
    leads = list(dict.fromkeys(s.lead for s in scores))
    values = [[s.snr_db for s in scores if s.lead == lead and math.isfinite(s.snr_db)] for lead in leads]
    if any(values):
        axes.boxplot([v if v else [math.nan] for v in values], tick_labels=leads)
    else:
        no_data(axes, "finite SNR")
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.set(title="SNR per lead (dB, one point per record)", xlabel="lead", ylabel="SNR (dB)")
    return figure


def plot_bars(values: dict[str, float], title: str, ylabel: str, empty: str) -> Figure:
    """Bar chart of name -> value (NaN bars drawn empty and labelled 'nan')."""
    figure = Figure(figsize=(max(4.0, 0.8 * len(values) + 2), 4))
    axes = figure.subplots()
    if values:
        names = [name or "(none)" for name in values]
        heights = [0.0 if math.isnan(v) else v for v in values.values()]
        bars = axes.bar(names, heights)
        axes.bar_label(bars, labels=[f"{v:.3f}" for v in values.values()])
        axes.tick_params(axis="x", labelrotation=30)
    else:
        no_data(axes, empty)
    axes.set(title=title, ylabel=ylabel)
    return figure


def worst_records(scores: list[LeadScore], count: int) -> list[tuple[str, float]]:
    """The `count` records with the lowest mean lead SNR (dB), worst first; records with no finite SNR skipped."""
    records = list(dict.fromkeys(s.record for s in scores))
    means = [(r, nanmean_or_nan(s.snr_db for s in scores if s.record == r)) for r in records]
    return sorted([m for m in means if math.isfinite(m[1])], key=lambda m: m[1])[:count]


def worst_leads(scores: list[LeadScore], record: str, count: int) -> list[LeadScore]:
    leads = [s for s in scores if s.record == record and math.isfinite(s.snr_db)]
    return sorted(leads, key=lambda s: s.snr_db)[:count]


def plot_overlay(reference_folder: Path, output_folder: Path, record: str, leads: list[LeadScore]) -> Figure:
    """Reference vs digitized signal (mV over s) of `leads` of one record, one row per lead."""
    reference = load_reference(reference_folder / record)
    estimate = load_estimate(output_folder / record, reference.lead_names, reference.fs_hz, reference.units)
    if estimate is None:
        estimate = np.full_like(reference.signal_mv, np.nan)
    figure = Figure(figsize=(12, 2.2 * len(leads)))
    axes_rows = np.atleast_1d(figure.subplots(len(leads), 1, sharex=True, squeeze=False)[:, 0])
    time_s = np.arange(reference.signal_mv.shape[0]) / reference.fs_hz
    for axes, score in zip(axes_rows, leads, strict=True):
        j = reference.lead_names.index(score.lead)
        y = estimate[:, j]
        if score.aligned:
            y = shift_signal(y, score.shift_samples, score.shift_mv)
        # Reference drawn on top of the estimate so that a noisy estimate cannot hide it.
        axes.plot(
            time_s[: len(y)], y[: len(time_s)], color="tab:red", linewidth=0.8, alpha=0.7, label="digitized"
        )
        axes.plot(
            time_s, reference.signal_mv[:, j], color="black", linewidth=0.8, label="reference", zorder=3
        )
        axes.set_ylabel(f"{score.lead} (mV)")
        axes.set_title(f"{score.lead}: SNR {score.snr_db:.2f} dB, coverage {score.coverage:.2f}", fontsize=9)
    axes_rows[0].legend(loc="upper right", fontsize=8)
    axes_rows[-1].set_xlabel("time (s)")
    figure.suptitle(record)
    return figure


def overlay_file_name(rank: int, record: str) -> str:
    return f"worst_{rank}_{record.replace('/', '_')}.png"


def write_plots(
    result: EvaluationResult,
    reference_folder: Path,
    output_folder: Path,
    folder: Path,
    num_worst: int,
) -> list[ReportEntry]:
    entries = [
        (LEAD_PLOT, "SNR per lead", plot_lead_snr(result.lead_scores)),
        (
            VARIANT_PLOT,
            "SNR per image variant",
            plot_bars(result.variant_snr_db, "SNR per variant", "SNR (dB)", "variant"),
        ),
        (
            CLASS_PLOT,
            "F-measure per class",
            plot_bars(result.per_class_f, "F per class", "F", "labelled record"),
        ),
    ]
    for rank, (record, mean_db) in enumerate(worst_records(result.lead_scores, num_worst), start=1):
        leads = worst_leads(result.lead_scores, record, LEADS_PER_WORST_RECORD)
        figure = plot_overlay(reference_folder, output_folder, record, leads)
        caption = f"worst record {rank}: {record} (mean SNR {mean_db:.2f} dB)"
        entries.append((overlay_file_name(rank, record), caption, figure))
    for file_name, _, figure in entries:
        save_figure(figure, folder / file_name)
    return [ReportEntry(file_name, caption) for file_name, caption, _ in entries]


def index_html(result: EvaluationResult, entries: list[ReportEntry]) -> str:
    """A self-contained page: the score lines, record counts, then each plot with its caption."""
    scores = html.escape(format_scores(result, extra=not math.isnan(result.extras.ks)))
    counts = (
        f"{result.num_records} records, {result.num_digitization_records} with a reference signal, "
        f"{result.num_classification_records} with reference labels"
    )
    figures = "\n".join(
        f'<figure><a href="{html.escape(e.file_name)}"><img src="{html.escape(e.file_name)}" '
        f'alt="{html.escape(e.caption)}" style="max-width:100%"></a>'
        f"<figcaption>{html.escape(e.caption)}</figcaption></figure>"
        for e in entries
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>ecgvision evaluation</title></head>\n"
        f"<body><h1>ecgvision evaluation</h1><pre>{scores}</pre><p>{counts}</p>\n{figures}\n</body></html>\n"
    )


def write_report(
    result: EvaluationResult,
    reference_folder: str | os.PathLike,
    output_folder: str | os.PathLike,
    folder: str | os.PathLike,
    num_worst: int = NUM_WORST_RECORDS,
) -> list[Path]:
    """Write the plots and index.html into `folder` (created); returns their paths, index.html last."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = write_plots(result, Path(reference_folder), Path(output_folder), folder, num_worst)
    atomic_write_text(folder / INDEX, index_html(result, entries))
    return [folder / e.file_name for e in entries] + [folder / INDEX]
