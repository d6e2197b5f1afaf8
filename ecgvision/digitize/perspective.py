"""Perspective: undo a photo's keystone in two steps.

1. Outline: find the paper sheet (bright page on a darker background) and warp its four corners to
   an upright landscape page. This works without a grid, but the outline is found on a small copy
   and leaves 0.2-2 % of scale error across the page.
2. Grid: fit the homography to the local frequency of the printed grid
   (`ecgvision.digitize.grid_homography`), on the outline's result or on the photo itself when the
   frame cuts the sheet's outline; it leaves about 0.1 %. A grid that is a rotated rectangle (a
   scan) is left to the rotation search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from ecgvision.digitize.grid import LETTER_WIDTH_IN
from ecgvision.digitize.grid_homography import GridHomographyConfig, fit_grid_homography, rectifying_warp

LETTER_ASPECT = 8.5 / LETTER_WIDTH_IN  # height / width of a landscape letter page
TEXTURE_SIGMA_PX = 3.0  # high-pass scale of the page texture (a 1 mm grid at 100-300 dpi)
TEXTURE_WINDOW_PX = 25  # ... averaged over this window
SIDE_FIT_DISTANCE_PX = 4.0  # outline points this close to a side (work scale) refine its line
PAGE_CONTRAST = {"texture": 2.0, "brightness": 1.25}  # page / background median to trust a split


@dataclass(frozen=True)
class PerspectiveConfig:
    enabled: bool = True
    work_width_px: int = 800  # the sheet is sought on a copy this wide (speed)
    min_page_fraction: float = 0.25  # the sheet covers at least this much of the image ...
    max_page_fraction: float = 0.97  # ... and less than this (else it fills the frame: nothing to do)
    min_quad_fill: float = 0.9  # the fitted quadrilateral covers this much of the outline's hull
    border_margin_fraction: float = (
        0.01  # outline within this of the image border is where the frame cut the sheet
    )
    outline_epsilon: float = 0.004  # polygon approximation tolerance, fraction of the perimeter
    max_side_bend_deg: float = 2.0  # consecutive pieces bending less than this are one sheet edge
    min_side_fraction: float = 0.08  # a sheet edge is at least this much of the outline's perimeter
    min_keystone_deg: float = (
        3.0  # corners closer than this to 90 deg: a rotated rectangle (a scan), left to deskew
    )
    min_correction_px: float = 3.0  # corners this close to an upright rectangle need no warp
    grid: GridHomographyConfig = field(default_factory=GridHomographyConfig)  # the second step


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


def page_texture(image_rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32: local mean absolute high-pass of the brightness. The printed page (grid,
    trace, text) is textured at the 1 mm scale; a table or a wall behind it is not."""
    value = image_rgb.max(axis=2).astype(np.float32)
    detail = np.abs(value - cv2.GaussianBlur(value, (0, 0), TEXTURE_SIGMA_PX))
    return cv2.blur(detail, (TEXTURE_WINDOW_PX, TEXTURE_WINDOW_PX))


def page_mask(image_rgb: np.ndarray, scale: float) -> tuple[np.ndarray | None, str]:
    """uint8 mask of the sheet at `scale`: textured (gridded) pixels, else bright ones (plain paper)."""
    size = (max(1, int(round(image_rgb.shape[1] * scale))), max(1, int(round(image_rgb.shape[0] * scale))))
    for name, evidence in (("texture", page_texture(image_rgb)), ("brightness", image_rgb.max(axis=2))):
        small = cv2.resize(evidence.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), 2.0)
        levels = cv2.normalize(small, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        _, mask = cv2.threshold(levels, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        inside, outside = small[mask > 0], small[mask == 0]
        if (
            outside.size
            and inside.size
            and float(np.median(inside)) > PAGE_CONTRAST[name] * max(float(np.median(outside)), 1e-3)
        ):
            return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8)), ""
    return None, ""  # no background that differs from the paper: a scan, nothing to rectify


