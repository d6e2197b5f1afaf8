#!/usr/bin/env python
"""Run the Challenge models: python run_model.py -d DATA -m MODEL -o OUTPUT [-v] [-f]

Per record: copy the input header to OUTPUT/<rel>.hea; write the signals (if any) with the
input header's format, gain, baseline, units, names and fs, re-emitting its comment lines; append
`# Labels:` (if any). With -f, a failure inside run_models gives (None, None) for that record.
"""

import argparse
import logging
import os
import sys

from ecgvision.batch.outputs import save_outputs
from ecgvision.io.records import find_records
from team_code import load_models, run_models

log = logging.getLogger("run_model")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Run the Challenge models on a folder of records.")
    parser.add_argument("-d", "--data_folder", type=str, required=True)
    parser.add_argument("-m", "--model_folder", type=str, required=True)
    parser.add_argument("-o", "--output_folder", type=str, required=True)
    parser.add_argument("-f", "--allow_failures", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def run(args: argparse.Namespace) -> None:
    if args.verbose:
        print("Loading the Challenge models...")
    digitization_model, classification_model = load_models(args.model_folder, args.verbose)
    records = find_records(args.data_folder)
    if not records:
        raise FileNotFoundError(f"No data were provided: no records in {args.data_folder}.")
    os.makedirs(args.output_folder, exist_ok=True)
    if args.verbose:
        print("Running the Challenge models on the Challenge data...")
    width = len(str(len(records)))
    for i, record in enumerate(records):
        if args.verbose:
            print(f"- {i + 1:>{width}}/{len(records)}: {record}...")
        data_record = os.path.join(args.data_folder, record)
        output_record = os.path.join(args.output_folder, record)
        try:
            signals, labels = run_models(data_record, digitization_model, classification_model, args.verbose)
            save_outputs(data_record, output_record, signals, labels)
        except Exception as error:  # -f: one record's failure must not stop the batch
            if not args.allow_failures:
                raise
            log.error("%s failed: %s: %s", record, type(error).__name__, error)
            try:
                save_outputs(data_record, output_record, None, None)
            except Exception as write_error:
                log.error("%s: could not write its output header: %s", record, write_error)
    if args.verbose:
        print("Done.")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    run(get_parser().parse_args(sys.argv[1:]))
