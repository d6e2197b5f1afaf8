#!/usr/bin/env bash
# The main job on the bundled default model (model/): 10 shared PTB-XL fold-9 records (never trained on)
# are prepared at 500 Hz, rendered as paper images (clean and scanned), hidden as the Challenge hides them,
# digitized and classified by run_model.py, and scored by evaluate_model.py.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
WORK="${ECGVISION_DEMO_DIR:-demo_out}"
N="${ECGVISION_DEMO_RECORDS:-10}"
rm -rf "$WORK"
.venv/bin/ecgvision prepare-ptbxl -o "$WORK/signals" --folds 9 --fs 500 --limit "$N"
.venv/bin/ecgvision render -i "$WORK/signals" -o "$WORK/rendered" --variants clean scan --seed 0
.venv/bin/ecgvision hide -i "$WORK/rendered" -o "$WORK/hidden"
.venv/bin/python run_model.py -d "$WORK/hidden" -m model -o "$WORK/outputs" -f -v
.venv/bin/python evaluate_model.py -d "$WORK/rendered" -o "$WORK/outputs" -s "$WORK/scores.txt"
echo "outputs in $WORK/outputs, scores in $WORK/scores.txt"
