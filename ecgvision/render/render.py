"""`render_record`: a 12-lead signal -> an ECG paper image and its pixel-exact ground truth.

Order: paper grid -> text, pulses, separators, traces (page px) -> paper artefacts -> one
homography warp -> camera artefacts. The same `PlacedSegment` maps samples to page pixels for
drawing and for the truth; the truth then goes through the same homography as the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgvision.constants import LEADS
from ecgvision.render.artefacts import (
    Warp,
    apply_camera_artefacts,
    apply_paper_artefacts,
    apply_warp,
    sample_warp,
)
from ecgvision.render.config import RenderConfig
from ecgvision.render.draw import draw_bar, draw_polylines, draw_text
from ecgvision.render.ground_truth import (
    SEPARATOR_HALF_HEIGHT_MM,
    SEPARATOR_WIDTH_MM,
    ImageTruth,
    SegmentTruth,
    apply_homography,
    polyline_bbox,
    reference_from_mask,
    warp_box_corners,
)
from ecgvision.render.layout import (
    PlacedSegment,
    calibration_pulse_page_px,
    page_geometry,
    place_segments,
    plotted_mask_from_segments,
)
from ecgvision.render.paper import GREY_MAJOR_RGB, GREY_MINOR_RGB, PAPER_WHITE_RGB, grid_page

# Text and mark sizes in mm, measured on the Challenge examples (29 px font, 200 dpi).
FONT_MM = 3.7
LABEL_OFFSET_MM = (0.5, 4.15)  # label ink top-left relative to (segment start x, baseline y)
HEADER_TOP_MM = 3.3
HEADER_NAME_X_MM = 76.0
FOOTER_TOP_MM = 208.0
FOOTER_X_MM = (50.0, 100.0)
REFERENCE_DPI = 200  # widths given in px are at this resolution


@dataclass
class RenderedImage:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    truth: ImageTruth
    encoded_jpeg: bytes | None = None  # the exact JPEG bytes when a JPEG artefact was applied
    artefacts: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Style:
    trace_rgb: tuple[int, int, int]
    trace_width_px: int
    major_rgb: tuple[int, int, int]
    minor_rgb: tuple[int, int, int]


def _scaled_width(width_px: float, dpi: int) -> int:
    return max(1, int(round(width_px * dpi / REFERENCE_DPI)))


def _jitter_rgb(rgb: tuple[int, int, int], rng: np.random.Generator, spread: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.uniform(-spread, spread), 0, 255)) for c in rgb)


def choose_style(config: RenderConfig, rng: np.random.Generator) -> _Style:
    """Colours and widths of this image; with style_jitter they vary around the configured ones."""
    major, minor = config.grid_colour_major_rgb, config.grid_colour_minor_rgb
    if config.grid_mode == "grey":
        major, minor = GREY_MAJOR_RGB, GREY_MINOR_RGB
    width, trace = config.trace_width_px, config.trace_colour_rgb
    if config.style_jitter:
        width = float(rng.uniform(1.0, 3.0))
        trace = _jitter_rgb(trace, rng, 25)
        major, minor = _jitter_rgb(major, rng, 30), _jitter_rgb(minor, rng, 30)
    return _Style(tuple(trace), _scaled_width(width, config.dpi), tuple(major), tuple(minor))


def blank_page(config: RenderConfig, style: _Style) -> np.ndarray:
    page = page_geometry(config)
    if config.grid_mode == "none":
        return np.full((page.height_px, page.width_px, 3), PAPER_WHITE_RGB, dtype=np.uint8)
    widths = (
        config.grid_major_width_px * config.dpi / REFERENCE_DPI,
        config.grid_minor_width_px * config.dpi / REFERENCE_DPI,
    )
    return grid_page(page, style.major_rgb, style.minor_rgb, widths[0], widths[1]).copy()


def _draw_header(image: np.ndarray, config: RenderConfig, header_text: str, colour) -> None:
    ppm, size = config.px_per_mm, int(round(FONT_MM * config.px_per_mm))
    if header_text:
        draw_text(image, header_text, 0.8 * ppm, HEADER_TOP_MM * ppm, size, colour)
    draw_text(image, "Name:", HEADER_NAME_X_MM * ppm, HEADER_TOP_MM * ppm, size, colour)
    footer_top = min(FOOTER_TOP_MM * ppm, image.shape[0] - 1.5 * size)
    draw_text(image, f"{config.speed_mm_per_s:g}mm/s", FOOTER_X_MM[0] * ppm, footer_top, size, colour)
    draw_text(image, f"{config.gain_mm_per_mv:g}mm/mV", FOOTER_X_MM[1] * ppm, footer_top, size, colour)


def _segment_points(segment: PlacedSegment, signal_mv: np.ndarray, lead_index: int) -> np.ndarray:
    samples = np.arange(segment.start_sample, segment.end_sample)
    values = signal_mv[segment.start_sample : segment.end_sample, lead_index]
    return np.stack([segment.x_page_px(samples), segment.y_page_px(values)], axis=1)


def _draw_marks(
    image: np.ndarray,
    config: RenderConfig,
    style: _Style,
    segments: list[PlacedSegment],
    labels: dict[str, str],
) -> tuple[list[np.ndarray], dict[int, tuple]]:
    """Pulses, separators and labels in page px; returns the pulse polylines and label boxes by segment."""
    ppm, colour = config.px_per_mm, style.trace_rgb
    pulses = []
    if config.calibration_pulse:
        for y in sorted({s.baseline_y_page_px for s in segments}):
            pulses.append(calibration_pulse_page_px(config, y))
        draw_polylines(image, pulses, colour, style.trace_width_px)
    boxes = {}
    for k, seg in enumerate(segments):
        if config.separators and seg.column > 0:
            half = SEPARATOR_HALF_HEIGHT_MM * ppm
            y = seg.baseline_y_page_px
            draw_bar(image, seg.x0_page_px, y - half, y + half, colour, SEPARATOR_WIDTH_MM * ppm)
        if config.lead_labels:
            left = seg.x0_page_px + LABEL_OFFSET_MM[0] * ppm
            top = seg.baseline_y_page_px + LABEL_OFFSET_MM[1] * ppm
            boxes[k] = draw_text(image, labels[seg.lead], left, top, int(round(FONT_MM * ppm)), (0, 0, 0))
    return pulses, boxes


def _segment_truth(
    seg: PlacedSegment, page_points: np.ndarray, warp: Warp, label: str | None, box: tuple | None
) -> SegmentTruth:
    image_points = apply_homography(warp.homography, page_points)
    x_end = seg.x_page_px(np.array([seg.end_sample - 1]))[0]
    ends = apply_homography(
        warp.homography, [[seg.x0_page_px, seg.baseline_y_page_px], [x_end, seg.baseline_y_page_px]]
    )
    return SegmentTruth(
        lead=seg.lead,
        row=seg.row,
        column=seg.column,
        start_s=seg.start_s,
        duration_s=seg.duration_s,
        start_sample=seg.start_sample,
        end_sample=seg.end_sample,
        x_px=image_points[:, 0],
        y_px=image_points[:, 1],
        bbox_px=polyline_bbox(image_points[:, 0], image_points[:, 1]),
        baseline_y_page_px=float(seg.baseline_y_page_px),
        baseline_px=(tuple(map(float, ends[0])), tuple(map(float, ends[1]))),
        x0_page_px=float(seg.x0_page_px),
        px_per_sample_x=float(seg.px_per_sample),
        label=label,
        label_box_px=warp_box_corners(warp.homography, box) if box is not None else None,
    )


def _check_signal(signal_mv: np.ndarray, fs_hz: float, lead_names: list[str]) -> np.ndarray:
    signal = np.asarray(signal_mv, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[1] != len(lead_names):
        raise ValueError(f"signal shape {signal.shape} does not match {len(lead_names)} leads")
    if not fs_hz > 0:
        raise ValueError(f"sampling frequency must be positive, got {fs_hz}")
    return signal


def render_record(
    signal_mv: np.ndarray,
    fs_hz: float,
    config: RenderConfig | None = None,
    rng_or_seed: np.random.Generator | int | None = 0,
    lead_names: list[str] | None = None,
    header_text: str = "",
    variant: str = "custom",
) -> RenderedImage:
    """Print `signal_mv` (N, 12) in mV, columns in `lead_names` order (default LEADS), on ECG paper.

    Returns the (H, W, 3) uint8 image and its ImageTruth. Same seed and inputs -> identical image.
    `variant` is only recorded in the truth (pick the realism with `ecgvision.render.config.with_variant`).
    """
    config = config or RenderConfig()
    config.validate()
    lead_names = list(lead_names or LEADS)
    signal = _check_signal(signal_mv, fs_hz, lead_names)
    rng = rng_or_seed if isinstance(rng_or_seed, np.random.Generator) else np.random.default_rng(rng_or_seed)
    seed = rng_or_seed if isinstance(rng_or_seed, int) else None
    style = choose_style(config, rng)
    segments = place_segments(config, signal.shape[0], fs_hz)
    index = {name.casefold(): j for j, name in enumerate(lead_names)}
    missing = sorted({seg.lead for seg in segments if seg.lead.casefold() not in index})
    if missing:
        raise ValueError(f"layout {config.layout} prints leads {missing} that are not in {lead_names}")
    labels = {seg.lead: _display_name(lead_names[index[seg.lead.casefold()]]) for seg in segments}

    image = blank_page(config, style)
    if config.header_text:
        _draw_header(image, config, header_text, (0, 0, 0))
    pulses, boxes = _draw_marks(image, config, style, segments, labels)
    points = [_segment_points(seg, signal, index[seg.lead.casefold()]) for seg in segments]
    draw_polylines(image, points, style.trace_rgb, style.trace_width_px)

    applied = apply_paper_artefacts(image, config.realism, rng)
    warp, geometric = sample_warp(image.shape[1], image.shape[0], config.realism, rng)
    if not warp.is_identity or (warp.width_px, warp.height_px) != (image.shape[1], image.shape[0]):
        image = apply_warp(image, warp)
    image, encoded, camera = apply_camera_artefacts(image, config.realism, rng)

    truth_segments = [
        _segment_truth(seg, pts, warp, labels[seg.lead] if k in boxes else None, boxes.get(k))
        for k, (seg, pts) in enumerate(zip(segments, points, strict=True))
    ]
    mask = plotted_mask_from_segments(segments, signal.shape[0], tuple(lead_names))
    page = page_geometry(config)
    truth = ImageTruth(
        width_px=int(image.shape[1]),
        height_px=int(image.shape[0]),
        page_width_px=page.width_px,
        page_height_px=page.height_px,
        dpi=config.dpi,
        paper=config.paper,
        layout=config.layout,
        speed_mm_per_s=float(config.speed_mm_per_s),
        gain_mm_per_mv=float(config.gain_mm_per_mv),
        px_per_mm_x=page.px_per_mm,
        px_per_mm_y=page.px_per_mm,
        fs_hz=float(fs_hz),
        num_samples=int(signal.shape[0]),
        lead_names=lead_names,
        homography=warp.homography,
        segments=truth_segments,
        calibration_pulses_px=[apply_homography(warp.homography, p) for p in pulses],
        trace_width_px=style.trace_width_px,
        variant=variant,
        seed=seed,
        reference_mv=reference_from_mask(signal, mask),
    )
    return RenderedImage(image, truth, encoded, tuple(applied + geometric + camera))


def _display_name(name: str) -> str:
    """Header spellings (AVR) -> printed spellings (aVR)."""
    return {"avr": "aVR", "avl": "aVL", "avf": "aVF"}.get(name.casefold(), name)
