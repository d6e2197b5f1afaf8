"""ECG paper: the 1 mm / 5 mm grid (anti-aliased, cached per style) and text glyph masks (cached).

As in the Challenge examples, vertical lines count from the left edge (so the 15 mm trace start
falls on a major line) and horizontal lines from the bottom edge.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ecgvision.constants import MAJOR_GRID_MM, MINOR_GRID_MM
from ecgvision.render.layout import PageGeometry

PAPER_WHITE_RGB = (255, 255, 255)
GREY_MAJOR_RGB = (110, 110, 110)
GREY_MINOR_RGB = (185, 185, 185)


def line_coverage(length_px: int, positions_px: np.ndarray, width_px: float) -> np.ndarray:
    """(length_px,) opacity of grid lines snapped to whole pixels, as the Challenge images draw them.

    A line of width w >= 1 fills its nearest pixel and spills (w - 1) / 2 into each neighbour
    (w = 1.4 gives the examples' 1 + 0.2 + 0.2 profile); w < 1 is a single faint pixel.
    """
    coverage = np.zeros(length_px, dtype=np.float32)
    centre = np.round(positions_px).astype(int)
    core, spill = min(1.0, width_px), float(np.clip((width_px - 1.0) / 2, 0.0, 1.0))
    for offset, opacity in ((-1, spill), (1, spill), (0, core)):
        pixel = centre + offset
        pixel = pixel[(pixel >= 0) & (pixel < length_px)]
        coverage[pixel] = np.maximum(coverage[pixel], opacity)
    return coverage


def _grid_axis(
    length_px: int, px_per_mm: float, pitch_mm: float, width_px: float, from_end: bool
) -> np.ndarray:
    """Line opacity along one axis; `from_end` counts lines from the far edge (y from the bottom)."""
    positions = np.arange(0.0, length_px / px_per_mm + pitch_mm, pitch_mm) * px_per_mm
    if from_end:
        positions = length_px - positions
    return line_coverage(length_px, positions, width_px)


@lru_cache(maxsize=8)
def grid_page(
    page: PageGeometry,
    major_rgb: tuple[int, int, int],
    minor_rgb: tuple[int, int, int],
    major_width_px: float,
    minor_width_px: float,
    paper_rgb: tuple[int, int, int] = PAPER_WHITE_RGB,
) -> np.ndarray:
    """(H, W, 3) uint8 paper with minor then major grid lines; read-only (copy before drawing)."""
    alphas = []  # (H, W) opacity of the minor, then the major lines (separable: max of the two axes)
    for pitch_mm, width in ((MINOR_GRID_MM, minor_width_px), (MAJOR_GRID_MM, major_width_px)):
        cx = _grid_axis(page.width_px, page.px_per_mm, pitch_mm, width, from_end=False)
        cy = _grid_axis(page.height_px, page.px_per_mm, pitch_mm, width, from_end=True)
        alphas.append(np.maximum.outer(cy, cx))
    out = np.empty((page.height_px, page.width_px, 3), dtype=np.uint8)
    for c in range(3):  # per channel: a third of the memory traffic of an (H, W, 3) float image
        value = np.full(alphas[0].shape, float(paper_rgb[c]), dtype=np.float32)
        value += alphas[0] * (minor_rgb[c] - value)
        value += alphas[1] * (major_rgb[c] - value)
        out[..., c] = np.round(value)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=1)
def _font_path() -> str | None:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return str(path) if path.is_file() else None


@lru_cache(maxsize=256)
def text_mask(text: str, size_px: int) -> tuple[np.ndarray, int]:
    """(h, w) float32 coverage of `text` in DejaVu Sans at `size_px`, and the ascent-to-top offset in px.

    The offset is how far the mask's first row lies below the text origin's top line, so callers
    can place text by its top-left corner.
    """
    path = _font_path()
    font = ImageFont.truetype(path, size_px) if path else ImageFont.load_default()
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(canvas).text((-left, -top), text, fill=255, font=font)
    mask = np.asarray(canvas, dtype=np.float32) / 255.0
    mask.setflags(write=False)
    return mask, top
