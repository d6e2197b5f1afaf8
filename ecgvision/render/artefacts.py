"""Realism artefacts. Photometric ones change pixels only; geometric ones form one page->image homography.

Smooth shading fields (creases, wrinkles, stains, shadows) are built at 1/FIELD_DOWNSCALE
resolution and resized up, which keeps a 200 dpi page at a few tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ecgvision.render.config import RealismConfig

FIELD_DOWNSCALE = 8
DESK_COLOURS_RGB = ((70, 60, 50), (120, 110, 100), (40, 40, 45), (160, 150, 135), (200, 200, 200))


@dataclass
class Warp:
    homography: np.ndarray  # (3, 3) page px -> image px
    width_px: int
    height_px: int
    fill_rgb: tuple[int, int, int]  # what shows outside the page

    @property
    def is_identity(self) -> bool:
        return np.allclose(self.homography, np.eye(3))


def _happens(rng: np.random.Generator, probability: float) -> bool:
    # Always draw, so that one artefact's probability does not shift the others' random streams.
    return bool(rng.random() < probability)


def _low_res_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = max(2, height // FIELD_DOWNSCALE), max(2, width // FIELD_DOWNSCALE)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs * (width / w), ys * (height / h)


def _multiply(image: np.ndarray, gain_low: np.ndarray) -> np.ndarray:
    """image * gain for a low-res gain field ((h, w) or (h, w, 3), values in [0, 1]), resized up.

    Done in uint8 with cv2 (1/255 gain steps) because float arithmetic on a full page is slow.
    """
    gain = np.clip(gain_low, 0.0, 1.0)
    gain = gain if gain.ndim == 3 else np.repeat(gain[..., None], 3, axis=2)
    height, width = image.shape[:2]
    gain_u8 = cv2.resize(
        np.round(gain * 255).astype(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR
    )
    return cv2.multiply(image, gain_u8, scale=1.0 / 255)


def _add_signed(image: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """image + noise ((H, W) float, the same on every channel) with uint8 saturation."""
    positive = np.clip(noise, 0, 255).astype(np.uint8)
    negative = np.clip(-noise, 0, 255).astype(np.uint8)
    return cv2.subtract(cv2.add(image, cv2.merge([positive] * 3)), cv2.merge([negative] * 3))


def gaussian_noise(height: int, width: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 N(0, sigma^2) noise from cv2's generator (several times faster than numpy's),
    seeded from `rng` so that the image stays a function of the seed."""
    cv2.setRNGSeed(int(rng.integers(2**31 - 1)))
    noise = np.empty((height, width), dtype=np.float32)
    cv2.randn(noise, 0.0, float(sigma))
    return noise


