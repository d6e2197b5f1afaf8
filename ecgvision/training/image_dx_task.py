"""Training the image-only diagnosis head: ImageDxNet + asymmetric loss on pages rendered on the fly.

Train pages are rendered from PTB-XL folds 1-5 signals with the realism preset 'mix' (scans,
photos, stains, ...) and random style; validation pages are fixed renders (alternating clean and
mix) of the LAST `val_records` labelled fold-9 records, rendered once and kept in memory. The
per-class thresholds stored with the weights are tuned on those validation pages; benchmarks use
the first fold-9 records, which therefore stay unseen. Records without any Challenge class are
skipped (nothing to learn from them with a multi-label loss).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy.signal import resample_poly
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ecgvision.classify.image_classifier import DEFAULT_INPUT_HW, to_dx_input
from ecgvision.classify.thresholds import tune_thresholds
from ecgvision.constants import CLASSES
from ecgvision.data.signal_arrays import SignalArrays, load_folds, subset
from ecgvision.models.dx_net import ImageDxConfig, ImageDxNet
from ecgvision.models.losses import LossConfig, build_loss
from ecgvision.models.weights import save_pretrained
from ecgvision.render import render_record
from ecgvision.render.config import RenderConfig, with_variant
from ecgvision.training.signal_task import (
    SignalClassificationTask,
    best_model_with_thresholds,
    macro_f_with_thresholds,
    predict_probabilities,
)
from ecgvision.training.trainer import Trainer, TrainerConfig

log = logging.getLogger(__name__)


@dataclass
class ImageDxDataConfig:
    input_hw: tuple[int, int] = DEFAULT_INPUT_HW  # (height, width) px the page is shrunk to
    render_fs_hz: float = 500.0  # signals are upsampled so traces look like the hidden 500 Hz data
    train_variants: tuple[str, ...] = ("mix",)  # realism presets drawn per training page
    val_variants: tuple[str, ...] = ("clean", "mix")  # alternated over the validation pages
    style_jitter: bool = True  # random trace widths / grid colours on training pages
    pages_per_epoch: int | None = 2000  # random training records per "epoch" (evaluation period)


@dataclass
class ImageDxTrainConfig:
    net: ImageDxConfig = field(default_factory=ImageDxConfig)
    loss: LossConfig = field(default_factory=lambda: LossConfig(name="asl", gamma_neg=4.0, gamma_pos=0.0))
    data: ImageDxDataConfig = field(default_factory=ImageDxDataConfig)
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            batch_size=16, lr=2e-3, epochs=8, warmup_steps=50, output_dir="runs/image_dx"
        )
    )
    train_folds: tuple[int, ...] = (1, 2, 3, 4, 5)
    val_folds: tuple[int, ...] = (9,)
    val_records: int = 200  # the last labelled records of the validation folds
    cpu_threads: int = 0  # torch intra-op threads on CPU; 0: torch's default


def labelled_only(arrays: SignalArrays) -> SignalArrays:
    """Drop records with no Challenge class (an all-zero multi-hot target)."""
    return subset(arrays, np.flatnonzero(arrays.targets.sum(axis=1) > 0))


def render_page(
    signal_mv: np.ndarray, fs_hz: float, config: ImageDxDataConfig, variant: str, rng: np.random.Generator
) -> np.ndarray:
    """(N, 12) mV at fs_hz -> (1, h, w) float32 model input of one rendered page."""
    signal = signal_mv.astype(np.float64)
    up = int(round(config.render_fs_hz / fs_hz))
    if up > 1:
        signal = resample_poly(signal, up, 1, axis=0, padtype="line")
    name, render_config = with_variant(RenderConfig(style_jitter=config.style_jitter), variant, rng)
    page = render_record(signal, fs_hz * up, render_config, rng, variant=name)
    return to_dx_input(page.image, tuple(config.input_hw))


class RenderedDxDataset(Dataset):
    """Random training pages: item -> {'x': (1, h, w) float [0, 1], 'y': (num_classes,) multi-hot}.

    Each item renders a random record with a random variant; draws differ every time (torch's
    per-worker RNG advances), so an "epoch" is `pages_per_epoch` fresh pages.
    """

    def __init__(self, arrays: SignalArrays, config: ImageDxDataConfig, seed: int = 0):
        self.arrays, self.config, self.seed = arrays, config, seed

    def __len__(self) -> int:
        return self.config.pages_per_epoch or len(self.arrays.targets)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, i, int(torch.randint(0, 2**31 - 1, ()))))
        record = int(rng.integers(len(self.arrays.targets)))
        variant = str(rng.choice(self.config.train_variants))
        x = render_page(self.arrays.signals_mv[record], self.arrays.fs_hz, self.config, variant, rng)
        return {
            "x": torch.from_numpy(x),
            "y": torch.from_numpy(self.arrays.targets[record].astype(np.float32)),
        }


class FixedDxDataset(Dataset):
    """Validation pages rendered once (seeded per record) and held in memory as uint8."""

    def __init__(self, arrays: SignalArrays, config: ImageDxDataConfig, seed: int = 1):
        pages = []
        for i, signal in enumerate(arrays.signals_mv):
            variant = config.val_variants[i % len(config.val_variants)]
            x = render_page(signal, arrays.fs_hz, config, variant, np.random.default_rng((seed, i)))
            pages.append(np.round(x * 255).astype(np.uint8))
        self.pages, self.targets = np.stack(pages), arrays.targets.astype(np.float32)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {
            "x": torch.from_numpy(self.pages[i].astype(np.float32) / 255.0),
            "y": torch.from_numpy(self.targets[i]),
        }


class ImageDxTask(SignalClassificationTask):
    """The same multi-label loss as the signal classifier's task; validation also reports its loss."""

    def evaluate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        """Macro F with thresholds tuned on these same pages (optimistic; tracks progress only)."""
        probabilities, targets = predict_probabilities(model, loader)
        logits = torch.logit(torch.from_numpy(probabilities).clamp(1e-6, 1 - 1e-6))
        val_loss = float(self.loss(logits, torch.from_numpy(targets)))
        scores = macro_f_with_thresholds(probabilities, targets, tune_thresholds(probabilities, targets))
        return {**scores, "val_loss": val_loss}


