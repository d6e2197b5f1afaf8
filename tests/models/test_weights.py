"""save_pretrained / from_pretrained: round trip, checksum, pickle refusal, architecture mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import ecgvision
from ecgvision.models.networks import EcgNet, NetConfig
from ecgvision.models.weights import WeightsError, from_pretrained, save_pretrained, sha256_file

SMALL = NetConfig(
    backbone_kwargs={"dims": [16, 32, 64, 128]}, decoder_channels=(32, 16, 8, 8), dense_channels=2
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EcgNet]:
    torch.manual_seed(0)
    model = EcgNet(SMALL).eval()
    folder = save_pretrained(model, tmp_path_factory.mktemp("model") / "best", extra={"metric": "f1"})
    return folder, model


def copy_folder(src: Path, dest: Path) -> Path:
    dest.mkdir()
    for name in ("config.json", "model.safetensors"):
        (dest / name).write_bytes((src / name).read_bytes())
    return dest


def test_round_trip_gives_identical_outputs(saved: tuple[Path, EcgNet]) -> None:
    folder, model = saved
    loaded = from_pretrained(folder, device="cpu")
    images = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before, after = model(images), loaded(images)
    assert isinstance(loaded, EcgNet) and loaded.config == SMALL and not loaded.training
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_half_precision_file_is_half_the_size_and_loads_as_float32(saved, tmp_path: Path) -> None:
    folder, model = saved
    half = save_pretrained(model, tmp_path / "half", float_dtype=torch.float16)
    size = lambda f: (f / "model.safetensors").stat().st_size  # noqa: E731
    assert size(half) < 0.55 * size(folder)
    loaded = from_pretrained(half, device="cpu")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    images = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before, after = model(images)["dense"], loaded(images)["dense"]
    assert torch.allclose(before, after, atol=2e-2 * before.abs().max().item())


def test_config_json_records_architecture_checksum_and_version(saved: tuple[Path, EcgNet]) -> None:
    folder, _ = saved
    meta = json.loads((folder / "config.json").read_text())
    assert meta["architecture"] == "EcgNet"
    assert meta["model_class"] == "ecgvision.models.networks:EcgNet"
    assert meta["config"]["backbone_kwargs"] == {"dims": [16, 32, 64, 128]}
    assert meta["weights_sha256"] == sha256_file(folder / "model.safetensors")
    assert meta["ecgvision_version"] == ecgvision.__version__ and meta["extra"] == {"metric": "f1"}
    assert not list(folder.glob(".*tmp"))  # atomic writes leave no temporary files


def test_default_device_is_cuda_when_available_else_cpu(saved: tuple[Path, EcgNet]) -> None:
    loaded = from_pretrained(saved[0])
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(loaded.parameters()).device.type == expected


def test_tampered_weights_fail_the_checksum(saved: tuple[Path, EcgNet], tmp_path: Path) -> None:
    folder = copy_folder(saved[0], tmp_path / "tampered")
    state = load_file(str(folder / "model.safetensors"))
    state["dx_head.mlp.3.bias"] = state["dx_head.mlp.3.bias"] + 1.0
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(WeightsError, match="checksum mismatch"):
        from_pretrained(folder, device="cpu")


def test_pickle_files_are_refused(saved: tuple[Path, EcgNet], tmp_path: Path) -> None:
    pickled = tmp_path / "model.pt"
    torch.save(saved[1].state_dict(), pickled)
    with pytest.raises(WeightsError, match="pickle"):
        from_pretrained(pickled)
    with pytest.raises(WeightsError, match="pickle"):
        from_pretrained(tmp_path)  # a folder holding only model.pt
    folder = copy_folder(saved[0], tmp_path / "renamed")
    meta = json.loads((folder / "config.json").read_text())
    meta["weights_file"] = "model.ckpt"
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match="not a .safetensors"):
        from_pretrained(folder)


def test_weights_of_another_architecture_are_rejected(saved: tuple[Path, EcgNet], tmp_path: Path) -> None:
    folder = copy_folder(saved[0], tmp_path / "mismatch")
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["dense_channels"] = 5  # config now describes a different head
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match=r"do not match the EcgNet.*dense_head\.conv\.weight"):
        from_pretrained(folder, device="cpu")


def test_config_cannot_name_classes_outside_ecgvision(saved: tuple[Path, EcgNet], tmp_path: Path) -> None:
    folder = copy_folder(saved[0], tmp_path / "foreign")
    meta = json.loads((folder / "config.json").read_text())
    meta["model_class"] = "os:system"
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match="ecgvision package"):
        from_pretrained(folder, device="cpu")
