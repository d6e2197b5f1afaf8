"""One Trainer for every task: AdamW, schedules, AMP, accumulation, early stopping, resumable checkpoints.

A task supplies the model, the loss and the metric (`Task`); the trainer owns everything else:
device, seeding, loaders, DDP, optimisation, logging (`metrics.jsonl`), checkpoints
(`checkpoints/step_*`, no pickle) and the best model (`best/`, via `save_pretrained`).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import math
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm.auto import tqdm

from ecgvision.config import save_config, to_dict
from ecgvision.io.atomic import atomic_write_text
from ecgvision.models.weights import save_pretrained
from ecgvision.training import checkpoint as ckpt
from ecgvision.training.distributed import (
    DistInfo,
    barrier,
    broadcast_object,
    init_distributed,
    make_sampler,
    unwrap_model,
    wrap_model,
)
from ecgvision.training.optim import build_optimizer, build_scheduler
from ecgvision.training.runtime import move_to_device, seed_everything, seed_worker

log = logging.getLogger(__name__)
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
METRICS_LOG = "metrics.jsonl"  # the JSONL training log in the output folder


@dataclass
class TrainerConfig:
    epochs: int = 10
    max_steps: int | None = None  # optimizer steps; training stops at whichever limit comes first
    stop_after_epochs: int | None = None  # stop here without shortening the lr schedule (a cut-short stage)
    # wall-clock guard (seconds of this call): past it, training stops after the current step, evaluates
    # and writes checkpoint and final model, the lr schedule not shortened (a fixed machine lease)
    time_limit_s: float | None = None
    lr: float = 1e-3  # peak learning rate
    weight_decay: float = 0.05
    batch_size: int = 8  # per process, per micro-batch
    eval_batch_size: int | None = None  # default: batch_size
    accumulation_steps: int = 1  # micro-batches per optimizer step
    schedule: str = "cosine"  # cosine (with linear warm-up) | onecycle | constant
    warmup_steps: int = 0  # cosine only
    min_lr_ratio: float = 0.0  # cosine only: final lr / peak lr
    onecycle_pct_start: float = 0.3
    amp: str = "bf16"  # off | bf16 | fp16; autocast on CUDA only, CPU always runs fp32
    grad_clip_norm: float | None = 1.0
    patience: int | None = None  # evaluations without improvement before stopping; None: never stop
    eval_every_epochs: int = 1
    checkpoint_every_steps: int = 0  # 0: at epoch ends only
    keep_checkpoints: int = 2
    log_every_steps: int = 10
    num_workers: int = 0
    seed: int = 0
    deterministic: bool = False  # deterministic kernels (bit-identical reruns; slower on CUDA)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    progress: bool = True  # tqdm bar on the main process
    resume: bool = True  # continue from output_dir/checkpoints when a checkpoint is there
    output_dir: str = "runs/default"


class Task(Protocol):
    """What a task hands the trainer. `compute_loss` must call `model(...)` (it may be DDP-wrapped)."""

    model: nn.Module
    metric_name: str  # key in evaluate()'s result that drives early stopping and the best model
    metric_mode: str  # 'max' or 'min'

    def compute_loss(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]: ...

    def evaluate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]: ...


@dataclass
class TrainState:
    """Where training stands; saved in every checkpoint."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch (0-based)
    batches_in_epoch: int = 0  # micro-batches of the current epoch already consumed
    best_metric: float | None = None
    best_step: int | None = None
    evals_without_improvement: int = 0
    stopped_early: bool = False


@dataclass
class FitResult:
    state: TrainState
    best_model_dir: Path | None
    final_model_dir: Path
    evaluations: list[dict[str, float]] = field(default_factory=list)


class SkipSampler(Sampler):
    """The wrapped sampler's indices without the first `skip` (to resume mid-epoch without
    loading the skipped samples)."""

    def __init__(self, sampler: Sampler, skip: int):
        self.sampler, self.skip = sampler, skip

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(iter(self.sampler), self.skip, None)

    def __len__(self) -> int:
        return max(len(self.sampler) - self.skip, 0)


