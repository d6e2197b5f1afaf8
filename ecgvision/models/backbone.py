"""Multi-scale encoders from timm: any timm model with `features_only=True`; nothing fetched from a hub."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import timm
from torch import nn


def create_backbone(
    name: str = "convnext_atto",
    in_chans: int = 3,
    out_indices: Sequence[int] = (0, 1, 2, 3),
    **kwargs: Any,
) -> nn.Module:
    """A timm feature extractor: forward(x: (B, in_chans, H, W)) -> list of (B, C_i, H/r_i, W/r_i).

    Channels C_i and reductions r_i come from the model's `feature_info` (see `feature_channels`,
    `feature_reductions`); `kwargs` go to the timm constructor (e.g. `dims=(32, 64, 128, 256)` to
    narrow a ConvNeXt, `drop_path_rate=0.1`). Weights are always randomly initialised: the
    Challenge trains offline, so `pretrained=False` is forced.
    """
    if "pretrained" in kwargs:
        raise ValueError("create_backbone never loads hub weights; drop the 'pretrained' argument")
    try:
        return timm.create_model(
            name,
            pretrained=False,
            features_only=True,
            in_chans=in_chans,
            out_indices=tuple(out_indices),
            **kwargs,
        )
    except RuntimeError as error:  # timm raises RuntimeError for unknown names
        raise ValueError(f"unknown or unsupported timm backbone {name!r}: {error}") from error


def feature_channels(backbone: nn.Module) -> list[int]:
    """Channel count of each returned feature map, shallow to deep."""
    return list(backbone.feature_info.channels())


def feature_reductions(backbone: nn.Module) -> list[int]:
    """Stride (input pixels per feature pixel) of each returned feature map, shallow to deep."""
    return list(backbone.feature_info.reduction())
