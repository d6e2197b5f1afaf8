"""Shared by the benchmark scripts: the commit they measured and the two results logs they append to."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path

import yaml

from ecgvision.io.atomic import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
SUBMISSIONS = REPO / "submissions.yaml"


def git_commit(short: bool = True, dirty_paths: tuple[str, ...] = ()) -> str:
    """HEAD hash ('unknown' outside git), with '+uncommitted' when `dirty_paths` differ from it."""
    command = ["git", "rev-parse", *(["--short"] if short else []), "HEAD"]
    try:
        commit = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    if dirty_paths:
        status = subprocess.run(
            ["git", "status", "--porcelain", *dirty_paths], cwd=REPO, capture_output=True, text=True
        )
        commit += "+uncommitted" if status.stdout.strip() else ""
    return commit


def append_jsonl(path: Path, figures: dict) -> None:
    """One line {date, commit, figures, command} appended to a bench/results/*.jsonl file."""
    entry = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(short=False),
        "figures": figures,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(entry) + "\n")


def append_submission(entry: dict) -> None:
    """Append one entry to submissions.yaml (a YAML list; created when missing), atomically."""
    existing = yaml.safe_load(SUBMISSIONS.read_text()) if SUBMISSIONS.is_file() else None
    entries = existing if isinstance(existing, list) else []
    entries.append(entry)
    atomic_write_text(SUBMISSIONS, yaml.safe_dump(entries, sort_keys=False, allow_unicode=True))


def append_benchmark(benchmark: str, model, data: str, figures: dict, wall_s: float) -> None:
    """One submissions.yaml entry for a benchmark run: today, HEAD, what was measured, and the command
    (the running script with its arguments) that reproduces it."""
    append_submission(
        {
            "date": datetime.date.today().isoformat(),
            "commit": git_commit(),
            "benchmark": benchmark,
            "model": model,
            "data": data,
            "figures": figures,
            "wall_seconds": round(wall_s, 1),
            "command": f"python bench/{Path(sys.argv[0]).name} " + " ".join(sys.argv[1:]),
        }
    )
