"""Page homography from the local frequency and phase of the printed grid."""

import cv2
import numpy as np

from ecgvision.constants import LEADS
from ecgvision.digitize.grid_homography import (
    GridHomographyConfig,
    fit_grid_homography,
    nonsimilarity,
    rectifying_warp,
)
from ecgvision.io.records import load_signals
from ecgvision.render.config import RenderConfig, with_variant
from ecgvision.render.render import render_record


def test_a_photo_is_rectified_to_a_fifth_of_a_percent(ptbxl_fold9_slice):
    """A photographed render (keystone, rotation, downscaled to 66 %, JPEG): image -> page through the
    fit is a similarity to 0.2 % over the page (0.13 % measured), where the photo itself is > 3 % off."""
    signal, fs_hz = load_signals(ptbxl_fold9_slice[0], list(LEADS))
    rng = np.random.default_rng(3)
    name, config = with_variant(RenderConfig(), "photo", rng)
    rendered = render_record(signal, fs_hz, config, rng, variant=name)
    page_shape = (rendered.truth.page_height_px, rendered.truth.page_width_px)
    assert nonsimilarity(rendered.truth.homography, page_shape) > 0.03
    fit = fit_grid_homography(rendered.image)
    assert fit.homography is not None, fit.reason
    assert nonsimilarity(fit.homography @ rendered.truth.homography, page_shape) < 0.002


def test_an_upright_scan_is_left_alone(examples):
    """A real Challenge image (grid lines snapped to pixels): the fit is a similarity, no warp."""
    image = examples[0].image
    fit = fit_grid_homography(image)
    assert fit.homography is not None and fit.tiles >= 20, fit.reason
    assert nonsimilarity(fit.homography, image.shape[:2]) < 0.0005
    homography, _, reason = rectifying_warp(fit, image.shape[:2], GridHomographyConfig())
    assert homography is None and "rotation only" in reason


def test_a_rotated_scan_reads_as_its_rotation(examples):
    image = examples[0].image
    height, width = image.shape[:2]
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), 3.0, 1.0)
    rotated = cv2.warpAffine(image, rotation, (width, height), borderValue=(255, 255, 255))
    fit = fit_grid_homography(rotated)
    assert fit.homography is not None, fit.reason
    assert nonsimilarity(fit.homography, rotated.shape[:2]) < 0.001
    # the page's x axis, seen in the image, points 3 deg anticlockwise (y down: negative angle)
    page_x_in_image = np.linalg.inv(fit.homography[:2, :2])[:, 0]
    angle = np.degrees(np.arctan2(page_x_in_image[1], page_x_in_image[0]))
    assert abs(angle + 3.0) < 0.02


def test_no_fit_without_a_grid(examples):
    plain = np.full_like(examples[0].image, 245)
    plain[600:700, 300:1900] = 20  # a dark bar: structure, but no periodic grid
    fit = fit_grid_homography(plain)
    assert fit.homography is None and "tiles" in fit.reason


def test_a_large_image_is_measured_on_a_reduced_copy(examples):
    """A 3520 px wide scan (over `max_side_px`) is fitted on a smaller copy; the homography still maps
    the large image's own pixels (the grid period comes out 1.6 times the original's)."""
    image = examples[0].image
    large = cv2.resize(image, None, fx=1.6, fy=1.6, interpolation=cv2.INTER_CUBIC)
    original, enlarged = fit_grid_homography(image), fit_grid_homography(large)
    assert enlarged.homography is not None, enlarged.reason
    assert nonsimilarity(enlarged.homography, large.shape[:2]) < 0.0005
    gain = np.sqrt(abs(np.linalg.det(original.homography[:2, :2] / original.homography[2, 2])))
    gain_large = np.sqrt(abs(np.linalg.det(enlarged.homography[:2, :2] / enlarged.homography[2, 2])))
    assert abs(gain / gain_large - 1.6) < 0.005
