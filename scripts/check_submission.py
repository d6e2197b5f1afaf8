#!/usr/bin/env python
"""Check the submission as the Challenge does, from a clean copy of the repository.

    python scripts/check_submission.py [--reuse-venv PATH] [--records 8] [--data FOLDER]
                                       [--include-untracked] [--work DIR] [--docker]

1. copy the repository's git-tracked files (plus untracked, not ignored ones with
   --include-untracked) into a clean temporary folder;
2. create a fresh venv there and `pip install -r requirements.txt` (--reuse-venv PATH uses an
   existing venv instead, e.g. .venv, to skip the install);
3. training data: --data FOLDER (Challenge format, with .dat and images), else `ecgvision
   prepare-ptbxl` of N fold-9 PTB-XL records (500 Hz) rendered with `ecgvision render`;
4. `python train_model.py`, then the hidden copy (record/signal lines and `# Image:` only, images,
   no .dat), `python run_model.py` on it (the hidden folder must stay unchanged), and
   `python evaluate_model.py` against the original;
5. print a pass/fail line per step and exit 0 only when every step passed.

With --docker (only when `docker info` works) steps 2 and 4 run inside the image built from the
clean copy, with `--network none` and the data folders mounted read-only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecgvision.data.archives import SHARED_DATA_ENV, shared_data_dir  # noqa: E402
from ecgvision.data.hidden import hide_folder  # noqa: E402
from ecgvision.io.records import find_records, load_signals  # noqa: E402

SKIPPED_PARTS = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}
DOCKER_IMAGE = "ecgvision-check"
SCORE_PATTERN = re.compile(r"^(SNR|F-measure): (\S+)$", re.MULTILINE)


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


class Check:
    """Runs the steps in order, keeping each one's outcome; stops at the first failure."""

    def __init__(self, work: Path, env: dict[str, str], timeout_s: int) -> None:
        self.work, self.env, self.timeout_s = work, env, timeout_s
        self.steps: list[Step] = []

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    def command(self, name: str, command: list[str], cwd: Path) -> str:
        """Run `command`; record the step; return its stdout ('' when it failed)."""
        start = time.perf_counter()
        try:
            done = subprocess.run(
                command, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=self.timeout_s
            )
            ok, detail = done.returncode == 0, (done.stderr or done.stdout)[-2000:].strip()
        except subprocess.TimeoutExpired:
            ok, detail, done = False, f"timed out after {self.timeout_s} s", None
        except OSError as error:  # the program itself is missing
            ok, detail, done = False, str(error), None
        self.steps.append(Step(name, ok, time.perf_counter() - start, "" if ok else detail))
        return done.stdout if ok and done else ""

    def check(self, name: str, ok: bool, detail: str = "", seconds: float = 0.0) -> bool:
        self.steps.append(Step(name, ok, seconds, detail))
        return ok

    def summary(self) -> str:
        lines = [
            f"{'PASS' if s.ok else 'FAIL'}  {s.name:<34} {s.seconds:7.1f} s  {s.detail}" for s in self.steps
        ]
        lines.append(f"submission check: {'PASSED' if self.ok else 'FAILED'} (work folder {self.work})")
        return "\n".join(lines)


# --- the clean copy and its environment -----------------------------------------------------------


def repository_files(include_untracked: bool) -> list[str]:
    """Paths (relative to the repository root) that a submission would contain."""
    command = ["git", "ls-files", "-z", "--cached"] + (
        ["--others", "--exclude-standard"] if include_untracked else []
    )
    try:
        listed = subprocess.run(command, cwd=ROOT, capture_output=True, check=True).stdout.decode()
        return sorted({name for name in listed.split("\0") if name and (ROOT / name).is_file()})
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (e.g. an unpacked archive)
        paths = (p.relative_to(ROOT) for p in ROOT.rglob("*") if p.is_file())
        return sorted(p.as_posix() for p in paths if not SKIPPED_PARTS & set(p.parts))


def copy_repository(files: list[str], destination: Path) -> None:
    for name in files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def clean_environment() -> dict[str, str]:
    """No PYTHONPATH or user site: only the copy (first on sys.path) and the venv are importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    env.setdefault(SHARED_DATA_ENV, str(shared_data_dir()))  # the copy lives elsewhere than ../shared
    return env


def venv_python(check: Check, copy: Path, reuse_venv: Path | None) -> Path:
    if reuse_venv is not None:
        python = (
            reuse_venv.absolute() / "bin" / "python"
        )  # absolute, but not resolved: a venv's python is a link
        check.check("reuse venv", python.is_file(), str(python))
        return python
    venv = check.work / "venv"
    check.command("create venv", [sys.executable, "-m", "venv", str(venv)], copy)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    check.command("pip install -r requirements.txt", [*pip, "-r", "requirements.txt"], copy)
    return venv / "bin" / "python"


def check_isolation(check: Check, python: Path, copy: Path) -> None:
    """The copy's own ecgvision must be the one imported (not an editable install elsewhere)."""
    code = "import ecgvision, team_code; print(ecgvision.__file__)"
    out = check.command("imports come from the copy", [str(python), "-c", code], copy).strip()
    if check.ok and not out.startswith(str(copy.resolve())):
        check.steps[-1] = Step(
            "imports come from the copy", False, check.steps[-1].seconds, f"ecgvision from {out}"
        )


# --- data, scoring --------------------------------------------------------------------------------


