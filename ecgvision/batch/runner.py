"""Batch inference over a folder of Challenge records: workers, shards, resume and a run log.

`run_batch` writes exactly what run_model.py writes (see ecgvision.batch.outputs), plus:

- `OUT/run_log.jsonl`: one JSON line per processed record (record, status, seconds, reason,
  images, shard). status is `ok`, `warning` (finished, but the models logged a warning, e.g. an
  unreadable image that gave NaN signals), `failed` (run_models raised; with allow_failures the
  output header is still written, as run_model.py -f does) or `crashed` (the worker process died,
  e.g. killed for memory; rerun with resume).
- `OUT/.done/<record>.done`: a marker written atomically after a record's outputs are complete
  (status ok or warning). With `resume`, records that have one are skipped; failed records are
  retried.

Workers are processes that load the models once (pool initializer); tasks are record names and
results small RecordResult objects, the outputs being written by the worker itself, so memory
stays bounded whatever the folder size. Shards split the sorted record list deterministically:
record i (0-based) belongs to shard k of n (1-based k) when i % n == k - 1.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from ecgvision.batch.outputs import save_outputs
from ecgvision.io.atomic import atomic_write_text
from ecgvision.io.headers import load_header
from ecgvision.io.records import find_records, get_image_files

log = logging.getLogger(__name__)

RUN_LOG = "run_log.jsonl"
DONE_FOLDER = ".done"
DONE_SUFFIX = ".done"
FINISHED_STATUSES = ("ok", "warning")  # outputs complete: a marker is written, resume skips them
TASKS_IN_FLIGHT_PER_WORKER = 2  # enough to keep workers busy; few records lost if the pool breaks


# --- shards ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`: the records at sorted positions i with i % count == index - 1."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise ValueError(f"shard must be k/n with 1 <= k <= n, got {self.index}/{self.count}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """'3/8' -> Shard(3, 8); a clear ValueError otherwise."""
    parts = text.split("/")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise ValueError(f"shard must look like k/n (e.g. 1/4), got {text!r}")
    return Shard(int(parts[0]), int(parts[1]))


def select_shard(records: list[str], shard: Shard | None) -> list[str]:
    """The records of `shard` in their original (sorted) order; all of them when shard is None."""
    if shard is None:
        return list(records)
    return [record for i, record in enumerate(records) if i % shard.count == shard.index - 1]


# --- results --------------------------------------------------------------------------------------


@dataclass
class RecordResult:
    """What happened to one record: status (ok, warning, failed, crashed), wall time and why."""

    record: str
    status: str
    seconds: float
    reason: str = ""
    images: int = 0


@dataclass
class BatchSummary:
    """Counts of a batch run; `seconds` is its wall time, images are the `# Image:` entries processed."""

    num_planned: int = 0
    num_skipped: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    num_images: int = 0
    seconds: float = 0.0
    stopped_early: bool = False

    def add(self, result: RecordResult) -> None:
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        self.num_images += result.images

    @property
    def num_processed(self) -> int:
        return sum(self.counts.values())

    @property
    def num_failed(self) -> int:
        return self.counts.get("failed", 0) + self.counts.get("crashed", 0)

    @property
    def images_per_s(self) -> float:
        return self.num_images / self.seconds if self.seconds > 0 else float("nan")

    def format(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items())) or "nothing run"
        text = (
            f"{self.num_processed}/{self.num_planned} records processed ({counts}; "
            f"{self.num_skipped} already done) in {self.seconds:.1f} s, {self.images_per_s:.2f} images/s"
        )
        if self.stopped_early:
            text += " - stopped early (a failure without -f, or a dead worker): fix, then rerun with --resume"
        return text


# --- markers and log ------------------------------------------------------------------------------


def done_marker(output_folder: str | os.PathLike, record: str) -> Path:
    return Path(output_folder) / DONE_FOLDER / f"{record}{DONE_SUFFIX}"


def is_done(output_folder: str | os.PathLike, record: str) -> bool:
    return done_marker(output_folder, record).is_file()


def append_log_line(path: Path, entry: dict) -> None:
    """Append one JSON line with a single O_APPEND write, so concurrent shards never interleave lines."""
    line = (json.dumps(entry) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_run_log(output_folder: str | os.PathLike) -> list[dict]:
    """The entries of OUT/run_log.jsonl in write order (empty when there is none)."""
    path = Path(output_folder) / RUN_LOG
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- the worker -----------------------------------------------------------------------------------


@dataclass
class WorkerState:
    data_folder: str
    output_folder: str
    allow_failures: bool
    verbose: bool
    models: tuple | None = None
    load_error: str = ""


_STATE: WorkerState | None = None


class ModelLoadError(RuntimeError):
    """load_models failed in a worker: no record can be run."""


class WarningCollector(logging.Handler):
    """Collects the messages of WARNING-or-worse log records emitted while one record runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def limit_threads(num_threads: int) -> None:
    """Give each worker its share of the cores (only for libraries the models actually loaded)."""
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(num_threads)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(num_threads)


