"""Where each segment sits on the page: the one time->x and mV->y mapping shared by drawing and truth.

Page coordinates are pixels of the unwarped page with cv2's convention (pixel centres at integer
coordinates, x right, y down). Geometry measured from the Challenge 2024 examples (200 dpi letter):
trace starts 15 mm from the left edge, the calibration pulse occupies the 0.2 s before it, and the
3x4+II baselines sit at 5/12, 7/12, 9/12 and 0.90277 of the page height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ecgvision.layouts import Layout, get_layout, segment_samples
from ecgvision.render.config import PAPER_SIZES_MM, RenderConfig

LEFT_MARGIN_MM = 15.0  # first sample of column 0
RIGHT_MARGIN_MM = 10.0
CALIBRATION_PULSE_S = 0.2
CALIBRATION_PULSE_MV = 1.0
# Baselines of the 3x4+II rows in the Challenge examples, as fractions of the page height.
CHALLENGE_ROW_FRACTIONS = (5 / 12, 7 / 12, 9 / 12, 0.902771)
TOP_ROW_MIN_FRACTION = 0.14  # keeps the header line clear when rows are packed
MAX_ROW_PITCH_FRACTION = 1 / 6
PLOT_DURATION_STEP_S = 0.5  # at 50 mm/s the printed window is rounded down to whole half seconds


@dataclass(frozen=True)
class PageGeometry:
    width_px: int
    height_px: int
    px_per_mm: float  # same along x and y on the unwarped page
    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class PlacedSegment:
    """One printed segment and the affine map from (sample, mV) to page pixels."""

    lead: str
    row: int
    column: int
    start_s: float
    duration_s: float
    start_sample: int
    end_sample: int  # exclusive
    x0_page_px: float  # x of start_sample
    px_per_sample: float
    baseline_y_page_px: float  # y of 0 mV
    px_per_mv: float

    def x_page_px(self, samples: np.ndarray) -> np.ndarray:
        """x of sample indices n: x0 + (n - start_sample) / fs * speed * px_per_mm."""
        return (
            self.x0_page_px + (np.asarray(samples, dtype=np.float64) - self.start_sample) * self.px_per_sample
        )

    def y_page_px(self, values_mv: np.ndarray) -> np.ndarray:
        return self.baseline_y_page_px - np.asarray(values_mv, dtype=np.float64) * self.px_per_mv


def page_geometry(config: RenderConfig) -> PageGeometry:
    width_mm, height_mm = PAPER_SIZES_MM[config.paper]
    ppm = config.px_per_mm
    return PageGeometry(round(width_mm * ppm), round(height_mm * ppm), ppm, width_mm, height_mm)


def plot_duration_s(config: RenderConfig, record_duration_s: float) -> float:
    """Seconds printed per row: the record, or what fits between the margins at this speed."""
    page = page_geometry(config)
    fit_s = (page.width_mm - LEFT_MARGIN_MM - RIGHT_MARGIN_MM) / config.speed_mm_per_s
    fit_s = math.floor(fit_s / PLOT_DURATION_STEP_S + 1e-9) * PLOT_DURATION_STEP_S
    return min(record_duration_s, fit_s)


def row_baselines_px(num_rows: int, page: PageGeometry, layout_name: str) -> list[float]:
    """Baseline y of each row: the Challenge positions for 3x4+II, else evenly spaced above the same bottom."""
    if layout_name == "3x4+II":
        return [f * page.height_px for f in CHALLENGE_ROW_FRACTIONS]
    bottom = CHALLENGE_ROW_FRACTIONS[-1] * page.height_px
    if num_rows == 1:
        return [bottom]
    pitch = MAX_ROW_PITCH_FRACTION * page.height_px
    top = max(bottom - (num_rows - 1) * pitch, TOP_ROW_MIN_FRACTION * page.height_px)
    return list(np.linspace(top, bottom, num_rows))


def place_segments(config: RenderConfig, num_samples: int, fs_hz: float) -> list[PlacedSegment]:
    """Every segment of `config.layout` with its samples and page placement."""
    layout: Layout = get_layout(config.layout)
    page = page_geometry(config)
    duration_s = plot_duration_s(config, num_samples / fs_hz)
    baselines = row_baselines_px(layout.num_rows, page, layout.name)
    px_per_s = config.speed_mm_per_s * page.px_per_mm
    placed = []
    for seg in layout.segments(duration_s):
        start, end = segment_samples(seg, fs_hz, num_samples)
        placed.append(
            PlacedSegment(
                lead=seg.lead,
                row=seg.row,
                column=seg.column,
                start_s=seg.start_s,
                duration_s=seg.duration_s,
                start_sample=start,
                end_sample=end,
                x0_page_px=LEFT_MARGIN_MM * page.px_per_mm + seg.start_s * px_per_s,
                px_per_sample=px_per_s / fs_hz,
                baseline_y_page_px=baselines[seg.row],
                px_per_mv=config.gain_mm_per_mv * page.px_per_mm,
            )
        )
    return placed


def plotted_mask_from_segments(
    segments: list[PlacedSegment], num_samples: int, leads: tuple[str, ...]
) -> np.ndarray:
    """(num_samples, len(leads)) bool: True where the sample of that lead is printed somewhere."""
    index = {name.casefold(): j for j, name in enumerate(leads)}
    mask = np.zeros((num_samples, len(leads)), dtype=bool)
    for seg in segments:
        j = index.get(seg.lead.casefold())
        if j is not None:
            mask[seg.start_sample : seg.end_sample, j] = True
    return mask


# The Challenge's pages (ecg-image-kit) print the pulse's falling edge ~0.48 px right of the trace's
# first sample at 200 dpi (pixel snapping); we print it the same way so digitizers learn that geometry.
PULSE_EDGE_LAG_MM = 0.06


def calibration_pulse_page_px(config: RenderConfig, baseline_y_px: float) -> np.ndarray:
    """(4, 2) page polyline of the 1 mV x 0.2 s pulse that ends where the trace starts."""
    ppm = config.px_per_mm
    x1 = (LEFT_MARGIN_MM + PULSE_EDGE_LAG_MM) * ppm
    x0 = x1 - CALIBRATION_PULSE_S * config.speed_mm_per_s * ppm
    top = baseline_y_px - CALIBRATION_PULSE_MV * config.gain_mm_per_mv * ppm
    return np.array([[x0, baseline_y_px], [x0, top], [x1, top], [x1, baseline_y_px]])