def load_training_arrays(config: ImageDxTrainConfig) -> tuple[SignalArrays, SignalArrays]:
    """(training records, validation records): labelled only; validation = the last `val_records`."""
    train = labelled_only(load_folds(config.train_folds, verbose=True))
    val = labelled_only(load_folds(config.val_folds, verbose=True))
    tail = np.arange(max(0, len(val.targets) - config.val_records), len(val.targets))
    return train, subset(val, tail)


def train_image_dx(
    config: ImageDxTrainConfig,
    output: str | Path | None = None,
    train: SignalArrays | None = None,
    val: SignalArrays | None = None,
) -> Path:
    """Fit (resumable), tune thresholds on the validation pages; returns the weights folder."""
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    if train is None or val is None:
        train, val = load_training_arrays(config)
    log.info("image dx: %d training records, %d validation pages", len(train.targets), len(val.targets))
    torch.manual_seed(config.trainer.seed)  # the initial weights too, not only what fit() seeds
    task = ImageDxTask(ImageDxNet(config.net), build_loss(config.loss))
    val_set = FixedDxDataset(val, config.data)
    result = Trainer(config.trainer).fit(
        task, RenderedDxDataset(train, config.data, config.trainer.seed), val_set
    )
    eval_batch = config.trainer.eval_batch_size or config.trainer.batch_size
    best, thresholds, scores = best_model_with_thresholds(result, DataLoader(val_set, batch_size=eval_batch))
    log.info("image dx: validation macro F %.3f (thresholds tuned on the same pages)", scores["macro_f"])
    folder = Path(output or Path(config.trainer.output_dir) / "image_dx")
    extra = {
        "thresholds": thresholds.tolist(),
        "classes": list(CLASSES),
        "input_hw": list(config.data.input_hw),
        "validation": scores,
        "thresholds_tuned_on": f"last {len(val.targets)} labelled records of folds {list(config.val_folds)}",
        "validation_ecg_ids": [int(i) for i in val.ecg_ids],
    }
    save_pretrained(best, folder, extra=extra)
    return folder
