import numpy as np
import pytest
import torch

from ecgvision.constants import LEADS
from ecgvision.io.records import load_signals
from ecgvision.models.losses import build_loss
from ecgvision.models.networks import EcgNet
from ecgvision.models.trace_model import LearnedTraceModel
from ecgvision.training.trace_data import TraceCropDataset, TraceDataConfig, collate_crops
from ecgvision.training.trace_task import TraceTask, TraceTrainConfig, default_trace_net, mask_at_stride


@pytest.mark.parametrize("input_scale", [1.0, 0.5])
def test_crops_carry_masks_on_the_ink(ptbxl_fold9_slice, input_scale):
    signals = np.stack([load_signals(r, list(LEADS))[0] for r in ptbxl_fold9_slice[:2]])
    data = TraceDataConfig(
        crop_px=128, crops_per_page=3, variants=("clean",), style_jitter=False, input_scale=input_scale
    )
    item = TraceCropDataset(signals, 100.0, data, fixed=True)[0]
    assert item["image"].shape == (3, 3, 128, 128) and item["mask"].shape == (3, 1, 128, 128)
    on_trace = item["mask"][:, 0].bool()
    assert on_trace.any(), "most crops are centred on the trace"
    darkness = 1 - item["image"].mean(1)  # (K, H, W)
    assert darkness[on_trace].mean() > 3 * darkness[~on_trace].mean(), "the mask lies on dark ink"


def test_one_training_step_and_full_page_inference():
    model = EcgNet(default_trace_net())
    task = TraceTask(model, build_loss(TraceTrainConfig().loss))
    batch = collate_crops(
        [{"image": torch.rand(2, 3, 64, 64), "mask": (torch.rand(2, 1, 64, 64) > 0.9).float()}]
    )
    loss, logs = task.compute_loss(model, batch)
    loss.backward()
    assert np.isfinite(logs["loss"])
    assert mask_at_stride(batch["mask"], 2).shape == (2, 1, 32, 32)
    page = np.full((70, 100, 3), 255, dtype=np.uint8)  # not a multiple of 32: padded, then cropped back
    probabilities = LearnedTraceModel(model)(page)
    assert probabilities.shape == (70, 100) and ((0 <= probabilities) & (probabilities <= 1)).all()
    # a model trained on shrunk pages sees the page shrunk; its map comes back at the page's size
    assert LearnedTraceModel(model, input_scale=0.5)(page).shape == (70, 100)
