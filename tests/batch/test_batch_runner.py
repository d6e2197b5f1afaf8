"""Batch runner: shards, resume after an interrupted batch, model-load errors and the CLI."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from ecgvision.batch.runner import (
    ModelLoadError,
    Shard,
    done_marker,
    parse_shard,
    read_run_log,
    run_batch,
    select_shard,
)
from ecgvision.challenge.entry import train_models
from ecgvision.cli import run as run_cli
from ecgvision.data.hidden import hidden_header
from ecgvision.io.records import load_signals

NAMES = ("r1", "r2", "r3", "r4", "r5")


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory, challenge_examples) -> Path:
    model = tmp_path_factory.mktemp("model")
    train_models(str(challenge_examples), str(model))
    return model


@pytest.fixture
def data_folder(tmp_path, challenge_examples) -> Path:
    """Five hidden records r1..r5 in a nested folder, all drawing the 00005_hr image."""
    data = tmp_path / "data" / "sub"
    data.mkdir(parents=True)
    shutil.copy(challenge_examples / "00005_hr-0.png", data)
    header = hidden_header((challenge_examples / "00005_hr.hea").read_text())
    for name in NAMES:
        (data / f"{name}.hea").write_text(
            header.replace("00005_hr.dat", f"{name}.dat").replace("00005_hr ", f"{name} ")
        )
    return tmp_path / "data"


def output_state(out: Path, names: tuple[str, ...]) -> dict[str, tuple[int, bytes]]:
    """(mtime in ns, bytes) of every output and marker of `names`."""
    paths = [out / "sub" / f"{n}{ext}" for n in names for ext in (".hea", ".dat")]
    paths += [done_marker(out, f"sub/{n}") for n in names]
    return {str(p): (p.stat().st_mtime_ns, p.read_bytes()) for p in paths}


def test_parse_and_select_shards_partition_the_records():
    records = [f"rec{i:02d}" for i in range(10)]
    shards = [select_shard(records, parse_shard(f"{k}/3")) for k in (1, 2, 3)]
    assert shards[0] == ["rec00", "rec03", "rec06", "rec09"] and shards[2] == ["rec02", "rec05", "rec08"]
    assert sorted(sum(shards, [])) == records
    assert select_shard(records, None) == records
    for bad in ("0/3", "4/3", "1/0", "a/b", "1-3", "1/2/3"):
        with pytest.raises(ValueError):
            parse_shard(bad)
    assert str(Shard(2, 5)) == "2/5"


def test_interrupted_batch_resumes_without_redoing_finished_records(data_folder, model_folder, tmp_path):
    out = tmp_path / "out"
    good_header = (data_folder / "sub" / "r3.hea").read_text()
    (data_folder / "sub" / "r3.hea").write_text("r3 12 500\n")  # malformed: stops a batch run without -f
    first = run_batch(data_folder, model_folder, out, progress=False)
    assert first.stopped_early and first.counts == {"ok": 2, "failed": 1}
    assert [e["record"] for e in read_run_log(out)] == ["sub/r1", "sub/r2", "sub/r3"]
    assert not (out / "sub" / "r3.hea").exists() and not (out / "sub" / "r4.hea").exists()
    finished = output_state(out, ("r1", "r2"))

    (data_folder / "sub" / "r3.hea").write_text(good_header)
    resumed = run_batch(data_folder, model_folder, out, workers=2, resume=True, progress=False)
    assert resumed.num_skipped == 2 and resumed.counts == {"ok": 3} and not resumed.stopped_early
    assert sorted(e["record"] for e in read_run_log(out)[3:]) == ["sub/r3", "sub/r4", "sub/r5"]
    assert output_state(out, ("r1", "r2")) == finished, "finished records were not rewritten"
    for name in NAMES:
        signal, _ = load_signals(out / "sub" / name)
        assert signal.shape == (5000, 12)


def test_rerun_without_resume_redoes_everything(data_folder, model_folder, tmp_path):
    out = tmp_path / "out"
    run_batch(data_folder, model_folder, out, progress=False)
    again = run_batch(data_folder, model_folder, out, progress=False)
    assert again.num_skipped == 0 and again.counts == {"ok": 5}
    assert len(read_run_log(out)) == 10


def test_shards_together_cover_the_folder_once(data_folder, model_folder, tmp_path):
    out = tmp_path / "out"
    summaries = [run_batch(data_folder, model_folder, out, shard=Shard(k, 2), progress=False) for k in (1, 2)]
    assert [s.num_planned for s in summaries] == [3, 2]
    entries = read_run_log(out)
    assert sorted(e["record"] for e in entries) == [f"sub/{n}" for n in NAMES]
    assert {e["record"]: e["shard"] for e in entries}["sub/r2"] == "2/2"
    assert all(done_marker(out, f"sub/{n}").is_file() for n in NAMES)


@pytest.mark.parametrize("workers", [1, 2])
def test_untrained_model_folder_is_a_clear_error(data_folder, tmp_path, workers):
    (tmp_path / "empty_model").mkdir()
    with pytest.raises(ModelLoadError, match="train first"):
        run_batch(data_folder, tmp_path / "empty_model", tmp_path / "out", workers=workers, progress=False)


def test_output_inside_data_folder_is_refused(data_folder, model_folder):
    with pytest.raises(ValueError, match="must not be"):
        run_batch(data_folder, model_folder, data_folder / "out", progress=False)


def test_cli_runs_a_shard_and_reports(data_folder, model_folder, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    run_cli.add_parser(parser.add_subparsers())
    out = tmp_path / "out"
    args = parser.parse_args(
        [
            "run",
            "-d",
            str(data_folder),
            "-m",
            str(model_folder),
            "-o",
            str(out),
            "--shard",
            "1/5",
            "--no-progress",
        ]
    )
    assert args.func(args) == 0
    assert "1/1 records processed (1 ok" in capsys.readouterr().out
    assert [e["record"] for e in read_run_log(out)] == ["sub/r1"]
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "-d", "d", "-m", "m", "-o", "o", "--shard", "6/5"])
