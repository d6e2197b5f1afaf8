"""Diagnoses from a digitized signal: SignalNet probabilities -> labels with per-class thresholds."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ecgvision.classify.signal_input import to_classifier_input
from ecgvision.classify.thresholds import decide, stored_thresholds
from ecgvision.constants import CLASSES
from ecgvision.models.weights import from_pretrained


@dataclass
class SignalClassifier:
    model: nn.Module
    thresholds: np.ndarray  # (num_classes,) probability cut per class, tuned on validation

    @classmethod
    def load(cls, folder: str | os.PathLike, device: str | torch.device | None = None) -> SignalClassifier:
        thresholds, _ = stored_thresholds(folder)
        return cls(from_pretrained(folder, device).eval(), thresholds)

    def probabilities(self, signal_mv: np.ndarray, fs_hz: float, lead_names: list[str]) -> np.ndarray:
        """(num_samples, num_leads) mV with NaN -> (num_classes,) probabilities; NaN if nothing was read."""
        if not np.isfinite(signal_mv).any():
            return np.full(len(CLASSES), np.nan)
        x = torch.from_numpy(to_classifier_input(signal_mv, fs_hz, lead_names))[None]
        device = next(self.model.parameters()).device
        with torch.inference_mode():
            return torch.sigmoid(self.model(x.to(device))["dx"])[0].float().cpu().numpy().astype(np.float64)

    def labels(self, probabilities: np.ndarray) -> list[str]:
        """Classes over threshold; none when the probabilities are NaN (nothing readable)."""
        return decide(probabilities, self.thresholds)
