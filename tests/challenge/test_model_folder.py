import json
import shutil
from pathlib import Path

import numpy as np

from ecgvision.challenge.entry import load_models
from ecgvision.models.networks import EcgNet
from ecgvision.models.weights import save_pretrained
from ecgvision.training.trace_task import default_trace_net

BUNDLED = Path(__file__).resolve().parents[2] / "model"


def test_bundled_model_loads_the_trained_classifier_and_trace_finder():
    digitizer, classifier = load_models(str(BUNDLED))
    manifest = json.loads((BUNDLED / "manifest.json").read_text())
    assert digitizer.kind == manifest["digitizer"] == "learned-trace+classical"
    assert classifier.kind == "signal-classifier"
    assert classifier.signal_classifier.thresholds.shape == (11,)


def test_without_a_trace_model_the_digitizer_is_classical(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(BUNDLED, folder)
    shutil.rmtree(folder / "trace_model")
    digitizer, _ = load_models(str(folder))
    assert digitizer.kind == "classical" and digitizer.trace_model is None


def test_a_trace_model_in_the_folder_feeds_the_digitizer(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(BUNDLED, folder)
    save_pretrained(EcgNet(default_trace_net()), folder / "trace_model")  # replaces the shipped one
    digitizer, _ = load_models(str(folder))
    assert digitizer.kind == "learned-trace+classical"
    probabilities = digitizer.trace_model(np.full((64, 96, 3), 255, dtype=np.uint8))
    assert probabilities.shape == (64, 96)
