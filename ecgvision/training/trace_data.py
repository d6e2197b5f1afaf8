"""Trace-finding training data: pages rendered on the fly from real PTB-XL signals, with pixel-exact masks.

Each item renders one page (a random realism preset, random style) from one record and returns
`crops_per_page` crops, most of them centred on the trace, with the trace mask (pulses and separator
bars included) as target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.signal import resample_poly
from torch.utils.data import Dataset

from ecgvision.models.trace_model import shrink
from ecgvision.render import render_record
from ecgvision.render.config import RenderConfig, with_variant


@dataclass
class TraceDataConfig:
    crop_px: int = 256
    crops_per_page: int = 4
    on_trace_share: float = 0.75  # crops centred on a trace point; the rest anywhere (text, margins)
    on_marker_share: float = 0.15  # of those, centred on a calibration pulse or separator bar (rare ink)
    render_fs_hz: float = 500.0  # signals are upsampled so traces look like the hidden 500 Hz data
    variants: tuple[str, ...] = ("clean", "scan", "bw", "photo", "stained")
    style_jitter: bool = True
    pages_per_epoch: int | None = None  # None: one page per record; else that many random records
    # pages are shrunk by this before cropping (0.5: the model sees 100 dpi, 4x fewer pixels to run at
    # inference); the mask marks a shrunk pixel that any trace ink covers
    input_scale: float = 1.0


def collate_crops(items: list[dict]) -> dict[str, torch.Tensor]:
    return {key: torch.cat([item[key] for item in items]) for key in items[0]}


class TraceCropDataset(Dataset):
    """signals: (R, N, 12) mV at fs_hz. Item -> {'image': (K,3,C,C) float [0,1], 'mask': (K,1,C,C)}."""

    def __init__(
        self, signals: np.ndarray, fs_hz: float, config: TraceDataConfig, seed: int = 0, fixed: bool = False
    ):
        self.signals, self.fs_hz, self.config, self.seed, self.fixed = signals, fs_hz, config, seed, fixed

    def __len__(self) -> int:
        return self.config.pages_per_epoch or len(self.signals)

    def _rng(self, i: int) -> np.random.Generator:
        # Validation items are fixed; training items change every draw (torch's per-worker RNG advances).
        draw = 0 if self.fixed else int(torch.randint(0, 2**31 - 1, ()))
        return np.random.default_rng((self.seed, i, draw))

    def render(self, i: int, rng: np.random.Generator):
        record = i if self.config.pages_per_epoch is None else int(rng.integers(len(self.signals)))
        signal = self.signals[record].astype(np.float64)
        up = int(round(self.config.render_fs_hz / self.fs_hz))
        if up > 1:
            signal = resample_poly(signal, up, 1, axis=0, padtype="line")
        variant = str(rng.choice(self.config.variants))
        name, config = with_variant(RenderConfig(style_jitter=self.config.style_jitter), variant, rng)
        return render_record(signal, self.fs_hz * up, config, rng, variant=name)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = self._rng(i)
        page = self.render(i, rng)
        # everything the digitizer reads: the trace, the calibration pulses and the separator bars
        mask = page.truth.trace_mask(include_pulses=True, include_separators=True)
        points = np.concatenate([np.stack([s.x_px, s.y_px], 1) for s in page.truth.segments])
        points = points[np.isfinite(points).all(1)]
        markers = page.truth.calibration_pulses_px + page.truth.separators_px()
        markers = np.concatenate(markers) if markers else points
        image, scale = page.image, self.config.input_scale
        if scale != 1.0:
            image = shrink(image, scale)
            mask = shrink(mask.astype(np.float32), scale) > 0.25
            points, markers = points * scale, markers * scale
        images, masks = [], []
        for _ in range(self.config.crops_per_page):
            centres = markers if rng.random() < self.config.on_marker_share else points
            y0, x0 = self._crop_origin(rng, image.shape[:2], centres)
            c = self.config.crop_px
            images.append(image[y0 : y0 + c, x0 : x0 + c])
            masks.append(mask[y0 : y0 + c, x0 : x0 + c])
        image = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
        return {"image": image, "mask": torch.from_numpy(np.stack(masks)[:, None].astype(np.float32))}

    def _crop_origin(
        self, rng: np.random.Generator, shape: tuple[int, int], points: np.ndarray
    ) -> tuple[int, int]:
        c, (h, w) = self.config.crop_px, shape
        if len(points) and rng.random() < self.config.on_trace_share:
            x, y = points[rng.integers(len(points))]
            y0, x0 = int(y) - c // 2 + int(rng.integers(-c // 4, c // 4 + 1)), int(x) - c // 2
        else:
            y0, x0 = int(rng.integers(0, max(1, h - c))), int(rng.integers(0, max(1, w - c)))
        return int(np.clip(y0, 0, max(0, h - c))), int(np.clip(x0, 0, max(0, w - c)))
