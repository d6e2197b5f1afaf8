"""Rasterisation primitives: sub-pixel anti-aliased polylines (cv2) and text blitting."""

from __future__ import annotations

import cv2
import numpy as np

from ecgvision.render.paper import text_mask

SHIFT_BITS = 6  # cv2 fixed-point fraction: 1/64 px placement precision
_SCALE = 1 << SHIFT_BITS


def finite_runs(points_xy: np.ndarray) -> list[np.ndarray]:
    """Split an (n, 2) polyline at non-finite points (NaN samples are gaps, as on paper)."""
    ok = np.isfinite(points_xy).all(axis=1)
    if ok.all():
        return [points_xy]
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    return [points_xy[a:b] for a, b in zip(edges[::2], edges[1::2], strict=True)]


def to_fixed(points_xy: np.ndarray) -> np.ndarray:
    """Float (n, 2) pixel coordinates -> cv2's int32 fixed point with SHIFT_BITS fraction bits."""
    limit = 2**31 / _SCALE / 4  # keep far-off points (huge gains) from overflowing
    return np.round(np.clip(points_xy, -limit, limit) * _SCALE).astype(np.int32).reshape(-1, 1, 2)


def cv2_thickness(width_px: float) -> int:
    """cv2's anti-aliased lines look about one pixel wider than `thickness`: ink width -> thickness.

    Measured on the Challenge examples: their ~2 px trace has the ink of cv2 thickness 1 + LINE_AA.
    """
    return max(1, int(round(width_px)) - 1)


def draw_polylines(
    image: np.ndarray, polylines: list[np.ndarray], colour: tuple[int, ...], width_px: float
) -> None:
    """Draw open anti-aliased polylines (each (n, 2) x, y in px) of ink width `width_px` in place.

    NaN points break a line (a gap, as unprinted samples are on paper).
    """
    runs = [to_fixed(run) for line in polylines for run in finite_runs(line) if len(run) >= 1]
    runs = [np.concatenate([r, r]) if len(r) == 1 else r for r in runs]  # a lone sample is a dot
    if runs:
        cv2.polylines(image, runs, False, colour, cv2_thickness(width_px), cv2.LINE_AA, SHIFT_BITS)


def draw_bar(image: np.ndarray, x_px: float, y0_px: float, y1_px: float, colour, width_px: int) -> None:
    """A vertical bar (segment separator) of ink width `width_px` from y0 to y1 at x."""
    points = np.array([[x_px, y0_px], [x_px, y1_px]])
    cv2.polylines(image, [to_fixed(points)], False, colour, cv2_thickness(width_px), cv2.LINE_AA, SHIFT_BITS)


def draw_text(
    image: np.ndarray, text: str, left_px: float, top_px: float, size_px: int, colour: tuple[int, ...]
) -> tuple[float, float, float, float]:
    """Blend `text` with its top-left ink corner at (left, top); returns the ink box (x0, y0, x1, y1).

    Text partly off the page is clipped; the returned box is the unclipped one.
    """
    mask, _ = text_mask(text, size_px)
    h, w = mask.shape
    x0, y0 = int(round(left_px)), int(round(top_px))
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + w, image.shape[1]), min(y0 + h, image.shape[0])
    if ix1 > ix0 and iy1 > iy0:
        alpha = mask[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0][..., None]
        region = image[iy0:iy1, ix0:ix1].astype(np.float32)
        region += alpha * (np.asarray(colour, dtype=np.float32) - region)
        image[iy0:iy1, ix0:ix1] = np.round(region).astype(np.uint8)
    return float(x0), float(y0), float(x0 + w), float(y0 + h)
