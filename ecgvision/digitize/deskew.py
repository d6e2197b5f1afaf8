"""Deskew: estimate the page rotation from its horizontal lines (grid, trace baselines) and undo it.

For a small rotation theta, a horizontal line y = y0 becomes y = y0 - x tan(theta) (image y down,
counter-clockwise positive as in cv2.getRotationMatrix2D). Shearing the ink points back by
x tan(theta) makes the row histogram sharpest at the true angle; a coarse-to-fine search over
+-max_angle finds it to ~0.02 deg. A photographed sheet's perspective is undone before, in
`ecgvision.digitize.perspective`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np

from ecgvision.digitize.grid import grid_evidence
from ecgvision.digitize.layout import Pulse
from ecgvision.digitize.trace import is_binary_page

BINARY_INK_LEVEL = 192  # brightness below which a rotated b/w pixel is ink (a quarter covered)


@dataclass(frozen=True)
class DeskewConfig:
    max_angle_deg: float = 10.0
    coarse_step_deg: float = 0.3
    fine_step_deg: float = 0.02
    downsample: int = 2  # the search runs on a 1/downsample image (speed); precision stays < 0.05 deg
    evidence_threshold: float = 0.25  # grid_evidence above which a pixel votes
    max_points: int = 120_000
    line_max_width_px: int = 5  # on the downsampled image: grid lines and trace are thinner
    min_apply_deg: float = 0.02  # smaller estimates are not worth an interpolation pass
    # rotation left after deskewing a page without grid, read from the column of its pulses' rising edges
    pulse_min_span_mm: float = 20.0  # the pulses used must span this much of the page's height
    pulse_max_misfit_px: float = 1.0  # 3+ pulses off one straight line by more than this: not used
    pulse_min_deg: float = 0.05  # a smaller residual is not worth another pass (0.05 deg: 2 px per row)
    pulse_max_deg: float = 1.0  # a larger one is a misread pulse, not the deskew's error
    # On a page whose grid levelled the rows, pulses slanting across them mean a sheared page (a
    # photo's residual perspective): rows' time origins and every stroke's x drift with height. A
    # smaller slant is mostly keystone (it changes across the page; undoing the left edge's slant
    # everywhere cost fold-9 photos 0.2-1.9 dB on 5 pages of 30 at 0.1-0.4 deg, and 2.2 dB on page
    # 32 at 1.05 deg): the rows' own origins take it. Pages 28 and 21 (1.8 deg) gain 1.4 / 0.0 dB.
    shear_min_deg: float = 1.5
    shear_max_deg: float = 5.0


@dataclass(frozen=True)
class DeskewResult:
    image_rgb: np.ndarray  # (H, W, 3) uint8, rotated back (same size as the input)
    angle_deg: float  # estimated rotation of the input (counter-clockwise positive); NaN if failed
    sharpness: float  # normalised histogram energy at the chosen angle (unitless)
    reason: str = ""
    # undone after the rotation: x' = x - shear * (y - centre_y); 0 = none
    shear: float = 0.0


def voting_points(image_rgb: np.ndarray, config: DeskewConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, weight) of the pixels that vote, in full-resolution coordinates."""
    step = config.downsample
    small = image_rgb[::step, ::step]
    # thin dark structure only (top-hat): a photo's dark surround or a shadow would otherwise outvote
    # the lines with its own edges
    evidence = grid_evidence(small)
    size = config.line_max_width_px
    evidence = evidence - cv2.morphologyEx(evidence, cv2.MORPH_OPEN, np.ones((size, size), np.uint8))
    ys, xs = np.nonzero(evidence > config.evidence_threshold)
    weights = evidence[ys, xs]
    if ys.size > config.max_points:
        keep = np.random.default_rng(0).choice(ys.size, config.max_points, replace=False)
        xs, ys, weights = xs[keep], ys[keep], weights[keep]
    return xs.astype(np.float64) * step, ys.astype(np.float64) * step, weights.astype(np.float64)


