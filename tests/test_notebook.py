"""notebooks/train_models.ipynb: generated reproducibly, committed without outputs, and runs top to bottom.

The run injects tiny parameters into the cell tagged "parameters" and executes every cell with
nbclient on the `python3` kernel (jupyter_client starts it with this interpreter, the venv's), in a
temporary folder; it then checks what the notebook produced, not merely that it finished.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from ecgvision.io.headers import load_header
from ecgvision.io.records import find_records

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "train_models.ipynb"
NUM_TEST_RECORDS = 4
CELL_TIMEOUT_S = 240  # per cell; the whole tiny run takes about 30-45 s on 2 busy cores
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_generator():
    spec = importlib.util.spec_from_file_location("make_notebook", ROOT / "notebooks" / "make_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_parameters(work_dir: Path, shared_data: Path) -> str:
    return "\n".join(
        [
            "TINY = True",
            "NUM_RECORDS = 48",
            f"NUM_TEST_RECORDS = {NUM_TEST_RECORDS}",
            f"WORK_DIR = {str(work_dir)!r}",
            f"SHARED_DATA = {str(shared_data)!r}",
            "TEST_FS_HZ = 500",
            'VARIANTS = ["clean", "scan"]',
            "TRAIN_CONFIG = None",
            "TRAIN_OVERRIDES = None",
            "SEED = 0",
        ]
    )


def parameters_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    return tagged[0]


def test_committed_notebook_is_generated_and_stripped():
    text = NOTEBOOK.read_text()
    assert text == load_generator().notebook_text(), "run python notebooks/make_notebook.py"
    notebook = nbformat.reads(text, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code[0] is parameters_cell(notebook), "the parameters cell must be the first code cell"
    assert all(not c.outputs and c.execution_count is None for c in code), "outputs must be stripped"


@pytest.fixture(scope="module")
def executed(tmp_path_factory, shared_data) -> tuple[nbformat.NotebookNode, Path]:
    """The notebook run once with tiny parameters; (executed notebook, its work folder)."""
    run_dir = tmp_path_factory.mktemp("notebook")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters_cell(notebook).source = tiny_parameters(run_dir / "work", shared_data)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(run_dir)}},
    )
    client.execute()
    return notebook, run_dir / "work"


def test_notebook_runs_on_this_interpreter(executed):
    _, work = executed
    summary = json.loads((work / "summary.json").read_text())
    assert Path(summary["python"]).resolve() == Path(sys.executable).resolve()


def test_notebook_scores_are_real(executed):
    _, work = executed
    summary = json.loads((work / "summary.json").read_text())
    assert summary["num_test_records"] == NUM_TEST_RECORDS
    assert summary["classifier"] == "signal-classifier"
    assert math.isfinite(summary["snr_db"]) and summary["snr_db"] > 0.0, "the pages must be read"
    assert 0.0 <= summary["f_measure"] <= 1.0
    assert (work / "scores.txt").read_text().startswith(f"SNR: {summary['snr_db']:.3f}\n")
    lead_table = pd.read_csv(work / "tables" / "per_record_lead_snr.csv")
    assert len(lead_table) == 12 * NUM_TEST_RECORDS
    assert set(lead_table.variant) == {"clean", "scan"}


def test_notebook_writes_outputs_for_every_hidden_record(executed):
    _, work = executed
    hidden = find_records(work / "test_hidden")
    assert len(hidden) == NUM_TEST_RECORDS
    for record in hidden:
        assert (work / "outputs" / f"{record}.dat").is_file()
        assert "# Labels:" in load_header(work / "outputs" / record)


def test_notebook_plots_and_training_log(executed):
    notebook, work = executed
    summary = json.loads((work / "summary.json").read_text())
    names = {Path(p).name for p in summary["plots"]}
    assert names == {"rendered_pages.png", "training_loss.png", "overlay.png", "class_f_lead_snr.png"}
    for path in summary["plots"]:
        assert Path(path).read_bytes()[:8] == PNG_SIGNATURE
    shown = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(shown) == len(names), "every plot is displayed inline too"
    log = pd.read_json(work / "model" / "signal_classifier" / "metrics.jsonl", lines=True)
    losses = log[log.kind == "train"].loss
    assert len(losses) >= 2 and losses.map(math.isfinite).all()
