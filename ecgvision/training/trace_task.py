"""Training the learned trace finder: EcgNet's dense head on rendered pages (BCE + Dice on the trace mask)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ecgvision.data.signal_arrays import load_folds
from ecgvision.models.losses import LossConfig, build_loss
from ecgvision.models.networks import EcgNet, NetConfig
from ecgvision.models.weights import from_pretrained, save_pretrained
from ecgvision.training.trace_data import TraceCropDataset, TraceDataConfig, collate_crops
from ecgvision.training.trainer import Trainer, TrainerConfig

log = logging.getLogger(__name__)


def default_trace_net() -> NetConfig:
    # Narrow convnext_atto (1.8 M parameters): ~0.5 s for a 200 dpi page on 2 CPU cores.
    return NetConfig(backbone_kwargs={"dims": [24, 48, 96, 192]}, dense_channels=1, dense_output_stride=2)


@dataclass
class TraceTrainConfig:
    net: NetConfig = field(default_factory=default_trace_net)
    loss: LossConfig = field(default_factory=lambda: LossConfig(name="bce_dice", pos_weight=3.0))
    data: TraceDataConfig = field(default_factory=TraceDataConfig)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(batch_size=2, lr=2e-3, epochs=1))
    train_folds: tuple[int, ...] = (1, 2, 3, 4, 5)
    val_folds: tuple[int, ...] = (9,)
    val_pages: int = 24
    init_weights: str | None = None  # a trace_model folder to start from (fine-tuning); None: from scratch
    half_weights: bool = False  # store the weights as float16 (half the file; a shipped default)


def mask_at_stride(mask: torch.Tensor, stride: int) -> torch.Tensor:
    """(B,1,H,W) {0,1} -> (B,1,H/s,W/s): a cell is trace when any of its pixels is."""
    return F.max_pool2d(mask, stride) if stride > 1 else mask


def dice(probabilities: torch.Tensor, target: torch.Tensor) -> float:
    inter = (probabilities * target).sum()
    return float(2 * inter / (probabilities.sum() + target.sum()).clamp_min(1e-6))


class TraceTask:
    metric_name = "dice"
    metric_mode = "max"
    collate_fn = staticmethod(collate_crops)

    def __init__(self, model: EcgNet, loss: nn.Module):
        self.model, self.loss = model, loss
        self.stride = model.config.dense_output_stride

    def compute_loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        logits = model(batch["image"])["dense"][:, :1]
        loss = self.loss(logits, mask_at_stride(batch["mask"], self.stride))
        return loss, {"loss": float(loss.detach())}

    def evaluate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        model.eval()
        device = next(model.parameters()).device
        scores = []
        with torch.inference_mode():
            for batch in loader:
                logits = model(batch["image"].to(device))["dense"][:, :1]
                target = mask_at_stride(batch["mask"].to(device), self.stride)
                scores.append(dice((torch.sigmoid(logits) > 0.5).float(), target))
        return {"dice": sum(scores) / max(len(scores), 1)}


def fit_trace_model(
    config: TraceTrainConfig,
    train_signals: np.ndarray,
    val_signals: np.ndarray,
    fs_hz: float,
    output: str | Path | None = None,
) -> Path:
    """Train on pages rendered from `train_signals` (R, N, 12) mV, validate on fixed pages of
    `val_signals`; write the best weights (safetensors + config) to `output`."""
    train_set = TraceCropDataset(train_signals, fs_hz, config.data, config.trainer.seed)
    val_data = dataclasses.replace(config.data, pages_per_epoch=None)
    val_set = TraceCropDataset(val_signals[: config.val_pages], fs_hz, val_data, seed=1, fixed=True)
    torch.manual_seed(config.trainer.seed)  # the initial weights too, not only what fit() seeds
    model = EcgNet(config.net)
    if config.init_weights:
        model.load_state_dict(from_pretrained(config.init_weights, device="cpu").state_dict())
        log.info("starting from the weights in %s", config.init_weights)
    result = Trainer(config.trainer).fit(TraceTask(model, build_loss(config.loss)), train_set, val_set)
    best = from_pretrained(result.best_model_dir or result.final_model_dir, device="cpu")
    folder = Path(output or Path(config.trainer.output_dir) / "trace_model")
    # the evaluation of the weights kept (the best one, as the trainer chose them)
    metrics = max(result.evaluations, key=lambda e: e.get("dice", 0.0)) if result.evaluations else {}
    dtype = torch.float16 if config.half_weights else None
    extra = {"validation": metrics, "role": "trace", "input_scale": config.data.input_scale}
    save_pretrained(best, folder, extra=extra, float_dtype=dtype)
    return folder


def train_trace_model(config: TraceTrainConfig, output: str | Path | None = None) -> Path:
    """`fit_trace_model` on the configured PTB-XL folds."""
    train = load_folds(config.train_folds)
    val = load_folds(config.val_folds)
    return fit_trace_model(config, train.signals_mv, val.signals_mv, train.fs_hz, output)
