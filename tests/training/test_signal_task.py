import json

import numpy as np

from ecgvision.classify.signal_classifier import SignalClassifier
from ecgvision.config import load_config
from ecgvision.constants import CLASSES, LEADS
from ecgvision.data.archives import ecg_id_of
from ecgvision.data.ptbxl import PtbxlLabeler
from ecgvision.data.signal_arrays import SignalArrays
from ecgvision.io.records import load_signals
from ecgvision.training.signal_data import labels_to_multi_hot
from ecgvision.training.signal_task import SignalTrainConfig, train_signal_classifier


def arrays_from(records) -> SignalArrays:
    labeler = PtbxlLabeler()
    signals = np.stack([load_signals(r, list(LEADS))[0] for r in records]).astype(np.float32)
    targets = np.stack([labels_to_multi_hot(labeler.labels(ecg_id_of(r.name))) for r in records])
    return SignalArrays(np.arange(len(records)), signals, targets, 100.0)


def test_training_writes_weights_with_thresholds_that_load_and_classify(ptbxl_fold9_slice, tmp_path):
    data = arrays_from(ptbxl_fold9_slice)
    config = load_config(
        SignalTrainConfig,
        overrides=[
            "net.widths=[8, 8]",
            "net.blocks_per_stage=1",
            "trainer.epochs=1",
            "trainer.batch_size=4",
            f"trainer.output_dir={tmp_path / 'run'}",
            "trainer.progress=false",
            "trainer.warmup_steps=0",
        ],
    )
    folder = train_signal_classifier(config, data, data, output=tmp_path / "clf")
    meta = json.loads((folder / "config.json").read_text())
    assert len(meta["extra"]["thresholds"]) == len(CLASSES) and meta["extra"]["classes"] == list(CLASSES)
    classifier = SignalClassifier.load(folder)
    probabilities = classifier.probabilities(data.signals_mv[0].astype(float), 100.0, list(LEADS))
    assert probabilities.shape == (len(CLASSES),) and ((0 <= probabilities) & (probabilities <= 1)).all()
    assert set(classifier.labels(probabilities)) <= set(CLASSES)
    unreadable = np.full((1000, 12), np.nan)
    assert classifier.labels(classifier.probabilities(unreadable, 100.0, list(LEADS))) == []
