"""Trace evidence: a per-pixel probability that a pixel is ink of the ECG trace.

The classical rule below (dark and unsaturated, grid suppressed, lead labels removed) works alone.
A learned model (anything with the `TraceModel` call signature) adds context: it decides *which*
ink is trace (a b/w grid dash and a flat trace on a grid line look alike pixel by pixel), while the
pixels' own darkness still places the trace with sub-pixel precision. The vectorizer only ever sees
the (H, W) float map in [0, 1].
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

BINARY_MAX_GREY_FRACTION = 0.002  # a page with fewer mid-grey pixels than this is b/w
MAX_LINE_LEAN = 0.035  # a page-tall blob narrower than this fraction of its height is a line (2 deg)
LETTER_WIDTH_MM = 279.4  # landscape US letter: the page-width prior when the pitch is not known yet


class TraceModel(Protocol):
    """A learned replacement for `trace_probability`: RGB uint8 (H, W, 3) -> (H, W) float in [0, 1];
    `px_per_mm` (the page's grid pitch, None when unknown) lets it see the page at its training scale."""

    def __call__(self, image_rgb: np.ndarray, px_per_mm: float | None = None) -> np.ndarray: ...


@dataclass(frozen=True)
class TraceEvidenceConfig:
    dark_value_full: float = 80.0  # max(R,G,B) at or below which an unsaturated pixel is surely ink
    dark_value_none: float = 150.0  # ... at or above which it is surely not
    saturation_full: float = 0.25  # (max-min)/max at or below which the colour counts as grey/black
    saturation_none: float = 0.5  # coloured grid lines (red, pink, purple) sit above this
    saturation_free_value: float = 90.0  # darker than any grid line: ink even if tinted (trace over grid)
    adaptive_dark: bool = True  # ramp between fractions of the page's ink-to-paper span (else fixed values)
    ink_percentile: float = 0.3  # the page's ink level: this percentile of the brightness
    ramp_full_fraction: float = 0.05  # of the ink-to-paper span: surely ink at or below ...
    ramp_none_fraction: float = 0.75  # ... surely not at or above (probability 0.5 at the midpoint)
    tint_free_fraction: float = 0.3  # darker than this (fraction of the span): ink even if tinted
    min_contrast: float = 60.0  # a paper-minus-ink span below this keeps the fixed values
    # uneven light (a photo's shadow, its dark surround, a stain) is divided out when the page's
    # paper level varies more than this (10th / 90th percentile of the local paper brightness)
    flatten_min_spread: float = 0.85
    flatten_kernel_mm: float = 2.5  # the local paper level: brightest within this (trace, labels are thinner)
    label_max_width_mm: float = (
        10.0  # isolated blobs (1 px breaks bridged) narrower AND shorter than this are text
    )
    label_max_height_mm: float = 4.5
    # grid lines are removed by their structure (long straight rows / columns of ink), so that grey,
    # dark or black grids do not read as trace; 0 disables it
    grid_line_min_mm: float = 40.0  # shortest straight run removed as a grid line (a flat trace is shorter)
    grid_line_smooth_px: int = 9  # box length along the line before the opening (noise, JPEG)
    grid_line_margin: float = 25.0  # a pixel this much darker than the line under it is trace crossing it
    # b/w (thresholded) pages: the grid survives as dashes and the thin trace as dotted pieces
    binary_dash_min_mm: float = 1.0  # straight runs this long on a grid-line position are grid dashes ...
    binary_dash_max_mm: float = 6.0  # ... up to this long (a 10 mm pulse edge is not), or whole lines
    binary_line_min_coverage: float = 0.08  # ... when such runs cover this much of that pixel row / column
    binary_close_px: int = 3  # square closing that rejoins the dotted pieces of the trace
    # with a learned model: ink counts where the model's probability exceeds this, widened by a
    # square of this many px (its coarse cells: 4 page px for the shipped one; a blurred trace's rim)
    learned_threshold: float = 0.3
    learned_dilate_px: int = 5
    learned_ramp_none_fraction: float = 0.9  # the darkness ramp's end on gated, unevenly lit pages
    # ink the model calls trace at this probability survives the rules that remove text and grid:
    # a letter-sized blob (mean over its ink) is a QRS that noise, JPEG or thresholding broke into
    # pieces; a b/w grid dash inside the gate is kept only here (a flat trace on a grid line)
    learned_sure: float = 0.5
    # colour evidence fainter than this at the 90th percentile over that sure region is scaled up to it
    # (others read 0.82-1.0 there; on 90 fold-9 photos 4 unread pages became readable, mean +0.35 dB)
    learned_evidence_p90: float = 0.9


def _ramp(values: np.ndarray, full: float, none: float) -> np.ndarray:
    """1 at `full`, 0 at `none`, linear between (works for full < none)."""
    return np.clip((none - values) / (none - full), 0.0, 1.0)


def darkness_limits(value: np.ndarray, config: TraceEvidenceConfig) -> tuple[float, float, float]:
    """(full, none, tint_free) brightness thresholds, adapted to the page's ink and paper levels.

    The ink level is the darkest ~0.3 % of the page (trace and text cores), the paper level its
    median; the ramp runs between fixed fractions of that span, so that a faint, blurred or JPEG'd
    trace and a black one both read as ink at about half coverage. Grid lines are removed before
    (`remove_grid_lines`) and coloured ones by their saturation, so the ramp need not avoid them.
    """
    full, none = config.dark_value_full, config.dark_value_none
    if not config.adaptive_dark or value.size < 1000:
        return full, none, config.saturation_free_value
    ink = float(np.percentile(value, config.ink_percentile))
    paper = float(np.median(value))
    span = paper - ink
    if span < config.min_contrast:
        return full, none, config.saturation_free_value
    return (
        ink + config.ramp_full_fraction * span,
        ink + config.ramp_none_fraction * span,
        ink + config.tint_free_fraction * span,
    )


def line_darkness(darkness: np.ndarray, length_px: int, smooth_px: int, horizontal: bool) -> np.ndarray:
    """(H, W) uint8: the darkness that a straight line at least `length_px` long holds at each pixel.

    A box filter along the line averages out noise and JPEG ringing; the grey opening with a
    1 x length kernel then keeps only what is dark all along such a run (grid lines, page frames).
    """
    size = (smooth_px, 1) if horizontal else (1, smooth_px)
    smoothed = cv2.blur(darkness, size) if smooth_px > 1 else darkness
    kernel = np.ones((1, length_px) if horizontal else (length_px, 1), np.uint8)
    return cv2.morphologyEx(smoothed, cv2.MORPH_OPEN, kernel)


def remove_grid_lines(value: np.ndarray, px_per_mm: float, config: TraceEvidenceConfig) -> np.ndarray:
    """(H, W) uint8 brightness (max of R, G, B) with straight horizontal/vertical lines lightened away.

    Where a pixel is no darker than the line through it (plus a margin), the line's darkness is
    added back (the pixel becomes paper); the trace crossing a line is darker and stays. A b/w page
    whose grid is as black as the trace loses the trace pixels on the lines (one-pixel gaps).
    """
    length = int(round(config.grid_line_min_mm * px_per_mm))
    if length < 3 or min(value.shape) <= length:
        return value
    darkness = cv2.subtract(np.full_like(value, 255), value)
    smooth = max(1, int(config.grid_line_smooth_px))
    lines = cv2.max(
        line_darkness(darkness, length, smooth, horizontal=True),
        line_darkness(darkness, length, smooth, horizontal=False),
    )
    on_line = darkness.astype(np.int16) <= lines.astype(np.int16) + int(config.grid_line_margin)
    return np.where(on_line & (lines > 0), cv2.add(value, lines), value)


def is_binary_page(value: np.ndarray, max_grey_fraction: float = BINARY_MAX_GREY_FRACTION) -> bool:
    """True for a thresholded (black / white) page: almost no pixel of `value` (H, W) is mid-grey."""
    sample = value[::4, ::4]
    if sample.size < 1000:
        return False
    return float(((sample > 48) & (sample < 208)).mean()) < max_grey_fraction


def comb_lines(coverage: np.ndarray, pitch_px: float, min_coverage: float) -> np.ndarray:
    """Bool per index: the grid-line positions (a comb of `pitch_px`, best phase, +-1 px) that are
    covered by straight runs along at least `min_coverage` of the line."""
    n = coverage.size
    positions = np.arange(0.0, n, pitch_px)
    phases = np.arange(0.0, pitch_px, 0.25)
    scores = [np.interp(phase + positions, np.arange(n), coverage).sum() for phase in phases]
    lines = np.round(phases[int(np.argmax(scores))] + positions).astype(int)
    lines = lines[(lines >= 0) & (lines < n)]
    mask = np.zeros(n, dtype=bool)
    for offset in (-1, 0, 1):
        index = np.clip(lines + offset, 0, n - 1)
        mask[index] |= coverage[index] >= min_coverage
    return mask


def binary_grid_mask(ink: np.ndarray, px_per_mm: float, config: TraceEvidenceConfig) -> np.ndarray:
    """(H, W) bool: the grid's remains on a b/w page, straight dashes or lines on the 1 mm comb of
    grid lines; straight runs elsewhere (a flat trace between grid lines) and slanted ink are not."""
    mask = ink.astype(np.uint8)

    def runs_between(low_mm: float, high_mm: float, horizontal: bool) -> np.ndarray:
        def opened(length_mm: float) -> np.ndarray:
            length = max(3, int(round(length_mm * px_per_mm)))
            kernel = np.ones((1, length) if horizontal else (length, 1), np.uint8)
            return cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel).astype(bool)

        return opened(low_mm) & ~opened(high_mm) | opened(config.grid_line_min_mm)

    horizontal = runs_between(config.binary_dash_min_mm, config.binary_dash_max_mm, True)
    vertical = runs_between(config.binary_dash_min_mm, config.binary_dash_max_mm, False)
    rows = comb_lines(horizontal.mean(axis=1), px_per_mm, config.binary_line_min_coverage)
    columns = comb_lines(vertical.mean(axis=0), px_per_mm, config.binary_line_min_coverage)
    return (horizontal & rows[:, None]) | (vertical & columns[None, :])