def crease_field(height: int, width: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Low-res multiplicative shading of straight folds: a dark groove and a shaded slope beside it."""
    xs, ys = _low_res_grid(height, width)
    gain = np.ones_like(xs)
    for _ in range(count):
        vertical = rng.random() < 0.5
        angle = rng.normal(0.0, 0.03) + (0.0 if vertical else np.pi / 2)
        offset = rng.uniform(0.2, 0.8) * (width if vertical else height)
        distance = xs * np.cos(angle) + ys * np.sin(angle) - offset
        sigma = rng.uniform(3.0, 10.0)
        depth = rng.uniform(0.05, 0.18)
        # A dark groove; the lit side of the fold is the paper's own white.
        gain *= 1.0 - depth * np.exp(-0.5 * (distance / sigma) ** 2)
        gain *= 1.0 - 0.4 * depth * np.exp(-0.5 * ((distance + 2.5 * sigma) / (2 * sigma)) ** 2)
    return gain


def wrinkle_field(height: int, width: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Low-res shading of crumpled paper: smoothed noise at a few scales."""
    xs, _ = _low_res_grid(height, width)
    h, w = xs.shape
    field = np.zeros((h, w), dtype=np.float32)
    for cells in (4, 9, 20):
        coarse = rng.standard_normal((cells, max(2, cells * w // h))).astype(np.float32)
        field += cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC) / cells**0.5
    field /= max(1e-6, float(np.abs(field).max()))
    return 1.0 - strength * rng.uniform(0.3, 1.0) * np.clip(field, 0, 1)


def stain_field(height: int, width: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Low-res (h, w, 3) multiplicative brown stains with darker rims (coffee rings)."""
    xs, ys = _low_res_grid(height, width)
    gain = np.ones((*xs.shape, 3), dtype=np.float32)
    for _ in range(count):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        rx, ry = rng.uniform(0.03, 0.12) * width, rng.uniform(0.03, 0.12) * height
        wobble = cv2.resize(rng.standard_normal((6, 6)).astype(np.float32), xs.shape[::-1]) * 0.15
        radius = np.sqrt(((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2) + wobble
        body = np.clip(1.0 - radius, 0, 1) ** 0.5
        rim = np.exp(-0.5 * ((radius - 1.0) / 0.05) ** 2)
        alpha = np.clip(rng.uniform(0.1, 0.35) * body + rng.uniform(0.1, 0.4) * rim, 0, 0.6)
        tint = np.array([0.80, 0.62, 0.38]) + rng.uniform(-0.05, 0.05, 3)
        gain *= 1.0 - alpha[..., None] * (1.0 - tint.astype(np.float32))
    return gain


def shadow_field(height: int, width: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Low-res lighting: a linear gradient plus a soft-edged shadow over part of the frame."""
    xs, ys = _low_res_grid(height, width)
    angle = rng.uniform(0, 2 * np.pi)
    u = (xs - width / 2) * np.cos(angle) + (ys - height / 2) * np.sin(angle)
    u /= max(width, height) / 2
    gain = 1.0 - rng.uniform(0.0, strength / 2) * (u + 1) / 2
    edge = rng.uniform(-0.6, 0.6)
    softness = rng.uniform(0.02, 0.2)
    v = (xs - width / 2) * np.cos(angle + 1.3) + (ys - height / 2) * np.sin(angle + 1.3)
    v /= max(width, height) / 2
    shadow = 1.0 / (1.0 + np.exp(-(v - edge) / softness))
    return gain * (1.0 - rng.uniform(0.3, 1.0) * strength * shadow)


def apply_paper_artefacts(image: np.ndarray, realism: RealismConfig, rng: np.random.Generator) -> list[str]:
    """Tint, creases, wrinkles, stains on the unwarped page, in place; returns the names applied."""
    height, width = image.shape[:2]
    applied = []
    gain = np.ones((*_low_res_grid(height, width)[0].shape, 3), dtype=np.float32)
    if _happens(rng, realism.paper_tint_prob):
        gain *= np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.82, 0.98)], dtype=np.float32)
        applied.append("tint")
    if _happens(rng, realism.crease_prob):
        gain *= crease_field(height, width, int(rng.integers(1, realism.crease_max_count + 1)), rng)[
            ..., None
        ]
        applied.append("crease")
    if _happens(rng, realism.wrinkle_prob):
        gain *= wrinkle_field(height, width, realism.wrinkle_strength, rng)[..., None]
        applied.append("wrinkle")
    if _happens(rng, realism.stain_prob):
        gain *= stain_field(height, width, int(rng.integers(1, realism.stain_max_count + 1)), rng)
        applied.append("stain")
    if applied:
        image[:] = _multiply(image, gain)
    return applied


def _rotation(angle_deg: float, width: int, height: int) -> np.ndarray:
    return np.vstack([cv2.getRotationMatrix2D((width / 2, height / 2), angle_deg, 1.0), [0, 0, 1]])


def _perspective(max_frac: float, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Camera tilt: random corner offsets around a page shrunk so that some background shows."""
    src = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    zoom = rng.uniform(0.85, 1.0)
    centre = np.array([width / 2, height / 2], dtype=np.float32)
    dst = centre + (src - centre) * zoom
    dst += rng.uniform(-max_frac, max_frac, (4, 2)).astype(np.float32) * np.array([width, height], np.float32)
    return cv2.getPerspectiveTransform(src, dst.astype(np.float32))


def sample_warp(
    width: int, height: int, realism: RealismConfig, rng: np.random.Generator
) -> tuple[Warp, list[str]]:
    """Rotation -> perspective -> crop -> downscale, composed into one homography and output size."""
    matrix, applied, fill = np.eye(3), [], (255, 255, 255)
    if _happens(rng, realism.rotation_prob):
        matrix = _rotation(rng.uniform(-realism.rotation_max_deg, realism.rotation_max_deg), width, height)
        applied.append("rotation")
    if _happens(rng, realism.perspective_prob):
        matrix = _perspective(realism.perspective_max_frac, width, height, rng) @ matrix
        fill = tuple(int(c) for c in DESK_COLOURS_RGB[int(rng.integers(len(DESK_COLOURS_RGB)))])
        applied.append("perspective")
    out_w, out_h = width, height
    if _happens(rng, realism.crop_prob):
        left, right = (rng.uniform(0, realism.crop_max_frac, 2) * width).round()
        top, bottom = (rng.uniform(0, realism.crop_max_frac, 2) * height).round()
        matrix = np.array([[1, 0, -left], [0, 1, -top], [0, 0, 1]]) @ matrix
        out_w, out_h = int(width - left - right), int(height - top - bottom)
        applied.append("crop")
    if _happens(rng, realism.lowres_prob):
        scale = rng.uniform(realism.lowres_min_scale, 1.0)
        new_w, new_h = max(1, int(round(out_w * scale))), max(1, int(round(out_h * scale)))
        matrix = np.diag([new_w / out_w, new_h / out_h, 1.0]) @ matrix
        out_w, out_h = new_w, new_h
        applied.append("lowres")
    return Warp(matrix, out_w, out_h, fill), applied


def apply_warp(image: np.ndarray, warp: Warp) -> np.ndarray:
    """Warp the page; when shrinking, pre-blur so thin lines do not alias away."""
    scale = float(np.sqrt(abs(np.linalg.det(warp.homography[:2, :2]))))
    if scale < 0.8:
        image = cv2.GaussianBlur(image, (0, 0), 0.4 / scale)
    return cv2.warpPerspective(
        image,
        warp.homography,
        (warp.width_px, warp.height_px),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=warp.fill_rgb,
    )


def threshold_bw(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Black/white scan: luminance or red-channel (red-dropout scanners lose the grid) threshold.

    The threshold sits between the trace ink (~30) and the light grid (luminance ~146 minor,
    ~76 major): with luminance the major grid survives, with the red channel the grid vanishes.
    """
    if rng.random() < 0.5:
        grey, threshold = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), rng.uniform(100, 140)
    else:
        grey, threshold = image[..., 0], rng.uniform(90, 140)
    return np.repeat(np.where(grey > threshold, 255, 0).astype(np.uint8)[..., None], 3, axis=2)


def apply_camera_artefacts(
    image: np.ndarray, realism: RealismConfig, rng: np.random.Generator
) -> tuple[np.ndarray, bytes | None, list[str]]:
    """Shadow, blur, noise, b/w, JPEG on the final image; returns (image, JPEG bytes or None, names)."""
    height, width = image.shape[:2]
    applied = []
    if _happens(rng, realism.shadow_prob):
        image = _multiply(image, shadow_field(height, width, realism.shadow_strength, rng))
        applied.append("shadow")
    if _happens(rng, realism.blur_prob):
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, realism.blur_max_sigma_px))
        applied.append("blur")
    if _happens(rng, realism.noise_prob):
        sigma = rng.uniform(0.3, 1.0) * realism.noise_max_sigma
        image = _add_signed(image, gaussian_noise(height, width, sigma, rng))
        applied.append("noise")
    if _happens(rng, realism.bw_prob):
        image = threshold_bw(image, rng)
        applied.append("bw")
    encoded = None
    if _happens(rng, realism.jpeg_prob):
        quality = int(rng.integers(realism.jpeg_quality_min, realism.jpeg_quality_max + 1))
        ok, buffer = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        encoded = buffer.tobytes()
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)[..., ::-1].copy()
        applied.append(f"jpeg{quality}")
    return image, encoded, applied
