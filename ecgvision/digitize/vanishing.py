"""Rectify a photographed page from its grid lines when the sheet's outline is not all in view.

The printed grid is two families of parallel lines; in a photo each family meets at a vanishing
point. Sending both points to infinity (the line through them becomes the line at infinity) undoes
the perspective; an affine step then makes the families horizontal and vertical, and a last scale
makes the grid square. Lines come from a Hough transform of the thin dark structure, each family's
vanishing point from RANSAC over line pairs (text, trace and Hough duplicates are outliers) refined
by least squares on the inliers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ecgvision.digitize.grid import GridConfig, estimate_period

MIN_PERIOD_STRENGTH = GridConfig.min_peak_ratio  # spectral peak / band median that makes a grid


@dataclass(frozen=True)
class VanishingConfig:
    work_width_px: int = 800  # lines are found on a copy this wide (speed; the VP stays precise)
    line_width_px: int = 5  # top-hat size: thinner dark structure counts as line
    family_range_deg: float = 25.0  # a family's lines lie within this of horizontal (vertical)
    max_lines: int = 400  # strongest Hough lines kept per family
    min_votes_fraction: float = 0.25  # of the shorter image side
    min_lines: int = 20  # fewer inliers than this: no reliable vanishing point
    inlier_deg: float = 0.08  # a line within this angle of pointing at the vanishing point agrees
    ransac_iterations: int = 300
    max_size_ratio: float = 1.5  # the rectified page may grow at most this much per side


@dataclass(frozen=True)
class GridRectification:
    homography: np.ndarray | None  # 3x3 input -> output pixels; None when not found
    size: tuple[int, int] = (0, 0)  # output (width, height)
    reason: str = ""


def thin_line_map(image_rgb: np.ndarray, width_px: int, config: VanishingConfig) -> tuple[np.ndarray, float]:
    """(binary uint8 map of thin dark lines at the work scale, scale factor work / input)."""
    scale = min(1.0, config.work_width_px / image_rgb.shape[1])
    small = cv2.resize(image_rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    darkness = np.ascontiguousarray(255 - small.min(axis=2))
    thin = cv2.morphologyEx(darkness, cv2.MORPH_TOPHAT, np.ones((width_px, width_px), np.uint8))
    _, binary = cv2.threshold(thin, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return binary, scale


def hough_family(binary: np.ndarray, horizontal: bool, config: VanishingConfig) -> np.ndarray:
    """(n, 2) (rho, theta) of the strongest lines within `family_range_deg` of the family's direction;
    near-vertical lines are given theta in (-range, range) so that a family is one angle interval."""
    votes = int(config.min_votes_fraction * min(binary.shape))
    spread = math.radians(config.family_range_deg)

    def lines(lo: float, hi: float, count: int) -> np.ndarray:
        found = cv2.HoughLines(binary, 1, np.pi / 720, votes, min_theta=lo, max_theta=hi)
        return np.empty((0, 2), np.float64) if found is None else found[:count, 0, :].astype(np.float64)

    if horizontal:
        return lines(np.pi / 2 - spread, np.pi / 2 + spread, config.max_lines)
    half = config.max_lines // 2
    upper = lines(np.pi - spread, np.pi, half)
    upper[:, 0] *= -1.0  # (rho, theta) and (-rho, theta - pi) are the same line
    upper[:, 1] -= np.pi
    return np.concatenate([lines(0.0, spread, half), upper])


def vanishing_point(
    lines: np.ndarray, centre: np.ndarray, config: VanishingConfig
) -> tuple[np.ndarray | None, int]:
    """(homogeneous vanishing point, inlier count) of a family of (rho, theta) lines."""
    if len(lines) < 2:
        return None, 0
    homogeneous = np.stack([np.cos(lines[:, 1]), np.sin(lines[:, 1]), -lines[:, 0]], axis=1)
    normal = homogeneous[:, :2]
    direction = np.stack([-normal[:, 1], normal[:, 0]], axis=1)
    foot = centre[None, :] - (normal @ centre + homogeneous[:, 2])[:, None] * normal

    def misfit_deg(vp: np.ndarray) -> np.ndarray:
        towards = vp[None, :2] - foot * vp[2]
        towards /= np.maximum(np.linalg.norm(towards, axis=1, keepdims=True), 1e-12)
        sine = np.abs(towards[:, 0] * direction[:, 1] - towards[:, 1] * direction[:, 0])
        return np.degrees(np.arcsin(np.clip(sine, 0.0, 1.0)))

    rng = np.random.default_rng(0)
    best = np.zeros(len(lines), dtype=bool)
    for _ in range(config.ransac_iterations):
        i, j = rng.choice(len(lines), 2, replace=False)
        vp = np.cross(homogeneous[i], homogeneous[j])
        norm = np.linalg.norm(vp)
        if norm == 0:
            continue
        inliers = misfit_deg(vp / norm) < config.inlier_deg
        if inliers.sum() > best.sum():
            best = inliers
    if best.sum() < config.min_lines:
        return None, int(best.sum())
    _, _, vt = np.linalg.svd(homogeneous[best])
    return vt[-1], int(best.sum())


def rectifying_homography(vp_horizontal: np.ndarray, vp_vertical: np.ndarray) -> np.ndarray | None:
    """3x3 map that sends both vanishing points to infinity along +x and +y (up to scale per axis)."""
    horizon = np.cross(vp_horizontal, vp_vertical)
    if abs(horizon[2]) < 1e-12:
        return None
    projective = np.eye(3)
    projective[2] = horizon / horizon[2]
    directions = []
    for vp, axis in ((vp_horizontal, 0), (vp_vertical, 1)):
        d = (projective @ vp)[:2]
        d = d / max(np.linalg.norm(d), 1e-12)
        directions.append(d if d[axis] > 0 else -d)
    basis = np.column_stack(directions)
    if abs(np.linalg.det(basis)) < 0.5:  # the families are far from perpendicular: not a grid
        return None
    affine = np.eye(3)
    affine[:2, :2] = np.linalg.inv(basis)
    return affine @ projective


def square_grid_scale(binary: np.ndarray, homography: np.ndarray, size: tuple[int, int]) -> float | None:
    """y scale that makes the warped grid's vertical pitch equal its horizontal pitch."""
    warped = cv2.warpPerspective(binary, homography, size, flags=cv2.INTER_LINEAR).astype(np.float64)
    period_x, strength_x = estimate_period(warped.mean(axis=0), 2.0, 40.0)
    if not strength_x > MIN_PERIOD_STRENGTH:
        return None
    # the same (minor or major) pitch along y: search near the x period only
    period_y, strength_y = estimate_period(warped.mean(axis=1), period_x / 1.4, period_x * 1.4)
    if not strength_y > MIN_PERIOD_STRENGTH:
        return None
    return float(period_x / period_y)