def is_improvement(value: float, best: float | None, mode: str) -> bool:
    if mode not in ("max", "min"):
        raise ValueError(f"metric_mode must be 'max' or 'min', got {mode!r}")
    if value is None or math.isnan(value):
        return False
    return best is None or (value > best if mode == "max" else value < best)


class Trainer:
    """`Trainer(config).fit(task, train_dataset, val_dataset)`; see TrainerConfig for the options."""

    def __init__(self, config: TrainerConfig, dist_info: DistInfo | None = None):
        self.config = config
        self.info = dist_info or init_distributed(config.device)
        self.device = self.info.device
        self.output_dir = Path(config.output_dir)
        self.amp_dtype = AMP_DTYPES.get(config.amp) if self.device.type == "cuda" else None
        if config.amp not in ("off", *AMP_DTYPES):
            raise ValueError(f"amp must be 'off', 'bf16' or 'fp16', got {config.amp!r}")

    # ---- data -------------------------------------------------------------------------------
    def _loader(
        self, task: Task, dataset: Dataset, sampler: Sampler, batch_size: int, seed: int
    ) -> DataLoader:
        # A seeded generator per epoch fixes worker seeds and keeps the loader off the global RNG,
        # so a resumed run draws the same random numbers as an uninterrupted one.
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=self.config.num_workers,
            collate_fn=getattr(task, "collate_fn", None),
            worker_init_fn=seed_worker,
            generator=torch.Generator().manual_seed(seed),
            pin_memory=self.device.type == "cuda",
        )

    def _train_loader(self, task: Task, sampler: Sampler, epoch: int, skip_batches: int) -> DataLoader:
        sampler.set_epoch(epoch)
        skipping = SkipSampler(sampler, skip_batches * self.config.batch_size)
        return self._loader(
            task, sampler.dataset, skipping, self.config.batch_size, self.config.seed * 100003 + epoch
        )

    # ---- setup ------------------------------------------------------------------------------
    def _total_steps(self, batches_per_epoch: int) -> int:
        steps = self.config.epochs * math.ceil(batches_per_epoch / self.config.accumulation_steps)
        return min(steps, self.config.max_steps) if self.config.max_steps else steps

    def _log(self, record: dict[str, Any]) -> None:
        if self.info.is_main:
            with open(self.output_dir / METRICS_LOG, "a") as handle:
                handle.write(json.dumps(record) + "\n")

    def _truncate_log(self, step: int) -> None:
        """Drop log lines written after the checkpoint we resume from (they will be redone)."""
        path = self.output_dir / METRICS_LOG
        if self.info.is_main and path.is_file():
            kept = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] <= step]
            atomic_write_text(path, "".join(line + "\n" for line in kept))

    # ---- checkpoints ------------------------------------------------------------------------
    def _save_checkpoint(self, run: _Run) -> None:
        if self.info.is_main:
            state = {
                "trainer": dataclasses.asdict(run.state),
                "total_steps": run.total_steps,
                "optimizer": run.optimizer.state_dict(),
                "scheduler": run.scheduler.state_dict(),
                "scaler": run.scaler.state_dict(),
                "rng": ckpt.capture_rng_state(),
                "config": to_dict(self.config),
            }
            ckpt.save_checkpoint(
                self.output_dir / "checkpoints",
                run.state.step,
                unwrap_model(run.model),
                state,
                self.config.keep_checkpoints,
            )
        barrier()

    def _resume(self, run: _Run) -> None:
        folder = ckpt.find_latest_checkpoint(self.output_dir / "checkpoints") if self.config.resume else None
        if folder is None:
            return
        saved = ckpt.load_checkpoint(folder, unwrap_model(run.model))
        if saved["total_steps"] != run.total_steps:
            log.warning(
                "resuming with %d total steps, checkpoint planned %d", run.total_steps, saved["total_steps"]
            )
        run.optimizer.load_state_dict(saved["optimizer"])
        run.scheduler.load_state_dict(saved["scheduler"])
        run.scaler.load_state_dict(saved["scaler"])
        # Every rank restores rank 0's RNG state: identical across ranks from here on.
        ckpt.restore_rng_state(saved["rng"])
        run.state = TrainState(**saved["trainer"])
        self._truncate_log(run.state.step)
        log.info("resumed from %s at step %d", folder, run.state.step)

    # ---- evaluation -------------------------------------------------------------------------
    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    def _evaluate(self, run: _Run) -> dict[str, float] | None:
        """Main rank evaluates the whole validation set; the result is broadcast to every rank."""
        metrics = None
        if self.info.is_main:
            model = unwrap_model(run.model)
            model.eval()
            with torch.inference_mode(), self._autocast():
                metrics = run.task.evaluate(model, run.val_loader)
            model.train()
            if run.task.metric_name not in metrics:
                raise KeyError(f"task.evaluate() returned {sorted(metrics)}, no {run.task.metric_name!r}")
        return broadcast_object(metrics)

    def _after_evaluation(self, run: _Run, metrics: dict[str, float]) -> None:
        value = float(metrics[run.task.metric_name])
        state = run.state
        self._log({"kind": "eval", "step": state.step, "epoch": state.epoch, **metrics})
        run.evaluations.append({"step": state.step, **metrics})
        if is_improvement(value, state.best_metric, run.task.metric_mode):
            state.best_metric, state.best_step, state.evals_without_improvement = value, state.step, 0
            if self.info.is_main:
                extra = {
                    "metric": run.task.metric_name,
                    "value": value,
                    "step": state.step,
                    "epoch": state.epoch,
                }
                save_pretrained(unwrap_model(run.model), self.output_dir / "best", extra=extra)
        else:
            state.evals_without_improvement += 1
            patience = self.config.patience
            state.stopped_early = patience is not None and state.evals_without_improvement >= patience

    # ---- training ---------------------------------------------------------------------------
    def _micro_batch(self, run: _Run, batch: Any, group_size: int, sync: bool) -> dict[str, float]:
        no_sync = self.info.is_distributed and not sync
        with run.model.no_sync() if no_sync else nullcontext():
            with self._autocast():
                loss, logs = run.task.compute_loss(run.model, move_to_device(batch, self.device))
            run.scaler.scale(loss / group_size).backward()
        return {"loss": float(loss.detach()), **{k: float(v) for k, v in logs.items()}}

    def _optimizer_step(self, run: _Run, batches: Iterator, group_size: int) -> dict[str, float]:
        """`group_size` micro-batches, then one optimizer step; returns the mean of their logs."""
        logs = [
            self._micro_batch(run, next(batches), group_size, i == group_size - 1) for i in range(group_size)
        ]
        mean_logs = {k: sum(d[k] for d in logs) / len(logs) for k in logs[0]}
        mean_logs["lr"] = run.optimizer.param_groups[0]["lr"]  # the lr this step uses
        run.scaler.unscale_(run.optimizer)
        if self.config.grad_clip_norm:
            norm = nn.utils.clip_grad_norm_(run.model.parameters(), self.config.grad_clip_norm)
            mean_logs["grad_norm"] = float(norm)  # before clipping
        run.scaler.step(run.optimizer)
        run.scaler.update()
        run.optimizer.zero_grad(set_to_none=True)
        run.scheduler.step()
        run.state.step += 1
        run.state.batches_in_epoch += group_size
        return mean_logs

    def _train_epoch(self, run: _Run, bar: tqdm) -> None:
        state, config = run.state, self.config
        batches = iter(self._train_loader(run.task, run.sampler, state.epoch, state.batches_in_epoch))
        run.model.train()
        while state.batches_in_epoch < run.batches_per_epoch and state.step < run.total_steps:
            if self._out_of_time(run):
                break
            group = min(config.accumulation_steps, run.batches_per_epoch - state.batches_in_epoch)
            logs = self._optimizer_step(run, batches, group)
            bar.update(1)
            bar.set_postfix(loss=f"{logs['loss']:.4f}", epoch=state.epoch)
            if state.step % config.log_every_steps == 0:
                elapsed_s = round(time.monotonic() - run.start_time, 3)
                self._log(
                    {
                        "kind": "train",
                        "step": state.step,
                        "epoch": state.epoch,
                        **logs,
                        "elapsed_s": elapsed_s,
                    }
                )
            if config.checkpoint_every_steps and state.step % config.checkpoint_every_steps == 0:
                self._save_checkpoint(run)

    def _finish_epoch(self, run: _Run) -> None:
        """Epoch end (or last step): evaluate when due, then checkpoint."""
        state = run.state
        if state.batches_in_epoch >= run.batches_per_epoch:
            state.epoch, state.batches_in_epoch = state.epoch + 1, 0
        last = self._done(run)
        if run.val_loader is not None and (last or state.epoch % self.config.eval_every_epochs == 0):
            self._after_evaluation(run, self._evaluate(run))
        self._save_checkpoint(run)

    def _out_of_time(self, run: _Run) -> bool:
        limit = self.config.time_limit_s
        return limit is not None and time.monotonic() - run.start_time >= limit

    def _done(self, run: _Run) -> bool:
        s, stop = run.state, self.config.stop_after_epochs
        cut = stop is not None and s.epoch >= stop
        ended = s.stopped_early or cut or s.step >= run.total_steps or s.epoch >= self.config.epochs
        return ended or self._out_of_time(run)

    def fit(self, task: Task, train_dataset: Dataset, val_dataset: Dataset | None = None) -> FitResult:
        """Train `task.model` (in place) until epochs / max_steps / early stopping; resumable."""
        seed_everything(self.config.seed + self.info.rank, self.config.deterministic)
        if self.info.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.config, self.output_dir / "trainer_config.yaml")
        run = _Run.build(self, task, train_dataset, val_dataset)
        self._resume(run)
        disable = not (self.info.is_main and self.config.progress)
        with tqdm(total=run.total_steps, initial=run.state.step, disable=disable, desc="train") as bar:
            while not self._done(run):
                self._train_epoch(run, bar)
                self._finish_epoch(run)
        final_dir = self.output_dir / "final"
        if self.info.is_main:
            save_pretrained(unwrap_model(run.model), final_dir, extra={"step": run.state.step})
        barrier()
        best = self.output_dir / "best" if run.state.best_step is not None else None
        return FitResult(run.state, best, final_dir, run.evaluations)


