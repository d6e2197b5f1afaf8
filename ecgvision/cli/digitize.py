"""`ecgvision digitize IMAGE... -o DIR`: signals (WFDB + CSV), an overlay PNG and diagnoses for any scan."""

from __future__ import annotations

import argparse
import sys

from ecgvision.io.images import ImageReadError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "digitize",
        help="digitize ECG images: WFDB + CSV signals, overlay PNG, diagnoses",
        description="For each image write <stem>.hea/.dat (WFDB, mV), <stem>.csv and <stem>-overlay.png "
        "into the output folder, and print which leads were read and the diagnoses with probabilities.",
    )
    parser.add_argument("images", nargs="+", help="PNG/JPEG images of paper ECGs")
    parser.add_argument("-o", "--output", required=True, help="output folder")
    parser.add_argument("-m", "--model", default="model", help="model folder (default: the bundled model/)")
    parser.add_argument("--fs", type=float, default=500.0, help="output sampling rate in Hz (default 500)")
    parser.add_argument("--duration", type=float, default=10.0, help="record length in seconds (default 10)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ecgvision.challenge.entry import load_models
    from ecgvision.challenge.scan import digitize_scan

    models = load_models(args.model)
    failed = 0
    for path in args.images:
        try:
            result = digitize_scan(path, args.output, models, args.fs, args.duration)
        except ImageReadError as error:
            print(f"{path}: not read: {error}", file=sys.stderr)
            failed += 1
            continue
        unread = ", ".join(f"{lead} ({why})" for lead, why in result.failures.items()) or "none"
        print(f"{path}: leads read: {', '.join(result.leads_read) or 'none'}; not read: {unread}")
        if result.notes:
            print("  notes: " + "; ".join(result.notes))
        if result.probabilities:
            ranked = sorted(result.probabilities.items(), key=lambda kv: -kv[1])
            print("  diagnoses: " + (", ".join(result.labels) or "none above threshold"))
            print("  probabilities: " + ", ".join(f"{c} {p:.2f}" for c, p in ranked))
    return 1 if failed == len(args.images) else 0
