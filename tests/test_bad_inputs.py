"""Bad inputs through run_model.py -f (as the organizers run it) and through the batch runner.

Every record must end with outputs (NaN signals / empty labels when nothing usable was read), the
batch must finish, each failure must be logged with its reason, and no partial file may remain.
Built from the 2 Challenge examples and small generated images (the 20000 x 20000 PNG is a real,
valid 1-bit file of about 60 kB).
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ecgvision.batch.runner import read_run_log, run_batch
from ecgvision.challenge.entry import train_models
from ecgvision.data.hidden import hide_folder
from ecgvision.io.headers import get_list, get_variable, load_header, parse_header
from ecgvision.io.images import ImageReadError, read_image
from ecgvision.io.records import load_signals

ROOT = Path(__file__).resolve().parents[1]
GOOD = ("00005_hr", "00666_hr")
# Records whose image cannot be used: name -> text the logged reason must contain.
UNREADABLE = {
    "trunc_png": "truncated",
    "garbage_png": "cannot decode",
    "broken_chunk_png": "broken PNG",
    "trunc_jpg": "truncated",
    "garbage_jpg": "cannot decode",
    "one_pixel": "too small",
    "huge_20000": "pixels",  # Pillow's bomb check (400 MP) or ours, both before decoding
    "big_9000": "over 64000000 pixels",
    "outside_relative": "outside the record folder",
    "outside_symlink": "outside the record folder",
    "missing_file": "not found",
    "gif_entry": "not a .png/.jpg/.jpeg",
}
NO_IMAGE = ("no_image_line", "empty_image_line")
# Images that decode: the models must answer (whatever the answer), never crash.
DECODABLE = ("blank_page", "noise_photo", "upside_down", "rotated_90", "rgba", "palette", "grey16")
# Malformed headers: run_models raises; -f writes the header copy only (when the header is readable).
BAD_HEADERS = ("no_samples", "non_numeric", "few_signal_lines", "bad_gain", "empty_header")
UNREADABLE_HEADER = "binary_header"


# --- making the inputs ----------------------------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def blank_bilevel_png(side_px: int) -> bytes:
    """A valid side x side 1-bit PNG, compressed row by row (never the whole raster in memory)."""
    row = b"\x00" + bytes((side_px + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * 1000) for _ in range(side_px // 1000))
    idat += compressor.compress(row * (side_px % 1000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side_px, side_px, 1, 0, 0, 0, 0)
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def broken_chunk_png() -> bytes:
    """A small PNG with an invalid chunk type between two IDATs (Pillow raises SyntaxError on it)."""
    side = 64
    data = zlib.compress(b"".join(b"\x00" + bytes(range(side)) for _ in range(side)))
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
    idats = (
        png_chunk(b"IDAT", data[:20]) + png_chunk(b"\x01\x02\x03\x04", b"xx") + png_chunk(b"IDAT", data[20:])
    )
    return b"\x89PNG\r\n\x1a\n" + header + idats + png_chunk(b"IEND", b"")


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"compress_level": 1} if fmt == "PNG" else {"quality": 85}))
    return buffer.getvalue()


def odd_images(example_png: Path) -> dict[str, bytes]:
    """Image bytes of each odd-but-decodable or unreadable case, keyed by record name."""
    page = Image.open(example_png).convert("RGB")
    half = page.resize((page.width // 2, page.height // 2))
    rng = np.random.default_rng(0)
    gradient = np.linspace(0, 255, 640)[None, :, None] * np.ones((480, 1, 3))
    noise = np.clip(gradient + rng.normal(0, 40, gradient.shape), 0, 255).astype(np.uint8)
    alpha = np.tile(np.linspace(0, 255, half.width, dtype=np.uint8), (half.height, 1))
    grey16 = (np.asarray(half.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    png, jpg = example_png.read_bytes(), encode(half, "JPEG")
    return {
        "trunc_png": png[: len(png) // 2],
        "garbage_png": rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "broken_chunk_png": broken_chunk_png(),
        "trunc_jpg": jpg[: len(jpg) // 2],
        "garbage_jpg": b"\xff\xd8\xff" + rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "one_pixel": encode(Image.new("RGB", (1, 1), "white")),
        "huge_20000": blank_bilevel_png(20000),
        "big_9000": blank_bilevel_png(9000),
        "blank_page": encode(Image.new("RGB", (1100, 850), "white")),
        "noise_photo": encode(Image.fromarray(noise), "JPEG"),
        "upside_down": encode(page.rotate(180)),
        "rotated_90": encode(page.transpose(Image.Transpose.ROTATE_90)),
        "rgba": encode(Image.merge("RGBA", (*half.split(), Image.fromarray(alpha)))),
        "palette": encode(half.quantize(64)),
        "grey16": encode(Image.fromarray(grey16)),
    }


def write_record(folder: Path, name: str, template: str, image_line: str | None) -> None:
    """A hidden-format header for `name` from the 00005_hr template with its own `# Image:` line."""
    lines = [
        line for line in template.replace("00005_hr", name).splitlines() if not line.startswith("# Image")
    ]
    if image_line is not None:
        lines.append(image_line)
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")


def write_bad_headers(folder: Path, template: str) -> None:
    record_line, *signal_lines = template.replace("00005_hr", "NAME").splitlines()[:13]
    image = "# Image: 00005_hr-0.png"
    texts = {
        "no_samples": "NAME 12 500\n" + "\n".join(signal_lines),
        "non_numeric": "NAME twelve 500 5000\n" + "\n".join(signal_lines),
        "few_signal_lines": record_line + "\n" + "\n".join(signal_lines[:3]),
        "bad_gain": record_line
        + "\n"
        + "\n".join(s.replace("1000.0(0)/mV", "abc(0)/mV") for s in signal_lines),
        "empty_header": "",
    }
    for name, text in texts.items():
        (folder / f"{name}.hea").write_text(
            text.replace("NAME", name) + ("\n" + image if text else "") + "\n"
        )
    (folder / f"{UNREADABLE_HEADER}.hea").write_bytes(b"\xff\xfe\x00garbage\x80\x81\n")


@pytest.fixture(scope="module")
def bad_folders(tmp_path_factory, challenge_examples) -> tuple[Path, Path]:
    """(hidden data folder with every bad case + the 2 good records, trained model folder)."""
    root = tmp_path_factory.mktemp("bad_inputs")
    train, hidden, model = root / "train", root / "hidden", root / "model"
    shutil.copytree(challenge_examples, train)
    train_models(str(train), str(model))
    hide_folder(train, hidden)
    template = (hidden / "00005_hr.hea").read_text()
    for name, data in odd_images(train / "00005_hr-0.png").items():
        extension = ".jpg" if name.endswith("jpg") or name == "noise_photo" else ".png"
        (hidden / f"{name}-0{extension}").write_bytes(data)
        write_record(hidden, name, template, f"# Image: {name}-0{extension}")
    outside = root / "outside"
    outside.mkdir()
    shutil.copy(train / "00005_hr-0.png", outside / "secret.png")
    write_record(hidden, "outside_relative", template, "# Image: ../outside/secret.png")
    (hidden / "link-0.png").symlink_to(outside / "secret.png")
    write_record(hidden, "outside_symlink", template, "# Image: link-0.png")
    write_record(hidden, "missing_file", template, "# Image: missing_file-0.png")
    write_record(hidden, "gif_entry", template, "# Image: 00005_hr-0.gif")
    write_record(hidden, "no_image_line", template, None)
    write_record(hidden, "empty_image_line", template, "# Image: ")
    write_bad_headers(hidden, template)
    return hidden, model


@pytest.fixture(scope="module")
def run_model_outputs(bad_folders, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    hidden, model = bad_folders
    out = tmp_path_factory.mktemp("run_model_out")
    command = [sys.executable, "run_model.py", "-d", str(hidden), "-m", str(model), "-o", str(out), "-f"]
    ran = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return out, ran


@pytest.fixture(scope="module")
def batch_outputs(bad_folders, tmp_path_factory):
    hidden, model = bad_folders
    out = tmp_path_factory.mktemp("batch_out")
    summary = run_batch(hidden, model, out, workers=2, allow_failures=True, progress=False)
    return out, summary


# --- checks shared by both runners ----------------------------------------------------------------


def assert_nan_and_unlabelled(out: Path, name: str) -> None:
    signal, fs = load_signals(out / name)
    assert signal.shape == (5000, 12) and fs == 500.0, name
    assert np.isnan(signal).all(), f"{name}: nothing usable was read, so every sample must be NaN"
    assert get_list(load_header(out / name), "Labels") == [], name


def assert_answered(out: Path, name: str) -> None:
    signal, _ = load_signals(out / name)
    assert signal.shape == (5000, 12), name
    finite = signal[np.isfinite(signal)]
    assert np.all(np.abs(finite) <= 32.767), name
    assert get_variable(load_header(out / name), "Labels") is not None, f"{name}: a labels line"


def assert_header_copy_only(hidden: Path, out: Path, name: str) -> None:
    assert (out / f"{name}.hea").read_text() == (hidden / f"{name}.hea").read_text(), name
    assert not (out / f"{name}.dat").exists(), name


def assert_no_partial_files(out: Path) -> None:
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".wfdb-")]
    assert not leftovers, f"partial files left behind: {leftovers}"


def assert_outputs(hidden: Path, out: Path) -> None:
    for name in (*UNREADABLE, *NO_IMAGE):
        assert_nan_and_unlabelled(out, name)
    for name in (*GOOD, *DECODABLE):
        assert_answered(out, name)
    for name in BAD_HEADERS:
        assert_header_copy_only(hidden, out, name)
    assert not (out / f"{UNREADABLE_HEADER}.hea").exists()
    assert_no_partial_files(out)


# --- tests ----------------------------------------------------------------------------------------


def test_run_model_script_survives_bad_inputs(bad_folders, run_model_outputs):
    hidden, _ = bad_folders
    out, ran = run_model_outputs
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert_outputs(hidden, out)
    for name, reason in UNREADABLE.items():
        logged = [line for line in ran.stderr.splitlines() if f"{name}:" in line or f"{name} " in line]
        assert any(reason in line for line in logged), f"{name}: reason {reason!r} not logged"
    for name in (*BAD_HEADERS, UNREADABLE_HEADER):
        assert f"{name} failed" in ran.stderr, name


def test_batch_runner_survives_bad_inputs(bad_folders, batch_outputs):
    hidden, _ = bad_folders
    out, summary = batch_outputs
    assert not summary.stopped_early and summary.num_planned == summary.num_processed
    assert_outputs(hidden, out)
    entries = {entry["record"]: entry for entry in read_run_log(out)}
    assert len(entries) == summary.num_planned, "one log line per record"
    for name, reason in UNREADABLE.items():
        assert entries[name]["status"] == "warning" and reason in entries[name]["reason"], entries[name]
    for name in NO_IMAGE:
        assert entries[name]["status"] == "warning" and "no image" in entries[name]["reason"]
    for name in (*BAD_HEADERS, UNREADABLE_HEADER):
        assert entries[name]["status"] == "failed" and entries[name]["reason"], entries[name]
    assert "could not write its output header" in entries[UNREADABLE_HEADER]["reason"]
    for name in (*GOOD, *DECODABLE):
        assert entries[name]["status"] in ("ok", "warning"), entries[name]


def test_batch_outputs_equal_run_model_outputs(run_model_outputs, batch_outputs):
    (script_out, _), (batch_out, _) = run_model_outputs, batch_outputs

    def files(folder: Path) -> dict[str, bytes]:
        return {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*")
            if p.is_file() and p.suffix in (".hea", ".dat")
        }

    script_files, batch_files = files(script_out), files(batch_out)
    assert sorted(script_files) == sorted(batch_files)
    different = [name for name in script_files if script_files[name] != batch_files[name]]
    assert not different, f"batch outputs differ from run_model.py's: {different}"


@pytest.mark.parametrize("side_px", [20000, 9000])
def test_reader_refuses_huge_images_before_decoding(tmp_path, side_px):
    path = tmp_path / "huge.png"
    path.write_bytes(blank_bilevel_png(side_px))
    assert path.stat().st_size < 200_000, "the test file itself stays tiny"
    start = time.perf_counter()
    with pytest.raises(ImageReadError, match="pixels"):
        read_image(path)
    # Decoding (and converting to RGB) 81-400 MP would take seconds and 0.2-1.2 GB.
    assert time.perf_counter() - start < 0.5


def test_bad_headers_are_really_malformed(bad_folders):
    """Guards the suite itself: each bad header is refused by the parser, so its failure is real."""
    hidden, _ = bad_folders
    for name in BAD_HEADERS:
        with pytest.raises(ValueError):
            parse_header((hidden / f"{name}.hea").read_text())
    assert os.path.islink(hidden / "link-0.png")
