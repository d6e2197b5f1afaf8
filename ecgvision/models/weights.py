"""Model folders: `model.safetensors` + `config.json`, rebuilt from the folder alone.

config.json holds the architecture (import path of the model class and of its config dataclass,
both inside the ecgvision package), the resolved config, the SHA-256 of the weights file and the
ecgvision version. Pickle-based files are never read: `torch.load` can run arbitrary code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

import ecgvision
from ecgvision.config import from_dict, to_dict
from ecgvision.io.atomic import atomic_path, atomic_write_text

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin")
ALLOWED_PACKAGE = "ecgvision."  # config.json may only name classes from our own package


class WeightsError(RuntimeError):
    """A model folder that cannot be loaded: missing, tampered, pickled or not matching its config."""


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def import_class(path: str) -> type:
    """'ecgvision.models.networks:EcgNet' -> the class; only ecgvision modules are importable."""
    module_name, _, name = path.partition(":")
    if not module_name.startswith(ALLOWED_PACKAGE) or not name:
        raise WeightsError(f"refusing to import {path!r}: model classes must come from the ecgvision package")
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as error:
        raise WeightsError(f"cannot import model class {path!r}: {error}") from error


def cpu_state_dict(model: nn.Module, float_dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """The state dict on the CPU; floating tensors cast to `float_dtype` when given (float16 halves
    a shipped file; loading casts back to the model's dtype)."""

    def stored(tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.detach().to("cpu")
        if float_dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(float_dtype)
        return tensor.contiguous().clone()  # safetensors refuses shared or strided storage

    return {k: stored(v) for k, v in model.state_dict().items()}


def save_pretrained(
    model: nn.Module,
    folder: str | os.PathLike,
    config: Any = None,
    extra: dict[str, Any] | None = None,
    float_dtype: torch.dtype | None = None,
) -> Path:
    """Write `folder/model.safetensors` and `folder/config.json` atomically; returns the folder.

    `config` is the model's config dataclass (default `model.config`); the model class must be
    constructible as `cls(config)`. `extra` is any JSON-able metadata (metric, thresholds, ...).
    """
    model = getattr(model, "module", model)  # DDP / DataParallel wrappers
    config = model.config if config is None else config
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"config must be a dataclass instance, got {type(config).__name__}")
    folder = Path(folder)
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(cpu_state_dict(model, float_dtype), str(tmp), metadata={"format": "pt"})
        checksum = sha256_file(tmp)
    meta = {
        "architecture": type(model).__name__,
        "model_class": class_path(type(model)),
        "config_class": class_path(type(config)),
        "config": to_dict(config),
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": checksum,
        "ecgvision_version": ecgvision.__version__,
        "extra": extra or {},
    }
    atomic_write_text(folder / CONFIG_FILE, json.dumps(meta, indent=2))
    return folder


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def read_model_meta(folder: str | os.PathLike) -> dict[str, Any]:
    """config.json of a model folder, with a clear error for pickle-only or missing folders."""
    folder = Path(folder)
    if folder.is_file() and folder.suffix in PICKLE_SUFFIXES:
        raise WeightsError(f"{folder} is a pickle-based file; only safetensors model folders are loaded")
    if not (folder / CONFIG_FILE).is_file():
        pickles = (
            sorted(p.name for p in folder.glob("*") if p.suffix in PICKLE_SUFFIXES) if folder.is_dir() else []
        )
        hint = f" (found pickle-based {pickles}, which are refused)" if pickles else ""
        raise WeightsError(f"no {CONFIG_FILE} in {folder}{hint}")
    meta = json.loads((folder / CONFIG_FILE).read_text())
    missing = [
        k
        for k in ("architecture", "model_class", "config_class", "config", "weights_sha256")
        if k not in meta
    ]
    if missing:
        raise WeightsError(f"{folder / CONFIG_FILE} lacks {missing}; was it written by save_pretrained?")
    return meta


def check_state_dict(model: nn.Module, state: dict[str, torch.Tensor], architecture: str) -> None:
    """Raise WeightsError listing missing, unexpected and mis-shaped keys."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    common = sorted(set(expected) & set(state))
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {expected[k]}"
        for k in common
        if tuple(state[k].shape) != expected[k]
    ]
    if missing or unexpected or shapes:
        raise WeightsError(
            f"weights do not match the {architecture} built from config.json: "
            f"{len(missing)} missing {missing[:5]}, {len(unexpected)} unexpected {unexpected[:5]}, "
            f"{len(shapes)} shape mismatches {shapes[:5]}"
        )


def from_pretrained(folder: str | os.PathLike, device: str | torch.device | None = None) -> nn.Module:
    """Rebuild the model from `folder/config.json`, verify the checksum, load the safetensors
    weights onto `device` (default: CUDA if available, else CPU); returned in eval mode."""
    folder = Path(folder)
    meta = read_model_meta(folder)
    weights = folder / meta.get("weights_file", WEIGHTS_FILE)
    if weights.suffix != ".safetensors" or not weights.is_file():
        raise WeightsError(f"weights file {weights} is missing or not a .safetensors file")
    checksum = sha256_file(weights)
    if checksum != meta["weights_sha256"]:
        raise WeightsError(
            f"checksum mismatch for {weights}: file {checksum[:12]}..., config.json {meta['weights_sha256'][:12]}..."
            " (the weights were modified or belong to another model)"
        )
    model_cls, config_cls = import_class(meta["model_class"]), import_class(meta["config_class"])
    model = model_cls(from_dict(config_cls, meta["config"]))
    device = torch.device(device) if device is not None else default_device()
    state = load_file(str(weights), device=str(device))
    check_state_dict(model, state, meta["architecture"])
    model.load_state_dict(state)
    return model.to(device).eval()