def bare_vertical_lines(ink: np.ndarray, px_per_mm: float, config: TraceEvidenceConfig) -> np.ndarray:
    """(H, W) bool: the pixels of straight vertical lines (grid lines, page borders) that no other
    ink touches from the side. A trace never runs along one, but it crosses them, and a QRS stroke
    may stand beside one: those pixels stay, the line above and below them goes."""
    if config.grid_line_min_mm <= 0:
        return np.zeros(ink.shape, dtype=bool)
    length = max(3, int(round(config.grid_line_min_mm * px_per_mm)))
    lines = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, np.ones((length, 1), np.uint8))
    beside = cv2.dilate((ink & ~lines.astype(bool)).astype(np.uint8), np.ones((1, 5), np.uint8))
    return lines.astype(bool) & ~beside.astype(bool)


def binary_trace_probability(ink: np.ndarray, px_per_mm: float, config: TraceEvidenceConfig) -> np.ndarray:
    """(H, W) float32 {0, 1}: the ink of a b/w page without its grid dashes, dotted trace rejoined."""
    cleaned = (ink & ~binary_grid_mask(ink, px_per_mm, config)).astype(np.uint8)
    if config.binary_close_px > 1:
        kernel = np.ones((config.binary_close_px, config.binary_close_px), np.uint8)
        cleaned = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, kernel)
    return cleaned.astype(np.float32)


