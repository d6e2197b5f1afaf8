"""Diagnoses from the page image alone: ImageDxNet probabilities -> labels with per-class thresholds.

`to_dx_input` is the one preprocessing used by training and inference (grey, area-downsampled to a
fixed size), so the two cannot disagree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn

from ecgvision.classify.thresholds import decide, stored_thresholds
from ecgvision.constants import CLASSES
from ecgvision.models.weights import from_pretrained

DEFAULT_INPUT_HW = (384, 512)  # (height, width) px: ~0.56 mm per pixel for a 200 dpi letter page


def to_dx_input(image: np.ndarray, input_hw: tuple[int, int] = DEFAULT_INPUT_HW) -> np.ndarray:
    """(H, W, 3) or (H, W) uint8 page -> (1, h, w) float32 grey in [0, 1], resized to `input_hw`.

    INTER_AREA averages the pixels it drops, so a 2 px trace survives as a fainter line instead of
    vanishing between sampled pixels.
    """
    if image.ndim == 3:
        image = cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
    if image.ndim != 2:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {image.shape}")
    small = cv2.resize(image, (input_hw[1], input_hw[0]), interpolation=cv2.INTER_AREA)
    return (small.astype(np.float32) / 255.0)[None]


@dataclass
class ImageDxClassifier:
    model: nn.Module
    thresholds: np.ndarray  # (num_classes,) probability cut per class, tuned on validation renders
    input_hw: tuple[int, int] = DEFAULT_INPUT_HW

    @classmethod
    def load(cls, folder: str | os.PathLike, device: str | torch.device | None = "cpu") -> ImageDxClassifier:
        thresholds, extra = stored_thresholds(folder)
        hw = tuple(extra.get("input_hw", DEFAULT_INPUT_HW))
        model = from_pretrained(folder, device).eval()
        return cls(model, thresholds, (int(hw[0]), int(hw[1])))

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        """Page images of one record -> (num_classes,) probabilities, averaged over the images.

        NaN when the record has no image.
        """
        if not images:
            return np.full(len(CLASSES), np.nan)
        x = torch.from_numpy(np.stack([to_dx_input(image, self.input_hw) for image in images]))
        device = next(self.model.parameters()).device
        with torch.inference_mode():
            p = torch.sigmoid(self.model(x.to(device))["dx"]).float().cpu().numpy()
        return p.mean(axis=0).astype(np.float64)

    def labels(self, probabilities: np.ndarray) -> list[str]:
        """Classes over threshold; none when the probabilities are NaN (no image)."""
        return decide(probabilities, self.thresholds)
