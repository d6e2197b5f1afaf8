"""Folder-level evaluation on real records: the record/lead/label rules, the CLI tables, the root script."""

from __future__ import annotations

import argparse
import csv
import logging
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgvision.cli import evaluate as evaluate_cli
from ecgvision.evaluation import evaluate as evaluate_module
from ecgvision.evaluation.evaluate import evaluate_folders
from ecgvision.evaluation.metrics import compute_snr
from ecgvision.io.headers import load_header, save_header
from ecgvision.io.records import load_signals, save_labels, save_signals

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ("00005_hr", "00666_hr")


def copy_record(source: Path, folder: Path, with_signal: bool = True) -> Path:
    """Copy a record's header (and signal file) into `folder`; returns the new record path."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(source.with_suffix(".hea"), folder / f"{source.name}.hea")
    if with_signal:
        shutil.copy(source.with_suffix(".dat"), folder / f"{source.name}.dat")
    return folder / source.name


def write_output(record: Path, signal: np.ndarray, header: str) -> None:
    save_header(record, header)
    save_signals(record, signal, header)


def add_comment(record: Path, line: str) -> None:
    save_header(record, load_header(record).rstrip("\n") + f"\n{line}\n")


@pytest.fixture
def ptbxl_folders(tmp_path, ptbxl_fold9_slice):
    """Reference folder with 3 real 100 Hz PTB-XL records (unlabelled) and an empty output folder."""
    ref, out = tmp_path / "ref", tmp_path / "out"
    records = [copy_record(source, ref) for source in ptbxl_fold9_slice[:3]]
    out.mkdir()
    return ref, out, records


def noisy(signal: np.ndarray, seed: int) -> np.ndarray:
    return signal + 0.05 * np.random.default_rng(seed).standard_normal(signal.shape)


def test_missing_output_scores_zero_and_lead_order_is_by_name(ptbxl_folders):
    ref, out, records = ptbxl_folders
    first, second, _ = records
    signal, _ = load_signals(first)
    write_output(out / first.name, noisy(signal, 0), load_header(first))
    # second: leads written in reverse order with lower-case names -> picked by name
    signal2, _ = load_signals(second)
    header = load_header(second).splitlines()
    leads = header[1:13][::-1]
    swapped = "\n".join(
        [header[0], *[ln.rsplit(" ", 1)[0] + " " + ln.rsplit(" ", 1)[1].lower() for ln in leads]]
    )
    write_output(out / second.name, noisy(signal2, 1)[:, ::-1], swapped + "\n")
    result = evaluate_folders(ref, out, align=False)
    by_record = {r.name: [s for s in result.lead_scores if s.record == r.name] for r in records}
    assert [s.lead for s in by_record[second.name]] == [
        "I",
        "II",
        "III",
        "AVR",
        "AVL",
        "AVF",
        *[f"V{i}" for i in range(1, 7)],
    ]
    expected = [compute_snr(signal2[:, j], noisy(signal2, 1)[:, j]) for j in range(12)]
    assert [s.snr_db for s in by_record[second.name]] == pytest.approx(expected, abs=0.05)  # 1 uV storage
    assert all(s.snr_db == 0.0 and s.coverage == 0.0 for s in by_record[records[2].name])
    all_snr = [s.snr_db for s in result.lead_scores]
    assert result.snr_db == pytest.approx(np.nanmean(all_snr)) and len(all_snr) == 36
    assert result.num_digitization_records == 3
    parallel = evaluate_folders(ref, out, align=False, workers=2).lead_scores
    assert [(s.record, s.lead) for s in parallel] == [(s.record, s.lead) for s in result.lead_scores]
    np.testing.assert_array_equal([s.snr_db for s in parallel], all_snr)


def test_fs_or_units_mismatch_is_a_logged_error_and_all_nan(ptbxl_folders, caplog):
    ref, out, records = ptbxl_folders
    signal, _ = load_signals(records[0])
    write_output(
        out / records[0].name, signal, load_header(records[0]).replace(" 12 100 1000", " 12 200 1000", 1)
    )
    signal, _ = load_signals(records[1])
    write_output(out / records[1].name, signal, load_header(records[1]).replace("/mV", "/uV"))
    with caplog.at_level(logging.ERROR):
        result = evaluate_folders(ref, out)
    assert "fs 200 Hz != reference fs 100 Hz" in caplog.text
    assert "output units differ" in caplog.text
    assert all(s.snr_db == 0.0 for s in result.lead_scores if s.record in (records[0].name, records[1].name))


def test_infinite_reference_samples_are_nan_with_a_warning(ptbxl_folders, monkeypatch, caplog):
    ref, out, records = ptbxl_folders
    signal, _ = load_signals(records[0])
    write_output(out / records[0].name, noisy(signal, 2), load_header(records[0]))
    baseline = evaluate_folders(ref, out, align=False).lead_scores[0]
    real_load = evaluate_module.load_signals

    def load_with_inf(record, lead_names=None):
        values, fs = real_load(record, lead_names)
        if Path(record).parent == ref:
            values[:500, 0] = np.inf
        return values, fs

    monkeypatch.setattr(evaluate_module, "load_signals", load_with_inf)
    with caplog.at_level(logging.WARNING):
        first = evaluate_folders(ref, out, align=False).lead_scores[0]
    assert "infinite reference samples treated as NaN" in caplog.text
    assert math.isfinite(first.snr_db) and first.snr_db != baseline.snr_db
    assert first.coverage == 1.0  # only the 500 finite reference samples are scored


def test_variants_labels_and_signal_less_records(ptbxl_folders):
    ref, out, records = ptbxl_folders
    add_comment(records[0], "# Variant: clean")
    add_comment(records[1], "# Variant: wrinkled")
    for record, labels in zip(records, (["NORM"], ["NORM", "STTC"], []), strict=True):
        save_labels(record, labels)
    copy_record(records[0], ref / "headers_only", with_signal=False)  # no signal: not digitized
    signal, _ = load_signals(records[0])
    write_output(out / records[0].name, noisy(signal, 3), load_header(records[0]))
    save_labels(out / records[0].name, ["NORM", "CD"])
    result = evaluate_folders(ref, out, extra=True)
    assert result.num_records == 4 and result.num_digitization_records == 3
    assert set(result.variant_snr_db) == {"", "clean", "wrinkled"}
    clean = [s.snr_db for s in result.lead_scores if s.variant == "clean"]
    assert result.variant_snr_db["clean"] == pytest.approx(np.nanmean(clean)) and np.nanmean(clean) > 5
    assert result.variant_snr_db["wrinkled"] == 0.0  # its output is missing
    # labelled: records 0, 1 and the header-only copy of 0; predictions [NORM, CD], missing, missing
    assert result.num_classification_records == 3
    assert result.per_class_f == pytest.approx({"NORM": 2 / 4, "STTC": 0.0})
    assert result.f_measure == pytest.approx(0.25)
    assert math.isfinite(result.extras.ks) and math.isfinite(result.extras.wad_mv)


def test_no_signals_or_no_labels_give_nan_and_missing_folders_are_errors(tmp_path, ptbxl_folders):
    ref, out, records = ptbxl_folders
    result = evaluate_folders(ref, out)
    assert math.isnan(result.f_measure)  # PTB-XL headers carry no labels
    headers_only = tmp_path / "headers_only"
    for record in records:
        copy_record(record, headers_only, with_signal=False)
    save_labels(headers_only / records[0].name, ["NORM"])
    result = evaluate_folders(headers_only, out)
    assert math.isnan(result.snr_db) and result.lead_scores == []
    assert math.isnan(result.f_measure)  # counted record, but no prediction at all
    with pytest.raises(FileNotFoundError, match="output folder not found"):
        evaluate_folders(ref, tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no records"):
        evaluate_folders(tmp_path / "empty", out)


def test_cli_writes_scores_and_tables(tmp_path, ptbxl_folders, capsys):
    ref, out, records = ptbxl_folders
    add_comment(records[0], "# Variant: clean")
    save_labels(records[0], ["NORM"])
    signal, _ = load_signals(records[0])
    write_output(out / records[0].name, noisy(signal, 4), load_header(records[0]))
    parser = argparse.ArgumentParser()
    evaluate_cli.add_parser(parser.add_subparsers())
    scores, tables = tmp_path / "scores.txt", tmp_path / "tables"
    args = parser.parse_args(
        ["evaluate", "-d", str(ref), "-o", str(out), "-s", str(scores), "--tables", str(tables)]
    )
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert scores.read_text() in printed and scores.read_text().startswith("SNR: ")
    with open(tables / "per_record_lead_snr.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 36 and {"record", "lead", "snr_db", "coverage", "variant"} <= set(rows[0])
    assert {r["variant"] for r in rows} == {"", "clean"}
    assert (tables / "per_class_f.csv").read_text().splitlines() == ["class,f_measure", "NORM,1.000000"]
    variants = (tables / "per_variant_snr.csv").read_text().splitlines()
    assert variants[0] == "variant,snr_db,num_records,num_leads" and variants[1].startswith(",0.000000,2,24")


def run_evaluate_model(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "evaluate_model.py", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture
def example_folders(tmp_path, challenge_examples):
    """Reference folder with both Challenge examples; output folder with only 00005_hr's header."""
    ref, out = tmp_path / "ref", tmp_path / "out"
    for name in EXAMPLES:
        copy_record(challenge_examples / name, ref)
    return ref, out


