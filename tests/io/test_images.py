import numpy as np
import pytest
from PIL import Image

from ecgvision.io.images import ImageReadError, image_paths, load_images, read_image


def _save(path, array, mode=None):
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def test_rgba_example_is_composited_to_rgb(challenge_examples):
    images = load_images(challenge_examples / "00666_hr")  # an RGBA PNG
    assert len(images) == 1 and images[0].shape == (1700, 2200, 3) and images[0].dtype == np.uint8


def test_grey_palette_16bit_and_transparent_images(tmp_path):
    grey = np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))
    assert read_image(_save(tmp_path / "g.png", grey)).shape == (64, 64, 3)
    palette = Image.fromarray(grey).convert("P")
    palette.save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").shape == (64, 64, 3)
    deep = grey.astype(np.uint16) * 257
    Image.fromarray(deep).save(tmp_path / "d.png")
    rgb16 = read_image(tmp_path / "d.png")
    assert rgb16[0, -1, 0] == 252 and rgb16[0, 0, 0] == 0
    clear = np.zeros((64, 64, 4), dtype=np.uint8)  # fully transparent black -> white paper
    assert (read_image(_save(tmp_path / "t.png", clear)) == 255).all()


def test_bad_images_raise_clear_errors(tmp_path):
    with pytest.raises(ImageReadError, match="not found"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    with pytest.raises(ImageReadError, match="cannot decode"):
        read_image(tmp_path / "junk.png")
    with pytest.raises(ImageReadError, match="too small"):
        read_image(_save(tmp_path / "tiny.png", np.zeros((1, 1, 3), dtype=np.uint8)))


def test_truncated_jpeg_is_an_error_not_a_crash(tmp_path):
    array = np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)
    Image.fromarray(array).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError):
        read_image(tmp_path / "cut.jpg")


def test_image_entries_outside_the_record_folder_are_refused(tmp_path):
    (tmp_path / "r.hea").write_text("r 1 100 1000\nr.dat 16 1000/mV 16 0 0 0 0 I\n# Image: ../secret.png\n")
    with pytest.raises(ImageReadError, match="outside"):
        image_paths(tmp_path / "r")
    (tmp_path / "s.hea").write_text(
        "s 1 100 1000\ns.dat 16 1000/mV 16 0 0 0 0 I\n# Image: s-0.png, s-1.png\n"
    )
    assert [p.name for p in image_paths(tmp_path / "s")] == ["s-0.png", "s-1.png"]
