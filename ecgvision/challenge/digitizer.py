"""The record-level digitizer: every image of a record -> one (num_samples, num_leads) signal."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np

from ecgvision.digitize.pipeline import DigitizationResult, DigitizeConfig, digitize_image
from ecgvision.digitize.trace import TraceModel

log = logging.getLogger(__name__)


@dataclass
class RecordDigitizer:
    """Classical geometry + vectorization, optionally fed by a learned trace-probability model."""

    config: DigitizeConfig = field(default_factory=DigitizeConfig)
    trace_model: TraceModel | None = None

    @property
    def kind(self) -> str:
        return "classical" if self.trace_model is None else "learned-trace+classical"

    def digitize_all(
        self, images: list[np.ndarray], fs_hz: float, num_samples: int, lead_names: list[str]
    ) -> list[DigitizationResult]:
        return [
            digitize_image(image, fs_hz, num_samples, lead_names, self.config, self.trace_model)
            for image in images
        ]

    def digitize(
        self, images: list[np.ndarray], fs_hz: float, num_samples: int, lead_names: list[str]
    ) -> np.ndarray:
        """Per-sample mean over the images that read it; NaN where none did."""
        return combine_signals(
            [r.signal_mv for r in self.digitize_all(images, fs_hz, num_samples, lead_names)],
            num_samples,
            len(lead_names),
        )


def combine_signals(signals: list[np.ndarray], num_samples: int, num_leads: int) -> np.ndarray:
    if not signals:
        return np.full((num_samples, num_leads), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        return np.nanmean(np.stack(signals), axis=0)
