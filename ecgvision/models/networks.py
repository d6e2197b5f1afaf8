"""EcgNet: timm encoder -> U-Net decoder -> dense head, plus a diagnosis head on the deepest feature."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ecgvision.constants import CLASSES
from ecgvision.models.backbone import create_backbone, feature_channels, feature_reductions
from ecgvision.models.decoder import ImageSkips, UNetDecoder, finer_reductions
from ecgvision.models.heads import ClassificationHead, SegmentationHead


@dataclass
class NetConfig:
    backbone: str = "convnext_atto"  # any timm model that supports features_only
    backbone_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {"dims": [32, 64, 128, 256]}
    in_chans: int = 3
    # Block widths deepest first, for the decoder levels at strides 16, 8, 4, 2, 1 (ConvNeXt).
    decoder_channels: tuple[int, ...] = (128, 64, 32, 16, 16)
    image_skip_channels: tuple[int, ...] = (
        8,
        16,
    )  # image-skip widths at strides 1, 2, 4, ... (used below the encoder's first level)
    dense_output_stride: int = 2  # dense map is (H / stride, W / stride)
    dense_channels: int = 3  # e.g. trace, lead region, baseline maps
    num_classes: int = len(CLASSES)
    classifier_hidden: int = 256
    dropout: float = 0.1  # in the classification MLP
    # Images arrive as floats in [0, 1]; the model normalises them itself so that training and
    # inference cannot disagree on preprocessing.
    pixel_mean: float = 0.5
    pixel_std: float = 0.25


def pick_image_skip_channels(channels: tuple[int, ...], skip_reductions: list[int]) -> list[int]:
    """Widths of the image skips at `skip_reductions` from `channels`, listed for strides 1, 2, 4, ..."""
    indices = [r.bit_length() - 1 for r in skip_reductions]  # log2 of a power of two
    if indices and indices[-1] >= len(channels):
        raise ValueError(
            f"image_skip_channels {list(channels)} (for strides 1, 2, 4, ...) has no width for the "
            f"image skips at strides {skip_reductions} that dense_output_stride needs"
        )
    return [channels[i] for i in indices]


class EcgNet(nn.Module):
    """forward(images: (B, in_chans, H, W) floats in [0, 1]) -> {'dense': (B, dense_channels,
    H / s, W / s), 'dx': (B, num_classes)} logits, with s = dense_output_stride.

    H and W should be multiples of the backbone's deepest stride (32 for ConvNeXt) for the dense
    map to be exactly H / s by W / s.
    """

    def __init__(self, config: NetConfig | None = None):
        super().__init__()
        self.config = config = config or NetConfig()
        self.encoder = create_backbone(config.backbone, config.in_chans, **config.backbone_kwargs)
        channels, reductions = feature_channels(self.encoder), feature_reductions(self.encoder)
        skip_reductions = finer_reductions(reductions[0], config.dense_output_stride)
        skip_channels = pick_image_skip_channels(config.image_skip_channels, skip_reductions)
        self.image_skips = ImageSkips(config.in_chans, skip_reductions, skip_channels)
        self.feature_channels = skip_channels + channels
        self.feature_reductions = skip_reductions + reductions
        self.decoder = UNetDecoder(
            self.feature_channels,
            self.feature_reductions,
            config.decoder_channels,
            config.dense_output_stride,
        )
        self.dense_head = SegmentationHead(self.decoder.out_channels, config.dense_channels)
        self.dx_head = ClassificationHead(
            channels[-1], config.num_classes, config.classifier_hidden, config.dropout
        )

    def forward_features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Feature pyramid, shallow to deep, with strides `self.feature_reductions`."""
        x = (images - self.config.pixel_mean) / self.config.pixel_std
        return self.image_skips(x) + list(self.encoder(x))

    def forward_heads(self, features: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"dense": self.dense_head(self.decoder(features)), "dx": self.dx_head(features[-1])}

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.forward_heads(self.forward_features(images))

    def predict(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits in eval mode under inference_mode, on the model's device."""
        self.eval()
        device = next(self.parameters()).device
        with torch.inference_mode():
            return self.forward(images.to(device))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
