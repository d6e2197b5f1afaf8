"""Render settings: page, grid, trace and text style, plus a nested `RealismConfig` of artefacts.

Every artefact has a probability (`*_prob`, drawn per image) and a strength; the presets
(`clean`, `scan`, `bw`, `photo`, `stained`, `mix`) are named `RealismConfig` values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ecgvision.constants import MM_PER_INCH, MM_PER_MV, MM_PER_S

PAPER_SIZES_MM: dict[str, tuple[float, float]] = {
    "letter": (11.0 * MM_PER_INCH, 8.5 * MM_PER_INCH),  # landscape (width, height)
    "a4": (297.0, 210.0),
}
GRID_MODES = ("colour", "grey", "none")
ALLOWED_SPEEDS_MM_PER_S = (25.0, 50.0)
ALLOWED_GAINS_MM_PER_MV = (5.0, 10.0, 20.0)


@dataclass
class RealismConfig:
    """Artefacts, each applied with its own probability. Geometric ones move the ground truth too."""

    # paper-level (photometric: the truth is unchanged)
    paper_tint_prob: float = 0.0  # yellowish / greyish paper and faded grid
    crease_prob: float = 0.0
    crease_max_count: int = 3
    wrinkle_prob: float = 0.0  # low-frequency shading of crumpled paper
    wrinkle_strength: float = 0.15  # max relative darkening
    stain_prob: float = 0.0
    stain_max_count: int = 4
    # geometric (composed into one page->image homography)
    rotation_prob: float = 0.0
    rotation_max_deg: float = 10.0
    perspective_prob: float = 0.0
    perspective_max_frac: float = 0.06  # corner displacement, fraction of the page side
    crop_prob: float = 0.0
    crop_max_frac: float = 0.05  # margin cut from each side, fraction of the side
    lowres_prob: float = 0.0
    lowres_min_scale: float = 0.5  # output size factor (1 = full resolution)
    # camera / scanner level (photometric)
    shadow_prob: float = 0.0
    shadow_strength: float = 0.4  # max relative darkening of the shadowed part
    blur_prob: float = 0.0
    blur_max_sigma_px: float = 1.5
    noise_prob: float = 0.0
    noise_max_sigma: float = 8.0  # grey levels
    bw_prob: float = 0.0  # black/white thresholding (fax / b&w scan)
    jpeg_prob: float = 0.0
    jpeg_quality_min: int = 40
    jpeg_quality_max: int = 90


@dataclass
class RenderConfig:
    """How a record is printed. Colours are RGB 0-255; widths in px are at 200 dpi and scale with dpi."""

    paper: str = "letter"  # letter | a4 (landscape)
    dpi: int = 200  # 100-300
    speed_mm_per_s: float = MM_PER_S  # 25 | 50
    gain_mm_per_mv: float = MM_PER_MV  # 10 | 5 | 20
    layout: str = "3x4+II"  # 3x4+II | 3x4+3 | 6x2 | 12x1
    grid_mode: str = "colour"  # colour | grey | none
    grid_colour_major_rgb: tuple[int, int, int] = (162, 33, 68)  # as the Challenge examples
    grid_colour_minor_rgb: tuple[int, int, int] = (180, 142, 83)
    grid_major_width_px: float = 1.4  # 1 px core + 0.2 opacity on each side, as the examples
    grid_minor_width_px: float = 1.4
    trace_colour_rgb: tuple[int, int, int] = (30, 30, 30)
    trace_width_px: float = 2.0  # 1-3; cv2 draws integer widths, rounded after dpi scaling
    calibration_pulse: bool = True
    separators: bool = True  # short bars where a row's segment changes lead
    lead_labels: bool = True
    header_text: bool = True  # "ID: ..., Name:" on top and "25mm/s 10mm/mV" at the bottom
    style_jitter: bool = False  # random trace width / grid colour per image (training diversity)
    realism: RealismConfig = field(default_factory=RealismConfig)

    def validate(self) -> None:
        """Raise ValueError naming the first out-of-range setting."""
        if self.paper not in PAPER_SIZES_MM:
            raise ValueError(f"paper {self.paper!r} not in {sorted(PAPER_SIZES_MM)}")
        if not 100 <= self.dpi <= 300:
            raise ValueError(f"dpi {self.dpi} outside 100-300")
        if float(self.speed_mm_per_s) not in ALLOWED_SPEEDS_MM_PER_S:
            raise ValueError(f"speed_mm_per_s {self.speed_mm_per_s} not in {ALLOWED_SPEEDS_MM_PER_S}")
        if float(self.gain_mm_per_mv) not in ALLOWED_GAINS_MM_PER_MV:
            raise ValueError(f"gain_mm_per_mv {self.gain_mm_per_mv} not in {ALLOWED_GAINS_MM_PER_MV}")
        if self.grid_mode not in GRID_MODES:
            raise ValueError(f"grid_mode {self.grid_mode!r} not in {GRID_MODES}")
        if not 1.0 <= self.trace_width_px <= 3.0:
            raise ValueError(f"trace_width_px {self.trace_width_px} outside 1-3")

    @property
    def px_per_mm(self) -> float:
        return self.dpi / MM_PER_INCH


PRESETS: dict[str, RealismConfig] = {
    "clean": RealismConfig(),
    "scan": RealismConfig(
        paper_tint_prob=0.5,
        rotation_prob=1.0,
        rotation_max_deg=3.0,
        noise_prob=1.0,
        noise_max_sigma=5.0,
        blur_prob=0.5,
        blur_max_sigma_px=0.8,
        jpeg_prob=0.8,
        crop_prob=0.3,
        crop_max_frac=0.02,
    ),
    "bw": RealismConfig(
        rotation_prob=0.7,
        rotation_max_deg=2.0,
        noise_prob=1.0,
        noise_max_sigma=6.0,
        bw_prob=1.0,
        lowres_prob=0.3,
        lowres_min_scale=0.7,
    ),
    "photo": RealismConfig(
        paper_tint_prob=0.7,
        wrinkle_prob=0.5,
        rotation_prob=1.0,
        rotation_max_deg=10.0,
        perspective_prob=1.0,
        perspective_max_frac=0.06,
        shadow_prob=0.9,
        blur_prob=0.8,
        blur_max_sigma_px=1.5,
        noise_prob=1.0,
        noise_max_sigma=8.0,
        jpeg_prob=1.0,
        jpeg_quality_min=50,
        jpeg_quality_max=90,
        crop_prob=0.3,
        lowres_prob=0.3,
        lowres_min_scale=0.6,
    ),
    "stained": RealismConfig(
        paper_tint_prob=1.0,
        crease_prob=0.9,
        wrinkle_prob=0.7,
        stain_prob=1.0,
        rotation_prob=0.7,
        rotation_max_deg=5.0,
        noise_prob=0.7,
        noise_max_sigma=5.0,
        jpeg_prob=0.5,
    ),
}
MIX_CHOICES: tuple[str, ...] = tuple(PRESETS)
CUSTOM_VARIANT = "custom"  # keep the config's own `realism` block
VARIANTS: tuple[str, ...] = (*PRESETS, "mix", CUSTOM_VARIANT)


def resolve_variant(variant: str, rng: np.random.Generator) -> tuple[str, RealismConfig]:
    """Preset name -> (name actually used, its RealismConfig); 'mix' draws one preset at random."""
    if variant == "mix":
        variant = str(rng.choice(MIX_CHOICES))
    if variant not in PRESETS:
        raise ValueError(f"unknown variant {variant!r}; known: {list(VARIANTS)}")
    return variant, dataclasses.replace(PRESETS[variant])


def with_variant(config: RenderConfig, variant: str, rng: np.random.Generator) -> tuple[str, RenderConfig]:
    """A copy of `config` whose realism is the preset `variant` (resolved as in `resolve_variant`).

    'custom' keeps `config.realism` (set from YAML or `--set realism.x=y`).
    """
    if variant == CUSTOM_VARIANT:
        return variant, config
    name, realism = resolve_variant(variant, rng)
    return name, dataclasses.replace(config, realism=realism)
