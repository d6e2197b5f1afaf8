"""Rectify a page from the local frequency and phase of its printed grid.

In any tile of the image the grid is two plane waves: one for the vertical lines, one for the
horizontal ones. Their local frequency vectors are the gradients of the page coordinates (in grid
periods) with respect to the image pixels, so tiles spread over the page sample the Jacobian of the
image -> page homography; a robust least-squares fit to those gradients gets it to ~0.2 %. Each
tile's phase (where it sits between two grid lines) then pins the page coordinates themselves, and
a fit to the unwrapped phases leaves ~0.02 % of scale spread (fold-9 photo renders; an upright
scan reads as a similarity to 0.01 %). Tiles where the trace, text or a stain hides the grid drop
out as outliers. Hough lines and vanishing points reached only ~1 % and up to 4 deg of shear on the
same renders; the sheet's outline, 0.2-2 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import fft as sfft
from scipy.optimize import least_squares

from ecgvision.digitize.grid import grid_evidence

COORD_SCALE_PX = 1000.0  # the fit works in image pixels / this, centred on the image (conditioning)


@dataclass(frozen=True)
class GridHomographyConfig:
    enabled: bool = True
    tile_px: int = 256  # square tiles whose spectra are measured (~32 minor periods at 200 dpi)
    max_side_px: int = 3300  # larger images are measured on a copy this size (a 300 dpi letter page)
    min_period_px: float = 2.5  # the grid harmonic that is followed has a period in this range
    max_period_px: float = 20.0
    family_range_deg: float = 30.0  # a family's frequency lies within this of the x (y) axis
    search_fraction: float = 0.12  # a tile's peak is sought this close to the expected frequency
    refit_search_fraction: float = 0.05  # ... and this close to the first fit's prediction
    min_peak_ratio: float = 30.0  # peak power / mean power at that frequency's radius: grid seen
    min_tiles: int = 8  # fewer tiles that see both families: no fit
    robust_scale: float = 0.002  # relative frequency misfit beyond which a tile counts as outlier
    phase_robust_cycles: float = 0.05  # phase misfit (cycles) beyond which a tile counts as outlier
    unwrap_rounds: int = 3  # refits of the phases, each taking whole cycles from the last fit
    min_nonsimilarity: float = 0.002  # scale spread or anisotropy below this: a similarity, no warp
    max_size_ratio: float = 1.5  # the rectified image may grow at most this much per side


@dataclass(frozen=True)
class TileSpectra:
    centres_xy: np.ndarray  # (n, 2) tile centres, image px
    tiles: np.ndarray  # (n, T, T) float32 windowed grid evidence
    power: np.ndarray  # (n, T, T) float32 |FFT|^2
    band_power: np.ndarray  # (n,) mean power at the followed harmonic's radius (the noise level)


def grid_evidence_highpass(image_rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 grid evidence minus its local mean: lines stay, shading and shadows go."""
    evidence = grid_evidence(image_rgb)
    return evidence - cv2.blur(evidence, (31, 31))


def tile_origins(shape: tuple[int, int], tile: int) -> list[tuple[int, int]]:
    """Top-left corners of tiles covering the image edge to edge (overlapping where they must)."""
    height, width = shape
    if height < tile or width < tile:
        return []
    ys = np.linspace(0, height - tile, int(round((height - tile) / tile)) + 1).astype(int)
    xs = np.linspace(0, width - tile, int(round((width - tile) / tile)) + 1).astype(int)
    return [(int(x), int(y)) for y in ys for x in xs]


def frequency_grid(tile: int) -> tuple[np.ndarray, np.ndarray]:
    """(FX, FY) cycles/px of an unshifted tile x tile FFT."""
    freqs = np.fft.fftfreq(tile)
    return np.meshgrid(freqs, freqs)


def tile_spectra(evidence: np.ndarray, radius: float, config: GridHomographyConfig) -> TileSpectra:
    """Windowed tiles, their power spectra and the mean power at frequency magnitude `radius`."""
    size = config.tile_px
    origins = tile_origins(evidence.shape, size)
    window = np.outer(np.hanning(size), np.hanning(size)).astype(np.float32)
    tiles = np.stack([evidence[y : y + size, x : x + size] * window for x, y in origins])
    power = (np.abs(sfft.fft2(tiles, axes=(1, 2))) ** 2).astype(np.float32)
    fx, fy = frequency_grid(size)
    annulus = np.abs(np.hypot(fx, fy) - radius) < 0.3 * radius
    centres = np.array([[x + size / 2.0, y + size / 2.0] for x, y in origins])
    return TileSpectra(centres, tiles, power, power[:, annulus].mean(axis=1))