def find_page_corners(image_rgb: np.ndarray, config: PerspectiveConfig) -> tuple[np.ndarray | None, str]:
    """(4, 2) page corners in input pixels, or (None, why not)."""
    scale = min(1.0, config.work_width_px / image_rgb.shape[1])
    mask, reason = page_mask(image_rgb, scale)
    if mask is None:
        return None, reason
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None, "no page outline"
    page = max(contours, key=cv2.contourArea)
    fraction = cv2.contourArea(page) / float(mask.size)
    if not config.min_page_fraction <= fraction <= config.max_page_fraction:
        return None, ""  # the page fills the frame (a scan) or no sheet stands out: nothing to rectify
    hull = cv2.convexHull(page)
    corners, reason = sheet_corners(
        hull.reshape(-1, 2).astype(np.float64), page.reshape(-1, 2).astype(np.float64), mask.shape, config
    )
    return (None, reason) if corners is None else (corners / scale, "")


def on_image_border(a: np.ndarray, b: np.ndarray, shape: tuple[int, int], margin: float) -> bool:
    """True when the segment a-b runs along one border of an image of `shape` (the cut of the frame)."""
    height, width = shape
    for axis, limit in ((0, 0.0), (0, width - 1.0), (1, 0.0), (1, height - 1.0)):
        if abs(a[axis] - limit) <= margin and abs(b[axis] - limit) <= margin:
            return True
    return False


def intersect(p1: np.ndarray, p2: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> np.ndarray | None:
    """Intersection of the lines p1-p2 and q1-q2 (None when parallel)."""
    d1, d2 = p2 - p1, q2 - q1
    denom = d1[0] * d2[1] - d1[1] * d2[0]
    if abs(denom) < 1e-9:
        return None
    t = ((q1[0] - p1[0]) * d2[1] - (q1[1] - p1[1]) * d2[0]) / denom
    return p1 + t * d1


def angle_between(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]) -> float:
    """Angle in degrees between the directions of two segments."""
    d1, d2 = first[1] - first[0], second[1] - second[0]
    cosine = np.dot(d1, d2) / max(np.linalg.norm(d1) * np.linalg.norm(d2), 1e-12)
    return math.degrees(math.acos(float(np.clip(cosine, -1.0, 1.0))))


