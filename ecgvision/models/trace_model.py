"""The learned trace finder at inference: RGB page -> (H, W) trace probability, for the digitizer.

Wraps an EcgNet whose first dense channel is the trace logit (at `dense_output_stride`); the map is
upsampled back to the image's pixels so the classical vectorizer reads it with sub-pixel precision.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ecgvision.models.weights import from_pretrained

SIZE_MULTIPLE = 32  # the encoder's deepest stride


def pad_to_multiple(images: torch.Tensor, multiple: int = SIZE_MULTIPLE) -> torch.Tensor:
    """Pad (B, C, H, W) on the right/bottom with white paper to sizes divisible by `multiple`."""
    h, w = images.shape[-2:]
    return F.pad(images, (0, -w % multiple, 0, -h % multiple), value=1.0)


def trace_logits_full_size(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) floats in [0, 1] -> (B, H, W) trace logits at image resolution."""
    h, w = images.shape[-2:]
    padded = pad_to_multiple(images)
    dense = model(padded)["dense"][:, :1]
    full = F.interpolate(dense, size=padded.shape[-2:], mode="bilinear", align_corners=False)
    return full[:, 0, :h, :w]


class LearnedTraceModel:
    """`__call__(image_rgb (H, W, 3) uint8) -> (H, W) float32` probabilities; the digitizer's TraceModel."""

    def __init__(self, model: nn.Module):
        self.model = model.eval()
        self.device = next(model.parameters()).device

    def __call__(self, image_rgb: np.ndarray) -> np.ndarray:
        # The uint8 page crosses to the device (a quarter of float32's bytes) and is scaled there.
        pixels = torch.from_numpy(np.ascontiguousarray(image_rgb)).permute(2, 0, 1)[None].to(self.device)
        with torch.inference_mode():
            logits = trace_logits_full_size(self.model, pixels.float() / 255.0)
        return torch.sigmoid(logits)[0].float().cpu().numpy()


def load_trace_model(
    folder: str | os.PathLike, device: str | torch.device | None = None
) -> LearnedTraceModel:
    return LearnedTraceModel(from_pretrained(folder, device))
