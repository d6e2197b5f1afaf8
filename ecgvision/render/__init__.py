"""Realistic ECG paper images from real signals, with pixel-exact ground truth."""

from ecgvision.render.config import PRESETS, VARIANTS, RealismConfig, RenderConfig, with_variant
from ecgvision.render.dataset_writer import write_rendered_records
from ecgvision.render.ground_truth import ImageTruth, SegmentTruth, load_truth, save_truth
from ecgvision.render.render import RenderedImage, render_record

__all__ = [
    "PRESETS",
    "VARIANTS",
    "ImageTruth",
    "RealismConfig",
    "RenderConfig",
    "RenderedImage",
    "SegmentTruth",
    "load_truth",
    "render_record",
    "save_truth",
    "with_variant",
    "write_rendered_records",
]
