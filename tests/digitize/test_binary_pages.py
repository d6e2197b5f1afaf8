"""b/w (thresholded) pages: grid dashes on the 1 mm comb go, the trace stays, rotation keeps b/w."""

import cv2
import numpy as np

from ecgvision.digitize.deskew import rotate_page
from ecgvision.digitize.trace import (
    TraceEvidenceConfig,
    binary_trace_probability,
    is_binary_page,
    trace_probability,
)

PX_PER_MM = 200 / 25.4


def dashed_grid_page(height: int = 800, width: int = 1600) -> tuple[np.ndarray, np.ndarray]:
    """(ink, trace) bool: dashed major grid lines every 5 mm (as a thresholded grid looks) + a wavy trace."""
    ink = np.zeros((height, width), bool)
    major = 5 * PX_PER_MM
    dash, period = int(3 * PX_PER_MM), int(4 * PX_PER_MM)
    for y in np.arange(10.0, height, major):
        for x0 in range(0, width, period):
            ink[int(round(y)), x0 : x0 + dash] = True
    for x in np.arange(10.0, width, major):
        for y0 in range(0, height, period):
            ink[y0 : y0 + dash, int(round(x))] = True
    trace = np.zeros_like(ink)
    xs = np.arange(width)
    ys = np.round(400 + 60 * np.sin(xs / 90.0)).astype(int)
    for x in xs[1:]:
        lo, hi = sorted((ys[x - 1], ys[x]))
        trace[lo : hi + 2, x] = True  # a continuous 2 px stroke
    return ink | trace, trace


def test_grid_dashes_are_removed_and_the_trace_kept():
    ink, trace = dashed_grid_page()
    prob = binary_trace_probability(ink, PX_PER_MM, TraceEvidenceConfig())
    grid_only = ink & ~trace
    assert prob[trace].mean() > 0.9  # the trace survives (the few pixels on grid lines may go)
    assert prob[grid_only].mean() < 0.1  # the dashes are gone


def test_a_rotated_binary_page_stays_binary_and_connected():
    _, trace = dashed_grid_page()
    image = np.where(trace[..., None], 0, 255).astype(np.uint8).repeat(3, axis=2)
    assert is_binary_page(image.max(axis=2))
    rotated = rotate_page(image, 1.3)
    assert is_binary_page(rotated.max(axis=2))
    ink_columns = (rotated.max(axis=2) < 128).any(axis=0)
    assert ink_columns[50:1550].all()  # no column of the stroke falls apart


def test_colour_pages_are_not_binary(examples):
    assert not any(is_binary_page(ex.image.max(axis=2)) for ex in examples)


def test_a_learned_gate_keeps_the_trace_lying_on_a_grid_line():
    """A flat trace on a grid line merges with the dashes into one long run, which the rule removes as
    grid; gated by a model that knows the trace (here the true mask), the run's trace part stays."""
    ink, trace = dashed_grid_page()
    y = int(round(10.0 + 2 * 5 * PX_PER_MM))  # a major grid line
    flat = np.zeros_like(trace)
    flat[y : y + 2, 300:900] = True  # 76 mm of flat trace along it
    ink, trace = ink | flat, trace | flat
    image = np.where(ink[..., None], 0, 255).astype(np.uint8).repeat(3, axis=2)
    config = TraceEvidenceConfig()
    rule = trace_probability(image, PX_PER_MM, config)
    assert rule[flat].mean() < 0.5  # the rule takes the flat trace for a grid line (the test can fail)
    # the model is sure of the trace and unsure around it (its coarse map is wider than the stroke)
    near = cv2.dilate(trace.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    learned = np.where(trace, 1.0, np.where(near, 0.4, 0.0)).astype(np.float32)
    gated = trace_probability(image, PX_PER_MM, config, trace_model=lambda page, px_per_mm=None: learned)
    assert gated[flat].mean() > 0.95
    assert gated[trace].mean() > 0.95
    assert gated[ink & ~near].max() == 0.0  # no grid dash away from the trace survives
    grid_near = ink & near & ~trace
    assert grid_near.sum() > 200
    # inside the gate too the grid goes (it would pull the trace onto a line); a few pixels where a
    # dash crosses the trace's rim may stay
    assert gated[grid_near].mean() < 0.1


def test_text_removal_spares_broken_strokes_the_model_calls_trace():
    """A thresholded QRS falls apart into letter-sized pieces, which text removal drops as letters;
    where the learned map calls them trace they stay, while a printed label it does not mark goes."""
    page = np.full((400, 600), 255, np.uint8)
    stroke = np.zeros(page.shape, bool)
    for y0 in range(100, 300, 10):  # a 2 px vertical stroke broken every 10 px by a 4 px gap
        stroke[y0 : y0 + 6, 200:202] = True
    page[stroke] = 0
    cv2.putText(page, "aVR", (350, 220), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    label = (page == 0) & ~stroke
    image = np.repeat(page[..., None], 3, axis=2)
    config = TraceEvidenceConfig()
    rule = trace_probability(image, PX_PER_MM, config)
    assert rule[stroke].max() == 0.0  # the pieces read as letters without the model (the test can fail)
    learned = cv2.dilate(stroke.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(np.float32)
    # the model is unsure about the label: inside its gate (0.4 > 0.3), below the keep level (0.5)
    gated = trace_probability(
        image, PX_PER_MM, config, trace_model=lambda page, px_per_mm=None: learned + 0.4 * label
    )
    assert gated[stroke].min() == 1.0
    assert gated[label].max() == 0.0


def test_solid_vertical_grid_lines_go_even_where_the_model_is_sure():
    """Measured on fold-9 b/w page 27: a solid major line beside a QRS lies inside the model's coarse
    sure region, and the vectorizer climbed it (a 0.7 mV spike before each R wave)."""
    from ecgvision.digitize.trace import bare_vertical_lines

    ink, trace = dashed_grid_page()
    lines = np.zeros_like(ink)
    for x in np.arange(10.0, ink.shape[1], 5 * PX_PER_MM):
        lines[:, int(round(x))] = True  # solid, the full page height (as black major lines threshold)
    ink = ink | lines
    image = np.where(ink[..., None], 0, 255).astype(np.uint8).repeat(3, axis=2)
    near = cv2.dilate(trace.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    sure = np.where(near, 1.0, 0.0).astype(np.float32)  # a coarse map, sure of the grid beside the trace
    gated = trace_probability(
        image, PX_PER_MM, TraceEvidenceConfig(), trace_model=lambda page, px_per_mm=None: sure
    )
    assert gated[trace].mean() > 0.98  # where the trace crosses a line, the crossing stays
    line_near = lines & near & ~trace
    beside = cv2.dilate(trace.astype(np.uint8), np.ones((1, 5), np.uint8)).astype(bool)
    assert (line_near & ~beside).sum() > 100
    assert gated[line_near & ~beside].mean() < 0.05  # a horizontal dash crossing it may keep a pixel
    assert not bare_vertical_lines(trace, PX_PER_MM, TraceEvidenceConfig()).any()  # no 40 mm stroke