@dataclass
class _Run:
    """Everything one fit() call builds; kept together so the Trainer's helpers stay short."""

    task: Task
    model: nn.Module  # DDP-wrapped when distributed
    sampler: Any
    val_loader: DataLoader | None
    batches_per_epoch: int
    total_steps: int
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    state: TrainState = field(default_factory=TrainState)
    evaluations: list[dict[str, float]] = field(default_factory=list)
    start_time: float = field(default_factory=time.monotonic)

    @classmethod
    def build(cls, trainer: Trainer, task: Task, train_dataset: Dataset, val_dataset: Dataset | None) -> _Run:
        config, info = trainer.config, trainer.info
        model = task.model.to(trainer.device)
        sampler = make_sampler(train_dataset, info, shuffle=True, seed=config.seed)
        batches_per_epoch = math.ceil(len(sampler) / config.batch_size)
        if batches_per_epoch == 0:
            raise ValueError("the training dataset is empty")
        val_loader = None
        if val_dataset is not None:
            val_sampler = torch.utils.data.SequentialSampler(val_dataset)
            val_loader = trainer._loader(
                task, val_dataset, val_sampler, config.eval_batch_size or config.batch_size, config.seed
            )
        total_steps = trainer._total_steps(batches_per_epoch)
        optimizer = build_optimizer(model, config.lr, config.weight_decay)
        scheduler = build_scheduler(
            optimizer, config.schedule, config.lr, total_steps, config.warmup_steps, config.min_lr_ratio,
            config.onecycle_pct_start,
        )  # fmt: skip
        scaler = torch.amp.GradScaler("cuda", enabled=trainer.amp_dtype == torch.float16)
        wrapped = wrap_model(model, info)
        return cls(
            task, wrapped, sampler, val_loader, batches_per_epoch, total_steps, optimizer, scheduler, scaler
        )