def fit_side(side: tuple[np.ndarray, np.ndarray], outline_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The side refitted (least squares) to the outline points along its middle 80 %: the
    approximating polygon's vertices are only roughly on the sheet's corners."""
    a, b = side
    direction = (b - a) / np.linalg.norm(b - a)
    normal = np.array([-direction[1], direction[0]])
    along = (outline_xy - a) @ direction
    length = float(np.linalg.norm(b - a))
    near = (
        (np.abs((outline_xy - a) @ normal) < SIDE_FIT_DISTANCE_PX)
        & (along > 0.1 * length)
        & (along < 0.9 * length)
    )
    if near.sum() < 10:
        return side
    vx, vy, x0, y0 = cv2.fitLine(outline_xy[near].astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    point = np.array([x0, y0], dtype=np.float64)
    return point, point + np.array([vx, vy], dtype=np.float64)


def sheet_corners(
    hull_xy: np.ndarray, outline_xy: np.ndarray, shape: tuple[int, int], config: PerspectiveConfig
) -> tuple[np.ndarray | None, str]:
    """The sheet's 4 corners from its outline: the outline's straight sides that are not the image
    border, extended to meet (a corner the photo cut off lies outside the image)."""
    outline = hull_xy.astype(np.float32).reshape(-1, 1, 2)
    perimeter = cv2.arcLength(outline, True)
    # fine enough that a sheet edge and the frame border it meets at a shallow angle stay apart
    polygon = cv2.approxPolyDP(outline, config.outline_epsilon * perimeter, True).reshape(-1, 2)
    margin = config.border_margin_fraction * max(shape)
    sides: list[tuple[np.ndarray, np.ndarray]] = []
    for k in range(len(polygon)):
        a, b = polygon[k].astype(np.float64), polygon[(k + 1) % len(polygon)].astype(np.float64)
        if on_image_border(a, b, shape, margin):
            continue
        if (
            sides
            and np.allclose(sides[-1][1], a)
            and angle_between(sides[-1], (a, b)) < config.max_side_bend_deg
        ):
            sides[-1] = (sides[-1][0], b)  # one straight edge split by the approximation
        else:
            sides.append((a, b))
    if (
        len(sides) > 1
        and np.allclose(sides[-1][1], sides[0][0])
        and angle_between(sides[-1], sides[0]) < config.max_side_bend_deg
    ):
        sides[0] = (sides.pop()[0], sides[0][1])
    sides = [(a, b) for a, b in sides if np.linalg.norm(b - a) >= config.min_side_fraction * perimeter]
    if len(sides) != 4:
        return None, f"{len(sides)} sheet edges visible (4 needed to rectify)"
    sides = [fit_side(side, outline_xy) for side in sides]
    corners = [intersect(*sides[k - 1], *sides[k]) for k in range(4)]
    if any(c is None for c in corners):
        return None, "sheet edges are parallel"
    corners = order_corners(np.array(corners))
    if cv2.contourArea(corners.astype(np.float32)) < config.min_quad_fill * cv2.contourArea(
        hull_xy.astype(np.float32)
    ):
        return None, "page outline is not a quadrilateral"
    return corners, ""


def max_corner_skew_deg(corners: np.ndarray) -> float:
    """Largest deviation from 90 degrees of the quadrilateral's corner angles (0 for a rectangle)."""
    skews = []
    for k in range(4):
        before, after = corners[k - 1] - corners[k], corners[(k + 1) % 4] - corners[k]
        skews.append(abs(90.0 - angle_between((np.zeros(2), before), (np.zeros(2), after))))
    return max(skews)


def correct_perspective(image_rgb: np.ndarray, config: PerspectiveConfig | None = None) -> PerspectiveResult:
    """Rectify a photographed page: by its outline, then by its grid (either may find nothing to do).
    An outline warp after which no grid can be measured was a wrong quadrilateral (a shadow or the
    desk taken for the sheet: fold-9 photos 171 and 190 came out 40 % skewed) when the photo itself
    shows the grid: then the grid alone rectifies it."""
    config = config or PerspectiveConfig()
    if not config.enabled:
        return PerspectiveResult(image_rgb, None)
    outline = rectify_by_outline(image_rgb, config)
    if not config.grid.enabled:
        return outline
    grid, seen = rectify_by_grid(outline.image_rgb, config.grid)
    if not seen and outline.homography is not None:
        unrectified, _ = rectify_by_grid(image_rgb, config.grid)
        if unrectified.homography is not None:
            return unrectified
    if grid.homography is None:
        return outline
    homography = grid.homography if outline.homography is None else grid.homography @ outline.homography
    reason = "; ".join(r for r in (outline.reason, grid.reason) if r)
    return PerspectiveResult(grid.image_rgb, homography, reason)


def rectify_by_outline(image_rgb: np.ndarray, config: PerspectiveConfig) -> PerspectiveResult:
    """Warp the photographed sheet to an upright landscape page as wide as the input image."""
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
    if max_corner_skew_deg(corners) < config.min_keystone_deg:
        # a rotated rectangle (a skewed scan): the rotation search is more precise than the outline
        return PerspectiveResult(image_rgb, None, "sheet outline is a rectangle: rotation only")
    homography = cv2.getPerspectiveTransform(corners.astype(np.float32), target.astype(np.float32))
    warped = warp(image_rgb, homography, (out_width, out_height))
    skew = math.degrees(math.atan2(corners[1, 1] - corners[0, 1], corners[1, 0] - corners[0, 0]))
    return PerspectiveResult(warped, homography, f"page rectified from a photo (top edge at {skew:.1f} deg)")


def rectify_by_grid(image_rgb: np.ndarray, config: GridHomographyConfig) -> tuple[PerspectiveResult, bool]:
    """(the page warped so that its grid is upright, square and even, whether a grid was seen); a
    grid that is already a (rotated) rectangle is left to the rotation search."""
    fit = fit_grid_homography(image_rgb, config)
    homography, size, reason = rectifying_warp(fit, image_rgb.shape[:2], config)
    seen = fit.homography is not None
    if homography is None:
        return PerspectiveResult(image_rgb, None, reason), seen
    warped = warp(image_rgb, homography, size)
    return PerspectiveResult(warped, homography, f"page rectified from its grid ({fit.tiles} tiles)"), seen


def warp(image_rgb: np.ndarray, homography: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The image through `homography` into a (width, height) frame, white paper outside it."""
    return cv2.warpPerspective(
        image_rgb, homography, size, flags=cv2.INTER_CUBIC, borderValue=(255, 255, 255)
    )


def to_input_coords(points_xy: np.ndarray, homography: np.ndarray) -> np.ndarray:
    """(n, 2) rectified-page pixels -> input-image pixels."""
    if points_xy.size == 0:
        return points_xy
    inverse = np.linalg.inv(homography)
    return cv2.perspectiveTransform(points_xy.reshape(-1, 1, 2).astype(np.float64), inverse).reshape(-1, 2)
