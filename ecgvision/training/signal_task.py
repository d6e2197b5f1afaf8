"""Training the signal classifier: SignalNet + asymmetric loss on paper-view PTB-XL signals.

Validation macro F uses per-class thresholds tuned on the validation predictions themselves
(the thresholds shipped with the weights come from the same tuning).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ecgvision.classify.signal_net import SignalNet, SignalNetConfig
from ecgvision.classify.thresholds import per_class_f, tune_thresholds
from ecgvision.constants import CLASSES
from ecgvision.data.signal_arrays import SignalArrays, load_folds
from ecgvision.models.losses import LossConfig, build_loss
from ecgvision.models.weights import from_pretrained, save_pretrained
from ecgvision.training.signal_data import SignalAugmentConfig, SignalDataset
from ecgvision.training.trainer import Trainer, TrainerConfig

log = logging.getLogger(__name__)


@dataclass
class SignalTrainConfig:
    net: SignalNetConfig = field(default_factory=SignalNetConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: SignalAugmentConfig = field(default_factory=SignalAugmentConfig)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(batch_size=64, lr=2e-3, epochs=20))
    train_folds: tuple[int, ...] = (1, 2, 3, 4, 5)
    val_folds: tuple[int, ...] = (9,)


def predict_probabilities(model: nn.Module, loader: DataLoader) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, targets), each (R, num_classes), over a loader of {'x', 'y'} batches."""
    device = next(model.parameters()).device
    model.eval()
    probabilities, targets = [], []
    with torch.inference_mode():
        for batch in loader:
            probabilities.append(torch.sigmoid(model(batch["x"].to(device))["dx"]).float().cpu().numpy())
            targets.append(batch["y"].numpy())
    return np.concatenate(probabilities), np.concatenate(targets)


def macro_f_with_thresholds(probabilities: np.ndarray, targets: np.ndarray, thresholds: np.ndarray) -> dict:
    per_class = per_class_f(probabilities, targets.astype(bool), thresholds)
    return {
        "macro_f": float(np.nanmean(per_class)),
        **{f"f_{c}": f for c, f in zip(CLASSES, per_class, strict=True)},
    }


def best_model_with_thresholds(result, val_loader: DataLoader) -> tuple[nn.Module, np.ndarray, dict]:
    """(the fit's best model on the CPU, per-class thresholds tuned on the validation loader, its scores)."""
    best = from_pretrained(result.best_model_dir or result.final_model_dir, device="cpu")
    probabilities, targets = predict_probabilities(best, val_loader)
    thresholds = tune_thresholds(probabilities, targets)
    return best, thresholds, macro_f_with_thresholds(probabilities, targets, thresholds)


class SignalClassificationTask:
    metric_name = "macro_f"
    metric_mode = "max"

    def __init__(self, model: nn.Module, loss: nn.Module):
        self.model, self.loss = model, loss

    def compute_loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        loss = self.loss(model(batch["x"])["dx"], batch["y"])
        return loss, {"loss": float(loss.detach())}

    def evaluate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        probabilities, targets = predict_probabilities(model, loader)
        return macro_f_with_thresholds(probabilities, targets, tune_thresholds(probabilities, targets))


def train_signal_classifier(
    config: SignalTrainConfig,
    train: SignalArrays | None = None,
    val: SignalArrays | None = None,
    output: str | Path | None = None,
) -> Path:
    """Fit, then tune thresholds on validation; returns the folder holding weights + thresholds."""
    train = train if train is not None else load_folds(config.train_folds, verbose=True)
    val = val if val is not None else load_folds(config.val_folds, verbose=True)
    torch.manual_seed(config.trainer.seed)  # the initial weights too, not only what fit() seeds
    model = SignalNet(config.net)
    task = SignalClassificationTask(model, build_loss(config.loss))
    train_set = SignalDataset(
        train.signals_mv, train.targets, train.fs_hz, config.augment, config.trainer.seed
    )
    val_set = SignalDataset(val.signals_mv, val.targets, val.fs_hz)
    result = Trainer(config.trainer).fit(task, train_set, val_set)
    best, thresholds, scores = best_model_with_thresholds(result, DataLoader(val_set, batch_size=256))
    log.info("signal classifier: validation macro F %.3f", scores["macro_f"])
    folder = Path(output or Path(config.trainer.output_dir) / "signal_classifier")
    save_pretrained(
        best,
        folder,
        extra={"thresholds": thresholds.tolist(), "classes": list(CLASSES), "validation": scores},
    )
    return folder
