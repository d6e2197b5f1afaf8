import dataclasses

import cv2
import numpy as np

from ecgvision.digitize.deskew import rotate_image, shear_matrix, warp_page
from ecgvision.digitize.layout import LayoutConfig, find_pulse, find_rows
from ecgvision.digitize.trace import trace_probability

PX_PER_MM = 200 / 25.4


def test_rows_and_pulses_of_the_3x4_page(examples):
    ex = examples[0]
    prob = trace_probability(ex.image, PX_PER_MM)
    rows = find_rows(prob, PX_PER_MM)
    assert len(rows) == 4
    # baselines of the four rows (json sidecar: 708.3, 991.7, 1275.0, 1534.7 with a +0.5 px convention)
    for row, truth in zip(rows, (708.3, 991.7, 1275.0, 1534.7), strict=True):
        assert abs(row.baseline_y_px - truth) < 6  # projection peak; the pulse refines it (test_pipeline)
    for row in rows:
        pulse = find_pulse(prob, row, PX_PER_MM)
        assert pulse is not None
        assert abs(pulse.fall_x_px - 118.1) < 1.0  # the first sample's x
        # 1 mV at 10 mm/mV; the foot is the lowest half-covered pixel of the edge (+ half a line and
        # the anti-aliased rim): it only snaps the gain (25 % tolerance) and checks the page-width pitch
        assert abs(pulse.height_px - 10 * PX_PER_MM) < 5
        assert abs(pulse.width_px - 5 * PX_PER_MM) < 2  # 0.2 s at 25 mm/s


def test_lead_labels_are_removed_from_trace_evidence(examples):
    ex = examples[0]
    prob = trace_probability(ex.image, PX_PER_MM)
    trace = np.concatenate([np.asarray(lead["plotted_pixels"]) for lead in ex.meta["leads"]])
    checked = 0
    for lead in ex.meta["leads"]:
        ys = [p[0] for p in lead["text_bounding_box"].values()]
        xs = [p[1] for p in lead["text_bounding_box"].values()]
        crossed = (trace[:, 0] > min(ys) - 3) & (trace[:, 0] < max(ys) + 3)
        crossed &= (trace[:, 1] > min(xs) - 3) & (trace[:, 1] < max(xs) + 3)
        if crossed.any():
            continue  # the trace passes through this label: nothing to check
        patch = prob[int(min(ys)) : int(max(ys)) + 2, int(min(xs)) : int(max(xs)) + 2]
        assert (patch > 0.5).sum() == 0, lead["lead_name"]
        checked += 1
    assert checked >= 8


def test_a_row_whose_pulse_is_unreadable_does_not_take_the_next_rows(examples):
    """Where a row's own pulse is lost (b/w, noise), its band still reaches down to the next row's
    baseline, and so over the top of the next row's pulse: that one stands on the wrong zero line."""
    ex = examples[0]
    prob = trace_probability(ex.image, PX_PER_MM)
    first, second = find_rows(prob, PX_PER_MM)[:2]
    own = find_pulse(prob, first, PX_PER_MM)
    faded = prob.copy()
    faded[int(own.top_y_px) - 5 : int(own.foot_y_px) + 5, int(own.rise_x_px) - 5 : int(own.fall_x_px) + 3] = 0
    reaching = dataclasses.replace(first, band_bottom_px=second.band_bottom_px)
    assert find_pulse(faded, reaching, PX_PER_MM) is None
    assert find_pulse(faded, second, PX_PER_MM) is not None


def test_a_turned_border_line_does_not_hide_the_pulses(examples):
    """The example's black 1 px border, turned 0.2 deg (as a deskew turns a scan's border), leaves
    slivers on the image's side; taken for the rows' first ink, they moved the pulse search off the
    pulses (all four were lost)."""
    image = rotate_image(examples[0].image, 0.2)
    prob = trace_probability(image, PX_PER_MM)
    rows = find_rows(prob, PX_PER_MM)
    assert len(rows) == 4
    assert all(row.first_ink_x_px > 70 for row in rows)
    assert all(find_pulse(prob, row, PX_PER_MM) is not None for row in rows)


