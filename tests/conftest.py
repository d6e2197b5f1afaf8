"""Shared fixtures: paths to the real shared data and small extracted PTB-XL slices."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecgvision.data.archives import extract_fold, shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.fail(f"shared data not found at {path} (set ECGVISION_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def challenge_examples(shared_data: Path) -> Path:
    return shared_data / "challenge2024-examples"


@pytest.fixture(scope="session")
def ptbxl_fold9_slice(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The first 12 PTB-XL fold-9 records (100 Hz, upstream layout), extracted once per session."""
    dest = tmp_path_factory.mktemp("ptbxl")
    return extract_fold(9, dest, limit=12)
