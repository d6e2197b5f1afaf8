"""AdamW with the usual no-decay groups, and the learning-rate schedules the trainer offers."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR

SCHEDULES = ("cosine", "onecycle", "constant")


def build_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW; biases and normalisation weights (1-D parameters) get no weight decay."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr)


def cosine_with_warmup(warmup_steps: int, total_steps: int, min_lr_ratio: float):
    """Multiplier of the base lr at optimizer step `step`: linear warm-up, then cosine decay."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min((step - warmup_steps) / max(total_steps - warmup_steps, 1), 1.0)
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    name: str,
    lr: float,
    total_steps: int,
    warmup_steps: int = 0,
    min_lr_ratio: float = 0.0,
    onecycle_pct_start: float = 0.3,
) -> LRScheduler:
    """A scheduler stepped once per optimizer step; its state_dict is JSON-able (no lambdas stored)."""
    if name == "cosine":
        return LambdaLR(optimizer, cosine_with_warmup(warmup_steps, total_steps, min_lr_ratio))
    if name == "onecycle":
        return OneCycleLR(optimizer, max_lr=lr, total_steps=max(total_steps, 2), pct_start=onecycle_pct_start)
    if name == "constant":
        return LambdaLR(optimizer, lambda step: 1.0)
    raise ValueError(f"unknown schedule {name!r}; known: {SCHEDULES}")
