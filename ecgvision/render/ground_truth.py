"""Pixel-exact ground truth of a rendered image, its JSON(.gz) form and helpers that use it.

Image coordinates are final pixels (after every geometric warp), cv2 convention: x right, y down,
pixel centres at integers. `homography` maps unwarped page pixels to image pixels; page pixels
have `px_per_mm_x` / `px_per_mm_y` and segments' `baseline_y_page_px` rows.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass, field

import numpy as np

from ecgvision.io.atomic import atomic_write_bytes

JSON_DECIMALS = 3  # 1/1000 px is far below any use of the truth

SEPARATOR_HALF_HEIGHT_MM = 3.4  # the bar printed where a row's segment changes lead
SEPARATOR_WIDTH_MM = 0.7


@dataclass
class SegmentTruth:
    """One printed segment: samples [start_sample, end_sample) of `lead`, one polyline point per sample."""

    lead: str
    row: int
    column: int
    start_s: float
    duration_s: float
    start_sample: int
    end_sample: int  # exclusive
    x_px: np.ndarray  # (n,) image x of each plotted sample; NaN where the signal is NaN
    y_px: np.ndarray  # (n,)
    bbox_px: tuple[float, float, float, float]  # x0, y0, x1, y1 of the polyline in the image
    baseline_y_page_px: float  # page row of 0 mV
    baseline_px: tuple[tuple[float, float], tuple[float, float]]  # warped 0 mV line at segment start/end
    x0_page_px: float  # page x of start_sample
    px_per_sample_x: float  # page px between samples
    label: str | None = None  # printed lead label text
    label_box_px: list[list[float]] | None = None  # (4, 2) warped corners of the label's ink box


@dataclass
class ImageTruth:
    width_px: int  # final image
    height_px: int
    page_width_px: int  # unwarped page
    page_height_px: int
    dpi: int
    paper: str
    layout: str
    speed_mm_per_s: float
    gain_mm_per_mv: float
    px_per_mm_x: float  # on the unwarped page
    px_per_mm_y: float
    fs_hz: float
    num_samples: int
    lead_names: list[str]  # column order of reference_mv
    homography: np.ndarray  # (3, 3) page px -> image px
    segments: list[SegmentTruth]
    calibration_pulses_px: list[np.ndarray]  # (4, 2) image polylines of the 1 mV pulses
    trace_width_px: int  # ink width of the trace
    variant: str
    seed: int | None = None
    reference_mv: np.ndarray | None = field(default=None, repr=False)  # (N, 12), NaN where unplotted

    def page_to_image(self, points_xy: np.ndarray) -> np.ndarray:
        return apply_homography(self.homography, points_xy)

    def image_to_page(self, points_xy: np.ndarray) -> np.ndarray:
        return apply_homography(np.linalg.inv(self.homography), points_xy)

    def segment_values_mv(self, segment: SegmentTruth) -> np.ndarray:
        """(n,) mV read back from the segment's image polyline (undo the warp, then the gain)."""
        page = self.image_to_page(np.stack([segment.x_px, segment.y_px], axis=1))
        return (segment.baseline_y_page_px - page[:, 1]) / (self.gain_mm_per_mv * self.px_per_mm_y)

    def plotted_mask(self) -> np.ndarray:
        """(num_samples, len(lead_names)) bool: samples printed somewhere on this image."""
        index = {name.casefold(): j for j, name in enumerate(self.lead_names)}
        mask = np.zeros((self.num_samples, len(self.lead_names)), dtype=bool)
        for seg in self.segments:
            if seg.lead.casefold() in index:
                mask[seg.start_sample : seg.end_sample, index[seg.lead.casefold()]] = True
        return mask

    def separators_px(self) -> list[np.ndarray]:
        """(2, 2) image polylines of the separator bars printed where a row's segment changes lead."""
        half = SEPARATOR_HALF_HEIGHT_MM * self.px_per_mm_y
        bars = []
        for s in self.segments:
            if s.column > 0:
                x, y = s.x0_page_px, s.baseline_y_page_px
                bars.append(self.page_to_image(np.array([[x, y - half], [x, y + half]])))
        return bars

    def trace_mask(
        self, width_px: int | None = None, include_pulses: bool = False, include_separators: bool = False
    ) -> np.ndarray:
        """(H, W) bool mask of the drawn trace pixels, rasterised from the warped polylines; with the
        calibration pulses and the separator bars when asked (all the ink the digitizer reads)."""
        from ecgvision.render.draw import draw_polylines

        mask = np.zeros((self.height_px, self.width_px), dtype=np.uint8)
        lines = [np.stack([s.x_px, s.y_px], axis=1) for s in self.segments]
        lines += list(self.calibration_pulses_px) if include_pulses else []
        draw_polylines(mask, lines, (255,), width_px or self.trace_width_px)
        if include_separators:
            bar_width = max(float(width_px or self.trace_width_px), SEPARATOR_WIDTH_MM * self.px_per_mm_x)
            draw_polylines(mask, self.separators_px(), (255,), bar_width)
        return mask >= 128  # pixels at least half covered by the ink


