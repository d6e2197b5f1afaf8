import math

import numpy as np
import pytest

from ecgvision.digitize.deskew import (
    DeskewConfig,
    DeskewResult,
    deskew,
    estimate_rotation,
    refine_with_pulses,
    rotate_image,
)
from ecgvision.digitize.pipeline import DigitizeConfig, read_evidence


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


def test_the_pulses_measure_the_rotation_a_gridless_deskew_left(examples):
    """A b/w page whose pale grid thresholded away: only the traces vote, and their slant can leave
    a few tenths of a degree (measured up to 0.36 on fold-9 renders). Every row's pulse is printed at
    the same x, so their rising edges give the rest."""
    page = rotate_image(examples[0].image, 0.6)
    for found in (0.3, 0.6):  # a deskew off by 0.3 deg, and an exact one
        skew = DeskewResult(rotate_image(page, -found), found, 1.0)
        grid, _, _, pulses = read_evidence(skew.image_rgb, DigitizeConfig(), None)
        pulses = [p for p in pulses if p is not None]
        assert len(pulses) >= 3
        refined = refine_with_pulses(page, skew, pulses, grid.px_per_mm_y, DeskewConfig())
        assert (
            abs(refined.angle_deg - 0.6) < 0.06
        )  # measured 0.053 (the rhythm row's pulse reads 0.4 px left)
        assert (refined is skew) == (found == 0.6)  # no second pass where nothing is left
