"""1-D residual CNN over the paper view of the leads -> 11 Challenge class logits."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ecgvision.classify.signal_input import INPUT_CHANNELS
from ecgvision.constants import CLASSES


@dataclass
class SignalNetConfig:
    in_channels: int = INPUT_CHANNELS
    widths: tuple[int, ...] = (48, 64, 96, 128)
    blocks_per_stage: int = 2
    kernel_size: int = 7
    dropout: float = 0.2
    num_classes: int = len(CLASSES)


class ResidualBlock1d(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int):
        super().__init__()
        pad = kernel // 2
        self.body = nn.Sequential(
            nn.Conv1d(in_ch, out_ch, kernel, stride, pad, bias=False),
            nn.BatchNorm1d(out_ch),
            nn.GELU(),
            nn.Conv1d(out_ch, out_ch, kernel, 1, pad, bias=False),
            nn.BatchNorm1d(out_ch),
        )
        self.skip = (
            nn.Identity()
            if in_ch == out_ch and stride == 1
            else nn.Sequential(nn.Conv1d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm1d(out_ch))
        )
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class SignalNet(nn.Module):
    """forward(x: (B, in_channels, T)) -> {'dx': (B, num_classes) logits}."""

    def __init__(self, config: SignalNetConfig | None = None):
        super().__init__()
        self.config = config = config or SignalNetConfig()
        self.stem = nn.Sequential(
            nn.Conv1d(config.in_channels, config.widths[0], 15, 2, 7, bias=False),
            nn.BatchNorm1d(config.widths[0]),
            nn.GELU(),
        )
        stages, in_ch = [], config.widths[0]
        for width in config.widths:
            for b in range(config.blocks_per_stage):
                stages.append(ResidualBlock1d(in_ch, width, config.kernel_size, 2 if b == 0 else 1))
                in_ch = width
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(2 * in_ch, config.num_classes))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        features = self.stages(self.stem(x))
        return torch.cat([features.mean(dim=-1), features.amax(dim=-1)], dim=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"dx": self.head(self.forward_features(x))}
