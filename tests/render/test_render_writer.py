import argparse

import numpy as np
import pytest

from ecgvision.cli import render as render_cli
from ecgvision.config import ConfigError, load_config
from ecgvision.constants import LEADS
from ecgvision.io.headers import get_list, load_header
from ecgvision.io.images import load_images
from ecgvision.io.records import find_records, load_signals
from ecgvision.render.config import RenderConfig
from ecgvision.render.dataset_writer import write_rendered_records
from ecgvision.render.ground_truth import load_truth, save_truth
from ecgvision.render.render import render_record


def test_written_records_load_with_the_io_layer(ptbxl_fold9_slice, tmp_path):
    records = ptbxl_fold9_slice[:2]
    root = records[0].parents[1]  # .../records100
    written = write_rendered_records(
        records, tmp_path, RenderConfig(), ["clean", "bw"], seed=1, images_per_record=2, input_folder=root
    )
    assert find_records(tmp_path) == sorted(r.relative_to(root).as_posix() for r in records)
    for source, result in zip(records, written, strict=True):
        out = tmp_path / source.relative_to(root)
        original, fs = load_signals(source, LEADS)
        copied, fs_out = load_signals(out, LEADS)
        assert fs_out == fs and copied.shape == original.shape
        np.testing.assert_allclose(copied, original, atol=5e-4)
        header = load_header(out)
        assert get_list(header, "Image") == result.images and len(result.images) == 2
        assert get_list(header, "Variant") == ["clean", "bw"]
        images = load_images(out)
        truth = load_truth(out.parent / f"{out.name}-1.json.gz")
        assert images[1].shape[:2] == (truth.height_px, truth.width_px)
        assert set(np.unique(images[1])) <= {0, 255}  # the b/w image, saved losslessly
        assert len(truth.segments) == 13 and truth.variant == "bw"


def test_writing_twice_gives_identical_files_and_replaces_image_lines(challenge_examples, tmp_path):
    record = challenge_examples / "00005_hr"
    for folder in ("a", "b"):
        write_rendered_records([record], tmp_path / folder, RenderConfig(), ["photo"], seed=3)
    for name in ("00005_hr-0.jpg", "00005_hr-0.json.gz", "00005_hr.hea", "00005_hr.dat"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    header = load_header(tmp_path / "a" / "00005_hr")
    assert header.count("# Image:") == 1 and get_list(header, "Labels") == ["NORM"]


def test_truth_json_round_trip(challenge_signal, tmp_path):
    signal, fs = challenge_signal
    truth = render_record(signal, fs, RenderConfig(layout="6x2"), 0).truth
    save_truth(truth, tmp_path / "t.json.gz")
    loaded = load_truth(tmp_path / "t.json.gz")
    assert loaded.layout == "6x2" and len(loaded.segments) == len(truth.segments)
    for a, b in zip(truth.segments, loaded.segments, strict=True):
        assert (a.lead, a.start_sample, a.end_sample) == (b.lead, b.start_sample, b.end_sample)
        np.testing.assert_allclose(b.x_px, a.x_px, atol=1e-3)
        np.testing.assert_allclose(b.y_px, a.y_px, atol=1e-3)
    np.testing.assert_array_equal(loaded.plotted_mask(), np.isfinite(truth.reference_mv))


def test_config_yaml_overrides_and_unknown_keys(tmp_path):
    path = tmp_path / "render.yaml"
    path.write_text("layout: 12x1\nrealism:\n  blur_prob: 0.5\n")
    config = load_config(RenderConfig, path, ["dpi=150", "realism.rotation_max_deg=4"])
    assert (config.layout, config.dpi, config.realism.blur_prob, config.realism.rotation_max_deg) == (
        "12x1",
        150,
        0.5,
        4.0,
    )
    with pytest.raises(ConfigError):
        load_config(RenderConfig, None, ["realism.nope=1"])


def test_cli_renders_a_folder(challenge_examples, tmp_path):
    parser = argparse.ArgumentParser()
    render_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        [
            "render",
            "-i",
            str(challenge_examples),
            "-o",
            str(tmp_path),
            "--set",
            "layout=3x4+3",
            "--limit",
            "1",
        ]
    )
    assert args.func(args) == 0
    assert find_records(tmp_path) == ["00005_hr"]
    assert len(load_truth(tmp_path / "00005_hr-0.json.gz").segments) == 15


def test_custom_variant_uses_the_configured_realism(challenge_examples, tmp_path):
    parser = argparse.ArgumentParser()
    render_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        [
            "render",
            "-i",
            str(challenge_examples),
            "-o",
            str(tmp_path),
            "--variants",
            "custom",
            "--limit",
            "1",
            "--set",
            "realism.bw_prob=1.0",
        ]
    )
    assert args.func(args) == 0
    assert get_list(load_header(tmp_path / "00005_hr"), "Variant") == ["custom"]
    assert set(np.unique(load_images(tmp_path / "00005_hr")[0])) <= {0, 255}
