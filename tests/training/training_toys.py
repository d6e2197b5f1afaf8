"""A deterministic toy task for trainer tests: noisy linear regression with a dropout MLP."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset


@dataclass
class ToyConfig:
    in_features: int = 6
    hidden: int = 16
    dropout: float = 0.2  # randomness in the forward pass, so resume must restore RNG state


class ToyNet(nn.Module):
    def __init__(self, config: ToyConfig | None = None):
        super().__init__()
        self.config = config = config or ToyConfig()
        self.body = nn.Sequential(
            nn.Linear(config.in_features, config.hidden),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"y": self.body(x).squeeze(-1)}


def make_dataset(num_samples: int, seed: int = 0, in_features: int = 6) -> Dataset:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(num_samples, in_features, generator=generator)
    weights = torch.linspace(-1.0, 1.0, in_features)
    y = x @ weights + 0.1 * torch.randn(num_samples, generator=generator)
    return TensorDataset(x, y)


class Interrupted(Exception):
    """Stands in for a killed job."""


class ToyTask:
    metric_name = "mse"
    metric_mode = "min"

    def __init__(self, model: nn.Module, interrupt_at_call: int | None = None, constant_metric: bool = False):
        self.model = model
        self.calls = 0
        self.interrupt_at_call = interrupt_at_call
        self.constant_metric = constant_metric

    def compute_loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        self.calls += 1
        if self.calls == self.interrupt_at_call:
            raise Interrupted(f"interrupted at call {self.calls}")
        x, y = batch
        prediction = model(x)["y"]
        loss = nn.functional.mse_loss(prediction, y)
        return loss, {"abs_err": float((prediction - y).abs().mean().detach())}

    def evaluate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        if self.constant_metric:
            return {"mse": 1.0}
        errors = [((model(x)["y"] - y) ** 2).sum() for x, y in loader]
        return {"mse": float(sum(errors) / len(loader.dataset))}


def new_toy_task(seed: int = 0, **kwargs) -> ToyTask:
    torch.manual_seed(seed)
    return ToyTask(ToyNet(), **kwargs)
