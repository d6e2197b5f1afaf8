"""`ecgvision hide`: the hidden (test) copy of a folder of training records, as the Challenge makes it."""

from __future__ import annotations

import argparse

from ecgvision.data.hidden import hide_folder


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hide",
        help="make the hidden copy of training records (no signals, labels or demographics)",
        description="Copy headers (record and signal lines, '# Image:' only) and images; no signal files.",
    )
    parser.add_argument("-i", "--input", required=True, help="folder of Challenge-format training records")
    parser.add_argument("-o", "--output", required=True, help="folder for the hidden copy")
    parser.add_argument("--keep-labels", action="store_true", help="keep the '# Labels:' lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    records = hide_folder(args.input, args.output, args.keep_labels)
    print(f"hid {len(records)} records into {args.output}")
    return 0
