"""The learned trace finder at inference: RGB page -> (H, W) trace probability, for the digitizer.

Wraps an EcgNet whose first dense channel is the trace logit (at `dense_output_stride`); the map is
upsampled back to the image's pixels so the classical vectorizer reads it with sub-pixel precision.
"""

from __future__ import annotations

import math
import os

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ecgvision.models.weights import from_pretrained, read_model_meta

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


def shrink(image: np.ndarray, scale: float) -> np.ndarray:
    """The image resized by `scale` with area averaging (what a lower-resolution scan records)."""
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


# the renders the trace models learn from are drawn at 200 dpi; their photos' zoom spreads the pitch
# by some 20 %. A page further off is resized to the training pitch; one within keeps `input_scale`
# (resizing those too moved fold-9 photos by +-1 dB page by page, 0 on average, and cost b/w 0.6 dB).
TRAINED_PX_PER_MM = 200 / 25.4
OFF_SCALE_RATIO = 1.25


class LearnedTraceModel:
    """`__call__(image_rgb (H, W, 3) uint8) -> (H, W) float32` probabilities; the digitizer's TraceModel.

    A model trained on pages shrunk by `input_scale` sees the page shrunk the same way; its map is
    resized back to the page's pixels.
    """

    def __init__(self, model: nn.Module, input_scale: float = 1.0):
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.input_scale = input_scale

    def __call__(self, image_rgb: np.ndarray, px_per_mm: float | None = None) -> np.ndarray:
        """`px_per_mm`, the page's grid pitch when known, sizes the page as the training renders were
        (a photo from afar at 4.8 px/mm, shrunk by the fixed `input_scale`, lost its thin traces)."""
        height, width = image_rgb.shape[:2]
        scale = self.input_scale
        known = px_per_mm is not None and math.isfinite(px_per_mm) and px_per_mm > 0
        ratio = TRAINED_PX_PER_MM / px_per_mm if known else 1.0
        if abs(math.log(ratio)) > math.log(OFF_SCALE_RATIO):
            scale = min(1.0, self.input_scale * ratio)
        if scale != 1.0:
            image_rgb = shrink(image_rgb, scale)
        # The uint8 page crosses to the device (a quarter of float32's bytes) and is scaled there.
        pixels = torch.from_numpy(np.ascontiguousarray(image_rgb)).permute(2, 0, 1)[None].to(self.device)
        with torch.inference_mode():
            logits = trace_logits_full_size(self.model, pixels.float() / 255.0)
        probabilities = torch.sigmoid(logits)[0].float().cpu().numpy()
        if probabilities.shape != (height, width):
            probabilities = cv2.resize(probabilities, (width, height), interpolation=cv2.INTER_LINEAR)
        return probabilities


def load_trace_model(
    folder: str | os.PathLike, device: str | torch.device | None = None
) -> LearnedTraceModel:
    scale = float(read_model_meta(folder)["extra"].get("input_scale", 1.0))
    return LearnedTraceModel(from_pretrained(folder, device), scale)
