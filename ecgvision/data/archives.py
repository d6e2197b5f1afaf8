"""Extracting shared PTB-XL fold archives into a writable cache (the shared folder is read-only)."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

SHARED_DATA_ENV = "ECGVISION_SHARED_DATA"
CACHE_ENV = "ECGVISION_CACHE"


def shared_data_dir() -> Path:
    """`$ECGVISION_SHARED_DATA`, else `../shared/data` beside the repository root."""
    if os.environ.get(SHARED_DATA_ENV):
        return Path(os.environ[SHARED_DATA_ENV])
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def cache_dir() -> Path:
    """`$ECGVISION_CACHE`, else ~/.cache/ecgvision."""
    path = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ecgvision")
    path.mkdir(parents=True, exist_ok=True)
    return path


def fold_archive(fold: int, data_dir: str | os.PathLike | None = None) -> Path:
    path = Path(data_dir or shared_data_dir()) / "ptbxl" / f"records100-fold{fold}.tar.xz"
    if not path.is_file():
        raise FileNotFoundError(f"no PTB-XL archive for fold {fold}: {path}")
    return path


def ecg_id_of(member_name: str) -> int | None:
    """`records100/00000/00001_lr.hea` -> 1; None for anything else."""
    stem = Path(member_name).name.split("_")[0]
    return int(stem) if stem.isdigit() else None


def extract_fold(
    fold: int,
    dest: str | os.PathLike,
    ecg_ids: set[int] | None = None,
    limit: int | None = None,
    data_dir: str | os.PathLike | None = None,
) -> list[Path]:
    """Extract a fold's records (all, the given ecg_ids, or the first `limit`) into `dest`.

    Returns the record paths (no extension) in the PTB-XL layout `dest/records100/NNNNN/ID_lr`.
    Already-extracted files are kept, so repeated calls are cheap.
    """
    dest = Path(dest)
    records: dict[int, Path] = {}
    with tarfile.open(fold_archive(fold, data_dir), "r:xz") as archive:
        for member in archive:
            ecg_id = ecg_id_of(member.name)
            if not member.isfile() or ecg_id is None:
                continue
            if ecg_ids is not None and ecg_id not in ecg_ids:
                continue
            if limit is not None and ecg_id not in records and len(records) >= limit:
                break
            target = dest / member.name
            if not target.is_file():
                archive.extract(member, dest, filter="data")
            records[ecg_id] = (dest / member.name).with_suffix("")
    return [records[k] for k in sorted(records)]
