"""DistributedDataParallel under torchrun: env:// init, gloo on CPU / nccl on CUDA, rank-0-only I/O.

Launch: `python -m torch.distributed.run --nproc_per_node N script.py`. Without torchrun's
environment (WORLD_SIZE unset or 1) everything here degrades to a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, DistributedSampler

from ecgvision.training.runtime import select_device


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device_preference: str = "auto") -> DistInfo:
    """Join the process group torchrun describes (env://) and pick this rank's device.

    Uses nccl with one GPU per local rank when CUDA is available, gloo on CPU. Returns a
    single-process DistInfo when not launched by torchrun.
    """
    device = select_device(device_preference)
    if not launched_by_torchrun():
        return DistInfo(device=device)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world)
    return DistInfo(rank, world, local_rank, device)


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        # every rank done with its last collective before any tears the group down: a gloo rank
        # destroyed while its peer still talked aborted once in ~10 CI runs ("terminate called
        # without an active exception", tests/training/test_distributed.py at stop 18)
        dist.barrier()
        dist.destroy_process_group()


def is_main_process() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if dist.is_initialized():
        dist.barrier()


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """`obj` from rank `src` on every rank (pickled by torch.distributed over the process group
    only, never from or to disk)."""
    if not dist.is_initialized():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def all_reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean of a tensor over ranks (for logging losses); a copy in a single process."""
    value = value.detach().clone()
    if dist.is_initialized():
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= dist.get_world_size()
    return value


def wrap_model(model: nn.Module, info: DistInfo) -> nn.Module:
    """DDP-wrap `model` (already on `info.device`) when distributed; unchanged otherwise."""
    if not info.is_distributed:
        return model
    device_ids = [info.device.index] if info.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def unwrap_model(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def make_sampler(dataset: Dataset, info: DistInfo, shuffle: bool, seed: int) -> DistributedSampler:
    """One shard per rank; in a single process the whole dataset, shuffled per epoch from `seed`.

    DistributedSampler pads shards to equal length, so every rank runs the same number of steps
    and collective calls stay matched.
    """
    return DistributedSampler(
        dataset, num_replicas=info.world_size, rank=info.rank, shuffle=shuffle, seed=seed
    )
