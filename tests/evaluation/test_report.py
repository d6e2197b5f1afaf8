"""`ecgvision evaluate --report`: PNG plots and index.html on a tiny reference/output pair."""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ecgvision.cli import evaluate as evaluate_cli
from ecgvision.evaluation.evaluate import evaluate_folders
from ecgvision.evaluation.report import worst_records, write_report
from ecgvision.io.headers import load_header
from ecgvision.io.records import load_signals, save_labels, save_signals

# name -> (source example, noise std in mV, variant): more noise, lower SNR.
RECORDS = {
    "a": ("00005_hr", 0.01, "clean"),
    "b": ("00666_hr", 0.02, "clean"),
    "c": ("00005_hr", 0.05, "photo"),
    "d": ("00666_hr", 0.1, "photo"),
    "e": ("00005_hr", 0.2, "bw"),
    "f": ("00666_hr", 0.4, "bw"),
}


def copy_record(source: Path, destination: Path, variant: str) -> None:
    header = load_header(source).replace(source.name, destination.name) + f"# Variant: {variant}\n"
    (destination.parent / f"{destination.name}.hea").write_text(header)
    shutil.copy(f"{source}.dat", f"{destination}.dat")


@pytest.fixture
def folders(tmp_path, challenge_examples) -> tuple[Path, Path]:
    """Reference records a-f and outputs: the reference plus known noise, lead V6 missing, labels."""
    ref, out = tmp_path / "ref", tmp_path / "out"
    ref.mkdir()
    out.mkdir()
    rng = np.random.default_rng(0)
    for i, (name, (source, noise_mv, variant)) in enumerate(RECORDS.items()):
        copy_record(challenge_examples / source, ref / name, variant)
        signal, _ = load_signals(ref / name)
        estimate = signal + rng.normal(0.0, noise_mv, signal.shape)
        estimate[:, -1] = np.nan
        save_signals(out / name, estimate, load_header(ref / name))
        save_labels(out / name, ["NORM"] if i % 2 else ["STTC"])
    return ref, out


def test_report_writes_plots_and_index(folders, tmp_path):
    ref, out = folders
    result = evaluate_folders(ref, out, align=False)
    assert [record for record, _ in worst_records(result.lead_scores, 2)] == ["f", "e"]
    paths = write_report(result, ref, out, tmp_path / "report")
    names = [p.name for p in paths]
    assert names[:3] == ["lead_snr.png", "variant_snr.png", "class_f.png"] and names[-1] == "index.html"
    overlays = [n for n in names if n.startswith("worst_")]
    assert overlays == ["worst_1_f.png", "worst_2_e.png", "worst_3_d.png", "worst_4_c.png", "worst_5_b.png"]
    for path in paths[:-1]:
        with Image.open(path) as image:
            assert image.format == "PNG" and min(image.size) > 200
    index = (tmp_path / "report" / "index.html").read_text()
    linked = set(re.findall(r'href="([^"]+)"', index))
    assert linked == {p.name for p in paths[:-1]}
    assert f"SNR: {result.snr_db:.3f}" in index and "F-measure: 0.667" in index  # NORM: TP 3, FN 3
    assert not list((tmp_path / "report").glob("*.tmp"))


def test_evaluate_cli_report_option(folders, tmp_path, capsys):
    ref, out = folders
    parser = argparse.ArgumentParser()
    evaluate_cli.add_parser(parser.add_subparsers())
    report = tmp_path / "cli_report"
    args = parser.parse_args(["evaluate", "-d", str(ref), "-o", str(out), "-n", "--report", str(report)])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "SNR: " in printed and "index.html" in printed
    assert len(list(report.glob("*.png"))) == 8 and (report / "index.html").is_file()
