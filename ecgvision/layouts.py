"""Paper layouts: which lead is printed where and over which time window.

The single source of the layout facts used by the renderer, the digitizer and the signal classifier.
A layout is a grid of short segments (rows x columns, each column covering an equal share of the
record) plus full-length rhythm strips below it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgvision.constants import LEADS


@dataclass(frozen=True)
class Segment:
    lead: str
    row: int  # 0 = top row; rhythm strips follow the grid rows
    column: int
    start_s: float
    duration_s: float


@dataclass(frozen=True)
class Layout:
    name: str
    grid: tuple[tuple[str, ...], ...]  # leads of each grid row, left to right
    rhythm: tuple[str, ...] = ()  # full-length strips under the grid

    @property
    def num_rows(self) -> int:
        return len(self.grid) + len(self.rhythm)

    @property
    def num_columns(self) -> int:
        return len(self.grid[0])

    def segments(self, record_duration_s: float = 10.0) -> list[Segment]:
        """Every printed segment; columns split the record into equal consecutive windows."""
        width = record_duration_s / self.num_columns
        out = [
            Segment(lead, r, c, c * width, width)
            for r, row in enumerate(self.grid)
            for c, lead in enumerate(row)
        ]
        out += [
            Segment(lead, len(self.grid) + i, 0, 0.0, record_duration_s) for i, lead in enumerate(self.rhythm)
        ]
        return out


LAYOUTS: dict[str, Layout] = {
    "3x4+II": Layout(
        "3x4+II",
        (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6")),
        ("II",),
    ),
    "3x4+3": Layout(
        "3x4+3",
        (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6")),
        ("II", "V1", "V5"),
    ),
    "6x2": Layout(
        "6x2",
        (("I", "V1"), ("II", "V2"), ("III", "V3"), ("aVR", "V4"), ("aVL", "V5"), ("aVF", "V6")),
    ),
    "12x1": Layout("12x1", tuple((lead,) for lead in LEADS)),
}
DEFAULT_LAYOUT = "3x4+II"


def get_layout(name: str) -> Layout:
    if name not in LAYOUTS:
        raise ValueError(f"unknown layout {name!r}; known: {sorted(LAYOUTS)}")
    return LAYOUTS[name]


def segment_samples(segment: Segment, fs_hz: float, num_samples: int) -> tuple[int, int]:
    """[start, end) sample indices that a segment shows, as the Challenge counts them."""
    start = int(round(segment.start_s * fs_hz))
    end = min(num_samples, int(round((segment.start_s + segment.duration_s) * fs_hz)))
    return start, end


def plotted_mask(
    layout: Layout, fs_hz: float, num_samples: int, leads: tuple[str, ...] = LEADS
) -> np.ndarray:
    """(num_samples, len(leads)) bool: True where a lead's sample is printed somewhere on the page."""
    index = {name.casefold(): j for j, name in enumerate(leads)}
    mask = np.zeros((num_samples, len(leads)), dtype=bool)
    for segment in layout.segments(num_samples / fs_hz):
        j = index.get(segment.lead.casefold())
        if j is not None:
            start, end = segment_samples(segment, fs_hz, num_samples)
            mask[start:end, j] = True
    return mask
