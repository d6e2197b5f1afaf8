"""A light U-Net decoder over a feature pyramid, for dense per-pixel prediction at stride 1, 2, 4, ...

The decoder is built from the pyramid's channel and reduction lists (read from the encoder, never
hard-coded). Levels finer than the encoder's first feature map (stride 2 and 1 for ConvNeXt, whose
first map is at stride 4) get their skip features from `ImageSkips`, a few cheap convolutions of
the image itself: thin ECG traces (about 2 px at 200 dpi) need full-resolution detail that a
stride-4 encoder has already averaged away.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

# Blocks whose output stride is below this use depthwise-separable convolutions: at stride 1 on a
# 1024 x 1344 image a full 3x3 convolution costs several GMAC, more than the rest of the decoder.
LIGHT_BLOCK_BELOW_REDUCTION = 4


def conv_bn_act(
    in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel_size, stride, kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class DecoderBlock(nn.Module):
    """Upsample `x` to the skip's size, concatenate the skip, convolve to `out_ch` channels."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int, light: bool = False):
        super().__init__()
        if light:  # pointwise mix, then a depthwise 3x3 for spatial context
            self.convs = nn.Sequential(
                conv_bn_act(in_ch + skip_ch, out_ch, kernel_size=1),
                conv_bn_act(out_ch, out_ch, groups=out_ch),
            )
        else:
            self.convs = nn.Sequential(conv_bn_act(in_ch + skip_ch, out_ch), conv_bn_act(out_ch, out_ch))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # Interpolating to the skip's exact size (not a fixed x2) keeps odd input sizes working.
        x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
        return self.convs(torch.cat([x, skip], dim=1))


class ImageSkips(nn.Module):
    """Shallow features of the image at strides finer than the encoder's first level.

    forward(x: (B, in_chans, H, W)) -> list of (B, channels[i], H/reductions[i], W/reductions[i]),
    finest first.
    """

    def __init__(self, in_chans: int, reductions: Sequence[int], channels: Sequence[int]):
        super().__init__()
        if len(reductions) != len(channels):
            raise ValueError(f"image skips: {len(reductions)} reductions but {len(channels)} channel counts")
        self.reductions = list(reductions)
        self.channels = list(channels)
        self.convs = nn.ModuleList(
            conv_bn_act(in_chans, c, 3, r) for r, c in zip(reductions, channels, strict=True)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [conv(x) for conv in self.convs]


def finer_reductions(first_reduction: int, output_stride: int) -> list[int]:
    """Strides between the output stride and the encoder's first level, finest first: (4, 1) -> [1, 2]."""
    if output_stride < 1 or output_stride & (output_stride - 1):
        raise ValueError(f"output stride must be a power of two >= 1, got {output_stride}")
    levels, r = [], output_stride
    while r < first_reduction:
        levels.append(r)
        r *= 2
    return levels


class UNetDecoder(nn.Module):
    """forward(pyramid: list of (B, channels[i], H/reductions[i], W/reductions[i]), shallow to deep)
    -> (B, out_channels, H/output_stride, W/output_stride).

    `decoder_channels` lists the width of each block deepest first (the block producing the
    second-deepest level first); only as many as needed to reach `output_stride` are used.
    """

    def __init__(
        self,
        channels: Sequence[int],
        reductions: Sequence[int],
        decoder_channels: Sequence[int],
        output_stride: int,
    ):
        super().__init__()
        reductions = list(reductions)
        if output_stride not in reductions:
            raise ValueError(
                f"output stride {output_stride} is not one of the pyramid's strides {reductions}"
            )
        self.start_level = reductions.index(output_stride)
        num_blocks = len(reductions) - 1 - self.start_level
        if len(decoder_channels) < num_blocks:
            raise ValueError(
                f"decoder needs {num_blocks} channel counts to go from stride {reductions[-1]} to "
                f"{output_stride}, got {list(decoder_channels)}"
            )
        blocks, in_ch = [], channels[-1]
        for j, level in enumerate(range(len(reductions) - 2, self.start_level - 1, -1)):
            light = reductions[level] < LIGHT_BLOCK_BELOW_REDUCTION
            blocks.append(DecoderBlock(in_ch, channels[level], decoder_channels[j], light))
            in_ch = decoder_channels[j]
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = in_ch

    def forward(self, pyramid: Sequence[torch.Tensor]) -> torch.Tensor:
        x = pyramid[-1]
        skips = pyramid[self.start_level : -1][::-1]  # deep to shallow
        for block, skip in zip(self.blocks, skips, strict=True):
            x = block(x, skip)
        return x
