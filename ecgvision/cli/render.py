"""`ecgvision render`: WFDB records -> Challenge-format training records with rendered images + truth."""

from __future__ import annotations

import argparse

from ecgvision.config import load_config
from ecgvision.io.records import find_records
from ecgvision.render.config import VARIANTS, RenderConfig
from ecgvision.render.dataset_writer import write_rendered_records


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "render",
        help="render ECG paper images (with pixel-exact ground truth) from WFDB records",
        description=(
            "Render every WFDB record under INPUT_FOLDER (Challenge-format or PTB-XL, any fs) as ECG "
            "paper images and write Challenge-format training records to OUTPUT_FOLDER: the signal "
            "(.hea/.dat), the images (-k.png or -k.jpg) and their ground truth (-k.json.gz)."
        ),
    )
    parser.add_argument("-i", "--input", required=True, help="folder searched recursively for .hea records")
    parser.add_argument("-o", "--output", required=True, help="output folder (created; relative paths kept)")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["clean"],
        choices=VARIANTS,
        help=(
            "realism presets, cycled over images (default: clean; 'mix' draws one per image; "
            "'custom' uses the config's realism block)"
        ),
    )
    parser.add_argument("--images-per-record", type=int, default=1, help="images rendered per record")
    parser.add_argument("--seed", type=int, default=0, help="base seed; same seed -> identical files")
    parser.add_argument("--config", default=None, help="YAML file of RenderConfig fields")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set layout=6x2 (realism.* fields act with --variants custom)",
    )
    parser.add_argument("--workers", type=int, default=1, help="processes (one per core is best)")
    parser.add_argument("--limit", type=int, default=None, help="render only the first N records")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    config = load_config(RenderConfig, args.config, args.set)
    records = find_records(args.input)[: args.limit]
    if not records:
        raise FileNotFoundError(f"no records (.hea files) under {args.input}")
    written = write_rendered_records(
        [f"{args.input}/{rel}" for rel in records],
        args.output,
        config,
        args.variants,
        args.seed,
        args.images_per_record,
        input_folder=args.input,
        workers=args.workers,
        progress=True,
    )
    print(
        f"rendered {sum(len(w.images) for w in written)} images of {len(written)} records into {args.output}"
    )
    return 0
