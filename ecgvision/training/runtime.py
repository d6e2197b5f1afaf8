"""Seeds and devices: the small helpers every training or inference run starts with."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


def select_device(preference: str = "auto") -> torch.device:
    """'auto' -> CUDA if available, else CPU; otherwise the named device ('cpu', 'cuda:1')."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(preference)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {preference!r} requested but CUDA is not available")
    return device


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all CUDA devices too).

    `deterministic` also asks torch for deterministic kernels (slower on CUDA; ops without a
    deterministic version only warn) so that two runs give bit-identical weights.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def seed_worker(worker_id: int) -> None:
    """DataLoader `worker_init_fn`: seed NumPy and `random` from the worker's torch seed.

    torch seeds each worker with base_seed + worker_id (base_seed drawn from the loader's
    generator), but NumPy and `random` would otherwise start identical in every worker.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def move_to_device(batch: Any, device: torch.device) -> Any:
    """Tensors inside nested dicts / lists / tuples moved to `device`; other leaves unchanged."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: move_to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list):
        return [move_to_device(v, device) for v in batch]
    if isinstance(batch, tuple):
        moved = [move_to_device(v, device) for v in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else tuple(moved)  # namedtuples too
    return batch
