"""Photo geometry: the sheet's corners are found and rectified; scans pass through untouched."""

import cv2
import numpy as np

from ecgvision.digitize.grid_homography import fit_grid_homography
from ecgvision.digitize.perspective import correct_perspective, order_corners, to_input_coords


def photograph(page: np.ndarray, corners_xy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The page warped onto a dark background so that its corners land on `corners_xy`."""
    height, width = page.shape[:2]
    source = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, corners_xy.astype(np.float32))
    return cv2.warpPerspective(page, matrix, size, borderValue=(60, 55, 50))


def test_a_photographed_page_is_rectified(examples):
    page = examples[0].image
    corners = np.array([[180, 140], [2050, 60], [2120, 1560], [120, 1640]], float)
    photo = photograph(page, corners, (2200, 1700))
    result = correct_perspective(photo)
    assert result.homography is not None
    height, width = result.image_rgb.shape[:2]
    assert abs(height / width - 8.5 / 11) < 0.01
    # the rectified page's corners map back onto the photographed corners (within ~1 % of the page)
    back = to_input_coords(
        np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], float), result.homography
    )
    assert np.abs(back - corners).max() < 20
    # and the page content is upright again: the grid pitch is the same along x and y
    from ecgvision.digitize.grid import find_grid

    grid = find_grid(result.image_rgb)
    assert grid.found and abs(grid.px_per_mm_x / grid.px_per_mm_y - 1) < 0.02


def test_a_scan_that_fills_the_frame_is_left_alone(examples):
    result = correct_perspective(examples[0].image)
    assert result.homography is None
    assert result.image_rgb is examples[0].image


def test_corners_are_ordered_clockwise_from_top_left():
    shuffled = np.array([[2100, 1600], [100, 90], [120, 1650], [2000, 50]], float)
    ordered = order_corners(shuffled)
    assert ordered.tolist() == [[100, 90], [2000, 50], [2100, 1600], [120, 1650]]


def test_a_sheet_cut_by_the_frame_is_rectified_from_its_visible_edges(examples):
    """The top-left corner lies outside the photo: the two edges that meet there are extended."""
    corners = np.array([[-70, 120], [2060, 50], [2130, 1580], [110, 1660]], float)
    photo = photograph(examples[0].image, corners, (2200, 1700))
    result = correct_perspective(photo)
    assert result.homography is not None, result.reason
    height, width = result.image_rgb.shape[:2]
    page = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], float)
    assert np.abs(to_input_coords(page, result.homography) - corners).max() < 25


def page_to_photo(page_shape: tuple[int, int], corners_xy: np.ndarray) -> np.ndarray:
    height, width = page_shape
    source = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float64)
    return cv2.getPerspectiveTransform(source.astype(np.float32), corners_xy.astype(np.float32))


def test_a_sheet_with_a_side_out_of_frame_is_rectified_from_its_grid_lines(examples):
    """The left edge is out of frame, so the outline gives no corners; the grid's local frequency does."""
    corners = np.array([[-300, 100], [2050, 60], [2120, 1600], [-300, 1650]], float)
    result = correct_perspective(photograph(examples[0].image, corners, (2200, 1700)))
    assert result.homography is not None and "from its grid" in result.reason, result.reason
    # page -> rectified image is a scaling and a shift only: the same scale all over the page
    page_to_output = result.homography @ page_to_photo(examples[0].image.shape[:2], corners)
    xs = np.array([[300.0, 800.0], [1200.0, 800.0], [2100.0, 800.0], [1200.0, 100.0], [1200.0, 1600.0]])
    mapped = cv2.perspectiveTransform(xs.reshape(-1, 1, 2), page_to_output).reshape(-1, 2)
    step = cv2.perspectiveTransform((xs + [10.0, 10.0]).reshape(-1, 1, 2), page_to_output).reshape(-1, 2)
    scales = (step - mapped) / 10.0  # local x and y scale at each point
    assert np.ptp(scales[:, 0]) / scales[:, 0].mean() < 0.002, scales
    assert np.ptp(scales[:, 1]) / scales[:, 1].mean() < 0.002, scales
    assert abs(scales[:, 0].mean() / scales[:, 1].mean() - 1) < 0.002  # a square grid stays square
    rows = mapped[[0, 1, 2], 1]
    assert np.ptp(rows) < 1  # a horizontal page line is horizontal again (within 1 px over 1800)


def test_no_grid_rectification_without_grid_lines(examples):
    plain = np.full_like(examples[0].image, 245)
    corners = np.array([[-300, 100], [2050, 60], [2120, 1600], [-300, 1650]], float)
    found = fit_grid_homography(photograph(plain, corners, (2200, 1700)))
    assert found.homography is None and "grid seen in 0 tiles" in found.reason


def test_a_rotated_rectangular_sheet_is_left_to_the_rotation_search(examples):
    """A skewed scan (a rotated rectangle on a dark platen) is not warped: deskew is more precise."""
    angle = np.deg2rad(4.0)
    centre = np.array([1100.0, 850.0])
    half = np.array([[-1000, -773], [1000, -773], [1000, 773], [-1000, 773]], float)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = half @ rotation.T + centre
    result = correct_perspective(photograph(examples[0].image, corners, (2200, 1700)))
    assert result.homography is None and "rotation only" in result.reason


def test_a_wrong_outline_warp_gives_way_to_the_grid(examples, monkeypatch):
    """An outline taken from a shadow or the desk warps the page 40 % askew (fold-9 photos 171 and
    190): no grid can be measured after it, so the grid of the photo itself rectifies the page."""
    import ecgvision.digitize.perspective as perspective
    from ecgvision.digitize.grid_homography import nonsimilarity

    corners = np.array([[150, 120], [2060, 70], [2110, 1590], [110, 1640]], float)
    photo = photograph(examples[0].image, corners, (2200, 1700))
    skewed = np.array([[0.28, 0.2, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # squeezed: 1 mm < 2.5 px

    def wrong_outline(image_rgb, config):
        warped = cv2.warpPerspective(image_rgb, skewed, (2200, 1700), borderValue=(255, 255, 255))
        return perspective.PerspectiveResult(warped, skewed, "page rectified from a photo")

    monkeypatch.setattr(perspective, "rectify_by_outline", wrong_outline)
    result = perspective.correct_perspective(photo)
    assert result.homography is not None and result.reason.startswith("page rectified from its grid")
    page_to_output = result.homography @ page_to_photo(examples[0].image.shape[:2], corners)
    assert nonsimilarity(page_to_output, examples[0].image.shape[:2]) < 0.002
