"""Robust image decoding: any PNG/JPEG the Challenge may hand us -> RGB uint8 array, or a clear error."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ecgvision.constants import IMAGE_EXTENSIONS
from ecgvision.io.headers import load_header
from ecgvision.io.records import get_image_files

# Beyond this many pixels an image is refused before decoding (a 200 dpi letter page is ~3.7 MP).
MAX_IMAGE_PIXELS = 64_000_000
MIN_IMAGE_SIDE = 32


class ImageReadError(ValueError):
    """An image that cannot be used; the message says why."""


def image_paths(record: str | os.PathLike) -> list[Path]:
    """Paths of the record's images in `# Image:` order, each inside the record's own folder.

    Entries that would escape the folder (absolute paths, '..') or have another extension are
    refused with ImageReadError rather than read.
    """
    folder = Path(os.fspath(record)).parent.resolve()
    paths = []
    for name in get_image_files(load_header(record)):
        path = (folder / name).resolve()
        if folder not in path.parents:
            raise ImageReadError(f"image entry {name!r} points outside the record folder")
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise ImageReadError(f"image entry {name!r} is not a .png/.jpg/.jpeg file")
        paths.append(path)
    return paths


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Composite transparency on white and convert any mode (L, P, I;16, RGBA, CMYK...) to RGB."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        # 16-bit files span 0..65535; a 32-bit "I" image holding 8-bit values is left as is.
        full_scale = 65535.0 if image.mode.startswith("I;16") or array.max(initial=0) > 255 else 255.0
        grey = np.clip(np.round(array * (255.0 / full_scale)), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """RGB uint8 array (H, W, 3) or ImageReadError with the reason (missing, corrupt, too big...)."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"image file not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageReadError(
                        f"image {path.name} is {width}x{height}, over {MAX_IMAGE_PIXELS} pixels"
                    )
                if min(width, height) < MIN_IMAGE_SIDE:
                    raise ImageReadError(f"image {path.name} is {width}x{height}, too small to hold an ECG")
                image.load()
                return _to_rgb(image)
    except ImageReadError:
        raise
    # Pillow reports some broken files (e.g. a bad chunk between PNG IDATs) as SyntaxError / EOFError.
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombError,
    ) as error:
        raise ImageReadError(f"cannot decode image {path.name}: {error}") from error


def load_images(record: str | os.PathLike) -> list[np.ndarray]:
    """All images of a record as RGB arrays; raises ImageReadError on the first unusable one."""
    return [read_image(path) for path in image_paths(record)]
