"""Signals for the render tests: real PTB-XL 100 Hz records and the 500 Hz Challenge example."""

from __future__ import annotations

import numpy as np
import pytest

from ecgvision.constants import LEADS
from ecgvision.io.records import load_signals


@pytest.fixture(scope="session")
def challenge_signal(challenge_examples) -> tuple[np.ndarray, float]:
    """(5000, 12) mV in LEADS order at 500 Hz: record 00005_hr."""
    return load_signals(challenge_examples / "00005_hr", LEADS)


@pytest.fixture(scope="session")
def ptbxl_signals(ptbxl_fold9_slice) -> list[tuple[np.ndarray, float]]:
    """Three PTB-XL fold-9 records, (1000, 12) mV at 100 Hz."""
    return [load_signals(record, LEADS) for record in ptbxl_fold9_slice[:3]]
