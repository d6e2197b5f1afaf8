"""Everything is created on the model's device: the networks, inference and one trainer step on `meta`.

A model on `meta` holds no memory, so full-size forward passes cost nothing, and any tensor made on
the host inside a forward, a loss or an optimizer step either raises (meta and CPU do not mix) or
is caught by DeviceRecorder, which sees every aten op. scripts/check_cuda.py runs the same checks
on CUDA when a GPU is there.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ecgvision.classify.signal_classifier import SignalClassifier
from ecgvision.classify.signal_input import CLASSIFIER_SAMPLES, INPUT_CHANNELS
from ecgvision.classify.signal_net import SignalNet, SignalNetConfig
from ecgvision.constants import CLASSES, LEADS
from ecgvision.models.losses import LOSSES, LossConfig, build_loss
from ecgvision.models.networks import EcgNet, NetConfig
from ecgvision.models.trace_model import LearnedTraceModel, trace_logits_full_size
from ecgvision.training.device_check import DeviceRecorder, check_placement, record_optimizer_step
from ecgvision.training.distributed import DistInfo
from ecgvision.training.signal_data import SignalDataset
from ecgvision.training.signal_task import SignalClassificationTask
from ecgvision.training.trace_task import TraceTask, default_trace_net
from ecgvision.training.trainer import Trainer, TrainerConfig

META = torch.device("meta")
SMALL_SIGNAL_NET = SignalNetConfig(widths=(16, 24), blocks_per_stage=1)
SMALL_TRACE_NET = NetConfig(
    backbone_kwargs={"dims": [16, 32, 64, 128]}, decoder_channels=(32, 16, 8, 8), dense_channels=1
)
PAGE_HW = (1700, 2200)  # a Challenge page at 200 dpi: free on meta


def build_on(device: torch.device, factory) -> nn.Module:
    with device:  # parameters and buffers are created there, never on the host first
        return factory().eval()


# ---- (1) the networks on meta: shapes without memory ----------------------------------------------
def test_ecgnet_runs_on_meta_at_full_page_size() -> None:
    model = build_on(META, lambda: EcgNet(default_trace_net()))
    assert all(p.is_meta for p in model.parameters()) and all(b.is_meta for b in model.buffers())
    out = model(torch.empty(2, 3, 1728, 2208, device=META))  # sizes divisible by the stride 32
    assert out["dense"].device == META and out["dense"].shape == (2, 1, 864, 1104)
    assert out["dx"].shape == (2, len(CLASSES))


def test_trace_logits_come_back_at_image_size_on_meta() -> None:
    model = build_on(META, lambda: EcgNet(default_trace_net()))
    logits = trace_logits_full_size(model, torch.empty(1, 3, *PAGE_HW, device=META))  # padded inside
    assert logits.device == META and logits.shape == (1, *PAGE_HW)


def test_signal_net_runs_on_meta() -> None:
    model = build_on(META, SignalNet)
    out = model(torch.empty(4, INPUT_CHANNELS, CLASSIFIER_SAMPLES, device=META))
    assert out["dx"].device == META and out["dx"].shape == (4, len(CLASSES))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_runs_on_meta(name: str) -> None:
    loss = build_loss(LossConfig(name=name, pos_weight=3.0))  # pos_weight: a tensor made in forward
    value = loss(torch.empty(2, 1, 8, 8, device=META), torch.empty(2, 1, 8, 8, device=META))
    assert value.device == META and value.shape == ()


# ---- (2) every op on the model's device: inference and one trainer step ----------------------------
def test_recorder_catches_a_host_tensor_made_in_forward() -> None:
    """The checker itself: a forward that builds a host tensor without device= is reported."""

    class HostOffset(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            offset = torch.arange(3.0)  # the bug: no device=x.device
            return x * self.scale + offset.to(x.device)

    model = build_on(META, HostOffset)
    with DeviceRecorder() as recorder:
        model(torch.empty(2, 3, device=META))
    report = check_placement(recorder.events, META)
    assert not report.ok and "arange" in report.violations[0]


def test_signal_classifier_inference_stays_on_the_model_device() -> None:
    classifier = SignalClassifier(
        build_on(META, lambda: SignalNet(SMALL_SIGNAL_NET)), np.full(len(CLASSES), 0.5)
    )
    signal_mv = np.random.default_rng(0).normal(0.0, 0.3, (5000, len(LEADS)))
    with DeviceRecorder(fake_host_copies=True) as recorder:
        probabilities = classifier.probabilities(signal_mv, 500.0, list(LEADS))
    assert probabilities.shape == (len(CLASSES),)
    report = check_placement(recorder.events, META)
    assert report.violations == []
    assert len(report.transfers_in) == 1 and len(report.transfers_out) == 1, "input in, probabilities out"


def test_learned_trace_model_inference_stays_on_the_model_device() -> None:
    trace_model = LearnedTraceModel(build_on(META, lambda: EcgNet(SMALL_TRACE_NET)))
    page = np.full((*PAGE_HW, 3), 255, np.uint8)
    with DeviceRecorder(fake_host_copies=True) as recorder:
        probability = trace_model(page)
    assert probability.shape == PAGE_HW and probability.dtype == np.float32
    report = check_placement(recorder.events, META)
    assert report.violations == [], "preprocessing belongs on the device: uint8 crosses, floats do not"
    assert report.transfers_in == ["uint8 (1, 3, 1700, 2200)"]
    assert len(report.transfers_out) == 1


def first_batch(task, dataset, batch_size: int) -> dict:
    collate = getattr(task, "collate_fn", None) or torch.utils.data.default_collate
    return collate([dataset[i] for i in range(batch_size)])


def one_trainer_step(task, dataset, batch_size: int, device: torch.device) -> tuple[dict, list]:
    """One recorded optimizer step of the production Trainer; the batch is loaded before, on the host."""
    config = TrainerConfig(batch_size=batch_size, epochs=1, progress=False, output_dir="unused")
    trainer = Trainer(config, DistInfo(device=device))
    return record_optimizer_step(trainer, task, dataset, first_batch(task, dataset, batch_size))


def test_signal_trainer_step_stays_on_the_model_device() -> None:
    rng = np.random.default_rng(0)
    signals = rng.normal(0.0, 0.3, (4, CLASSIFIER_SAMPLES, len(LEADS))).astype(np.float32)
    targets = (rng.random((4, len(CLASSES))) < 0.3).astype(np.float32)
    dataset = SignalDataset(signals, targets)
    task = SignalClassificationTask(SignalNet(SMALL_SIGNAL_NET), build_loss(LossConfig()))
    logs, events = one_trainer_step(task, dataset, 4, META)
    report = check_placement(events, META)
    assert report.violations == []
    assert len(report.transfers_in) == 2 and report.transfers_out == [], "x and y in, nothing but scalars out"
    assert set(logs) >= {"loss", "lr", "grad_norm"}
    assert all(p.is_meta for p in task.model.parameters())


def test_trace_trainer_step_stays_on_the_model_device() -> None:
    images = torch.rand(2, 3, 128, 128)
    masks = (torch.rand(2, 1, 128, 128) > 0.9).float()
    dataset = [{"image": images[i : i + 1], "mask": masks[i : i + 1]} for i in range(2)]
    task = TraceTask(EcgNet(SMALL_TRACE_NET), build_loss(LossConfig(name="bce_dice", pos_weight=3.0)))
    _, events = one_trainer_step(task, dataset, 2, META)
    report = check_placement(events, META)
    assert report.violations == []
    assert len(report.transfers_in) == 2 and report.transfers_out == []
