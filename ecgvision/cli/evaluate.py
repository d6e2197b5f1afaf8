"""`ecgvision evaluate`: Challenge 2024 scores of an output folder, plus per-lead/class/variant tables."""

from __future__ import annotations

import argparse

from ecgvision.evaluation.evaluate import run_evaluation
from ecgvision.evaluation.report_tables import write_tables


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "evaluate",
        help="score model outputs against reference records (Challenge 2024 SNR and F-measure)",
        description=(
            "Score OUT against REF exactly as the Challenge 2024 evaluate_model.py: SNR (aligned, "
            "coverage-weighted, nanmean over record x lead) and macro F-measure. Optionally write CSV "
            "tables per (record, lead), per class and per image variant."
        ),
    )
    parser.add_argument("-d", "--reference", required=True, metavar="REF", help="folder of reference records")
    parser.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="folder of model outputs (run_model.py)"
    )
    parser.add_argument("-s", "--scores", metavar="SCORES", help="also write the score lines to this file")
    parser.add_argument("-n", "--no-shift", action="store_true", help="score without aligning the signals")
    parser.add_argument(
        "-x", "--extra", action="store_true", help="add SNR median, KS, ASCI and weighted abs. diff."
    )
    parser.add_argument(
        "--tables",
        metavar="DIR",
        help="write per_record_lead_snr.csv, per_class_f.csv and per_variant_snr.csv into DIR",
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        help="write PNG plots (SNR per lead and variant, F per class, the 5 worst records) and index.html into DIR",
    )
    parser.add_argument(
        "-j", "--workers", type=int, default=1, help="score records in this many processes (default 1)"
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    result, text = run_evaluation(
        args.reference, args.output, args.scores, not args.no_shift, args.extra, workers=args.workers
    )
    print(text, end="")
    if args.tables:
        for path in write_tables(result, args.tables):
            print(f"wrote {path}")
    if args.report:
        from ecgvision.evaluation.report import write_report  # matplotlib: imported only when asked

        paths = write_report(result, args.reference, args.output, args.report)
        print(f"wrote {len(paths)} report files, open {paths[-1]}")
    return 0
