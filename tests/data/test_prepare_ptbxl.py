"""PTB-XL -> Challenge training records: a 5-record slice of fold 9, at 100 Hz and 500 Hz."""

import argparse

import numpy as np
import pandas as pd
import pytest
from scipy.signal import resample_poly

from ecgvision.cli import prepare as prepare_cli
from ecgvision.constants import CLASSES
from ecgvision.data.prepare_ptbxl import prepare_ptbxl, record_relpath
from ecgvision.data.ptbxl import PtbxlLabeler
from ecgvision.io.headers import comment_lines, get_variable, load_header, parse_header
from ecgvision.io.records import find_records, load_labels, load_signals

FIRST_FOLD9 = [8, 10, 17, 18, 20]  # the first five fold-9 ecg_ids
PTBXL_LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, shared_data):
    """(cache, 100 Hz summary, 500 Hz summary) for the first 5 fold-9 records."""
    root = tmp_path_factory.mktemp("prepare")
    cache = root / "cache"
    low = prepare_ptbxl(root / "lr", folds=[9], limit=5, data_dir=shared_data, cache=cache)
    high = prepare_ptbxl(root / "hr", folds=[9], fs_hz=500, limit=5, data_dir=shared_data, cache=cache)
    return cache, low, high


def source_record(cache, ecg_id):
    return cache / "records100" / "00000" / f"{ecg_id:05d}_lr"


def test_records_are_named_by_ecg_id_in_thousand_subfolders(prepared):
    _, low, high = prepared
    assert find_records(low.output_folder) == [f"00000/{i:05d}_lr" for i in FIRST_FOLD9]
    assert find_records(high.output_folder) == [f"00000/{i:05d}_hr" for i in FIRST_FOLD9]
    assert record_relpath(10005, 500) == "10000/10005_hr"


def test_100hz_signals_equal_the_source(prepared):
    cache, low, _ = prepared
    for ecg_id in FIRST_FOLD9:
        source, _ = load_signals(source_record(cache, ecg_id))
        signal, fs = load_signals(low.output_folder / record_relpath(ecg_id, 100))
        assert fs == 100.0 and signal.shape == (1000, 12)
        assert np.max(np.abs(signal - source)) <= 0.001


def test_500hz_signals_have_5000_samples_and_match_the_source(prepared):
    cache, _, high = prepared
    for ecg_id in FIRST_FOLD9:
        source, _ = load_signals(source_record(cache, ecg_id))
        signal, fs = load_signals(high.output_folder / record_relpath(ecg_id, 500))
        assert fs == 500.0 and signal.shape == (5000, 12)
        # Polyphase upsampling by 5 keeps the original samples (up to 0.001 mV storage steps).
        assert np.max(np.abs(signal[::5] - source)) <= 0.0025
        back = resample_poly(signal, 1, 5, axis=0, padtype="line")
        assert np.max(np.abs(back - source)) < 0.02
        assert np.sqrt(np.mean((back - source) ** 2)) < 0.002


def test_headers_carry_challenge_fields_and_labels(prepared, shared_data):
    _, low, high = prepared
    labeler = PtbxlLabeler(shared_data)
    for summary, fs in ((low, 100), (high, 500)):
        for ecg_id in FIRST_FOLD9:
            record = summary.output_folder / record_relpath(ecg_id, fs)
            header = load_header(record)
            info = parse_header(header)
            assert header.splitlines()[0].split() == [record.name, "12", str(fs), str(10 * fs)]
            assert info.signal_names == PTBXL_LEADS
            assert all(
                (s.fmt, s.adc_gain, s.baseline, s.units) == ("16", 1000.0, 0, "mV") for s in info.signals
            )
            keys = [line.lstrip("# ").split(":")[0] for line in comment_lines(header)]
            assert keys == ["Age", "Sex", "Height", "Weight", "Labels"]  # no Image line yet
            assert get_variable(header, "Sex") in ("Male", "Female")
            assert load_labels(record) == labeler.labels(ecg_id)


def test_summary_counts_the_written_labels(prepared, shared_data):
    _, low, high = prepared
    labeler = PtbxlLabeler(shared_data)
    assert low.num_written == 5 and low.num_skipped == 0
    assert list(low.label_counts) == list(CLASSES)
    assert low.label_counts == labeler.label_counts(FIRST_FOLD9) == high.label_counts
    assert "AFIB/AFL" in low.format()


def test_ecg_ids_missing_from_the_table_are_skipped(tmp_path, shared_data):
    # A data folder like the shared one whose table lacks ecg_id 10.
    ptbxl = tmp_path / "data" / "ptbxl"
    (ptbxl / "ptbxl_plus").mkdir(parents=True)
    for name in ("scp_statements.csv", "records100-fold9.tar.xz", "ptbxl_plus/12sl_statements.csv.xz",
                 "ptbxl_plus/12slv23ToSNOMED.csv"):  # fmt: skip
        (ptbxl / name).symlink_to(shared_data / "ptbxl" / name)
    table = pd.read_csv(shared_data / "ptbxl" / "ptbxl_database.csv")
    table[table["ecg_id"] != 10].to_csv(ptbxl / "ptbxl_database.csv", index=False)
    summary = prepare_ptbxl(
        tmp_path / "out", folds=[9], limit=3, data_dir=tmp_path / "data", cache=tmp_path / "c"
    )
    assert (summary.num_written, summary.num_skipped) == (2, 1)
    assert find_records(tmp_path / "out") == ["00000/00008_lr", "00000/00017_lr"]


def test_refuses_to_write_into_the_shared_folder(shared_data, monkeypatch):
    monkeypatch.setenv("ECGVISION_SHARED_DATA", str(shared_data))
    with pytest.raises(ValueError, match="shared data folder"):
        prepare_ptbxl(shared_data / "prepared", folds=[9], limit=1)
    with pytest.raises(ValueError, match="unsupported output rate"):
        prepare_ptbxl(shared_data.parent / "unused", fs_hz=360)


def test_cli_prepares_250hz_records(tmp_path, shared_data, capsys):
    parser = argparse.ArgumentParser(prog="ecgvision")
    prepare_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["prepare-ptbxl", "-o", str(tmp_path / "out"), "--folds", "9", "--fs", "250", "--limit", "2",
         "--data-dir", str(shared_data), "--cache", str(tmp_path / "cache")]
    )  # fmt: skip
    assert args.func(args) == 0
    assert "2 records at 250 Hz" in capsys.readouterr().out
    signal, fs = load_signals(tmp_path / "out" / "00000" / "00008_hr")
    assert fs == 250.0 and signal.shape == (2500, 12)
