import numpy as np
import pytest

from ecgvision.classify.fusion import Fusion, fit_fusion, fuse
from ecgvision.constants import CLASSES

C = len(CLASSES)


def toy(seed: int = 0, records: int = 200):
    """Targets, an image source that matches them (noisy but separable) and a random signal source."""
    rng = np.random.default_rng(seed)
    targets = (rng.random((records, C)) < 0.3).astype(float)
    image = np.clip(0.25 + 0.5 * targets + rng.normal(0, 0.05, targets.shape), 0, 1)
    signal = rng.random(targets.shape)
    return targets, image, signal


def test_failed_digitization_falls_back_to_the_image_head():
    image = np.array([[0.9] * C, [0.2] * C])
    signal = np.array([[0.1] * C, [np.nan] * C])
    fused = fuse(image, signal, 0.5)
    np.testing.assert_allclose(fused[0], 0.5)
    np.testing.assert_allclose(fused[1], 0.2)


def test_missing_image_falls_back_to_the_signal():
    fused = fuse(np.full((1, C), np.nan), np.full((1, C), 0.7), 0.3)
    np.testing.assert_allclose(fused, 0.7)


@pytest.mark.parametrize("mode", ["global", "per_class"])
def test_fitted_weights_recover_the_better_source(mode):
    targets, image, signal = toy()
    fusion = fit_fusion(image, signal, targets, mode)
    assert min(fusion.image_weights) >= 0.7  # the random signal gets little or no weight
    # Swapping the sources swaps the weights.
    swapped = fit_fusion(signal, image, targets, mode)
    assert max(swapped.image_weights) <= 0.3


def test_fused_thresholds_separate_the_toy_classes_perfectly():
    targets, image, signal = toy()
    fusion = fit_fusion(image, signal, targets, "per_class")
    labels = [fusion.labels(i, s) for i, s in zip(image, signal, strict=True)]
    expected = [[c for c, t in zip(CLASSES, row, strict=True) if t] for row in targets]
    assert labels == expected


def test_average_mode_weights_half_and_tunes_thresholds():
    targets, image, signal = toy()
    fusion = fit_fusion(image, signal, targets, "average")
    assert fusion.image_weights == [0.5] * C and len(fusion.thresholds) == C


def test_fusion_round_trips_through_json(tmp_path):
    targets, image, signal = toy()
    fusion = fit_fusion(image, signal, targets, "global")
    fusion.save(tmp_path / "fusion.json")
    loaded = Fusion.load(tmp_path / "fusion.json")
    assert loaded == fusion
    assert loaded.labels(image[0], np.full(C, np.nan)) == fusion.labels(image[0], np.full(C, np.nan))


def test_unknown_mode_is_a_clear_error():
    targets, image, signal = toy(records=10)
    with pytest.raises(ValueError, match="fusion mode"):
        fit_fusion(image, signal, targets, "learned")
