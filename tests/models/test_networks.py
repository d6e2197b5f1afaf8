"""EcgNet shapes, strides and the backbone/decoder/head split."""

from __future__ import annotations

import pytest
import torch

from ecgvision.constants import CLASSES
from ecgvision.models.backbone import create_backbone, feature_channels, feature_reductions
from ecgvision.models.decoder import UNetDecoder, finer_reductions
from ecgvision.models.networks import EcgNet, NetConfig


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(2, 3, 128, 256, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_ecgnet_output_shapes_follow_the_configured_stride(images: torch.Tensor, stride: int) -> None:
    model = EcgNet(NetConfig(dense_output_stride=stride, dense_channels=4)).eval()
    with torch.no_grad():
        out = model(images)
    assert set(out) == {"dense", "dx"}
    assert out["dense"].shape == (2, 4, 128 // stride, 256 // stride)
    assert out["dx"].shape == (2, len(CLASSES))
    assert all(torch.isfinite(v).all() for v in out.values())


def test_forward_is_forward_features_then_heads(images: torch.Tensor) -> None:
    model = EcgNet(NetConfig()).eval()
    with torch.no_grad():
        features = model.forward_features(images)
        split = model.forward_heads(features)
        whole = model(images)
    assert [f.shape[1] for f in features] == model.feature_channels
    assert [128 // f.shape[2] for f in features] == model.feature_reductions == [2, 4, 8, 16, 32]
    assert all(torch.equal(split[k], whole[k]) for k in whole)


def test_backbone_channels_come_from_feature_info() -> None:
    narrow = create_backbone("convnext_atto", dims=(16, 32, 64, 128))
    assert feature_channels(narrow) == [16, 32, 64, 128]
    assert feature_reductions(narrow) == [4, 8, 16, 32]
    deep_only = create_backbone("convnext_atto", out_indices=(2, 3))
    assert feature_channels(deep_only) == [160, 320]
    with pytest.raises(ValueError, match="hub"):
        create_backbone("convnext_atto", pretrained=True)
    with pytest.raises(ValueError, match="unknown"):
        create_backbone("no_such_model_xyz")


def test_width_reduced_backbone_builds_a_consistent_net(images: torch.Tensor) -> None:
    config = NetConfig(backbone_kwargs={"dims": [24, 48, 96, 192]}, decoder_channels=(64, 32, 16, 8))
    model = EcgNet(config)
    assert model.feature_channels == [16, 24, 48, 96, 192]
    assert model(images[:1])["dense"].shape == (1, 3, 64, 128)


def test_decoder_configuration_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="power of two"):
        finer_reductions(4, 3)
    with pytest.raises(ValueError, match="needs 3 channel counts"):
        UNetDecoder([8, 16, 32, 64], [4, 8, 16, 32], decoder_channels=(32, 16), output_stride=4)
    with pytest.raises(ValueError, match="image_skip_channels"):
        EcgNet(NetConfig(dense_output_stride=1, image_skip_channels=(8,)))


def test_predict_runs_in_eval_and_inference_mode(images: torch.Tensor) -> None:
    model = EcgNet(NetConfig(dropout=0.5))
    small = images[:1, :, :64, :64]
    first, second = model.predict(small), model.predict(small)
    assert not model.training and not first["dx"].requires_grad
    assert torch.equal(first["dx"], second["dx"])  # no dropout at inference
