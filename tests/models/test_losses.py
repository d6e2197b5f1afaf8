"""Loss values on hand-computed cases, and the registry builds what the config names."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from ecgvision.models.losses import (
    LOSSES,
    AsymmetricLoss,
    BCEDiceLoss,
    BCEWithLogits,
    DiceLoss,
    LossConfig,
    build_loss,
)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_asymmetric_loss_matches_a_hand_computation() -> None:
    # Two elements: a positive at logit 0 and a negative at logit 1.
    # Positive: p = 0.5, term = (1 - 0.5)^1 * log(0.5).
    # Negative: p = sigmoid(1) = 0.731059, p_m = p - 0.05 = 0.681059, term = p_m^2 * log(1 - p_m).
    p_neg = sigmoid(1.0) - 0.05
    expected_terms = [-(0.5**1) * math.log(0.5), -(p_neg**2) * math.log(1 - p_neg)]
    assert expected_terms == pytest.approx([0.34657359, 0.53005305], abs=1e-6)
    loss = AsymmetricLoss(gamma_neg=2.0, gamma_pos=1.0, clip=0.05, reduction="sum")
    value = loss(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 0.0]]))
    assert value.item() == pytest.approx(sum(expected_terms), abs=1e-6)
    mean = AsymmetricLoss(gamma_neg=2.0, gamma_pos=1.0, clip=0.05, reduction="mean")
    assert mean(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 0.0]])).item() == pytest.approx(
        sum(expected_terms) / 2, abs=1e-6
    )


def test_asymmetric_loss_clip_discards_easy_negatives() -> None:
    # p = sigmoid(-4) = 0.018 < clip 0.05: the negative contributes exactly nothing.
    loss = AsymmetricLoss(gamma_neg=4.0, gamma_pos=1.0, clip=0.05, reduction="sum")
    logits = torch.tensor([[-4.0]], requires_grad=True)
    value = loss(logits, torch.tensor([[0.0]]))
    value.backward()
    assert value.item() == 0.0 and logits.grad.item() == 0.0


def test_asymmetric_loss_without_focusing_or_clip_is_bce() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.3], [-0.5, 4.0, -3.0]])
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    for reduction in ("sum", "mean"):
        asl = AsymmetricLoss(gamma_neg=0.0, gamma_pos=0.0, clip=0.0, reduction=reduction)
        bce = F.binary_cross_entropy_with_logits(logits, targets, reduction=reduction)
        assert asl(logits, targets).item() == pytest.approx(bce.item(), abs=1e-6)


def test_dice_loss_values() -> None:
    big = 30.0  # sigmoid(+-30) is 0 or 1 to float precision
    logits = torch.tensor([big, big, -big, -big]).view(1, 1, 2, 2)
    target = torch.tensor([1.0, 0.0, 1.0, 0.0]).view(1, 1, 2, 2)
    # overlap 1, sum(p) 2, sum(t) 2: dice = (2 + 1) / (4 + 1) = 0.6 -> loss 0.4 (smooth 1).
    assert DiceLoss(smooth=1.0)(logits, target).item() == pytest.approx(0.4, abs=1e-6)
    assert DiceLoss(smooth=1.0)(logits, (logits > 0).float()).item() == pytest.approx(0.0, abs=1e-6)


def test_bce_pos_weight_scales_positive_terms() -> None:
    logits, targets = torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0])
    value = BCEWithLogits(pos_weight=3.0, reduction="sum")(logits, targets)
    assert value.item() == pytest.approx(4 * math.log(2), abs=1e-6)  # 3 log2 + log2


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_build_loss_returns_the_loss_the_config_names(name: str) -> None:
    config = LossConfig(
        name=name, gamma_neg=3.0, gamma_pos=0.5, clip=0.1, reduction="sum", pos_weight=7.0, smooth=2.0
    )
    loss = build_loss(config)
    expected_type = {"asl": AsymmetricLoss, "bce": BCEWithLogits, "dice": DiceLoss, "bce_dice": BCEDiceLoss}[
        name
    ]
    assert type(loss) is expected_type
    parts = [loss.bce, loss.dice] if name == "bce_dice" else [loss]
    for part in parts:
        for key, value in vars(part).items():
            if key in {f.name for f in dataclasses.fields(LossConfig)}:
                assert value == getattr(config, key), (name, key)


def test_build_loss_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown loss 'focal'"):
        build_loss(LossConfig(name="focal"))