def test_evaluate_model_script_on_challenge_examples(tmp_path, example_folders):
    ref, out = example_folders
    record = ref / "00005_hr"
    signal, _ = load_signals(record)
    # 0.9 x the reference: Pn = 0.01 Ps -> 20 dB per lead unaligned; 00666_hr missing -> 0 dB per lead
    write_output(out / "00005_hr", 0.9 * signal, load_header(record))
    scores = tmp_path / "scores.txt"
    ran = run_evaluate_model("-d", str(ref), "-o", str(out), "-s", str(scores), "-n", "-x")
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        "SNR", "SNR median", "KS metric", "ASCI metric", "Weighted absolute difference metric", "F-measure",
    ]  # fmt: skip
    assert all(re.fullmatch(r"[A-Za-z -]+: -?(\d+\.\d{3}|nan)", line) for line in lines)
    assert float(lines[0].split(": ")[1]) == pytest.approx(10.0, abs=0.01)  # 1 uV storage rounding
    assert lines[2] == "KS metric: 1.000"
    assert lines[-1] == "F-measure: 0.667"  # both NORM; predicted [NORM] and nothing
    assert scores.read_text() == ran.stdout


def test_evaluate_model_script_realigns_a_delayed_copy(example_folders):
    ref, out = example_folders
    record = ref / "00005_hr"
    signal, _ = load_signals(record)
    header = "\n".join(ln for ln in load_header(record).splitlines() if not ln.startswith("# Labels")) + "\n"
    # first 2.5 s of the real record as the reference (keeps the 500 Hz alignment images small)
    signal = signal[:1250]
    write_output(record, signal, header)
    delayed = np.vstack([np.full((25, 12), np.nan), signal[:-25]])  # 50 ms late, else exact
    write_output(out / "00005_hr", delayed, header)
    ran = run_evaluate_model("-d", str(ref), "-o", str(out))
    assert ran.returncode == 0, ran.stderr
    # realigned -> a perfect match (NaN, excluded); 00666_hr missing -> 0 dB; no prediction -> F nan
    assert ran.stdout.splitlines() == ["SNR: 0.000", "F-measure: nan"]
    unaligned = run_evaluate_model("-d", str(ref), "-o", str(out), "-n")
    assert float(unaligned.stdout.splitlines()[0].split(": ")[1]) < 0.0


def test_evaluate_model_script_missing_folder_is_a_clear_error(tmp_path, example_folders):
    ref, _ = example_folders
    ran = run_evaluate_model("-d", str(tmp_path / "missing"), "-o", str(ref))
    assert ran.returncode == 1
    assert "error: reference folder not found" in ran.stderr and "Traceback" not in ran.stderr
