"""`ecgvision train-image-dx`: train the image-only diagnosis head on pages rendered from PTB-XL."""

from __future__ import annotations

import argparse
import logging

from ecgvision.config import load_config, save_config


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-image-dx",
        help="train the image-only diagnosis head on pages rendered from PTB-XL folds",
        description=(
            "Train ImageDxNet (timm ConvNeXt encoder -> pooled features -> MLP, asymmetric loss) on "
            "page images rendered on the fly from PTB-XL folds 1-5 with the realism mix; tunes "
            "per-class thresholds on fixed fold-9 renders and writes safetensors + config.json with "
            "them. Resumable: rerunning with the same trainer.output_dir continues from its last "
            "checkpoint."
        ),
    )
    parser.add_argument("--config", help="YAML experiment file (e.g. configs/image_dx.yaml)")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides, e.g. trainer.epochs=2"
    )
    parser.add_argument(
        "-o", "--output", help="folder for the final weights (default: <trainer.output_dir>/image_dx)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ecgvision.training.image_dx_task import ImageDxTrainConfig, train_image_dx  # torch on demand

    logging.getLogger("ecgvision").setLevel(logging.INFO)
    config = load_config(ImageDxTrainConfig, args.config, args.set)
    save_config(config, f"{config.trainer.output_dir}/experiment.yaml")
    folder = train_image_dx(config, output=args.output)
    print(f"train-image-dx: weights written to {folder}")
    return 0
