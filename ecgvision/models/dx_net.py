"""ImageDxNet: the diagnosis branch of EcgNet alone (timm encoder -> pooled deepest features -> MLP).

Why not EcgNet itself: EcgNet.forward always runs the U-Net decoder and the dense head, which at
page resolution costs more than the encoder and contributes nothing to the diagnosis. ImageDxNet
keeps EcgNet's attribute names (`encoder`, `dx_head`) and its in-model pixel normalisation, so its
weights are a subset of an EcgNet's with the same backbone config: an EcgNet can be warm-started
from it (staged training) or the two merged later into one shared backbone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ecgvision.constants import CLASSES
from ecgvision.models.backbone import create_backbone, feature_channels
from ecgvision.models.heads import ClassificationHead


def narrow_atto_dims() -> dict[str, Any]:
    # Narrow convnext_atto (1.3 M parameters with one grey channel): ~0.04 s per 384 x 512 image
    # on one CPU core, ~0.14 s per training image (forward + backward).
    return {"dims": [24, 48, 96, 192]}


@dataclass
class ImageDxConfig:
    backbone: str = "convnext_atto"  # any timm model that supports features_only
    backbone_kwargs: dict[str, Any] = field(default_factory=narrow_atto_dims)
    in_chans: int = 1  # grey pages: colour is grid style, not diagnosis
    num_classes: int = len(CLASSES)
    classifier_hidden: int = 128
    dropout: float = 0.2
    pixel_mean: float = 0.5  # images arrive as floats in [0, 1]; normalised inside the model
    pixel_std: float = 0.25


class ImageDxNet(nn.Module):
    """forward(images: (B, in_chans, H, W) floats in [0, 1]) -> {'dx': (B, num_classes) logits}."""

    def __init__(self, config: ImageDxConfig | None = None):
        super().__init__()
        self.config = config = config or ImageDxConfig()
        self.encoder = create_backbone(config.backbone, config.in_chans, **config.backbone_kwargs)
        self.dx_head = ClassificationHead(
            feature_channels(self.encoder)[-1], config.num_classes, config.classifier_hidden, config.dropout
        )

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (images - self.config.pixel_mean) / self.config.pixel_std
        return {"dx": self.dx_head(self.encoder(x)[-1])}