def fit_to_frame(
    homography: np.ndarray, shape: tuple[int, int], width: int
) -> tuple[np.ndarray, tuple[int, int]]:
    """`homography` followed by the shift and uniform scale that put the input's corners in a frame
    `width` pixels wide with its top-left at the origin."""
    height_in, width_in = shape
    corners = np.array([[0, 0], [width_in - 1, 0], [width_in - 1, height_in - 1], [0, height_in - 1]], float)
    mapped = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), homography).reshape(-1, 2)
    low, high = mapped.min(axis=0), mapped.max(axis=0)
    scale = (width - 1) / max(high[0] - low[0], 1e-9)
    frame = np.array([[scale, 0, -scale * low[0]], [0, scale, -scale * low[1]], [0, 0, 1.0]])
    size = (width, int(round((high[1] - low[1]) * scale)) + 1)
    return frame @ homography, size


def grid_rectification(image_rgb: np.ndarray, config: VanishingConfig | None = None) -> GridRectification:
    """The homography that makes the page's grid upright and square, from its vanishing points."""
    config = config or VanishingConfig()
    binary, scale = thin_line_map(image_rgb, config.line_width_px, config)
    centre = np.array([binary.shape[1] / 2.0, binary.shape[0] / 2.0])
    found = []
    for horizontal in (True, False):
        vp, count = vanishing_point(hough_family(binary, horizontal, config), centre, config)
        if vp is None:
            return GridRectification(None, reason=f"only {count} grid lines agree on a vanishing point")
        found.append(vp)
    work = rectifying_homography(*found)
    if work is None:
        return GridRectification(None, reason="grid line families are not perpendicular")
    work, size = fit_to_frame(work, binary.shape, binary.shape[1])
    ratio = square_grid_scale(binary, work, size)
    if ratio is None or not 1 / config.max_size_ratio < ratio < config.max_size_ratio:
        return GridRectification(None, reason="no grid pitch after rectification")
    work = np.diag([1.0, ratio, 1.0]) @ work
    to_work = np.diag([scale, scale, 1.0])
    full, size = fit_to_frame(work @ to_work, image_rgb.shape[:2], image_rgb.shape[1])
    if size[1] > config.max_size_ratio * image_rgb.shape[0]:
        return GridRectification(None, reason="rectified page would be implausibly tall")
    return GridRectification(full, size)
