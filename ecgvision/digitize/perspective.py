"""Perspective: find the paper sheet in a photo (bright page on a darker background) and warp its
four corners to an upright landscape page.

A photo taken at an angle maps the page's rectangle to a general quadrilateral; the homography from
its corners undoes rotation, keystone and scale in one step, after which the page-width prior and
the grid pitch hold again. A scan (page fills the frame) or a page whose corners are not all visible
is left as it is (the later rotation search handles small skew).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ecgvision.digitize.grid import LETTER_WIDTH_IN

LETTER_ASPECT = 8.5 / LETTER_WIDTH_IN  # height / width of a landscape letter page


@dataclass(frozen=True)
class PerspectiveConfig:
    enabled: bool = True
    work_width_px: int = 800  # the sheet is sought on a copy this wide (speed)
    min_page_fraction: float = 0.25  # the sheet covers at least this much of the image ...
    max_page_fraction: float = 0.97  # ... and less than this (else it fills the frame: nothing to do)
    min_background_contrast: float = 40.0  # paper minus background brightness (0-255) to trust the split
    min_correction_px: float = 3.0  # corners this close to an upright rectangle need no warp


@dataclass(frozen=True)
class PerspectiveResult:
    image_rgb: np.ndarray  # the rectified page (or the input unchanged)
    homography: np.ndarray | None  # 3x3 input -> output pixel map; None when not applied
    reason: str = ""


def order_corners(points: np.ndarray) -> np.ndarray:
    """(4, 2) corners ordered top-left, top-right, bottom-right, bottom-left."""
    points = np.asarray(points, dtype=np.float64).reshape(4, 2)
    total = points.sum(axis=1)
    diff = points[:, 1] - points[:, 0]
    return np.array(
        [points[np.argmin(total)], points[np.argmin(diff)], points[np.argmax(total)], points[np.argmax(diff)]]
    )


def find_page_corners(image_rgb: np.ndarray, config: PerspectiveConfig) -> tuple[np.ndarray | None, str]:
    """(4, 2) page corners in input pixels, or (None, why not)."""
    height, width = image_rgb.shape[:2]
    scale = min(1.0, config.work_width_px / width)
    small = cv2.resize(image_rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    value = cv2.GaussianBlur(small.max(axis=2), (0, 0), 2.0)
    threshold, mask = cv2.threshold(value, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    paper, background = (
        float(value[mask > 0].mean()),
        float(value[mask == 0].mean()) if (mask == 0).any() else 255.0,
    )
    if paper - background < config.min_background_contrast:
        return None, "no page edge (no background darker than the paper)"
    mask = cv2.morphologyEx(
        mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8)
    )  # the trace and grid are dark too
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None, "no page outline"
    page = max(contours, key=cv2.contourArea)
    fraction = cv2.contourArea(page) / float(mask.size)
    if not config.min_page_fraction <= fraction <= config.max_page_fraction:
        return None, f"page outline covers {fraction:.0%} of the image: not a photographed sheet"
    hull = cv2.convexHull(page)
    perimeter = cv2.arcLength(hull, True)
    for epsilon in (0.01, 0.02, 0.03, 0.05):
        quad = cv2.approxPolyDP(hull, epsilon * perimeter, True)
        if len(quad) == 4:
            return order_corners(quad.reshape(4, 2) / scale), ""
    return None, "page outline is not a quadrilateral (a corner is cut off)"


def correct_perspective(image_rgb: np.ndarray, config: PerspectiveConfig | None = None) -> PerspectiveResult:
    """Warp the photographed sheet to an upright landscape page as wide as the input image."""
    config = config or PerspectiveConfig()
    if not config.enabled:
        return PerspectiveResult(image_rgb, None)
    corners, reason = find_page_corners(image_rgb, config)
    if corners is None:
        return PerspectiveResult(image_rgb, None, reason)
    top_width = np.linalg.norm(corners[1] - corners[0])
    bottom_width = np.linalg.norm(corners[2] - corners[3])
    out_width = int(round(max(top_width, bottom_width)))
    out_height = int(round(out_width * LETTER_ASPECT))
    target = np.array(
        [[0, 0], [out_width - 1, 0], [out_width - 1, out_height - 1], [0, out_height - 1]], float
    )
    if np.abs(corners - target).max() < config.min_correction_px:
        return PerspectiveResult(image_rgb, None)
    homography = cv2.getPerspectiveTransform(corners.astype(np.float32), target.astype(np.float32))
    warped = cv2.warpPerspective(
        image_rgb, homography, (out_width, out_height), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255)
    )
    skew = math.degrees(math.atan2(corners[1, 1] - corners[0, 1], corners[1, 0] - corners[0, 0]))
    return PerspectiveResult(warped, homography, f"page rectified from a photo (top edge at {skew:.1f} deg)")


def to_input_coords(points_xy: np.ndarray, homography: np.ndarray) -> np.ndarray:
    """(n, 2) rectified-page pixels -> input-image pixels."""
    if points_xy.size == 0:
        return points_xy
    inverse = np.linalg.inv(homography)
    return cv2.perspectiveTransform(points_xy.reshape(-1, 1, 2).astype(np.float64), inverse).reshape(-1, 2)
