"""Run under torchrun (2 CPU processes, gloo) by test_distributed.py: train the toy task with DDP and
write each rank's final weights and facts to OUT/rank<r>.*."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent))
from training_toys import make_dataset, new_toy_task  # noqa: E402

from ecgvision.training.distributed import cleanup_distributed, init_distributed  # noqa: E402
from ecgvision.training.trainer import Trainer, TrainerConfig  # noqa: E402


def main(out: Path) -> None:
    torch.set_num_threads(1)
    info = init_distributed("cpu")
    task = new_toy_task(seed=info.rank)  # different initial weights: DDP must broadcast rank 0's
    initial = {k: v.clone() for k, v in task.model.state_dict().items()}
    config = TrainerConfig(
        epochs=2, lr=0.01, batch_size=4, accumulation_steps=2, checkpoint_every_steps=2,
        log_every_steps=1, progress=False, output_dir=str(out / "run"),
    )  # fmt: skip
    result = Trainer(config, info).fit(task, make_dataset(24, seed=1), make_dataset(8, seed=2))
    save_file(
        {k: v.contiguous() for k, v in task.model.state_dict().items()},
        str(out / f"rank{info.rank}.safetensors"),
    )
    save_file(initial, str(out / f"rank{info.rank}_initial.safetensors"))
    # A third epoch on the same output folder resumes from the finished run's checkpoint.
    longer = Trainer(replace(config, epochs=3), info).fit(
        task, make_dataset(24, seed=1), make_dataset(8, seed=2)
    )
    save_file(
        {k: v.contiguous() for k, v in task.model.state_dict().items()},
        str(out / f"rank{info.rank}_resumed.safetensors"),
    )
    facts = {
        "world_size": info.world_size,
        "calls": task.calls,
        "steps": [result.state.step, longer.state.step],
    }
    (out / f"rank{info.rank}.json").write_text(json.dumps(facts))
    cleanup_distributed()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
