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

    parser = subparsers.add_parser(
        "train-trace-model",
        help="train the learned trace finder on pages rendered from PTB-XL folds",
        description="Train EcgNet's dense trace head on pages rendered on the fly (all realism presets) "
        "with pixel-exact trace masks; writes safetensors + config.json.",
    )
    parser.add_argument("--config", help="YAML experiment file (e.g. configs/trace_model.yaml)")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides, e.g. trainer.max_steps=10"
    )
    parser.add_argument(
        "-o", "--output", help="folder for the final weights (default: <output_dir>/trace_model)"
    )
    parser.set_defaults(func=run_trace_model)


def run_signal_classifier(args: argparse.Namespace) -> int:
    from ecgvision.training.signal_task import SignalTrainConfig, train_signal_classifier

    logging.getLogger("ecgvision").setLevel(logging.INFO)
    config = load_config(SignalTrainConfig, args.config, args.set)
    save_config(config, f"{config.trainer.output_dir}/experiment.yaml")
    folder = train_signal_classifier(config, output=args.output)
    print(f"signal classifier written to {folder}")
    return 0


def run_trace_model(args: argparse.Namespace) -> int:
    from ecgvision.training.trace_task import TraceTrainConfig, train_trace_model

    logging.getLogger("ecgvision").setLevel(logging.INFO)
    config = load_config(TraceTrainConfig, args.config, args.set)
    save_config(config, f"{config.trainer.output_dir}/experiment.yaml")
    folder = train_trace_model(config, output=args.output)
    print(f"trace model written to {folder}")
    return 0
