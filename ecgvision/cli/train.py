"""`ecgvision train-*`: train one model from a YAML experiment config (+ --set overrides)."""

from __future__ import annotations

import argparse
import logging

from ecgvision.config import load_config, save_config


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-signal-classifier",
        help="train the 1-D signal classifier on PTB-XL folds",
        description="Train SignalNet on real PTB-XL signals shown as on paper; tunes per-class thresholds "
        "on the validation folds and writes safetensors + config.json with them.",
    )
    parser.add_argument("--config", help="YAML experiment file (e.g. configs/signal_classifier.yaml)")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides, e.g. trainer.epochs=2"
    )
    parser.add_argument(
        "-o", "--output", help="folder for the final weights (default: <output_dir>/signal_classifier)"
    )
    parser.set_defaults(func=run_signal_classifier)


def run_signal_classifier(args: argparse.Namespace) -> int:
    from ecgvision.training.signal_task import SignalTrainConfig, train_signal_classifier

    logging.getLogger("ecgvision").setLevel(logging.INFO)
    config = load_config(SignalTrainConfig, args.config, args.set)
    save_config(config, f"{config.trainer.output_dir}/experiment.yaml")
    folder = train_signal_classifier(config, output=args.output)
    print(f"signal classifier written to {folder}")
    return 0
