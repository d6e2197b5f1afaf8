"""Losses, chosen by name from a `LossConfig`; tasks combine them, models never compute them.

All losses take logits (what the heads return) and float targets of the same shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class LossConfig:
    name: str = "asl"  # one of LOSSES: asl, bce, dice, bce_dice
    reduction: str = "mean"  # 'mean' over all elements or 'sum' (asl, bce)
    gamma_neg: float = 4.0  # asl: focusing exponent for negatives
    gamma_pos: float = 1.0  # asl: focusing exponent for positives
    clip: float = 0.05  # asl: probability margin m shifted off negatives
    eps: float = 1e-8  # asl: floor inside the logarithms
    pos_weight: float | None = None  # bce: weight of positive pixels (thin traces are rare)
    smooth: float = 1.0  # dice: added to numerator and denominator
    bce_weight: float = 1.0  # bce_dice
    dice_weight: float = 1.0  # bce_dice


LOSSES: dict[str, Callable[[LossConfig], nn.Module]] = {}


def register_loss(name: str) -> Callable:
    """Decorator: `LOSSES[name] = factory(config) -> nn.Module`."""

    def register(factory: Callable[[LossConfig], nn.Module]) -> Callable[[LossConfig], nn.Module]:
        if name in LOSSES:
            raise ValueError(f"loss {name!r} registered twice")
        LOSSES[name] = factory
        return factory

    return register


def build_loss(config: LossConfig) -> nn.Module:
    """The loss module that `config.name` names, built with the config's parameters."""
    if config.name not in LOSSES:
        raise ValueError(f"unknown loss {config.name!r}; known: {sorted(LOSSES)}")
    return LOSSES[config.name](config)


def reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")


class AsymmetricLoss(nn.Module):
    """Asymmetric loss for multi-label classification (Ridnik et al., ICCV 2021).

    With p = sigmoid(logit), target y in {0, 1} and the shifted probability p_m = max(p - m, 0):

        L = -[ y (1 - p)^gamma_pos log(p) + (1 - y) p_m^gamma_neg log(1 - p_m) ]

    summed or averaged over all elements. The margin m (`clip`) discards easy negatives
    (p < m) entirely; gamma_neg > gamma_pos down-weights the many easy negatives. With
    gamma_pos = gamma_neg = 0 and clip = 0 it is binary cross-entropy. Logarithms are of
    max(., eps).

    forward(logits: (B, C), targets: (B, C) in [0, 1]) -> scalar.
    """

    def __init__(
        self,
        gamma_neg: float = 4.0,
        gamma_pos: float = 1.0,
        clip: float = 0.05,
        eps: float = 1e-8,
        reduction: str = "mean",
    ):
        super().__init__()
        self.gamma_neg, self.gamma_pos, self.clip, self.eps = gamma_neg, gamma_pos, clip, eps
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        x, y = logits.float(), targets.float()
        log_eps = math.log(self.eps)
        p, q = torch.sigmoid(x), torch.sigmoid(-x)  # q = 1 - p without cancellation in the tails
        log_p = F.logsigmoid(x).clamp(min=log_eps)
        if self.clip > 0:
            p_m = (p - self.clip).clamp(min=0)
            log_one_minus_p_m = torch.log((q + self.clip).clamp(max=1).clamp(min=self.eps))
        else:
            p_m, log_one_minus_p_m = p, F.logsigmoid(-x).clamp(min=log_eps)
        loss_pos = y * q.pow(self.gamma_pos) * log_p
        loss_neg = (1 - y) * p_m.pow(self.gamma_neg) * log_one_minus_p_m
        return reduce(-(loss_pos + loss_neg), self.reduction)


class BCEWithLogits(nn.Module):
    """Binary cross-entropy on logits of any shape, with an optional scalar positive weight."""

    def __init__(self, pos_weight: float | None = None, reduction: str = "mean"):
        super().__init__()
        self.pos_weight, self.reduction = pos_weight, reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        weight = None if self.pos_weight is None else torch.tensor(self.pos_weight, device=logits.device)
        values = F.binary_cross_entropy_with_logits(
            logits.float(), targets.float(), pos_weight=weight, reduction="none"
        )
        return reduce(values, self.reduction)


class DiceLoss(nn.Module):
    """Soft Dice on sigmoid probabilities: 1 - (2 sum(p t) + s) / (sum(p) + sum(t) + s).

    Sums run over the spatial axes of each (image, channel); the result is the mean over images
    and channels. forward(logits: (B, C, H, W), targets: (B, C, H, W) in [0, 1]) -> scalar.
    """

    def __init__(self, smooth: float = 1.0):
        super().__init__()
        self.smooth = smooth

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits.float()).flatten(2)
        t = targets.float().flatten(2)
        overlap = (p * t).sum(-1)
        dice = (2 * overlap + self.smooth) / (p.sum(-1) + t.sum(-1) + self.smooth)
        return (1 - dice).mean()


class BCEDiceLoss(nn.Module):
    """bce_weight * BCE + dice_weight * Dice: BCE gives per-pixel gradients, Dice balances thin maps."""

    def __init__(self, bce: BCEWithLogits, dice: DiceLoss, bce_weight: float = 1.0, dice_weight: float = 1.0):
        super().__init__()
        self.bce, self.dice = bce, dice
        self.bce_weight, self.dice_weight = bce_weight, dice_weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.bce_weight * self.bce(logits, targets) + self.dice_weight * self.dice(logits, targets)


@register_loss("asl")
def build_asl(config: LossConfig) -> AsymmetricLoss:
    return AsymmetricLoss(config.gamma_neg, config.gamma_pos, config.clip, config.eps, config.reduction)


@register_loss("bce")
def build_bce(config: LossConfig) -> BCEWithLogits:
    return BCEWithLogits(config.pos_weight, config.reduction)


@register_loss("dice")
def build_dice(config: LossConfig) -> DiceLoss:
    return DiceLoss(config.smooth)


@register_loss("bce_dice")
def build_bce_dice(config: LossConfig) -> BCEDiceLoss:
    return BCEDiceLoss(build_bce(config), build_dice(config), config.bce_weight, config.dice_weight)
