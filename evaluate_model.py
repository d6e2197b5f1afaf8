#!/usr/bin/env python
"""Score model outputs as the Challenge 2024 does:

python evaluate_model.py -d REFERENCE_FOLDER -o OUTPUT_FOLDER [-s SCORES_FILE] [-n] [-x] [-v]

Prints `SNR: %.3f` and `F-measure: %.3f` (with -x, the SNR median, KS, ASCI and weighted absolute
difference lines between them) and writes the same text to SCORES_FILE when given.
"""

import argparse
import logging
import sys

from ecgvision.evaluation.evaluate import run_evaluation


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Evaluate the Challenge model outputs against reference records."
    )
    parser.add_argument(
        "-d", "--reference_folder", type=str, required=True, help="records with reference signals/labels"
    )
    parser.add_argument("-o", "--output_folder", type=str, required=True, help="run_model.py output folder")
    parser.add_argument("-s", "--score_file", type=str, help="also write the scores to this text file")
    parser.add_argument(
        "-n", "--no_shift", action="store_true", help="do not align the signals before scoring"
    )
    parser.add_argument("-x", "--extra_scores", action="store_true", help="add the unranked extra metrics")
    parser.add_argument("-v", "--verbose", action="store_true", help="log per-record details")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        _, text = run_evaluation(
            args.reference_folder, args.output_folder, args.score_file, not args.no_shift, args.extra_scores
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"evaluate_model.py: error: {error}", file=sys.stderr)
        return 1
    print(text, end="")
    return 0


if __name__ == "__main__":
    parsed = get_parser().parse_args(sys.argv[1:])
    logging.basicConfig(
        level=logging.INFO if parsed.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    sys.exit(run(parsed))