def test_a_pulse_with_a_rounded_corner_and_a_broken_top_is_found(examples):
    """On photos with a grey grid (pulses on grid lines) the rising edge's ink begins a pixel below
    the top stroke's centre and noise breaks a column of the top stroke: 76 of 118 pulses of 30
    fold-9 photo pages were found before, 86 after."""
    ex = examples[0]
    prob = trace_probability(ex.image, PX_PER_MM)
    rows = find_rows(prob, PX_PER_MM)
    damaged = prob.copy()
    for row in rows:
        pulse = find_pulse(prob, row, PX_PER_MM)
        rise, top = int(round(pulse.rise_x_px)), int(round(pulse.top_y_px))
        damaged[top - 4 : top + 1, rise - 3 : rise + 4] = 0.0  # the corner: the edge starts below the top
        damaged[top - 4 : top + 5, rise + 15] = 0.0  # one column of the top stroke lost
    for row in rows:
        pulse = find_pulse(damaged, row, PX_PER_MM)
        assert pulse is not None
        assert abs(pulse.fall_x_px - 118.1) < 1.0
        assert abs(pulse.height_px - 10 * PX_PER_MM) < 5


def test_on_a_sheared_page_each_row_keeps_its_own_pulse(examples):
    """Sheared 1.1 deg (a photo's residual perspective), each row's pulse sits 5.7 px left of the one
    above. A row's band reaches down to the next row's pulse, whose falling edge was taken for this
    pulse's (fold-9 photo 28: pulses 3.8 mm wide, every origin 9 px early)."""
    image = warp_page(examples[0].image, shear_matrix(examples[0].image.shape, 0.02))
    prob = trace_probability(image, PX_PER_MM)
    pulses = [find_pulse(prob, row, PX_PER_MM) for row in find_rows(prob, PX_PER_MM)]
    assert len(pulses) == 4 and all(p is not None for p in pulses)
    assert all(abs(p.width_px / PX_PER_MM - 5.0) < 0.3 for p in pulses)


def test_a_sheet_edge_left_of_the_pulses_does_not_hide_them(examples):
    """A rectified photo keeps a stretch of the sheet's edge left of the pulses (fold-9 photo 45):
    that line was the rows' first ink, the search window ended before the pulses' falling edges and
    no pulse was found (origin from the first ink: every lead below 0 dB)."""
    image = np.pad(examples[0].image, ((0, 0), (100, 0), (0, 0)), constant_values=255)
    prob = trace_probability(image, PX_PER_MM)
    prob[600:1300, 85:87] = 1.0  # the edge as the gate kept it: 12 mm left of the pulses, rows 0-2
    rows = find_rows(prob, PX_PER_MM)[:3]
    assert all(abs(row.first_ink_x_px - 85) < 2 for row in rows)
    pulses = [find_pulse(prob, row, PX_PER_MM) for row in rows]
    assert all(p is not None and abs(p.width_px / PX_PER_MM - 5.0) < 0.3 for p in pulses)
    no_lead_in = LayoutConfig(pulse_lead_in_mm=0.0)
    assert all(find_pulse(prob, row, PX_PER_MM, no_lead_in) is None for row in rows)


def test_a_dark_strip_along_the_frame_edge_is_not_a_row(examples):
    """A rectified photo whose frame takes in the sheet's edge: a thin dark line over half the width
    a few pixels below the top (fold-9 photo 173 read 5 rows and no layout)."""
    prob = trace_probability(examples[0].image, PX_PER_MM)
    cv2.line(prob, (430, 3), (1650, 13), 1.0, 1)  # the sheet's edge, slightly slanted, 55 % of the width
    rows = find_rows(prob, PX_PER_MM)
    assert len(rows) == 4
    assert abs(rows[0].baseline_y_px - 708.3) < 6
