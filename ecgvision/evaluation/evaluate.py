"""Folder-level Challenge 2024 evaluation: reference records vs a model's output folder.

`evaluate_folders` scores every record of the reference folder (section 4 of
docs/challenge-2024.md) and keeps the per-record x lead detail that the official script throws
away: per-lead SNR and coverage, per-class F, and SNR per image variant (`# Variant:` header line).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ecgvision.evaluation.metrics import (
    align_signals,
    asci_metric,
    compute_coverage,
    compute_f_measure,
    compute_snr,
    ks_metric,
    weighted_absolute_difference,
)
from ecgvision.io.atomic import atomic_write_text
from ecgvision.io.headers import get_variable, load_header, parse_header
from ecgvision.io.records import find_records, has_signal_file, load_labels, load_signals

log = logging.getLogger(__name__)

PROGRESS_MIN_RECORDS = 20  # show a progress bar only when a folder is big enough to wait for
VARIANT_KEY = "Variant"  # optional reference header line written by our renderer: `# Variant: clean`
REFERENCE_UNITS = "mv"  # the contract scores millivolts (compared case-insensitively)


@dataclass
class LeadScore:
    """One (record, lead) pair of the digitization score.

    snr_db: coverage-weighted SNR (NaN for a perfect match or a lead with nothing to score).
    coverage: |S| / |R| after alignment (fraction of scored reference samples the estimate covers).
    shift_samples / shift_mv: the alignment shift found (dh, dv); `aligned` says if it was applied.
    """

    record: str
    lead: str
    snr_db: float
    coverage: float
    variant: str = ""
    shift_samples: int = 0
    shift_mv: float = 0.0
    aligned: bool = False
    snr_median_db: float = math.nan
    ks: float = math.nan
    asci: float = math.nan
    wad_mv: float = math.nan


@dataclass
class ExtraScores:
    """Unranked extras (nanmean over record x lead); NaN when not requested."""

    snr_median_db: float = math.nan
    ks: float = math.nan
    asci: float = math.nan
    wad_mv: float = math.nan


@dataclass
class EvaluationResult:
    """Scores of an output folder against a reference folder.

    snr_db: nanmean of the SNR over every (record, lead) pair (NaN when no record has a signal).
    f_measure: macro F over the reference classes (NaN when no record has a predicted label).
    per_class_f: class -> F (NaN for a class with 2TP + FP + FN == 0).
    lead_scores: one row per (record, lead), records in sorted order, leads in reference order.
    variant_snr_db: variant -> nanmean SNR of its leads ("" for records without `# Variant:`).
    """

    snr_db: float = math.nan
    f_measure: float = math.nan
    extras: ExtraScores = field(default_factory=ExtraScores)
    per_class_f: dict[str, float] = field(default_factory=dict)
    lead_scores: list[LeadScore] = field(default_factory=list)
    variant_snr_db: dict[str, float] = field(default_factory=dict)
    num_records: int = 0
    num_digitization_records: int = 0
    num_classification_records: int = 0


def nanmean_or_nan(values: Iterable[float]) -> float:
    """Mean of the non-NaN values; NaN (and no warning) when there are none."""
    array = np.asarray(list(values), dtype=np.float64)
    array = array[~np.isnan(array)]
    return float(array.mean()) if array.size else math.nan


# --- reading one record ---------------------------------------------------------------------------


def read_variant(reference_header: str) -> str:
    """The reference's image variant from its `# Variant:` line, "" when absent."""
    return get_variable(reference_header, VARIANT_KEY) or ""


@dataclass
class ReferenceRecord:
    """A reference record's signal (num_samples, num_leads) in mV (inf turned into NaN) and metadata."""

    signal_mv: np.ndarray
    fs_hz: float
    lead_names: list[str]
    units: list[str]
    variant: str


def load_reference(record: Path) -> ReferenceRecord:
    """Read a reference record; infinite samples become NaN (not scored), with a warning.

    A reference not in mV is an error in the reference data (the official scorer asserts it too).
    """
    header = load_header(record)
    info = parse_header(header)
    signal, fs_hz = load_signals(record)
    infinite = np.isinf(signal)
    if infinite.any():
        log.warning("%s: %d infinite reference samples treated as NaN (not scored)", record, infinite.sum())
        signal = np.where(infinite, np.nan, signal)
    units = [spec.units for spec in info.signals]
    if any(unit.casefold() != REFERENCE_UNITS for unit in units):
        raise ValueError(f"{record}: reference units {sorted(set(units))} are not mV (the scored unit)")
    return ReferenceRecord(signal, fs_hz, info.signal_names, units, read_variant(header))


