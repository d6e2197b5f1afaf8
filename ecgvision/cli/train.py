"""`ecgvision train-*`: train one model from a YAML experiment config (+ --set overrides)."""

from __future__ import annotations

import argparse
import importlib
import logging
from dataclasses import dataclass

from ecgvision.config import load_config, save_config


@dataclass(frozen=True)
class TrainCommand:
    name: str
    help: str
    description: str
    module: str  # ecgvision.training module holding the config class and the train function
    config_class: str
    train_function: str
    example_config: str


COMMANDS = (
    TrainCommand(
        "train-signal-classifier",
        "train the 1-D signal classifier on PTB-XL folds",
        "Train SignalNet on real PTB-XL signals shown as on paper; tunes per-class thresholds on the "
        "validation folds and writes safetensors + config.json with them.",
        "ecgvision.training.signal_task", "SignalTrainConfig", "train_signal_classifier",
        "configs/signal_classifier.yaml",
    ),
    TrainCommand(
        "train-trace-model",
        "train the learned trace finder on pages rendered from PTB-XL folds",
        "Train EcgNet's dense trace head on pages rendered on the fly (all realism presets) with "
        "pixel-exact trace masks; writes safetensors + config.json.",
        "ecgvision.training.trace_task", "TraceTrainConfig", "train_trace_model",
        "configs/trace_model.yaml",
    ),
    TrainCommand(
        "train-image-dx",
        "train the image-only diagnosis head on pages rendered from PTB-XL folds",
        "Train ImageDxNet (timm ConvNeXt encoder -> pooled features -> MLP, asymmetric loss) on page "
        "images rendered on the fly from PTB-XL folds 1-5 with the realism mix; tunes per-class "
        "thresholds on fixed fold-9 renders and writes safetensors + config.json with them. Resumable: "
        "rerunning with the same trainer.output_dir continues from its last checkpoint.",
        "ecgvision.training.image_dx_task", "ImageDxTrainConfig", "train_image_dx",
        "configs/image_dx.yaml",
    ),
)  # fmt: skip


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    for command in COMMANDS:
        parser = subparsers.add_parser(command.name, help=command.help, description=command.description)
        parser.add_argument("--config", help=f"YAML experiment file (e.g. {command.example_config})")
        parser.add_argument(
            "--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides, e.g. trainer.epochs=2"
        )
        parser.add_argument(
            "-o", "--output", help="folder for the final weights (default: under trainer.output_dir)"
        )
        parser.set_defaults(func=run, train_command=command)


def run(args: argparse.Namespace) -> int:
    command: TrainCommand = args.train_command
    module = importlib.import_module(command.module)  # torch is imported only when training
    logging.getLogger("ecgvision").setLevel(logging.INFO)
    config = load_config(getattr(module, command.config_class), args.config, args.set)
    save_config(config, f"{config.trainer.output_dir}/experiment.yaml")
    folder = getattr(module, command.train_function)(config, output=args.output)
    print(f"{command.name}: weights written to {folder}")
    return 0