def shear_sharpness(
    xs: np.ndarray, ys: np.ndarray, weights: np.ndarray, angle_deg: float, bin_px: float
) -> float:
    """Energy of the weighted row histogram after undoing a rotation of `angle_deg`."""
    sheared = ys + xs * math.tan(math.radians(angle_deg))
    position = (sheared - sheared.min()) / bin_px
    bins = np.floor(position).astype(np.int64)
    upper = position - bins
    # linear (soft) binning: hard bins alias with the integer pixel lattice at zero shear
    histogram = np.bincount(bins, weights=weights * (1.0 - upper), minlength=bins.max() + 2)
    histogram += np.bincount(bins + 1, weights=weights * upper, minlength=bins.max() + 2)
    return float(np.dot(histogram, histogram))


def _search(xs, ys, weights, angles: np.ndarray, bin_px: float) -> tuple[float, float, np.ndarray]:
    scores = np.array([shear_sharpness(xs, ys, weights, a, bin_px) for a in angles])
    best = int(np.argmax(scores))
    return float(angles[best]), float(scores[best]), scores


def _parabolic_peak(angles: np.ndarray, scores: np.ndarray) -> float:
    """Sub-step angle from a parabola through the best score and its neighbours."""
    i = int(np.argmax(scores))
    if i == 0 or i == len(scores) - 1:
        return float(angles[i])
    left, mid, right = scores[i - 1 : i + 2]
    denom = left - 2 * mid + right
    offset = 0.5 * (left - right) / denom if denom < 0 else 0.0
    return float(angles[i] + offset * (angles[1] - angles[0]))


def estimate_rotation(image_rgb: np.ndarray, config: DeskewConfig | None = None) -> tuple[float, float, str]:
    """(angle_deg, sharpness, reason): the counter-clockwise rotation of the page's horizontal lines."""
    config = config or DeskewConfig()
    xs, ys, weights = voting_points(image_rgb, config)
    if xs.size < 1000:
        return math.nan, 0.0, f"only {xs.size} ink/grid pixels: cannot estimate rotation"
    coarse = np.arange(-config.max_angle_deg, config.max_angle_deg + 1e-9, config.coarse_step_deg)
    best, _, _ = _search(xs, ys, weights, coarse, bin_px=float(config.downsample))
    fine = best + np.arange(-config.coarse_step_deg, config.coarse_step_deg + 1e-9, config.fine_step_deg)
    _, score, scores = _search(xs, ys, weights, fine, bin_px=float(config.downsample))
    total = float(np.sum(weights)) ** 2
    return _parabolic_peak(fine, scores), score / max(total, 1e-12), ""


def rotation_matrix(shape: tuple[int, ...], angle_deg: float) -> np.ndarray:
    """2x3 affine: counter-clockwise rotation by `angle_deg` about the image centre."""
    height, width = shape[:2]
    return cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), angle_deg, 1.0)


def shear_matrix(shape: tuple[int, ...], shear: float) -> np.ndarray:
    """2x3 affine: x' = x + shear * (y - centre_y)."""
    centre_y = (shape[0] - 1) / 2.0
    return np.array([[1.0, shear, -shear * centre_y], [0.0, 1.0, 0.0]])


