import numpy as np
import pytest
import torch

from ecgvision.classify.image_classifier import ImageDxClassifier, to_dx_input
from ecgvision.config import load_config
from ecgvision.constants import CLASSES, LEADS
from ecgvision.data.archives import ecg_id_of
from ecgvision.data.ptbxl import PtbxlLabeler
from ecgvision.data.signal_arrays import SignalArrays
from ecgvision.io.records import load_signals
from ecgvision.models.dx_net import ImageDxNet
from ecgvision.models.losses import AsymmetricLoss, build_loss
from ecgvision.models.weights import read_model_meta
from ecgvision.training.image_dx_task import (
    ImageDxTask,
    ImageDxTrainConfig,
    RenderedDxDataset,
    labelled_only,
    train_image_dx,
)
from ecgvision.training.signal_data import labels_to_multi_hot

TINY = [
    "net.backbone_kwargs={dims: [8, 16, 24, 32]}",
    "net.classifier_hidden=16",
    "data.input_hw=[64, 96]",
    "data.pages_per_epoch=4",
    "trainer.epochs=1",
    "trainer.batch_size=2",
    "trainer.progress=false",
    "trainer.warmup_steps=0",
]


@pytest.fixture(scope="module")
def fold9_arrays(ptbxl_fold9_slice) -> SignalArrays:
    """The labelled records of the shared fold-9 slice (labels read once per module)."""
    return labelled_only(arrays_from(ptbxl_fold9_slice[:6]))


def arrays_from(records) -> SignalArrays:
    labeler = PtbxlLabeler()
    signals = np.stack([load_signals(r, list(LEADS))[0] for r in records]).astype(np.float32)
    targets = np.stack([labels_to_multi_hot(labeler.labels(ecg_id_of(r.name))) for r in records])
    return SignalArrays(np.array([ecg_id_of(r.name) for r in records]), signals, targets, 100.0)


def test_config_builds_the_asymmetric_loss_it_names():
    config = ImageDxTrainConfig()
    assert config.loss.name == "asl" and isinstance(build_loss(config.loss), AsymmetricLoss)


def test_unlabelled_records_are_skipped():
    targets = np.zeros((3, len(CLASSES)), np.float32)
    targets[1, 2] = 1
    arrays = SignalArrays(np.arange(3), np.zeros((3, 10, 12), np.float32), targets, 100.0)
    assert labelled_only(arrays).ecg_ids.tolist() == [1]


def test_preprocessing_gives_grey_unit_range_at_the_requested_size():
    page = np.full((170, 220, 3), 255, np.uint8)
    page[80:90] = 0
    x = to_dx_input(page, (34, 44))
    assert x.shape == (1, 34, 44) and x.dtype == np.float32
    assert x.min() < 0.1 and x.max() == 1.0


def test_training_steps_on_rendered_pages_decrease_the_loss(fold9_arrays):
    config = load_config(ImageDxTrainConfig, overrides=TINY)
    dataset = RenderedDxDataset(fold9_arrays, config.data)
    torch.manual_seed(0)
    batch = {k: torch.stack([dataset[i][k] for i in range(2)]) for k in ("x", "y")}
    assert batch["x"].shape == (2, 1, 64, 96) and batch["y"].shape == (2, len(CLASSES))
    task = ImageDxTask(ImageDxNet(config.net), build_loss(config.loss))
    optimizer = torch.optim.AdamW(task.model.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):  # the same batch: the loss must go down when the step works
        loss, logs = task.compute_loss(task.model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(logs["loss"])
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_training_stores_thresholds_that_reload(fold9_arrays, tmp_path):
    data = fold9_arrays
    config = load_config(ImageDxTrainConfig, overrides=[*TINY, f"trainer.output_dir={tmp_path / 'run'}"])
    folder = train_image_dx(config, output=tmp_path / "dx", train=data, val=data)
    extra = read_model_meta(folder)["extra"]
    assert extra["classes"] == list(CLASSES) and extra["input_hw"] == [64, 96]
    assert extra["validation_ecg_ids"] == data.ecg_ids.tolist()
    classifier = ImageDxClassifier.load(folder)
    np.testing.assert_allclose(classifier.thresholds, extra["thresholds"])
    assert classifier.input_hw == (64, 96)
    page = np.full((170, 220, 3), 240, np.uint8)
    probabilities = classifier.probabilities([page, page])
    assert probabilities.shape == (len(CLASSES),) and ((0 <= probabilities) & (probabilities <= 1)).all()
    assert set(classifier.labels(probabilities)) <= set(CLASSES)
    assert (
        np.isnan(classifier.probabilities([])).all() and classifier.labels(classifier.probabilities([])) == []
    )