def make_training_data(check: Check, python: Path, copy: Path, records: int) -> Path:
    prepared, train = check.work / "prepared", check.work / "train"
    cli = [str(python), "-m", "ecgvision.cli.main"]
    prepare = [
        *cli,
        "prepare-ptbxl",
        "-o",
        str(prepared),
        "--folds",
        "9",
        "--limit",
        str(records),
        "--fs",
        "500",
    ]
    check.command(f"prepare {records} PTB-XL records", prepare, copy)
    if check.ok:
        check.command("render images", [*cli, "render", "-i", str(prepared), "-o", str(train)], copy)
    return train


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def check_outputs(check: Check, hidden: Path, outputs: Path) -> None:
    """Every hidden record has an output header; every output signal reads back with the header's shape."""
    problems = []
    for record in find_records(hidden):
        if not (outputs / f"{record}.hea").is_file():
            problems.append(f"{record}: no output header")
        elif (outputs / f"{record}.dat").is_file():
            signal, _ = load_signals(outputs / record)
            if signal.ndim != 2 or not signal.size:
                problems.append(f"{record}: output signal shape {signal.shape}")
    check.check("outputs complete and readable", not problems, "; ".join(problems[:5]))


def check_scores(check: Check, score_file: Path) -> None:
    text = score_file.read_text() if score_file.is_file() else ""
    scores = dict(SCORE_PATTERN.findall(text))
    ok = set(scores) == {"SNR", "F-measure"}
    for value in scores.values():
        try:
            float(value)
        except ValueError:
            ok = False
    check.check("scores written", ok, ", ".join(f"{k} {v}" for k, v in scores.items()) or "no score lines")


# --- Docker ---------------------------------------------------------------------------------------


def docker_available() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def docker_run(mounts: dict[Path, tuple[str, bool]], *command: str) -> list[str]:
    """`docker run` of the built image, no network, each host folder mounted (read-only when asked)."""
    volumes = []
    for host, (inside, read_only) in mounts.items():
        volumes += ["-v", f"{host.resolve()}:{inside}" + (":ro" if read_only else "")]
    return ["docker", "run", "--rm", "--network", "none", *volumes, DOCKER_IMAGE, *command]


# --- main -----------------------------------------------------------------------------------------


def run_challenge(check: Check, run_python: list[str] | None, copy: Path, python: Path, train: Path) -> None:
    """Train, hide, run and score; in Docker when `run_python` is None."""
    model, hidden, outputs = check.work / "model", check.work / "hidden", check.work / "outputs"
    if run_python is not None:
        check.command(
            "train_model.py", [*run_python, "train_model.py", "-d", str(train), "-m", str(model)], copy
        )
    else:
        mounts = {train: ("/data/train", True), model: ("/model", False)}
        model.mkdir(exist_ok=True)
        check.command(
            "train_model.py (docker)",
            docker_run(mounts, "python", "train_model.py", "-d", "/data/train", "-m", "/model"),
            copy,
        )
    if not check.ok:
        return
    start = time.perf_counter()
    hide_folder(train, hidden)
    check.check("hidden copy", bool(find_records(hidden)), seconds=time.perf_counter() - start)
    before = folder_digest(hidden)
    if run_python is not None:
        run = [*run_python, "run_model.py", "-d", str(hidden), "-m", str(model), "-o", str(outputs)]
        check.command("run_model.py", run, copy)
    else:
        outputs.mkdir(exist_ok=True)
        mounts = {hidden: ("/data/hidden", True), model: ("/model", True), outputs: ("/outputs", False)}
        command = docker_run(
            mounts, "python", "run_model.py", "-d", "/data/hidden", "-m", "/model", "-o", "/outputs"
        )
        check.command("run_model.py (docker)", command, copy)
    if not check.ok:
        return
    check.check("hidden data left unchanged", folder_digest(hidden) == before)
    check_outputs(check, hidden, outputs)
    scores = check.work / "scores.txt"
    evaluate = [str(python), "evaluate_model.py", "-d", str(train), "-o", str(outputs), "-s", str(scores)]
    check.command("evaluate_model.py", evaluate, copy)
    check_scores(check, scores)


def run_check(args: argparse.Namespace, work: Path) -> Check:
    check = Check(work, clean_environment(), args.timeout)
    copy = work / "submission"
    start = time.perf_counter()
    files = repository_files(args.include_untracked)
    copy_repository(files, copy)
    check.check(
        "copy repository", "team_code.py" in files, f"{len(files)} files", time.perf_counter() - start
    )
    python = venv_python(check, copy, args.reuse_venv)
    if check.ok:
        check_isolation(check, python, copy)
    if check.ok and args.docker:
        if not check.check("docker info", docker_available(), "no working Docker engine"):
            return check
        check.command("docker build", ["docker", "build", "-t", DOCKER_IMAGE, "."], copy)
    train = Path(args.data).resolve() if args.data else None
    if check.ok and train is None:
        train = make_training_data(check, python, copy, args.records)
    if check.ok:
        run_challenge(check, None if args.docker else [str(python)], copy, python, train)
    return check


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reuse-venv", type=Path, default=None, metavar="PATH", help="use this venv, skip the install"
    )
    parser.add_argument("--records", type=int, default=8, help="PTB-XL fold-9 records to prepare (default 8)")
    parser.add_argument("--data", default=None, help="Challenge-format training folder to use instead")
    parser.add_argument(
        "--include-untracked", action="store_true", help="also copy untracked, not ignored files"
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="work folder (default: a new temporary one, kept)"
    )
    parser.add_argument("--docker", action="store_true", help="train and run inside the Docker image")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per step (default 3600)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    if args.records < 1:
        raise SystemExit("--records must be at least 1")
    work = args.work or Path(tempfile.mkdtemp(prefix="check_submission_"))
    work.mkdir(parents=True, exist_ok=True)
    check = run_check(args, work.resolve())
    print(check.summary())
    return 0 if check.ok else 1


if __name__ == "__main__":
    sys.exit(main())
