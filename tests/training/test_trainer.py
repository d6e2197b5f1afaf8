"""Trainer: resume equivalence, early stopping, best-model export, checkpoint format."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_toys import Interrupted, ToyNet, ToyTask, make_dataset, new_toy_task

from ecgvision.config import load_config
from ecgvision.training.checkpoint import find_latest_checkpoint, join_tensors, split_tensors
from ecgvision.training.optim import build_scheduler
from ecgvision.training.trainer import Trainer, TrainerConfig


def toy_config(output_dir: Path, **changes) -> TrainerConfig:
    # 20 samples / batch 4 = 5 micro-batches per epoch; accumulation 2 -> steps of 2, 2, 1 batches.
    base = dict(
        epochs=3, lr=0.01, batch_size=4, accumulation_steps=2, schedule="cosine", warmup_steps=2,
        checkpoint_every_steps=2, log_every_steps=1, progress=False, output_dir=str(output_dir),
        device="cpu",  # bit-exact comparisons; the loss-reduction test runs on the automatic device
    )  # fmt: skip
    return TrainerConfig(**{**base, **changes})


def weights_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def eval_lines(output_dir: Path) -> list[dict]:
    lines = [json.loads(ln) for ln in (output_dir / "metrics.jsonl").read_text().splitlines()]
    return [ln for ln in lines if ln["kind"] == "eval"]


def test_resume_after_interruption_matches_uninterrupted_run(tmp_path: Path) -> None:
    train, val = make_dataset(20, seed=1), make_dataset(8, seed=2)
    reference_task = new_toy_task()
    reference = Trainer(toy_config(tmp_path / "a")).fit(reference_task, train, val)
    assert reference.state.step == 9

    # Call 15 is the second micro-batch of step 9's group... no: epoch 3 holds calls 11-15 and
    # steps 7 (11, 12), 8 (13, 14), 9 (15); the last checkpoint before call 15 is step 8, mid-epoch.
    interrupted_task = new_toy_task(interrupt_at_call=15)
    with pytest.raises(Interrupted):
        Trainer(toy_config(tmp_path / "b")).fit(interrupted_task, train, val)
    assert find_latest_checkpoint(tmp_path / "b" / "checkpoints").name == "step_00000008"

    resumed_task = new_toy_task(seed=123)  # different initial weights: they must be overwritten
    resumed = Trainer(toy_config(tmp_path / "b")).fit(resumed_task, train, val)
    assert resumed_task.calls == 1  # only the one remaining micro-batch was run
    expected, actual = weights_of(reference_task.model), weights_of(resumed_task.model)
    assert all(torch.equal(expected[k], actual[k]) for k in expected)
    assert resumed.state.best_metric == reference.state.best_metric
    strip = [{k: v for k, v in ln.items() if k != "elapsed_s"} for ln in eval_lines(tmp_path / "a")]
    assert strip == eval_lines(tmp_path / "b")


def test_a_stage_cut_after_some_epochs_follows_the_full_schedule(tmp_path: Path) -> None:
    train, val = make_dataset(20, seed=1), make_dataset(8, seed=2)
    full_task = new_toy_task()
    Trainer(toy_config(tmp_path / "full", checkpoint_every_steps=3)).fit(full_task, train, val)
    cut_task = new_toy_task()
    cut = Trainer(toy_config(tmp_path / "cut", stop_after_epochs=1)).fit(cut_task, train, val)
    assert cut.state.step == 3 and len(eval_lines(tmp_path / "cut")) == 1  # evaluated at the cut
    # the same weights as the full run after its first epoch: the lr schedule was not shortened
    full_lines = [json.loads(ln) for ln in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    cut_lines = [json.loads(ln) for ln in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    lrs = lambda lines: [ln["lr"] for ln in lines if ln["kind"] == "train"][:3]  # noqa: E731
    assert lrs(cut_lines) == lrs(full_lines)
    assert eval_lines(tmp_path / "cut")[0]["mse"] == pytest.approx(eval_lines(tmp_path / "full")[0]["mse"])


class SlowToyTask(ToyTask):
    def compute_loss(self, model, batch):
        time.sleep(0.2)
        return super().compute_loss(model, batch)


def test_a_time_limit_stops_mid_epoch_evaluates_and_writes_the_final_model(tmp_path: Path) -> None:
    train, val = make_dataset(20, seed=1), make_dataset(8, seed=2)
    torch.manual_seed(0)
    # steps of 2 micro-batches x 0.2 s: the limit falls in epoch 1 (9 steps planned)
    result = Trainer(toy_config(tmp_path, time_limit_s=0.5)).fit(SlowToyTask(ToyNet()), train, val)
    assert 1 <= result.state.step < 3 and result.state.epoch == 0
    assert len(eval_lines(tmp_path)) == 1 and result.best_model_dir is not None
    assert (tmp_path / "final" / "model.safetensors").is_file()
    assert find_latest_checkpoint(tmp_path / "checkpoints") is not None


def test_resume_of_a_finished_run_does_nothing(tmp_path: Path) -> None:
    train = make_dataset(20, seed=1)
    Trainer(toy_config(tmp_path, epochs=1)).fit(new_toy_task(), train)
    again = new_toy_task()
    result = Trainer(toy_config(tmp_path, epochs=1)).fit(again, train)
    assert again.calls == 0 and result.state.step == 3


def test_early_stopping_and_best_model_export(tmp_path: Path) -> None:
    train, val = make_dataset(20, seed=1), make_dataset(8, seed=2)
    task = new_toy_task(constant_metric=True)
    result = Trainer(toy_config(tmp_path, epochs=10, patience=2)).fit(task, train, val)
    # Evaluation 1 sets the best; evaluations 2 and 3 do not improve -> stop after epoch 3.
    assert result.state.stopped_early and result.state.step == 9 and result.state.best_step == 3
    meta = json.loads((tmp_path / "best" / "config.json").read_text())
    assert meta["extra"] == {"metric": "mse", "value": 1.0, "step": 3, "epoch": 1}
    best = load_file(str(tmp_path / "best" / "model.safetensors"))
    final = load_file(str(tmp_path / "final" / "model.safetensors"))
    assert set(best) == set(ToyNet().state_dict()) and not torch.equal(
        best["body.0.weight"], final["body.0.weight"]
    )


def test_training_reduces_the_loss_and_logs_jsonl(tmp_path: Path) -> None:
    train, val = make_dataset(64, seed=1), make_dataset(32, seed=2)
    config = toy_config(
        tmp_path,
        epochs=8,
        batch_size=8,
        accumulation_steps=1,
        checkpoint_every_steps=0,
        device="auto",
        amp="bf16",
    )  # CUDA with bf16 autocast where available
    result = Trainer(config).fit(new_toy_task(), train, val)
    mse = [e["mse"] for e in result.evaluations]
    assert mse[-1] < 0.5 * mse[0]
    train_lines = [json.loads(ln) for ln in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [ln["step"] for ln in train_lines if ln["kind"] == "train"] == list(range(1, 65))
    assert {"lr", "loss", "abs_err", "grad_norm"} <= set(train_lines[0])
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*")) == [
        "step_00000056",
        "step_00000064",
    ]


def test_loader_workers_do_not_change_the_result(tmp_path: Path) -> None:
    train = make_dataset(20, seed=1)
    models = []
    for workers in (0, 2):
        task = new_toy_task()
        Trainer(toy_config(tmp_path / str(workers), epochs=1, num_workers=workers)).fit(task, train)
        models.append(weights_of(task.model))
    assert all(torch.equal(models[0][k], models[1][k]) for k in models[0])


def test_checkpoint_state_round_trips_without_pickle() -> None:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1, betas=(0.8, 0.9))
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    state = {"optimizer": optimizer.state_dict(), "nested": [(1, 2.5), {"a": None}]}
    as_json, tensors = split_tensors(state)
    restored = join_tensors(json.loads(json.dumps(as_json)), tensors)
    assert restored["nested"] == [(1, 2.5), {"a": None}]
    assert restored["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]
    for key, moments in state["optimizer"]["state"].items():
        assert all(torch.equal(moments[n], restored["optimizer"]["state"][key][n]) for n in moments)


@pytest.mark.parametrize("schedule", ["cosine", "onecycle", "constant"])
def test_schedules_warm_up_and_anneal(schedule: str) -> None:
    optimizer = torch.optim.AdamW(torch.nn.Linear(2, 1).parameters(), lr=1.0)
    scheduler = build_scheduler(
        optimizer, schedule, 1.0, total_steps=20, warmup_steps=5, onecycle_pct_start=0.25
    )
    lrs = []  # the lr each of the 20 optimizer steps uses
    for _ in range(20):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    peak = max(range(20), key=lambda i: lrs[i])
    assert lrs[peak] == pytest.approx(1.0)
    if schedule == "constant":
        assert lrs == [1.0] * 20
    else:
        assert 3 <= peak <= 5 and lrs[0] < 0.3  # warm-up
        assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1 :], strict=False))
        assert lrs[-1] < 0.05  # annealed


def test_trainer_config_loads_through_ecgvision_config(tmp_path: Path) -> None:
    path = Path(__file__).resolve().parents[2] / "configs" / "_trainer_example.yaml"
    config = load_config(TrainerConfig, path, ["lr=0.0003", "patience=4"])
    assert isinstance(config, TrainerConfig) and config.lr == 0.0003 and config.patience == 4
    assert config.schedule in ("cosine", "onecycle", "constant")


def test_unknown_amp_mode_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="amp"):
        Trainer(toy_config(tmp_path, amp="fp8"))
