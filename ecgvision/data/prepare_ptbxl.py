"""PTB-XL fold archives -> Challenge-format training records (WFDB signals + labelled header).

Layout and names (chosen to match the Challenge's own PTB-XL records):

- `OUT/NNNNN/EEEEE_lr` for the native 100 Hz signals, `OUT/NNNNN/EEEEE_hr` when resampled (250 or
  500 Hz), where EEEEE is the zero-padded ecg_id and NNNNN the ecg_id rounded down to the
  thousand (PTB-XL's own sub-folders, e.g. `OUT/10000/10005_hr`).
- Header: record line `name 12 fs num_samples`, one signal line per lead (format 16, gain 1000
  per mV, baseline 0, units mV, lead names as PTB-XL writes them: I II III AVR AVL AVF V1..V6),
  then `# Age:`, `# Sex:`, `# Height:`, `# Weight:`, `# Labels:`. No `# Image:` line: images are
  added later by the renderer.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import wfdb
from scipy.signal import resample_poly
from tqdm import tqdm

from ecgvision.constants import CLASSES
from ecgvision.data.archives import cache_dir, ecg_id_of, extract_fold, shared_data_dir
from ecgvision.data.ptbxl import PtbxlLabeler
from ecgvision.io.records import format_labels_line, save_signals

log = logging.getLogger(__name__)

TRAINING_FOLDS: tuple[int, ...] = (1, 2, 3, 4, 5)
SOURCE_FS_HZ = 100  # the shared archives hold PTB-XL's records100
SUPPORTED_FS_HZ: tuple[int, ...] = (100, 250, 500)
RECORDS_PER_SUBFOLDER = 1000
ECG_ID_DIGITS = 5
# Signal-line fields we write: format 16, 1 uV per unit (gain 1000 per mV), baseline 0, mV.
SIGNAL_FORMAT = "16"
ADC_GAIN_PER_MV = 1000.0
UNITS = "mV"


@dataclass
class PrepareSummary:
    """What `prepare_ptbxl` wrote: record counts and the number of records carrying each class."""

    output_folder: Path
    fs_hz: int
    num_written: int = 0
    num_skipped: int = 0
    num_unlabelled: int = 0
    label_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))

    def add(self, labels: list[str]) -> None:
        self.num_written += 1
        self.num_unlabelled += not labels
        for label in labels:
            self.label_counts[label] += 1

    def format(self) -> str:
        """Human-readable table: one line per class with its count and prevalence."""
        lines = [
            f"{self.num_written} records at {self.fs_hz} Hz in {self.output_folder}"
            f" ({self.num_skipped} skipped, {self.num_unlabelled} with no label)"
        ]
        total = max(self.num_written, 1)
        for label, count in self.label_counts.items():
            lines.append(f"  {label:<9} {count:>6}  {100.0 * count / total:5.1f}%")
        return "\n".join(lines)


def record_name(ecg_id: int, fs_hz: int) -> str:
    """`00001_lr` at the native 100 Hz, `00001_hr` when resampled to a higher rate."""
    suffix = "lr" if fs_hz == SOURCE_FS_HZ else "hr"
    return f"{ecg_id:0{ECG_ID_DIGITS}d}_{suffix}"


def record_relpath(ecg_id: int, fs_hz: int) -> str:
    """`NNNNN/name`, NNNNN = ecg_id rounded down to the thousand (PTB-XL's sub-folders)."""
    subfolder = (ecg_id // RECORDS_PER_SUBFOLDER) * RECORDS_PER_SUBFOLDER
    return f"{subfolder:0{ECG_ID_DIGITS}d}/{record_name(ecg_id, fs_hz)}"


def check_fs(fs_hz: int | None) -> int:
    """The output rate in Hz (None -> the native 100 Hz); ValueError for unsupported rates."""
    fs = SOURCE_FS_HZ if fs_hz is None else int(fs_hz)
    if fs not in SUPPORTED_FS_HZ:
        raise ValueError(f"unsupported output rate {fs_hz} Hz; choose one of {SUPPORTED_FS_HZ}")
    return fs


def resample_signal(signal: np.ndarray, fs_from_hz: float, fs_to_hz: float) -> np.ndarray:
    """Polyphase resampling of (num_samples, num_leads) along time; keeps the duration.

    Output length is round(num_samples * fs_to / fs_from) (1000 at 100 Hz -> 5000 at 500 Hz).
    The edges are padded linearly rather than with zeros so the first and last samples do not
    droop towards 0 mV.
    """
    ratio = Fraction(fs_to_hz).limit_denominator() / Fraction(fs_from_hz).limit_denominator()
    if ratio == 1:
        return np.asarray(signal, dtype=np.float64)
    resampled = resample_poly(signal, ratio.numerator, ratio.denominator, axis=0, padtype="line")
    num_samples = round(signal.shape[0] * fs_to_hz / fs_from_hz)
    return resampled[:num_samples]


def build_header(
    name: str, fs_hz: float, num_samples: int, lead_names: list[str], comments: list[str]
) -> str:
    """Template header for `save_signals`: record line, one signal line per lead, `#` comments."""
    lines = [f"{name} {len(lead_names)} {fs_hz:g} {num_samples}"]
    lines += [
        f"{name}.dat {SIGNAL_FORMAT} {ADC_GAIN_PER_MV}(0)/{UNITS} 16 0 0 0 0 {lead}" for lead in lead_names
    ]
    lines += [f"# {comment}" if not comment.startswith("#") else comment for comment in comments]
    return "\n".join(lines) + "\n"


def check_outside_shared(path: Path, what: str) -> None:
    """The shared data folder is read-only for everybody: refuse to write into it."""
    shared = shared_data_dir().resolve()
    if path.resolve() == shared or shared in path.resolve().parents:
        raise ValueError(f"{what} {path} is inside the shared data folder {shared}; choose another folder")


def extract_sources(
    folds: Iterable[int], cache: Path, limit: int | None, data_dir: str | os.PathLike | None
) -> list[Path]:
    """Extract the folds' 100 Hz records into `cache`; at most `limit` records in total."""
    records: list[Path] = []
    for fold in folds:
        remaining = None if limit is None else limit - len(records)
        if remaining is not None and remaining <= 0:
            break
        records += extract_fold(fold, cache, limit=remaining, data_dir=data_dir)
    return records


def prepare_record(
    source: Path, ecg_id: int, output_folder: Path, labeler: PtbxlLabeler, fs_hz: int
) -> list[str]:
    """Write one Challenge training record from a PTB-XL source record; returns its labels."""
    rec = wfdb.rdrecord(os.fspath(source))
    signal = resample_signal(np.asarray(rec.p_signal, dtype=np.float64), rec.fs, fs_hz)
    labels = labeler.labels(ecg_id)
    comments = labeler.demographics(ecg_id).comment_lines() + [format_labels_line(labels)]
    name = record_name(ecg_id, fs_hz)
    header = build_header(name, fs_hz, signal.shape[0], list(rec.sig_name), comments)
    save_signals(output_folder / record_relpath(ecg_id, fs_hz), signal, header)
    return labels


def prepare_ptbxl(
    output_folder: str | os.PathLike,
    folds: Iterable[int] = TRAINING_FOLDS,
    fs_hz: int | None = None,
    limit: int | None = None,
    data_dir: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
) -> PrepareSummary:
    """Convert PTB-XL folds into Challenge-format training records under `output_folder`.

    `fs_hz`: None or 100 keeps the native 100 Hz (`_lr` records); 250 or 500 resamples (`_hr`).
    `limit`: at most this many records in total (the first ones of the folds, in fold order).
    `cache`: where the archives are extracted (default `$ECGVISION_CACHE/ptbxl`); never the
    shared folder. Existing output records are overwritten. Returns the label counts.
    """
    fs = check_fs(fs_hz)
    output = Path(output_folder)
    cache_path = Path(cache) if cache is not None else cache_dir() / "ptbxl"
    check_outside_shared(output, "output folder")
    check_outside_shared(cache_path, "cache folder")
    labeler = PtbxlLabeler(data_dir)
    sources = extract_sources(folds, cache_path, limit, data_dir)
    summary = PrepareSummary(output, fs)
    for source in tqdm(sources, desc=f"prepare PTB-XL ({fs} Hz)", unit="record"):
        ecg_id = ecg_id_of(source.name)
        if ecg_id is None or ecg_id not in labeler:
            log.warning("skipping %s: ecg_id not in the PTB-XL table", source)
            summary.num_skipped += 1
            continue
        summary.add(prepare_record(source, ecg_id, output, labeler, fs))
    log.info("%s", summary.format())
    return summary
