"""Write notebooks/train_models.ipynb from the cells below (outputs stripped, stable cell ids).

The notebook is generated so that its JSON is reproducible and its code reviewable as Python:
edit the cells here, then run `python notebooks/make_notebook.py`. `--check` exits 1 when the
committed notebook differs from what this script writes (CI / tests use it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK = Path(__file__).with_name("train_models.ipynb")
PARAMETERS_TAG = "parameters"  # papermill's convention; tests replace the cell carrying it

TITLE = """\
# Train, run and evaluate the Challenge models on a PTB-XL slice

Top to bottom, with the package API only (what `ecgvision prepare-ptbxl | render | hide | run |
evaluate` and the Challenge's `train_model.py` / `run_model.py` call):

1. prepare PTB-XL training records (folds 1-5) in Challenge format (signals + `# Labels:`);
2. prepare fold-9 test records, render them as ECG paper (a clean page and a realism preset) and make
   the hidden copy the Challenge hands to `run_model.py` (header + images only);
3. `train_models` (the digitizer is classical; the signal classifier is trained on the signals);
4. `load_models` once, `run_models` per hidden record, outputs written as `run_model.py` writes them;
5. evaluate as `evaluate_model.py` does, and plot: training loss, an overlay of what the digitizer
   read, F per class and SNR per lead.

With `TINY = True` it runs in about a minute on a laptop CPU (the CI test runs it that way)."""

PARAMETERS = """\
# Parameters: tests and CI replace this cell (it is tagged "parameters", as papermill expects).
TINY = True  # minutes-scale run: a small slice and configs/challenge_tiny.yaml
NUM_RECORDS = None  # PTB-XL training records from folds 1-5 (None: 48 when TINY, else 2000)
NUM_TEST_RECORDS = None  # fold-9 records rendered, hidden and digitized (None: 4 when TINY, else 40)
WORK_DIR = None  # everything the notebook writes goes here (None: runs/notebook, git-ignored)
SHARED_DATA = None  # folder holding ptbxl/ (None: $ECGVISION_SHARED_DATA, else ../shared/data)
TEST_FS_HZ = 500  # sampling rate of the test records (the Challenge's hidden data: 250 or 500 Hz)
VARIANTS = ["clean", "scan"]  # realism presets, cycled over the test images
TRAIN_CONFIG = None  # ChallengeTrainConfig YAML (None: configs/challenge_tiny.yaml when TINY, else defaults)
TRAIN_OVERRIDES = None  # "a.b=c" overrides (None: 4 epochs and a loss point per step when TINY)
SEED = 0"""

SETUP_MD = """\
## Setup
Resolve the parameters, create the work folders and import the package. Paths printed here are where
every later step reads and writes."""

SETUP = """\
import json
import os
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

import ecgvision
from ecgvision.batch.outputs import save_outputs
from ecgvision.challenge.entry import load_models, run_models, train_models
from ecgvision.challenge.training import ChallengeTrainConfig
from ecgvision.config import load_config, save_config
from ecgvision.data.hidden import hide_folder
from ecgvision.data.prepare_ptbxl import TRAINING_FOLDS, prepare_ptbxl
from ecgvision.digitize.pipeline import draw_overlay
from ecgvision.evaluation.evaluate import run_evaluation
from ecgvision.evaluation.report_tables import CLASS_TABLE, LEAD_TABLE, write_tables
from ecgvision.io.headers import load_header, parse_header
from ecgvision.io.images import load_images
from ecgvision.io.records import find_records
from ecgvision.render.dataset_writer import write_rendered_records
from ecgvision.training.trainer import METRICS_LOG

STARTED_S = time.monotonic()
REPO_ROOT = Path(ecgvision.__file__).resolve().parents[1]
TEST_FOLD = 9  # PTB-XL's validation fold: never in the training records
NUM_RECORDS = NUM_RECORDS or (48 if TINY else 2000)
NUM_TEST_RECORDS = NUM_TEST_RECORDS or (4 if TINY else 40)
if TRAIN_CONFIG is None and TINY:
    TRAIN_CONFIG = REPO_ROOT / "configs" / "challenge_tiny.yaml"
if TRAIN_OVERRIDES is None:
    TRAIN_OVERRIDES = ["signal.trainer.epochs=4", "signal.trainer.log_every_steps=1"] if TINY else []
if SHARED_DATA is not None:
    os.environ["ECGVISION_SHARED_DATA"] = str(SHARED_DATA)

work = Path(WORK_DIR).resolve() if WORK_DIR else REPO_ROOT / "runs" / "notebook"
folders = "cache train test_signals test_rendered test_hidden model outputs tables plots".split()
paths = {name: work / name for name in folders}
paths["plots"].mkdir(parents=True, exist_ok=True)
print(f"python {sys.executable}\\nwork folder {work}")


def save_plot(figure, name: str) -> Path:
    \"\"\"Save a figure as plots/<name>.png and show it inline.\"\"\"
    path = paths["plots"] / f"{name}.png"
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.show()
    return path"""

PREPARE_MD = """\
## 1. Training records from PTB-XL folds 1-5
`prepare_ptbxl` extracts the shared 100 Hz archives (only as many records as asked) and writes Challenge
training records: WFDB signals and a header with `# Age/Sex/Height/Weight/Labels`. The table counts the
records per Challenge class."""

PREPARE = """\
train_summary = prepare_ptbxl(paths["train"], folds=TRAINING_FOLDS, limit=NUM_RECORDS, cache=paths["cache"])
print(train_summary.format())"""

RENDER_MD = """\
## 2. Test records: fold 9, rendered on paper, then hidden
The test records are resampled to `TEST_FS_HZ`, rendered once each with the realism presets cycled over
the records (`clean`, then e.g. `scan`: tint, rotation, blur, noise, JPEG), and hidden: the hidden copy
keeps the header's record and signal lines and the images, nothing else."""

RENDER = """\
test_summary = prepare_ptbxl(
    paths["test_signals"], folds=(TEST_FOLD,), fs_hz=TEST_FS_HZ, limit=NUM_TEST_RECORDS, cache=paths["cache"]
)
test_records = [paths["test_signals"] / r for r in find_records(paths["test_signals"])]
written = write_rendered_records(
    test_records,
    paths["test_rendered"],
    variants=VARIANTS,
    seed=SEED,
    input_folder=paths["test_signals"],
    progress=True,
)
hidden_records = hide_folder(paths["test_rendered"], paths["test_hidden"])
print(f"rendered {[(Path(w.record).name, w.variants[0]) for w in written]}; {len(hidden_records)} hidden")"""

SHOW_PAGES = """\
shown = {w.variants[0]: w for w in written}  # one page per variant
figure, axes = plt.subplots(1, len(shown), figsize=(7 * len(shown), 5), squeeze=False)
for ax, (variant, record) in zip(axes[0], shown.items(), strict=True):
    ax.imshow(load_images(record.record)[0])
    ax.set_title(f"{Path(record.record).name}: {variant}")
    ax.axis("off")
page_plot = save_plot(figure, "rendered_pages")"""

TRAIN_MD = """\
## 3. Train
`train_models` is the Challenge entry point; it reads its settings from the YAML named by
`ECGVISION_TRAIN_CONFIG`, so the resolved config (YAML + overrides) is saved into the work folder and
named there. The digitizer is classical (nothing to fit); the signal classifier is trained on the
training signals, a share of them held out to tune its per-class thresholds."""

TRAIN = """\
train_config = load_config(ChallengeTrainConfig, TRAIN_CONFIG, TRAIN_OVERRIDES)
save_config(train_config, work / "train_config.yaml")
os.environ["ECGVISION_TRAIN_CONFIG"] = str(work / "train_config.yaml")
train_started_s = time.monotonic()
train_models(str(paths["train"]), str(paths["model"]), verbose=True)
print(f"trained in {time.monotonic() - train_started_s:.1f} s")
manifest = json.loads((paths["model"] / "manifest.json").read_text())
print(json.dumps(manifest, indent=2))"""

LOSS_MD = """\
### Training loss
The trainer logs one JSON line per logged step (`kind: train`, loss, lr) and per evaluation
(`kind: eval`, validation macro F); `train_models` keeps that log beside the classifier's weights."""

LOSS = """\
log_path = paths["model"] / "signal_classifier" / METRICS_LOG
train_log = pd.read_json(log_path, lines=True)
steps, evals = train_log[train_log.kind == "train"], train_log[train_log.kind == "eval"]
figure, (ax_loss, ax_f) = plt.subplots(1, 2, figsize=(11, 3.5))
ax_loss.plot(steps.step, steps.loss, marker="o")
ax_loss.set(title="training loss", xlabel="optimizer step", ylabel="loss")
ax_f.plot(evals.step, evals.macro_f, marker="o", color="tab:green")
ax_f.set(title="validation macro F", xlabel="optimizer step", ylabel="F", ylim=(0, 1))
loss_plot = save_plot(figure, "training_loss")"""

RUN_MD = """\
## 4. Run the models on the hidden records
As `run_model.py` does: load the models once, then per record `run_models` and write the header copy,
the signals in the input header's format and `# Labels:`."""

RUN = """\
digitizer, classifier = load_models(str(paths["model"]), verbose=True)
seconds_per_record = []
for record in tqdm(hidden_records, desc="run_models", unit="record"):
    record_started_s = time.monotonic()
    signals, labels = run_models(str(paths["test_hidden"] / record), digitizer, classifier)
    save_outputs(paths["test_hidden"] / record, paths["outputs"] / record, signals, labels)
    seconds_per_record.append(time.monotonic() - record_started_s)
print(f"{np.mean(seconds_per_record):.2f} s per record")"""

EVALUATE_MD = """\
## 5. Evaluate
The Challenge scores (SNR in dB over every record and lead, macro F-measure over the labelled records),
then the per-(record, lead) SNR and per-class F tables that `ecgvision evaluate --tables` writes."""

EVALUATE = """\
result, score_text = run_evaluation(paths["test_rendered"], paths["outputs"], work / "scores.txt")
print(score_text)
tables = write_tables(result, paths["tables"])
lead_snr = pd.read_csv(paths["tables"] / LEAD_TABLE)
class_f = pd.read_csv(paths["tables"] / CLASS_TABLE)
lead_snr.groupby("variant").snr_db.describe()"""

OVERLAY_MD = """\
### What the digitizer read
The first hidden record digitized again, keeping the geometry: each lead's polyline drawn over the page."""

OVERLAY = """\
example = paths["test_hidden"] / hidden_records[0]
info = parse_header(load_header(example))
image = load_images(example)[0]
reading = digitizer.digitize_all([image], info.fs_hz, info.num_samples, info.signal_names)[0]
figure, ax = plt.subplots(figsize=(14, 10))
ax.imshow(draw_overlay(image, reading))
ax.set_title(f"{hidden_records[0]}: {len(reading.leads_read)} leads read, layout {reading.layout_name}")
ax.axis("off")
overlay_plot = save_plot(figure, "overlay")"""

SCORES_MD = """\
### F per class and SNR per lead
Classes absent from both the references and the predictions have no F (NaN, drawn as an empty bar)."""

SCORES = """\
figure, (ax_f, ax_snr) = plt.subplots(1, 2, figsize=(14, 4))
ax_f.bar(class_f["class"], class_f.f_measure.fillna(0.0))
ax_f.set(title=f"F per class (macro F {result.f_measure:.3f})", ylabel="F", ylim=(0, 1))
ax_f.tick_params(axis="x", labelrotation=45)
leads = list(pd.unique(lead_snr.lead))  # the reference header's order
per_lead = lead_snr.pivot_table(index="lead", columns="variant", values="snr_db", aggfunc="mean").loc[leads]
per_lead.plot.bar(ax=ax_snr)
ax_snr.axhline(0.0, color="grey", linewidth=0.8)
ax_snr.set(title=f"mean SNR per lead (overall {result.snr_db:.2f} dB)", ylabel="SNR (dB)")
scores_plot = save_plot(figure, "class_f_lead_snr")"""

SUMMARY_MD = """\
## Summary
Written to `summary.json` in the work folder (the notebook test reads it)."""

SUMMARY = """\
summary = {
    "snr_db": result.snr_db,
    "f_measure": result.f_measure,
    "num_train_records": train_summary.num_written,
    "num_test_records": len(hidden_records),
    "classifier": manifest["classifier"],
    "seconds_per_record": float(np.mean(seconds_per_record)),
    "plots": [str(p) for p in (page_plot, loss_plot, overlay_plot, scores_plot)],
    "tables": [str(p) for p in tables],
    "python": sys.executable,
    "seconds": round(time.monotonic() - STARTED_S, 1),
}
(work / "summary.json").write_text(json.dumps(summary, indent=2))
summary"""


def build_notebook() -> nbformat.NotebookNode:
    """The notebook, cells in order, each with a stable id (cell-00, cell-01, ...) and no outputs."""
    cells = [
        new_markdown_cell(TITLE),
        new_code_cell(PARAMETERS, metadata={"tags": [PARAMETERS_TAG]}),
        new_markdown_cell(SETUP_MD),
        new_code_cell(SETUP),
        new_markdown_cell(PREPARE_MD),
        new_code_cell(PREPARE),
        new_markdown_cell(RENDER_MD),
        new_code_cell(RENDER),
        new_code_cell(SHOW_PAGES),
        new_markdown_cell(TRAIN_MD),
        new_code_cell(TRAIN),
        new_markdown_cell(LOSS_MD),
        new_code_cell(LOSS),
        new_markdown_cell(RUN_MD),
        new_code_cell(RUN),
        new_markdown_cell(EVALUATE_MD),
        new_code_cell(EVALUATE),
        new_markdown_cell(OVERLAY_MD),
        new_code_cell(OVERLAY),
        new_markdown_cell(SCORES_MD),
        new_code_cell(SCORES),
        new_markdown_cell(SUMMARY_MD),
        new_code_cell(SUMMARY),
    ]
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index:02d}"  # nbformat draws random ids; fixed ones keep the JSON stable
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.validate(notebook)
    return notebook


def notebook_text() -> str:
    return nbformat.writes(build_notebook()) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the notebook file is out of date")
    args = parser.parse_args(argv)
    text = notebook_text()
    if args.check:
        current = NOTEBOOK.read_text() if NOTEBOOK.is_file() else ""
        if current != text:
            print(f"{NOTEBOOK} is out of date: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    NOTEBOOK.write_text(text)
    print(f"wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