def rotate_image(image_rgb: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate counter-clockwise by `angle_deg` about the centre, same size, white fill."""
    return warp_image(image_rgb, rotation_matrix(image_rgb.shape, angle_deg))


def warp_image(image_rgb: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The image under a 2x3 affine, same size, white fill."""
    height, width = image_rgb.shape[:2]
    return cv2.warpAffine(
        image_rgb,
        matrix,
        (width, height),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(255, 255, 255),
    )


def warp_page(image_rgb: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The page under a 2x3 affine; a b/w page stays b/w: a pixel a moved stroke covers by a quarter
    stays ink (a 1 px line re-thresholded at one half would fall apart into dots)."""
    warped = warp_image(image_rgb, matrix)
    if not is_binary_page(image_rgb.max(axis=2)):
        return warped
    return (
        np.where(warped.max(axis=2, keepdims=True) < BINARY_INK_LEVEL, 0, 255).astype(np.uint8).repeat(3, 2)
    )


def rotate_page(image_rgb: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate counter-clockwise by `angle_deg`; a b/w page stays b/w."""
    return warp_page(image_rgb, rotation_matrix(image_rgb.shape, angle_deg))


def deskew(image_rgb: np.ndarray, config: DeskewConfig | None = None) -> DeskewResult:
    """Estimate the rotation and return the image rotated back; never raises on bad input."""
    config = config or DeskewConfig()
    try:
        angle, sharpness, reason = estimate_rotation(image_rgb, config)
    except (ValueError, cv2.error) as error:
        return DeskewResult(image_rgb, math.nan, 0.0, f"rotation estimate failed: {error}")
    if not math.isfinite(angle) or abs(angle) < config.min_apply_deg:
        return DeskewResult(image_rgb, angle, sharpness, reason)
    return DeskewResult(rotate_page(image_rgb, -angle), angle, sharpness, reason)


def pulse_residual_deg(
    pulses: list[Pulse], px_per_mm: float, config: DeskewConfig, max_deg: float | None = None
) -> float:
    """Rotation left in a deskewed page (counter-clockwise positive), NaN if the pulses cannot tell.

    Every row's calibration pulse is printed at the same x, so their rising edges (each placed to a
    fraction of a pixel) stand on one vertical line; its slant over rows ~35 mm apart is the angle.
    """
    if len(pulses) < 2:
        return math.nan
    ys = np.array([0.5 * (p.top_y_px + p.foot_y_px) for p in pulses])
    xs = np.array([p.rise_x_px for p in pulses])
    if np.ptp(ys) < config.pulse_min_span_mm * px_per_mm:
        return math.nan
    slope, intercept = np.polyfit(ys, xs, 1)
    if np.abs(xs - (slope * ys + intercept)).max() > config.pulse_max_misfit_px:
        return math.nan
    residual = math.degrees(math.atan(slope))
    limit = config.pulse_max_deg if max_deg is None else max_deg
    return residual if abs(residual) <= limit else math.nan


def refine_with_pulses(
    page_rgb: np.ndarray, skew: DeskewResult, pulses: list[Pulse], px_per_mm: float, config: DeskewConfig
) -> DeskewResult:
    """`skew` redone at the angle the pulses measure (`page_rgb` is deskew's input), or `skew` itself
    when the residual is small or unknown."""
    residual = pulse_residual_deg(pulses, px_per_mm, config)
    if not abs(residual) >= config.pulse_min_deg:  # NaN too
        return skew
    angle = (skew.angle_deg if math.isfinite(skew.angle_deg) else 0.0) + residual
    note = f"rotation refined by {residual:+.2f} deg from the calibration pulses"
    return DeskewResult(rotate_page(page_rgb, -angle), angle, skew.sharpness, note)


def unshear_with_pulses(
    skew: DeskewResult, pulses: list[Pulse], px_per_mm: float, config: DeskewConfig
) -> DeskewResult:
    """`skew` with the shear the pulses' column shows undone (its grid levelled the rows already), or
    `skew` itself when the slant is small or unknown."""
    slant = pulse_residual_deg(pulses, px_per_mm, config, config.shear_max_deg)
    if not abs(slant) >= config.shear_min_deg:  # NaN too
        return skew
    shear = math.tan(math.radians(slant))  # dx / dy of the pulses' rising edges
    image = warp_page(skew.image_rgb, shear_matrix(skew.image_rgb.shape, -shear))
    note = f"shear of {slant:+.2f} deg undone from the calibration pulses"
    reason = "; ".join(r for r in (skew.reason, note) if r)
    return dataclasses.replace(skew, image_rgb=image, reason=reason, shear=shear)