def paper_level(value: np.ndarray, px_per_mm: float, kernel_mm: float) -> np.ndarray:
    """(H, W) float32: the local brightness of the paper, thin dark strokes (trace, grid, text) closed
    away; computed at a quarter of the resolution (it varies slowly) and smoothed."""
    small = cv2.resize(
        value, (max(1, value.shape[1] // 4), max(1, value.shape[0] // 4)), interpolation=cv2.INTER_AREA
    )
    size = max(3, int(round(kernel_mm * px_per_mm / 4)) | 1)
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((size, size), np.uint8))
    smooth = cv2.blur(closed.astype(np.float32), (size, size))
    return cv2.resize(smooth, (value.shape[1], value.shape[0]), interpolation=cv2.INTER_LINEAR)


def flatten_illumination(
    value: np.ndarray, minimum: np.ndarray, px_per_mm: float, config: TraceEvidenceConfig
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(value, minimum, uneven): divided by the local paper level when the light is uneven (its 10th
    / 90th percentile below `flatten_min_spread`); unchanged otherwise (an evenly lit page keeps its
    exact grey levels)."""
    paper = paper_level(value, px_per_mm, config.flatten_kernel_mm)
    low, high = np.percentile(paper[::4, ::4], [10, 90])
    if high <= 0 or low / high >= config.flatten_min_spread:
        return value, minimum, False
    gain = np.float32(high) / np.maximum(paper, 1.0)

    def scaled(channel: np.ndarray) -> np.ndarray:
        return np.clip(channel.astype(np.float32) * gain, 0, 255).astype(np.uint8)

    return scaled(value), scaled(minimum), True


def colour_trace_probability(
    image_rgb: np.ndarray,
    config: TraceEvidenceConfig,
    px_per_mm: float | None = None,
    uneven_ramp_none_fraction: float | None = None,
) -> np.ndarray:
    """(H, W) float32 in [0, 1]: dark, unsaturated pixels off the grid lines; no text removal.

    `px_per_mm` sizes the grid-line filter (default: a letter-width page). Only pixels darker than
    the darkness cut-off are evaluated in float (a few % of the page). `uneven_ramp_none_fraction`
    replaces the ramp's end on an unevenly lit (flattened) page.
    """
    red, green, blue = cv2.split(np.ascontiguousarray(image_rgb))
    value = cv2.max(cv2.max(red, green), blue)
    ppm = px_per_mm or image_rgb.shape[1] / LETTER_WIDTH_MM
    if is_binary_page(value):
        return binary_trace_probability(value < 128, ppm, config)
    minimum = cv2.min(cv2.min(red, green), blue)
    if config.flatten_min_spread > 0:
        value, minimum, uneven = flatten_illumination(value, minimum, ppm, config)
        if uneven and uneven_ramp_none_fraction is not None:
            config = dataclasses.replace(config, ramp_none_fraction=uneven_ramp_none_fraction)
    if config.grid_line_min_mm > 0:
        value = remove_grid_lines(value, ppm, config)
    sample = (slice(None, None, 4), slice(None, None, 4))  # thresholds from a 1/16 subsample (speed)
    full, none, tint_free = darkness_limits(value[sample], config)
    prob = np.zeros(value.shape, dtype=np.float32)
    ys, xs = np.nonzero(value < none)
    v = value[ys, xs].astype(np.float32)
    saturation = (v - minimum[ys, xs]) / np.maximum(v, 1.0)
    grey = _ramp(saturation, config.saturation_full, config.saturation_none)
    # anti-aliased trace pixels over a grid line take the grid's tint; their darkness still says ink
    grey[v <= tint_free] = 1.0
    prob[ys, xs] = _ramp(v, full, none) * grey
    return prob


def blobs_to_remove(stats: np.ndarray, shape: tuple[int, int], px_per_mm: float, config: TraceEvidenceConfig):
    """Bool per component: letters and specks (small both ways), and page frames / ruler lines."""
    height, width = shape
    w = stats[:, cv2.CC_STAT_WIDTH]
    h = stats[:, cv2.CC_STAT_HEIGHT]
    small = (w < config.label_max_width_mm * px_per_mm) & (h < config.label_max_height_mm * px_per_mm)
    frame = (w > 0.9 * width) & (h > 0.9 * height)
    # a vertical line may lean (a scan's dark border, turned by the deskew, then cut into pieces by
    # the image side and the grid-line removal): no trace is half a page tall and that narrow, nor a
    # narrow sliver taller than a letter within 1 mm of the image's side. A horizontal line may not
    # lean (a flat trace is long and low).
    x = stats[:, cv2.CC_STAT_LEFT]
    at_side = ((x < px_per_mm) | (x + w > width - px_per_mm)) & (h > config.label_max_height_mm * px_per_mm)
    upright = (w < np.maximum(px_per_mm, MAX_LINE_LEAN * h)) & ((h > 0.5 * height) | at_side)
    thin_line = ((w > 0.5 * width) & (h < px_per_mm)) | upright
    drop = small | frame | thin_line
    drop[0] = False  # background
    return drop


def remove_text_blobs(
    prob: np.ndarray, px_per_mm: float, config: TraceEvidenceConfig, learned: np.ndarray | None = None
) -> np.ndarray:
    """Zero the connected ink blobs that cannot be trace: letters, digits, specks, page frames.

    A trace segment is one long connected stroke; lead labels and the printed text are separate
    letters. Tall thin blobs (isolated QRS spikes) and long blobs survive, and so does a small blob
    that the `learned` map calls trace (mean probability >= `learned_sure`).
    """
    mask = (prob > 0.5).astype(np.uint8)
    # bridge 1-2 px breaks first: a noisy or JPEG-compressed trace falls apart into letter-sized pieces
    bridged = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bridged, connectivity=8)
    drop = blobs_to_remove(stats, prob.shape, px_per_mm, config)
    if not drop.any():
        return prob
    ys, xs = np.nonzero(mask)
    blob = labels[ys, xs]
    if learned is not None:
        support = np.bincount(blob, weights=learned[ys, xs], minlength=count)
        drop &= support < config.learned_sure * np.maximum(np.bincount(blob, minlength=count), 1)
        if not drop.any():
            return prob
    hit = drop[blob]
    removed = np.zeros(prob.shape, dtype=np.uint8)
    removed[ys[hit], xs[hit]] = 1
    # the faint anti-aliased rim of a dropped blob goes too, but never pixels of a kept blob
    rim = cv2.dilate(removed, np.ones((3, 3), np.uint8)).astype(bool) & (mask == 0)
    out = prob.copy()
    out[removed.astype(bool) | rim] = 0.0
    return out


def learned_probability(
    image_rgb: np.ndarray, trace_model: TraceModel, px_per_mm: float | None = None
) -> np.ndarray:
    """(H, W) float32 in [0, 1] from the model, checked to match the image."""
    learned = np.clip(np.asarray(trace_model(image_rgb, px_per_mm), dtype=np.float32), 0.0, 1.0)
    if learned.shape != image_rgb.shape[:2]:
        raise ValueError(f"trace model returned shape {learned.shape}, expected {image_rgb.shape[:2]}")
    return learned


def learned_gate(learned: np.ndarray, config: TraceEvidenceConfig) -> np.ndarray:
    """(H, W) uint8 {0, 1}: where the learned model sees trace, widened by `learned_dilate_px`."""
    gate = (learned > config.learned_threshold).astype(np.uint8)
    size = max(1, int(config.learned_dilate_px))
    return cv2.dilate(gate, np.ones((size, size), np.uint8)) if size > 1 else gate


def gated_trace_probability(
    image_rgb: np.ndarray, px_per_mm: float, config: TraceEvidenceConfig, learned: np.ndarray
) -> np.ndarray:
    """The ink evidence kept only where the learned model sees trace.

    On a b/w page the ink is every black pixel but the grid dashes the model is not sure of: the
    rule-based grid removal also takes the pulse and flat trace lying on grid lines, which the model
    can tell apart from the grid by their context.
    On an unevenly lit page (a photo) the darkness ramp reaches further into the grey
    (`learned_ramp_none_fraction`): a blurred trace fades there, and the gate drops the paper and
    grid that the wider ramp lets in. Evenly lit pages keep the plain ramp (measured: the wider one
    cost scans 1.5 dB).
    """
    gate = learned_gate(learned, config).astype(bool)
    value = image_rgb.max(axis=2)
    if is_binary_page(value):
        # the gate is wide where the model's coarse map is (a QRS); the grid dashes inside it would
        # pull the trace onto a grid line, unless the model is sure they are trace
        ink = value < 128
        unsure_grid = binary_grid_mask(ink, px_per_mm, config) & (learned < config.learned_sure)
        # a solid vertical line beside a QRS is inside the sure region too: the path would climb it
        return (ink & gate & ~unsure_grid & ~bare_vertical_lines(ink, px_per_mm, config)).astype(np.float32)
    ramp_none = config.learned_ramp_none_fraction
    colour = colour_trace_probability(image_rgb, config, px_per_mm, uneven_ramp_none_fraction=ramp_none)
    return lifted_to_the_model(colour, learned, config) * gate


def lifted_to_the_model(colour: np.ndarray, learned: np.ndarray, config: TraceEvidenceConfig) -> np.ndarray:
    """The colour evidence scaled up where it is faint on the trace the model is sure of: a dim
    photo taken from afar reads ~0.5 at the 90th percentile there (others 0.8-1.0), under the
    rows' ink threshold, and no row was found (fold-9 photo 8)."""
    sure = colour[learned > config.learned_sure]
    if sure.size == 0 or config.learned_evidence_p90 <= 0:
        return colour
    level = float(np.percentile(sure, 90))
    if level <= 0 or level >= config.learned_evidence_p90:
        return colour
    return np.clip(colour * (config.learned_evidence_p90 / level), 0.0, 1.0)


def trace_probability(
    image_rgb: np.ndarray, px_per_mm: float, config: TraceEvidenceConfig | None = None, trace_model=None
) -> np.ndarray:
    """(H, W) float32 in [0, 1]: probability that each pixel belongs to the ECG trace.

    With a `trace_model` the ink evidence is gated by it (`gated_trace_probability`); text removal
    still applies (a model need not learn to ignore lead labels), but spares what the model calls trace.
    """
    config = config or TraceEvidenceConfig()
    if trace_model is None:
        return remove_text_blobs(colour_trace_probability(image_rgb, config, px_per_mm), px_per_mm, config)
    learned = learned_probability(image_rgb, trace_model, px_per_mm)
    prob = gated_trace_probability(image_rgb, px_per_mm, config, learned)
    return remove_text_blobs(prob, px_per_mm, config, learned)
