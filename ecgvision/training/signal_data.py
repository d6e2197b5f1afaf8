"""Signal-classifier data: real PTB-XL signals shown as they appear on paper, with digitization-like noise.

Training records are full 10 s, 12-lead signals; each draw masks them with a random paper layout
(what a digitizer can read) and perturbs them the way digitization errs (gain, offset, jitter,
noise, lost leads), so the classifier learns from what it will see at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from ecgvision.classify.signal_input import CLASSIFIER_FS_HZ, to_classifier_input
from ecgvision.constants import CLASSES, LEADS
from ecgvision.layouts import LAYOUTS, plotted_mask


@dataclass
class SignalAugmentConfig:
    layout_probs: dict[str, float] | None = None  # None: 3x4+II mostly, others sometimes
    full_signal_prob: float = 0.05  # no masking at all (e.g. 12x1 at 10 s)
    gain_sd: float = 0.03  # relative, per lead
    offset_sd_mv: float = 0.03
    noise_sd_mv: float = 0.02
    shift_max_samples: int = 2
    lead_drop_prob: float = 0.03


DEFAULT_LAYOUT_PROBS = {"3x4+II": 0.7, "3x4+3": 0.1, "6x2": 0.1, "12x1": 0.1}


def labels_to_multi_hot(labels: list[str]) -> np.ndarray:
    return np.array([c in labels for c in CLASSES], dtype=np.float32)


def paper_mask(
    rng: np.random.Generator, config: SignalAugmentConfig, fs_hz: float, num_samples: int
) -> np.ndarray:
    if rng.random() < config.full_signal_prob:
        return np.ones((num_samples, len(LEADS)), dtype=bool)
    probs = config.layout_probs or DEFAULT_LAYOUT_PROBS
    name = rng.choice(list(probs), p=np.array(list(probs.values())) / sum(probs.values()))
    return plotted_mask(LAYOUTS[name], fs_hz, num_samples)


def digitization_noise(
    signal: np.ndarray, rng: np.random.Generator, config: SignalAugmentConfig
) -> np.ndarray:
    """Per-lead gain/offset error, a small time shift, white noise and occasionally a lost lead."""
    n, c = signal.shape
    out = signal * rng.normal(1.0, config.gain_sd, c) + rng.normal(0.0, config.offset_sd_mv, c)
    shift = int(rng.integers(-config.shift_max_samples, config.shift_max_samples + 1))
    out = np.roll(out, shift, axis=0)
    out = out + rng.normal(0.0, config.noise_sd_mv, out.shape)
    out[:, rng.random(c) < config.lead_drop_prob] = np.nan
    return out


class SignalDataset(Dataset):
    """signals: (R, N, 12) mV in LEADS order at fs_hz; targets: (R, 11) multi-hot."""

    def __init__(
        self,
        signals: np.ndarray,
        targets: np.ndarray,
        fs_hz: float = CLASSIFIER_FS_HZ,
        augment: SignalAugmentConfig | None = None,
        seed: int = 0,
    ):
        self.signals, self.targets, self.fs_hz = signals, targets, fs_hz
        self.augment, self.seed = augment, seed

    def __len__(self) -> int:
        return len(self.signals)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        signal = self.signals[i].astype(np.float64)
        if self.augment is not None:
            # torch's RNG is seeded per worker and advances per draw: a new, reproducible draw each epoch
            rng = np.random.default_rng((self.seed, i, int(torch.randint(0, 2**31 - 1, ()))))
            signal = digitization_noise(signal, rng, self.augment)
            signal[~paper_mask(rng, self.augment, self.fs_hz, signal.shape[0])] = np.nan
        else:  # validation: the default layout, no noise
            signal[~plotted_mask(LAYOUTS["3x4+II"], self.fs_hz, signal.shape[0])] = np.nan
        x = to_classifier_input(signal, self.fs_hz)
        return {"x": torch.from_numpy(x), "y": torch.from_numpy(self.targets[i])}
