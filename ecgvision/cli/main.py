"""`ecgvision` command: one sub-command per pipeline stage; each module adds its own parser."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ecgvision import __version__

# Each module exposes add_parser(subparsers) which sets `func(args) -> int` on its parser.
SUBCOMMAND_MODULES: tuple[str, ...] = ("prepare", "render", "hide", "train", "run", "digitize", "evaluate")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="ecgvision",
        description="Paper ECG images -> 12-lead signals and Challenge 2024 diagnoses.",
    )
    parser.add_argument("--version", action="version", version=f"ecgvision {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"ecgvision.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, PermissionError) as error:
        print(f"ecgvision {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
