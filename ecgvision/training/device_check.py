"""Where tensors live: every aten op's input and output devices, and the work done off the model's device.

Used by tests/models/test_device_placement.py (with the model on `meta`, so a stray host tensor
shows without a GPU) and by scripts/check_cuda.py (the same checks on CUDA). The rules, for a
model on device D:

- no op reads tensors from two devices, unless the odd ones are 0-dim (PyTorch hands CPU scalars to
  device kernels by value, e.g. AdamW's step counter);
- no op allocates a non-scalar tensor off D, except transfers off D (the result's `.cpu()`) and views
  (no new memory: the unsqueeze of a numpy input before its transfer). Host preprocessing, or a
  `torch.tensor(...)` / `torch.arange(...)` without `device=` inside a forward or a loss, breaks it.

On `meta` the production code would stop at its last step (`.cpu().numpy()`, `float(loss)`): with
`fake_host_copies` those return zeros, so the whole path runs and is checked.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from ecgvision.training.trainer import Task, Trainer, _Run

TRANSFER_OPS = (torch.ops.aten._to_copy, torch.ops.aten.to, torch.ops.aten.copy_)


@dataclass(frozen=True)
class OpEvent:
    """One aten op: its name, the devices of the tensors it read, the (device, shape) of those it returned."""

    op: str
    input_devices: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    outputs: tuple[tuple[str, tuple[int, ...]], ...]
    output_dtypes: tuple[str, ...]
    is_view: bool  # returns a view of an input: no new memory
    is_transfer: bool  # .to / _to_copy / copy_: the ops that may move data between devices

    def devices_read(self) -> set[str]:
        """Device types of the non-scalar tensors read."""
        return {device_type(d) for d, s in zip(self.input_devices, self.input_shapes, strict=True) if len(s)}

    def devices_written(self) -> set[str]:
        """Device types of the non-scalar tensors returned."""
        return {device_type(d) for d, s in self.outputs if len(s)}


def device_type(name: str) -> str:
    return torch.device(name).type


def tensors_in(tree) -> list[torch.Tensor]:
    return [leaf for leaf in tree_flatten(tree)[0] if isinstance(leaf, torch.Tensor)]


def is_host_copy_of_meta(func, inputs: list[torch.Tensor], kwargs: dict) -> bool:
    target = kwargs.get("device")
    return (
        func.overloadpacket in TRANSFER_OPS
        and bool(inputs)
        and inputs[0].is_meta
        and target is not None
        and torch.device(target).type != "meta"
    )


def is_alias(func, inputs: list[torch.Tensor], out) -> bool:
    """A view op (no new memory); `aten.to` only counts when it returned its input unchanged."""
    if func.overloadpacket is torch.ops.aten.to:
        return bool(inputs) and out is inputs[0]
    return bool(func.is_view)


class DeviceRecorder(TorchDispatchMode):
    """`with DeviceRecorder() as recorder: ...` -> `recorder.events`, one OpEvent per aten op run inside."""

    def __init__(self, fake_host_copies: bool = False):
        super().__init__()
        self.fake_host_copies = fake_host_copies
        self.events: list[OpEvent] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        inputs = tensors_in((args, kwargs))
        if self.fake_host_copies and is_host_copy_of_meta(func, inputs, kwargs):
            dtype = kwargs.get("dtype") or inputs[0].dtype
            out = torch.zeros(inputs[0].shape, dtype=dtype, device=kwargs["device"])
        elif (
            self.fake_host_copies and func is torch.ops.aten._local_scalar_dense.default and inputs[0].is_meta
        ):
            out = 0.0  # float(meta_tensor) has no value to read
        else:
            out = func(*args, **kwargs)
        self.events.append(
            OpEvent(
                str(func),
                tuple(str(t.device) for t in inputs),
                tuple(tuple(t.shape) for t in inputs),
                tuple((str(t.device), tuple(t.shape)) for t in tensors_in(out)),
                tuple(str(t.dtype).removeprefix("torch.") for t in tensors_in(out)),
                is_alias(func, inputs, out),
                func.overloadpacket in TRANSFER_OPS,
            )
        )
        return out


@dataclass
class PlacementReport:
    """What crossed between host and `device`, and every op that broke the module docstring's rules."""

    device: str
    num_ops: int = 0
    transfers_in: list[str] = field(default_factory=list)  # "dtype shape" of non-scalar copies onto device
    transfers_out: list[str] = field(default_factory=list)  # ... and off it
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def check_event(event: OpEvent, device: str) -> str | None:
    """The rule `event` breaks for a model on `device`, or None."""
    read, written = event.devices_read(), event.devices_written()
    if event.is_transfer and read != written:
        return None  # copies between host and device are counted (PlacementReport), not judged here
    if len(read) > 1:
        return f"{event.op} mixes non-scalar tensors from {sorted(read)}"
    off_device = [shape for d, shape in event.outputs if device_type(d) != device and len(shape)]
    if off_device and not event.is_view:
        return f"{event.op} created {off_device} off {device} (inputs on {sorted(read) or 'none'})"
    return None


def describe_outputs(event: OpEvent) -> str:
    """'uint8 (1, 3, 1700, 2200)': dtype and shape of each tensor the op returned."""
    return ", ".join(
        f"{dtype} {shape}" for (_, shape), dtype in zip(event.outputs, event.output_dtypes, strict=True)
    )


def check_placement(events: list[OpEvent], device: str | torch.device) -> PlacementReport:
    """Apply the rules to `events` of a model on `device` (its type: 'cuda', 'meta', 'cpu')."""
    device = torch.device(device).type
    report = PlacementReport(device, num_ops=len(events))
    for event in events:
        read, written = event.devices_read(), event.devices_written()
        if event.is_transfer and device in written and read - {device}:
            report.transfers_in.append(describe_outputs(event))
        elif event.is_transfer and device in read and written - {device}:
            report.transfers_out.append(describe_outputs(event))
        problem = check_event(event, device)
        if problem:
            report.violations.append(problem)
    return report


def record_optimizer_step(
    trainer: Trainer, task: Task, dataset: Any, batch: Any, record: bool = True
) -> tuple[dict[str, float], list[OpEvent]]:
    """One optimizer step of `trainer` on `batch` (loaded on the host beforehand), recorded.

    Builds the trainer's run state (model moved to the trainer's device, optimizer, schedule, AMP
    scaler) and takes the Trainer's own step: fit() around it adds loaders and checkpoints, which
    a model on meta cannot write. Returns the step's logs (loss, lr, grad_norm) and the ops (none
    when `record` is False, for timing without the recorder's per-op cost).
    """
    run = _Run.build(trainer, task, dataset, None)
    recorder = DeviceRecorder(fake_host_copies=trainer.device.type == "meta")
    with recorder if record else nullcontext():
        logs = trainer._optimizer_step(run, iter([batch]), 1)
    return logs, recorder.events