def dominant_frequencies(evidence: np.ndarray, config: GridHomographyConfig) -> list[np.ndarray]:
    """The strongest grid harmonic of each family (near x, near y) in the central part of the page."""
    height, width = evidence.shape
    size = min(512, height, width)
    top, left = (height - size) // 2, (width - size) // 2
    patch = evidence[top : top + size, left : left + size] * np.outer(np.hanning(size), np.hanning(size))
    power = np.abs(np.fft.fft2(patch)) ** 2
    fx, fy = frequency_grid(size)
    magnitude, angle = np.hypot(fx, fy), np.degrees(np.arctan2(fy, fx))
    band = (magnitude > 1.0 / config.max_period_px) & (magnitude < 1.0 / config.min_period_px)
    families = [band & (np.abs(angle - axis_deg) < config.family_range_deg) for axis_deg in (0.0, 90.0)]
    peaks = [int(np.argmax(np.where(family, power, -1.0))) for family in families]
    # a square grid: both families follow the harmonic of the stronger one (b/w pages can favour
    # different ones per axis)
    strong = int(power.flat[peaks[1]] > power.flat[peaks[0]])
    same_harmonic = np.abs(magnitude / magnitude.flat[peaks[strong]] - 1.0) < config.search_fraction
    other = 1 - strong
    peaks[other] = int(np.argmax(np.where(families[other] & same_harmonic, power, -1.0)))
    return [np.array([fx.flat[i], fy.flat[i]]) for i in peaks]


