#!/usr/bin/env bash
# Train the learned trace model on a GPU machine and write safetensors weights to OUT_DIR.
# Usage: bash scripts/train_trace_gpu.sh OUT_DIR   (expects ../shared/data and a set-up .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:?usage: train_trace_gpu.sh OUT_DIR}"
[ -x .venv/bin/python ] || bash scripts/setup.sh
.venv/bin/python -c "import torch; print('cuda:', torch.cuda.is_available())"
timeout 540 .venv/bin/ecgvision -v train-trace-model --config configs/trace_model_gpu.yaml -o "$OUT" \
  || { echo "stopped at the time limit; keeping the best checkpoint"; \
       cp -r runs/trace_model_gpu/best "$OUT" 2>/dev/null || true; }
ls -la "$OUT"
