"""`ecgvision run`: the Challenge models over a folder of records, in parallel, sharded and resumable."""

from __future__ import annotations

import argparse

from ecgvision.batch.runner import RUN_LOG, Shard, parse_shard, run_batch


def shard_argument(text: str) -> Shard:
    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "run",
        help="run the trained models on a folder of records (run_model.py outputs, parallel + resumable)",
        description=(
            "Run the Challenge models (load_models once per worker, run_models per record) on every record "
            "under DATA and write exactly what run_model.py writes into OUT (header copy, signals in the "
            f"input header's format, '# Labels:'). Each processed record gets a line in OUT/{RUN_LOG} "
            "(record, status, seconds, reason). Shards split the sorted record list for array jobs "
            "(Slurm, Kubernetes indexed jobs); --resume skips records whose outputs are complete."
        ),
    )
    parser.add_argument("-d", "--data_folder", required=True, metavar="DATA", help="folder of input records")
    parser.add_argument("-m", "--model_folder", required=True, metavar="MODEL", help="trained model folder")
    parser.add_argument("-o", "--output_folder", required=True, metavar="OUT", help="folder for the outputs")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes, each loading the models once (default 1)"
    )
    parser.add_argument(
        "--shard",
        type=shard_argument,
        default=None,
        metavar="K/N",
        help="run only shard K of N (1-based): sorted record i goes to shard (i %% N) + 1",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip records finished by an earlier run (failed ones are retried)",
    )
    parser.add_argument(
        "-f",
        "--allow_failures",
        action="store_true",
        help="a record whose models raise gets its header copy only and the batch goes on (as run_model.py -f)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    summary = run_batch(
        args.data_folder,
        args.model_folder,
        args.output_folder,
        workers=args.workers,
        shard=args.shard,
        resume=args.resume,
        allow_failures=args.allow_failures,
        verbose=getattr(args, "verbose", False),
        progress=not args.no_progress,
    )
    print(summary.format())
    return 1 if summary.stopped_early or (summary.num_failed and not args.allow_failures) else 0