def init_worker(
    data_folder: str,
    model_folder: str,
    output_folder: str,
    allow_failures: bool,
    verbose: bool,
    num_threads: int | None = None,
) -> None:
    """Pool initializer: load the models once per process (a failure is reported with the first task)."""
    global _STATE
    from ecgvision.challenge.entry import load_models

    _STATE = WorkerState(data_folder, output_folder, allow_failures, verbose)
    try:
        _STATE.models = load_models(model_folder, verbose)
    except Exception as error:  # reported per task so the parent can stop with the reason
        _STATE.load_error = f"{type(error).__name__}: {error}"
    if num_threads:
        limit_threads(num_threads)


def count_images(data_record: str) -> int:
    try:
        return len(get_image_files(load_header(data_record)))
    except (OSError, ValueError):
        return 0


def run_one(data_record: str, output_record: str, state: WorkerState) -> tuple[str, str]:
    """Run the models on one record and write its outputs; returns (status, reason)."""
    from ecgvision.challenge.entry import run_models

    collector = WarningCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        signals, labels = run_models(data_record, *state.models, state.verbose)
        save_outputs(data_record, output_record, signals, labels)
    finally:
        root.removeHandler(collector)
    return ("warning", "; ".join(collector.messages)) if collector.messages else ("ok", "")


def write_failure_outputs(data_record: str, output_record: str) -> str:
    """run_model.py -f: a failed record still gets its header copy; returns a reason if even that fails."""
    try:
        save_outputs(data_record, output_record, None, None)
    except Exception as error:  # the header itself may be unreadable
        return f"; could not write its output header: {type(error).__name__}: {error}"
    return ""


def process_record(record: str) -> RecordResult:
    """Worker task: outputs of one record, then its done marker; never raises for a record's failure."""
    state = _STATE
    if state is None or state.load_error:
        raise ModelLoadError(state.load_error if state else "worker not initialised")
    start = time.perf_counter()
    data_record = os.path.join(state.data_folder, record)
    output_record = os.path.join(state.output_folder, record)
    marker = done_marker(state.output_folder, record)
    marker.unlink(missing_ok=True)  # the outputs are about to change: not done until rewritten
    try:
        status, reason = run_one(data_record, output_record, state)
    except Exception as error:  # one record's failure must not stop the batch (its status says so)
        status, reason = "failed", f"{type(error).__name__}: {error}"
        if state.allow_failures:
            reason += write_failure_outputs(data_record, output_record)
    images = count_images(data_record)
    if status == "ok" and not images:  # the models ran, but on nothing: say so in the run log
        status, reason = "warning", "the header lists no image (# Image:)"
    result = RecordResult(record, status, time.perf_counter() - start, reason, images)
    if status in FINISHED_STATUSES:
        atomic_write_text(marker, json.dumps(asdict(result)) + "\n")
    return result


# --- the batch ------------------------------------------------------------------------------------


def check_folders(data_folder: Path, model_folder: Path, output_folder: Path) -> None:
    if not data_folder.is_dir():
        raise FileNotFoundError(f"data folder not found: {data_folder}")
    if not model_folder.is_dir():
        raise FileNotFoundError(f"model folder not found: {model_folder}")
    data, out = data_folder.resolve(), output_folder.resolve()
    if out == data or data in out.parents:
        raise ValueError(f"output folder {output_folder} must not be (inside) the data folder {data_folder}")


