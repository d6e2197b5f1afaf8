"""Prediction heads: they return logits; losses live in losses.py."""

from __future__ import annotations

import torch
from torch import nn


class SegmentationHead(nn.Module):
    """forward(x: (B, in_ch, h, w)) -> (B, out_ch, h, w) per-pixel logits."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class ClassificationHead(nn.Module):
    """forward(x: (B, in_ch, h, w)) -> (B, num_classes) logits.

    Global average and max pooling are concatenated: a rhythm finding (PVC, PAC) may show in one
    beat only, which an average alone would dilute.
    """

    def __init__(self, in_ch: int, num_classes: int, hidden: int = 256, dropout: float = 0.0):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(2 * in_ch, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=(-2, -1)), x.amax(dim=(-2, -1))], dim=1)
        return self.mlp(pooled)