def load_estimate(record: Path, lead_names: list[str], fs_hz: float, units: list[str]) -> np.ndarray | None:
    """The output signal, columns picked by case-insensitive lead name in reference order.

    None (scored as all-NaN) when the output header or signal file is missing or unreadable, or
    when its fs or units disagree with the reference (logged as an error: that is a model bug).
    """
    if not has_signal_file(record):
        log.info("%s: no output signal, scored as all-NaN", record)
        return None
    try:
        info = parse_header(load_header(record))
        estimate, estimate_fs = load_signals(record, lead_names)
    except Exception as error:  # a corrupt output is the model's failure, scored as missing
        log.error(
            "%s: unreadable output signal (%s: %s), scored as all-NaN", record, type(error).__name__, error
        )
        return None
    if estimate_fs != fs_hz:
        log.error("%s: output fs %g Hz != reference fs %g Hz, scored as all-NaN", record, estimate_fs, fs_hz)
        return None
    bad_units = _mismatched_units(info.signal_names, [s.units for s in info.signals], lead_names, units)
    if bad_units:
        log.error("%s: output units differ from the reference's for %s, scored as all-NaN", record, bad_units)
        return None
    return estimate


def _mismatched_units(
    names: list[str], units: list[str], ref_names: list[str], ref_units: list[str]
) -> list[str]:
    """Reference leads whose output units (matched by name, case-insensitively) differ from the reference's."""
    lookup = {name.casefold(): unit for name, unit in zip(names, units, strict=True)}
    return [
        name
        for name, ref_unit in zip(ref_names, ref_units, strict=True)
        if lookup.get(name.casefold(), ref_unit).casefold() != ref_unit.casefold()
    ]


# --- scoring --------------------------------------------------------------------------------------


def score_lead(
    reference: np.ndarray, estimate: np.ndarray, fs_hz: float, align: bool, extra: bool
) -> dict[str, float | int | bool]:
    """Align (optionally) then score one lead; returns the LeadScore fields other than names."""
    alignment = align_signals(reference, estimate, fs_hz) if align else None
    scored = alignment.signal_mv if alignment and alignment.applied else estimate
    fields: dict[str, float | int | bool] = {
        "snr_db": compute_snr(reference, scored),
        "coverage": compute_coverage(reference, scored),
        "shift_samples": alignment.shift_samples if alignment else 0,
        "shift_mv": alignment.shift_mv if alignment else 0.0,
        "aligned": bool(alignment and alignment.applied),
    }
    if extra:
        fields["snr_median_db"] = compute_snr(reference, scored, noise_median=True)
        fields["ks"] = ks_metric(reference, scored)
        fields["asci"] = asci_metric(reference, scored)
        fields["wad_mv"] = weighted_absolute_difference(reference, scored, fs_hz)
    return fields


def score_record(
    reference_record: Path, output_record: Path, name: str, align: bool, extra: bool
) -> list[LeadScore]:
    """Per-lead scores of one record whose reference signal file exists."""
    ref = load_reference(reference_record)
    estimate = load_estimate(output_record, ref.lead_names, ref.fs_hz, ref.units)
    if estimate is None:
        estimate = np.full_like(ref.signal_mv, np.nan)
    return [
        LeadScore(
            name,
            lead,
            variant=ref.variant,
            **score_lead(ref.signal_mv[:, j], estimate[:, j], ref.fs_hz, align, extra),
        )
        for j, lead in enumerate(ref.lead_names)
    ]


def read_predicted_labels(output_record: Path) -> list[str]:
    """The output's `# Labels:` classes (last such line); empty when the header or line is missing."""
    try:
        return load_labels(output_record)
    except FileNotFoundError:
        return []


def collect_labels(reference_folder: Path, output_folder: Path, records: list[str]) -> tuple[list, list]:
    """(reference label lists, predicted label lists) for the records with >= 1 reference label."""
    references, predictions = [], []
    for record in records:
        labels = load_labels(reference_folder / record)
        if labels:
            references.append(labels)
            predictions.append(read_predicted_labels(output_folder / record))
    return references, predictions


def summarize_extras(scores: list[LeadScore]) -> ExtraScores:
    return ExtraScores(
        snr_median_db=nanmean_or_nan(s.snr_median_db for s in scores),
        ks=nanmean_or_nan(s.ks for s in scores),
        asci=nanmean_or_nan(s.asci for s in scores),
        wad_mv=nanmean_or_nan(s.wad_mv for s in scores),
    )


