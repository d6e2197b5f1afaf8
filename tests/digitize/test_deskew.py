import math

import numpy as np
import pytest

from ecgvision.digitize.deskew import deskew, estimate_rotation, rotate_image


@pytest.mark.parametrize("angle_deg", [2.3, -0.7, -6.4])
def test_rotation_recovered_within_0p2_deg(examples, angle_deg):
    rotated = rotate_image(examples[0].image, angle_deg)
    estimate, _, reason = estimate_rotation(rotated)
    assert abs(estimate - angle_deg) < 0.2, reason


def test_upright_page_is_left_alone(examples):
    result = deskew(examples[1].image)
    assert abs(result.angle_deg) < 0.05
    assert result.image_rgb is examples[1].image  # no needless interpolation


def test_blank_image_reports_nan_with_reason():
    import numpy as np

    result = deskew(np.full((200, 300, 3), 255, dtype=np.uint8))
    assert math.isnan(result.angle_deg) and result.reason


def test_a_dark_surround_does_not_outvote_the_grid(examples):
    """A photo's dark background (whose edge is not a page line) leaves the page's angle measurable."""
    page = rotate_image(examples[0].image, 4.0)
    framed = np.full((page.shape[0] + 400, page.shape[1] + 400, 3), 50, np.uint8)
    framed[200:-200, 200:-200] = page
    angle, _, _ = estimate_rotation(framed)
    assert abs(angle - 4.0) < 0.1