def apply_homography(matrix: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    """(n, 2) points through a 3x3 homography (NaN stays NaN)."""
    points = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    out = np.c_[points, np.ones(len(points))] @ np.asarray(matrix, dtype=np.float64).T
    return out[:, :2] / out[:, 2:3]


def reference_from_mask(signal_mv: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The Challenge reference: the signal with every unplotted sample set to NaN."""
    return np.where(mask, np.asarray(signal_mv, dtype=np.float64), np.nan)


def _rounded(values: np.ndarray) -> list:
    array = np.round(np.asarray(values, dtype=np.float64), JSON_DECIMALS)
    return [None if not np.isfinite(v) else float(v) for v in array.ravel()]


def _segment_to_dict(seg: SegmentTruth) -> dict:
    data = {k: v for k, v in seg.__dict__.items() if k not in ("x_px", "y_px")}
    data["x_px"], data["y_px"] = _rounded(seg.x_px), _rounded(seg.y_px)
    return data


def truth_to_dict(truth: ImageTruth) -> dict:
    """JSON-ready dict (no reference_mv: it is the record's signal masked by `plotted_mask()`)."""
    data = {k: v for k, v in truth.__dict__.items() if k not in ("segments", "reference_mv")}
    data["homography"] = np.asarray(truth.homography).tolist()
    data["calibration_pulses_px"] = [np.round(p, JSON_DECIMALS).tolist() for p in truth.calibration_pulses_px]
    data["segments"] = [_segment_to_dict(s) for s in truth.segments]
    # Challenge-sidecar keys, so tools written for those files find the basics.
    data.update(sampling_frequency=truth.fs_hz, width=truth.width_px, height=truth.height_px)
    return data


def truth_from_dict(data: dict) -> ImageTruth:
    known = set(ImageTruth.__dataclass_fields__)
    fields = {k: v for k, v in data.items() if k in known}
    fields["homography"] = np.asarray(data["homography"], dtype=np.float64)
    fields["calibration_pulses_px"] = [np.asarray(p, dtype=np.float64) for p in data["calibration_pulses_px"]]
    segments = []
    for seg in data["segments"]:
        seg = dict(seg)
        for key in ("x_px", "y_px"):
            seg[key] = np.array([np.nan if v is None else v for v in seg[key]], dtype=np.float64)
        seg["bbox_px"] = tuple(seg["bbox_px"])
        seg["baseline_px"] = tuple(tuple(p) for p in seg["baseline_px"])
        segments.append(SegmentTruth(**seg))
    fields["segments"] = segments
    return ImageTruth(**fields)


def save_truth(truth: ImageTruth, path: str | os.PathLike) -> None:
    """Write the truth as gzip-compressed JSON, atomically (deterministic bytes: mtime 0)."""
    text = json.dumps(truth_to_dict(truth), separators=(",", ":"))
    atomic_write_bytes(path, gzip.compress(text.encode(), compresslevel=6, mtime=0))


def load_truth(path: str | os.PathLike) -> ImageTruth:
    with gzip.open(path, "rt") as handle:
        return truth_from_dict(json.load(handle))


def polyline_bbox(x_px: np.ndarray, y_px: np.ndarray) -> tuple[float, float, float, float]:
    ok = np.isfinite(x_px) & np.isfinite(y_px)
    if not ok.any():
        return (float("nan"),) * 4
    return (float(x_px[ok].min()), float(y_px[ok].min()), float(x_px[ok].max()), float(y_px[ok].max()))


def warp_box_corners(homography: np.ndarray, box: tuple[float, float, float, float]) -> list[list[float]]:
    """(4, 2) image corners (clockwise from top-left) of a page box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    return apply_homography(homography, corners).tolist()