def plan_records(
    data_folder: Path, output_folder: Path, shard: Shard | None, resume: bool
) -> tuple[list[str], int]:
    """(records to run, number skipped because already done) for this shard."""
    records = find_records(data_folder)
    if not records:
        raise FileNotFoundError(f"No data were provided: no records in {data_folder}.")
    planned = select_shard(records, shard)
    todo = [r for r in planned if not (resume and is_done(output_folder, r))]
    return todo, len(planned) - len(todo)


class BatchLog:
    """Appends results to OUT/run_log.jsonl, updates the summary and the progress bar."""

    def __init__(self, output_folder: Path, summary: BatchSummary, shard: Shard | None, bar: tqdm) -> None:
        self.path = output_folder / RUN_LOG
        self.summary, self.shard, self.bar = summary, shard, bar

    def record(self, result: RecordResult) -> None:
        entry = asdict(result) | {"seconds": round(result.seconds, 4), "shard": str(self.shard or "")}
        append_log_line(self.path, entry)
        self.summary.add(result)
        if result.status not in ("ok",):
            log.warning("%s %s: %s", result.record, result.status, result.reason)
        self.bar.update()
        self.bar.set_postfix(failed=self.summary.num_failed, refresh=False)


def run_in_process(todo: list[str], init_args: tuple, batch_log: BatchLog, stop_on_failure: bool) -> bool:
    """One worker: this process. Returns True when stopped at a failure."""
    init_worker(*init_args)
    for record in todo:
        result = process_record(record)
        batch_log.record(result)
        if stop_on_failure and result.status == "failed":
            return True
    return False


def crashed_result(record: str, error: BaseException) -> RecordResult:
    reason = f"worker process died ({type(error).__name__}: {error}); rerun with --resume"
    return RecordResult(record, "crashed", 0.0, reason)


def run_in_pool(
    todo: list[str], init_args: tuple, workers: int, batch_log: BatchLog, stop_on_failure: bool
) -> bool:
    """`workers` processes, at most TASKS_IN_FLIGHT_PER_WORKER tasks each in flight. True when stopped."""
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads or torch state
    pending = iter(todo)
    in_flight: dict[Future, str] = {}
    stopped = broken = False
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=init_worker, initargs=init_args
    ) as pool:
        while True:
            while not (stopped or broken) and len(in_flight) < workers * TASKS_IN_FLIGHT_PER_WORKER:
                record = next(pending, None)
                if record is None:
                    break
                in_flight[pool.submit(process_record, record)] = record
            if not in_flight:
                break
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                record = in_flight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as error:
                    broken, result = True, crashed_result(record, error)
                batch_log.record(result)
                stopped |= stop_on_failure and result.status == "failed"
    return stopped or broken


def run_batch(
    data_folder: str | os.PathLike,
    model_folder: str | os.PathLike,
    output_folder: str | os.PathLike,
    workers: int = 1,
    shard: Shard | None = None,
    resume: bool = False,
    allow_failures: bool = False,
    verbose: bool = False,
    progress: bool = True,
) -> BatchSummary:
    """Run the Challenge models on every record of `data_folder` (this shard's) into `output_folder`.

    Outputs are those of run_model.py. Without `allow_failures` the batch stops at the first
    record whose run_models raises (records already in flight still finish); with it, the failed
    record gets its header copy and the batch goes on. Raises ModelLoadError if the models cannot
    be loaded. See the module docstring for the run log, markers and shards.
    """
    data, model, out = Path(data_folder), Path(model_folder), Path(output_folder)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    check_folders(data, model, out)
    start = time.perf_counter()
    todo, skipped = plan_records(data, out, shard, resume)
    out.mkdir(parents=True, exist_ok=True)
    summary = BatchSummary(num_planned=len(todo) + skipped, num_skipped=skipped)
    workers = min(workers, max(len(todo), 1))
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    init_args = (str(data), str(model), str(out), allow_failures, verbose, threads)
    with tqdm(total=len(todo), unit="record", desc="run", disable=not progress) as bar:
        batch_log = BatchLog(out, summary, shard, bar)
        if workers == 1:
            summary.stopped_early = run_in_process(todo, init_args, batch_log, not allow_failures)
        else:
            summary.stopped_early = run_in_pool(todo, init_args, workers, batch_log, not allow_failures)
    summary.seconds = time.perf_counter() - start
    return summary
