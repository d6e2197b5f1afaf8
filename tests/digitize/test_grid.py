import cv2
import numpy as np

from ecgvision.digitize.grid import find_grid
from ecgvision.digitize.trace import TraceEvidenceConfig, colour_trace_probability

CHALLENGE_PX_PER_MM = 200 / 25.4  # 200 dpi


def test_grid_pitch_within_a_tenth_of_a_percent(examples):
    for ex in examples:
        grid = find_grid(ex.image, colour_trace_probability(ex.image, TraceEvidenceConfig()))
        assert grid.found, grid.reason
        assert abs(grid.px_per_mm_x / CHALLENGE_PX_PER_MM - 1) < 0.001, grid
        assert abs(grid.px_per_mm_y / CHALLENGE_PX_PER_MM - 1) < 0.001, grid


def test_blank_page_falls_back_on_page_width():
    blank = np.full((850, 1100, 3), 255, dtype=np.uint8)
    grid = find_grid(blank)
    assert not grid.found and grid.source == "page-width"
    assert abs(grid.px_per_mm_x - 100 / 25.4) < 1e-6  # 1100 px across 11 in


def test_a_foreshortened_grid_keeps_a_pitch_per_axis(examples):
    """A photo taken at an angle stretches one axis (fold-9 photo 6: 7.6 %); the grid is still found,
    each axis with its own pitch, rather than replaced by a letter-width guess."""
    image = examples[0].image
    stretched = cv2.resize(
        image, (round(image.shape[1] * 1.076), image.shape[0]), interpolation=cv2.INTER_AREA
    )
    grid = find_grid(stretched, colour_trace_probability(stretched, TraceEvidenceConfig()))
    assert grid.found, grid.reason
    assert abs(grid.px_per_mm_x / (1.076 * CHALLENGE_PX_PER_MM) - 1) < 0.002, grid
    assert abs(grid.px_per_mm_y / CHALLENGE_PX_PER_MM - 1) < 0.002, grid