def group_by_variant(scores: list[LeadScore]) -> dict[str, float]:
    """variant -> nanmean SNR over its (record, lead) pairs, variants sorted."""
    variants = sorted({s.variant for s in scores})
    return {v: nanmean_or_nan(s.snr_db for s in scores if s.variant == v) for v in variants}


def score_records(
    jobs: list[tuple[Path, Path, str]], align: bool, extra: bool, workers: int
) -> list[LeadScore]:
    """Lead scores of (reference record, output record, name) jobs, in job order.

    The alignment's image correlations cost about 0.2-0.4 s per 500 Hz lead on one core, so
    large folders can be spread over processes.
    """
    score = partial(score_record, align=align, extra=extra)
    show = {"desc": "scoring signals", "total": len(jobs), "leave": False}
    show["disable"] = len(jobs) < PROGRESS_MIN_RECORDS
    if workers <= 1 or len(jobs) < 2:
        per_record = [score(*job) for job in tqdm(jobs, **show)]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            per_record = list(tqdm(pool.map(score, *zip(*jobs, strict=True), chunksize=4), **show))
    return [lead for record in per_record for lead in record]


def check_folders(reference_folder: Path, output_folder: Path) -> list[str]:
    """The reference records; a clear error for a missing folder or an empty reference folder."""
    for label, folder in (("reference", reference_folder), ("output", output_folder)):
        if not folder.is_dir():
            raise FileNotFoundError(f"{label} folder not found: {folder}")
    records = find_records(reference_folder)
    if not records:
        raise FileNotFoundError(f"no records (.hea files) in the reference folder {reference_folder}")
    return records


def evaluate_folders(
    reference_folder: str | os.PathLike,
    output_folder: str | os.PathLike,
    align: bool = True,
    extra: bool = False,
    workers: int = 1,
) -> EvaluationResult:
    """Score `output_folder` against `reference_folder` as the Challenge 2024 scorer does.

    Digitization: every record whose reference signal file exists, each lead aligned (unless
    `align` is False) and scored by coverage-weighted SNR; the score is the nanmean over all
    (record, lead) pairs. Classification: macro F over the records with reference labels.
    `extra` adds the unranked SNR median, KS, ASCI and weighted absolute difference.
    `workers` > 1 scores records in that many processes (same results, in the same order).
    """
    reference_folder, output_folder = Path(reference_folder), Path(output_folder)
    records = check_folders(reference_folder, output_folder)
    digitized = [r for r in records if has_signal_file(reference_folder / r)]
    jobs = [(reference_folder / r, output_folder / r, r) for r in digitized]
    scores = score_records(jobs, align, extra, workers)
    references, predictions = collect_labels(reference_folder, output_folder, records)
    f_measure, classes, per_class = compute_f_measure(references, predictions)
    return EvaluationResult(
        snr_db=nanmean_or_nan(s.snr_db for s in scores),
        f_measure=f_measure,
        extras=summarize_extras(scores) if extra else ExtraScores(),
        per_class_f=dict(zip(classes, per_class, strict=True)),
        lead_scores=scores,
        variant_snr_db=group_by_variant(scores),
        num_records=len(records),
        num_digitization_records=len(digitized),
        num_classification_records=len(references),
    )


def format_scores(result: EvaluationResult, extra: bool = False) -> str:
    """The official score text: `SNR: %.3f`, [the four extras,] `F-measure: %.3f`, one per line."""
    lines = [f"SNR: {result.snr_db:.3f}"]
    if extra:
        lines += [
            f"SNR median: {result.extras.snr_median_db:.3f}",
            f"KS metric: {result.extras.ks:.3f}",
            f"ASCI metric: {result.extras.asci:.3f}",
            f"Weighted absolute difference metric: {result.extras.wad_mv:.3f}",
        ]
    lines.append(f"F-measure: {result.f_measure:.3f}")
    return "\n".join(lines) + "\n"


def run_evaluation(
    reference_folder: str | os.PathLike,
    output_folder: str | os.PathLike,
    score_file: str | os.PathLike | None = None,
    align: bool = True,
    extra: bool = False,
    workers: int = 1,
) -> tuple[EvaluationResult, str]:
    """Evaluate, then write the score text to `score_file` (atomically) when given.

    Returns the result and the score text (the lines `evaluate_model.py` prints).
    """
    result = evaluate_folders(reference_folder, output_folder, align=align, extra=extra, workers=workers)
    text = format_scores(result, extra)
    if score_file:
        atomic_write_text(score_file, text)
    return result, text