def dtft(tile: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    """Complex DTFT of `tile` at every (ky[i], kx[j]) (cycles/px), as [i, j]."""
    n = np.arange(tile.shape[0], dtype=np.float64)
    along_x = np.exp(-2j * math.pi * np.outer(n, kx))
    along_y = np.exp(-2j * math.pi * np.outer(n, ky))
    rows = tile @ along_x.real + 1j * (tile @ along_x.imag)
    return along_y.T @ rows


def dtft_power(tile: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    """|DTFT|^2 of `tile` at every (ky[i], kx[j]), as [i, j]."""
    return np.abs(dtft(tile, kx, ky)) ** 2


def phase_at_centre(tile: np.ndarray, k: np.ndarray) -> float:
    """Fractional page coordinate (cycles, in [0, 1)) of the tile's centre along the wave with local
    frequency `k`, counted from the nearest line (a darkness maximum) below it."""
    value = dtft(tile, np.array([k[0]]), np.array([k[1]]))[0, 0]
    return float((k @ np.full(2, tile.shape[0] / 2.0) + np.angle(value) / (2 * math.pi)) % 1.0)


def refine_peak(tile: np.ndarray, k: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Sub-bin peak of the tile's spectrum near `k`: parabolic steps on the log power, each a third
    of the last (a tile's peak is found to ~1/50 of a bin)."""
    step = 1.0 / tile.shape[0]
    offsets = np.array([-1.0, 0.0, 1.0])
    for _ in range(iterations):
        log_power = np.log(dtft_power(tile, k[0] + step * offsets, k[1] + step * offsets) + 1e-12)
        shift = []
        for line in (log_power[1, :], log_power[:, 1]):  # along x, along y
            curvature = line[2] - 2 * line[1] + line[0]
            shift.append(
                0.0 if curvature >= 0 else float(np.clip((line[0] - line[2]) / (2 * curvature), -1, 1))
            )
        k = k + step * np.array(shift)
        step /= 3.0
    return k


def peak_near(
    spectra: TileSpectra, index: int, expected: np.ndarray, fraction: float
) -> tuple[np.ndarray, float]:
    """(refined frequency, peak / band power) of tile `index` within `fraction` of `expected`."""
    size = spectra.tiles.shape[1]
    reach = max(1, int(math.ceil(fraction * np.hypot(*expected) * size)))
    centre = np.round(expected * size).astype(int)
    offsets = np.arange(-reach, reach + 1)
    rows, cols = (centre[1] + offsets) % size, (centre[0] + offsets) % size
    local = spectra.power[index][np.ix_(rows, cols)]
    i, j = np.unravel_index(int(np.argmax(local)), local.shape)
    coarse = np.array([centre[0] + offsets[j], centre[1] + offsets[i]], dtype=np.float64) / size
    strength = float(local[i, j] / max(spectra.band_power[index], 1e-12))
    return refine_peak(spectra.tiles[index].astype(np.float64), coarse), strength


def fit_homography(params: np.ndarray) -> np.ndarray:
    """The homography [[a b 0] [d e 0] [g h 1]] of the gradient fit's parameters (a, b, d, e, g, h):
    the page's origin at the image centre (the offsets come from the phases)."""
    a, b, d, e, g, h = params
    return np.array([[a, b, 0.0], [d, e, 0.0], [g, h, 1.0]])


def homography_jacobians(homography: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(n, 2, 2) Jacobians d(u, v)/d(x, y) of a 3x3 homography at points `xy`; row 0 is the gradient
    of u, row 1 that of v."""
    w = np.column_stack([xy, np.ones(len(xy))]) @ homography[2]
    mapped = page_coordinates(homography, xy)
    return (homography[None, :2, :2] - mapped[:, :, None] * homography[None, 2:, :2]) / w[:, None, None]


def page_gradients(params: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of the page coordinates (u, v) of the gradient fit's homography at xy."""
    jacobians = homography_jacobians(fit_homography(params), xy)
    return jacobians[:, 0, :], jacobians[:, 1, :]


def measure_tiles(
    spectra: TileSpectra, expected_v: np.ndarray, expected_h: np.ndarray, fraction: float, config
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tile indices, k of the vertical lines, k of the horizontal lines) of the tiles that see both
    families near their expected (n, 2) frequencies."""
    kept = []
    for i in range(len(spectra.centres_xy)):
        pair = [peak_near(spectra, i, expected[i], fraction) for expected in (expected_v, expected_h)]
        if min(strength for _, strength in pair) >= config.min_peak_ratio:
            kept.append((i, pair[0][0], pair[1][0]))
    if not kept:
        return np.empty(0, int), np.empty((0, 2)), np.empty((0, 2))
    index, k_v, k_h = (np.array(column) for column in zip(*kept, strict=True))
    return index, k_v * np.sign(k_v[:, :1]), k_h * np.sign(k_h[:, 1:])  # one sign per family


def fit_gradients(xy: np.ndarray, k_v: np.ndarray, k_h: np.ndarray, start: np.ndarray, config) -> np.ndarray:
    """Homography parameters whose page-coordinate gradients match the measured frequencies."""
    scale = float(np.median(np.hypot(*k_v.T)))

    def misfit(params: np.ndarray) -> np.ndarray:
        grad_u, grad_v = page_gradients(params, xy)
        return np.concatenate([(grad_u - k_v).ravel(), (grad_v - k_h).ravel()]) / scale

    return least_squares(misfit, start, loss="soft_l1", f_scale=config.robust_scale).x


@dataclass(frozen=True)
class GridFit:
    homography: np.ndarray | None  # 3x3 image px -> page (grid periods); None when no grid
    tiles: int  # tiles that saw both line families
    reason: str = ""


def fit_grid_homography(image_rgb: np.ndarray, config: GridHomographyConfig | None = None) -> GridFit:
    """Image -> page homography (page units: periods of the followed grid harmonic)."""
    config = config or GridHomographyConfig()
    scale = min(1.0, config.max_side_px / max(image_rgb.shape[:2]))
    if scale < 1.0:  # a phone photo of 20+ Mpx: the fit's relative precision does not need them all
        small = cv2.resize(image_rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        fit = fit_grid_homography(small, config)
        if fit.homography is None:
            return fit
        return GridFit(fit.homography @ np.diag([scale, scale, 1.0]), fit.tiles, fit.reason)
    evidence = grid_evidence_highpass(image_rgb)
    height, width = evidence.shape
    if min(height, width) < config.tile_px:
        return GridFit(None, 0, "image too small to measure the grid")
    start_k = dominant_frequencies(evidence, config)
    spectra = tile_spectra(evidence, float(np.hypot(*start_k[0])), config)
    centre = np.array([width / 2.0, height / 2.0])
    tile_xy = (spectra.centres_xy - centre) / COORD_SCALE_PX
    expected = [np.repeat(k[None, :], len(tile_xy), axis=0) for k in start_k]
    params = None
    for fraction in (config.search_fraction, config.refit_search_fraction):
        index, k_v, k_h = measure_tiles(spectra, *expected, fraction, config)
        if len(index) < config.min_tiles:
            return GridFit(None, len(index), f"grid seen in {len(index)} tiles ({config.min_tiles} needed)")
        if params is None:
            params = np.array([*np.median(k_v, 0), *np.median(k_h, 0), 0.0, 0.0]) * COORD_SCALE_PX
        params = fit_gradients(tile_xy[index], k_v * COORD_SCALE_PX, k_h * COORD_SCALE_PX, params, config)
        # the second pass looks for each tile's peak where the first fit puts it (strong perspective)
        expected = [grad / COORD_SCALE_PX for grad in page_gradients(params, tile_xy)]
    phases = np.array(
        [
            [phase_at_centre(spectra.tiles[i].astype(np.float64), k) for k in (kv, kh)]
            for i, kv, kh in zip(index, k_v, k_h, strict=True)
        ]
    )
    homography = fit_phases(tile_xy[index], phases, params, config)
    # image px -> the fit's coordinates (centred, / COORD_SCALE_PX), as tile_xy was made
    to_fit = (
        np.array([[1.0, 0.0, -centre[0]], [0.0, 1.0, -centre[1]], [0.0, 0.0, COORD_SCALE_PX]])
        / COORD_SCALE_PX
    )
    return GridFit(homography @ to_fit, len(index))


def page_coordinates(homography: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(n, 2) page coordinates (u, v) of points `xy` under a 3x3 homography."""
    mapped = np.column_stack([xy, np.ones(len(xy))]) @ homography.T
    return mapped[:, :2] / mapped[:, 2:]


def fit_phases(xy: np.ndarray, phases: np.ndarray, gradient_params: np.ndarray, config) -> np.ndarray:
    """3x3 homography whose page coordinates at the tiles match the grid's phase there.

    The gradient fit is good to ~0.2 %, which leaves a few tenths of a cycle across the page; the
    phases (each tile's position between two grid lines) pin the page coordinates to a few hundredths
    of a cycle once the whole number of cycles is taken from the current fit (refitted a few times,
    so that a tile unwrapped to the wrong cycle comes back)."""
    homography = fit_homography(gradient_params)
    start = page_coordinates(homography, xy)
    offsets = np.angle(np.exp(2j * math.pi * (phases - start)).mean(axis=0)) / (2 * math.pi)
    homography[:2, 2] = offsets
    for _ in range(config.unwrap_rounds):
        predicted = page_coordinates(homography, xy)
        targets = phases + np.round(predicted - phases)

        def misfit(params: np.ndarray, targets=targets) -> np.ndarray:
            return (page_coordinates(np.append(params, 1.0).reshape(3, 3), xy) - targets).ravel()

        homography = np.append(
            least_squares(
                misfit, homography.ravel()[:8], loss="soft_l1", f_scale=config.phase_robust_cycles
            ).x,
            1.0,
        ).reshape(3, 3)
    return homography


def local_jacobians(homography: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(n, 2, 2) Jacobians of `homography` on a 7 x 5 lattice over an image of `shape`."""
    height, width = shape
    xs, ys = np.meshgrid(np.linspace(0, width - 1, 7), np.linspace(0, height - 1, 5))
    return homography_jacobians(homography, np.column_stack([xs.ravel(), ys.ravel()]))


def nonsimilarity(homography: np.ndarray, shape: tuple[int, int]) -> float:
    """How far the map is from a similarity over the image: the larger of its relative scale spread
    and its largest anisotropy (shear or unequal x/y scale)."""
    return jacobians_nonsimilarity(local_jacobians(homography, shape))


def jacobians_nonsimilarity(jacobians: np.ndarray) -> float:
    """`nonsimilarity` of a map given by its Jacobians over the image."""
    singular = np.linalg.svd(jacobians, compute_uv=False)
    area_scale = np.sqrt(singular[:, 0] * singular[:, 1])
    spread = float(np.ptp(area_scale) / area_scale.mean())
    return max(spread, float((singular[:, 0] / singular[:, 1]).max() - 1.0))


def rectifying_warp(
    fit: GridFit, shape: tuple[int, int], config: GridHomographyConfig
) -> tuple[np.ndarray | None, tuple[int, int], str]:
    """(image px -> rectified px homography, output size, why not) that keeps the grid's pitch in px;
    None when the fit is a similarity (nothing to undo that the rotation search cannot) or the
    output would be implausibly large."""
    if fit.homography is None:
        return None, (0, 0), fit.reason
    jacobians = local_jacobians(fit.homography, shape)
    if jacobians_nonsimilarity(jacobians) < config.min_nonsimilarity:
        return None, (0, 0), "grid is a rotated rectangle: rotation only"
    period_px = 1.0 / float(np.median(np.sqrt(np.abs(np.linalg.det(jacobians)))))
    height, width = shape
    corners = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float64)
    mapped = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), fit.homography).reshape(-1, 2) * period_px
    low, high = mapped.min(axis=0), mapped.max(axis=0)
    size = (int(math.ceil(high[0] - low[0])) + 1, int(math.ceil(high[1] - low[1])) + 1)
    if size[0] > config.max_size_ratio * width or size[1] > config.max_size_ratio * height:
        return None, (0, 0), "rectified page would be implausibly large"
    frame = np.array([[period_px, 0.0, -low[0]], [0.0, period_px, -low[1]], [0.0, 0.0, 1.0]])
    return frame @ fit.homography, size, ""
