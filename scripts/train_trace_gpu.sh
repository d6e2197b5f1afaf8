#!/usr/bin/env bash
# Train the learned trace finder from scratch on one GPU (H100-class) in under 9 minutes and write it
# (float16 safetensors + config.json) to OUT_DIR. Extra arguments are `--set` overrides of
# configs/trace_model_gpu.yaml (e.g. init_weights=model/trace_model to fine-tune the shipped model).
# Usage: bash scripts/train_trace_gpu.sh OUT_DIR [KEY=VALUE ...]
# Python: $PYTHON when set (a GPU machine's own torch), else .venv (set up when missing). Data: the
# PTB-XL fold caches (ecgvision.data.signal_arrays), built from ../shared/data when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:?usage: train_trace_gpu.sh OUT_DIR [KEY=VALUE ...]}"
shift
if [ -z "${PYTHON:-}" ]; then
  [ -x .venv/bin/python ] || bash scripts/setup.sh
  PYTHON=.venv/bin/python
fi
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda:', torch.cuda.is_available())"
"$PYTHON" -m ecgvision.cli.main -v train-trace-model --config configs/trace_model_gpu.yaml -o "$OUT" \
  ${1:+--set "$@"}
ls -la "$OUT"
