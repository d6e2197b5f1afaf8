"""`ecgvision prepare-ptbxl`: PTB-XL fold archives -> Challenge-format training records."""

from __future__ import annotations

import argparse

from ecgvision.data.prepare_ptbxl import SUPPORTED_FS_HZ, TRAINING_FOLDS, prepare_ptbxl


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "prepare-ptbxl",
        help="write PTB-XL records as Challenge 2024 training records (signals + labels)",
        description=(
            "Extract the shared PTB-XL 100 Hz fold archives into a cache, optionally resample, and "
            "write WFDB records with # Age/Sex/Height/Weight/Labels header lines (the Challenge's 11 "
            "classes from PTB-XL and PTB-XL+). Records go to OUT/NNNNN/EEEEE_lr (100 Hz) or "
            "OUT/NNNNN/EEEEE_hr (250/500 Hz); prints the number of records per class."
        ),
    )
    parser.add_argument("-o", "--output", required=True, help="output folder for the records")
    parser.add_argument(
        "--folds",
        type=int,
        nargs="+",
        default=list(TRAINING_FOLDS),
        help="PTB-XL strat_folds to convert (shared archives: 1-5 training, 9 validation; default 1-5)",
    )
    parser.add_argument(
        "--fs",
        type=int,
        choices=SUPPORTED_FS_HZ,
        default=None,
        help="output sampling rate in Hz (default: the native 100 Hz; 250/500 resample polyphase)",
    )
    parser.add_argument("--limit", type=int, default=None, help="convert at most N records in total")
    parser.add_argument(
        "--data-dir", default=None, help="shared data folder holding ptbxl/ (default: ../shared/data)"
    )
    parser.add_argument(
        "--cache", default=None, help="where to extract the archives (default: $ECGVISION_CACHE/ptbxl)"
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be at least 1, got {args.limit}")
    summary = prepare_ptbxl(
        args.output,
        folds=args.folds,
        fs_hz=args.fs,
        limit=args.limit,
        data_dir=args.data_dir,
        cache=args.cache,
    )
    print(summary.format())
    return 0
