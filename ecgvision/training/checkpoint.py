"""Training checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint is a folder `step_XXXXXXXX/` holding `model.safetensors` (weights),
`state.safetensors` (optimizer moments, RNG states, ...) and `state.json` (the rest, with
references into state.safetensors). Folders are written under a temporary name and renamed, and
`latest.txt` is replaced atomically last, so an interruption at any moment leaves the previous
checkpoint usable.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ecgvision.io.atomic import atomic_write_text
from ecgvision.models.weights import cpu_state_dict

LATEST_FILE = "latest.txt"
STATE_JSON = "state.json"
STATE_TENSORS = "state.safetensors"
MODEL_TENSORS = "model.safetensors"


def split_tensors(
    obj: Any, tensors: dict[str, torch.Tensor] | None = None
) -> tuple[Any, dict[str, torch.Tensor]]:
    """Replace every tensor / ndarray in a nested structure by a reference; returns (json_obj, tensors).

    Tuples and dicts with non-string keys (optimizer states are keyed by int) are tagged so that
    `join_tensors` restores them exactly.
    """
    tensors = {} if tensors is None else tensors
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": key}, tensors
    if isinstance(obj, np.ndarray):
        key = f"t{len(tensors)}"
        # int64 holds uint32 (NumPy's Mersenne Twister state) losslessly; dtype restores it.
        tensors[key] = torch.from_numpy(obj.astype(np.int64) if obj.dtype.kind in "ui" else obj.copy())
        return {"__ndarray__": key, "dtype": str(obj.dtype)}, tensors
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: split_tensors(v, tensors)[0] for k, v in obj.items()}, tensors
        return {"__items__": [[k, split_tensors(v, tensors)[0]] for k, v in obj.items()]}, tensors
    if isinstance(obj, tuple):
        return {"__tuple__": [split_tensors(v, tensors)[0] for v in obj]}, tensors
    if isinstance(obj, list):
        return [split_tensors(v, tensors)[0] for v in obj], tensors
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj, tensors
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint (only tensors and JSON types)")


def join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of `split_tensors`."""
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__ndarray__" in obj:
            return tensors[obj["__ndarray__"]].numpy().astype(obj["dtype"])
        if "__tuple__" in obj:
            return tuple(join_tensors(v, tensors) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {k: join_tensors(v, tensors) for k, v in obj["__items__"]}
        return {k: join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    return obj


def capture_rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_name(step: int) -> str:
    return f"step_{step:08d}"


def save_checkpoint(
    root: str | os.PathLike, step: int, model: nn.Module, state: dict[str, Any], keep: int = 2
) -> Path:
    """Write `root/step_XXXXXXXX/` and point `root/latest.txt` at it; keep the newest `keep`."""
    root = Path(root)
    final = root / checkpoint_name(step)
    tmp = root / f".{final.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(cpu_state_dict(model), str(tmp / MODEL_TENSORS))
    json_state, tensors = split_tensors(state)
    save_file(tensors, str(tmp / STATE_TENSORS))
    (tmp / STATE_JSON).write_text(json.dumps(json_state))
    shutil.rmtree(final, ignore_errors=True)  # a stale folder from an interrupted earlier run
    os.replace(tmp, final)
    atomic_write_text(root / LATEST_FILE, final.name)
    prune_checkpoints(root, keep)
    return final


def prune_checkpoints(root: Path, keep: int) -> None:
    folders = sorted(p for p in root.glob("step_*") if p.is_dir())
    for old in folders[: max(len(folders) - keep, 0)]:
        shutil.rmtree(old, ignore_errors=True)


def find_latest_checkpoint(root: str | os.PathLike) -> Path | None:
    """The folder `latest.txt` names, else the newest complete `step_*` folder, else None."""
    root = Path(root)
    pointer = root / LATEST_FILE
    if pointer.is_file():
        named = root / pointer.read_text().strip()
        if (named / STATE_JSON).is_file():
            return named
    complete = sorted(p for p in root.glob("step_*") if (p / STATE_JSON).is_file())
    return complete[-1] if complete else None


def load_checkpoint(folder: str | os.PathLike, model: nn.Module) -> dict[str, Any]:
    """Load the weights into `model` (strict) and return the rest of the saved state."""
    folder = Path(folder)
    device = next(model.parameters()).device
    model.load_state_dict(load_file(str(folder / MODEL_TENSORS), device=str(device)))
    tensors = load_file(str(folder / STATE_TENSORS))
    return join_tensors(json.loads((folder / STATE_JSON).read_text()), tensors)
