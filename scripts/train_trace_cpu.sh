#!/usr/bin/env bash
# Train the learned trace finder on the CPU (2 cores: ~200 min) in the seven stages that made the shipped
# model/trace_model, and write it (float16 weights) to OUT_DIR (default model/trace_model).
# Usage: bash scripts/train_trace_cpu.sh [OUT_DIR]   (expects ../shared/data and a set-up .venv)
#
# Lineage of the shipped weights (the same commands; the code changed between stages, so a rerun is
# the same recipe, not the same bits): stages 1 (commit 96006ff) and 2 (0cb0542) trained on the trace
# alone (no pulses / separator bars in the mask), stage 3 (e00838e) without the pulse-centred crops,
# stage 4 at 45568d6, stage 5 (half-resolution input: 4x faster inference) at 906390c, from stage 4's
# weights stored as float16 (model/trace_model of 19fa8d5); stage 6 (photo pages three times as often,
# half the learning rate, one torch thread: 40 min) at stop 15; stage 7 (40 % of the on-trace crops
# centred on a pulse or separator bar, 0.3x the rate, 2000 steps: 55 min) at stop 17; stages 2 and 3
# were stopped by hand after 3 and 2 epochs (stop_after_epochs).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-model/trace_model}"
[ -x .venv/bin/python ] || bash scripts/setup.sh
train() { .venv/bin/ecgvision -v train-trace-model --config configs/trace_model.yaml "$@"; }
FINE=(data.pages_per_epoch=500 trainer.lr=0.001 trainer.warmup_steps=20 trainer.checkpoint_every_steps=100
      'data.variants=[clean,scan,bw,bw,photo,photo,stained]')
# 1: from scratch, 750 steps
train --set data.pages_per_epoch=150 trainer.epochs=10 trainer.checkpoint_every_steps=75 \
  trainer.output_dir=runs/trace_s1 -o runs/trace_s1/trace_model
# 2-4: fine-tuning, b/w and photo pages drawn twice as often
train --set init_weights=runs/trace_s1/trace_model "${FINE[@]}" trainer.epochs=16 trainer.stop_after_epochs=3 \
  trainer.output_dir=runs/trace_s2 -o runs/trace_s2/trace_model
train --set init_weights=runs/trace_s2/trace_model "${FINE[@]}" trainer.epochs=12 trainer.stop_after_epochs=2 \
  trainer.output_dir=runs/trace_s3 -o runs/trace_s3/trace_model
train --set init_weights=runs/trace_s3/trace_model "${FINE[@]}" trainer.epochs=10 \
  trainer.output_dir=runs/trace_s4 -o runs/trace_s4/trace_model
# 5: the same at half resolution (the model sees 100 dpi pages)
train --set init_weights=runs/trace_s4/trace_model "${FINE[@]}" trainer.epochs=8 data.input_scale=0.5 \
  half_weights=true trainer.output_dir=runs/trace_s5 -o runs/trace_s5/trace_model
# 6: 3000 more steps at half the rate, photos drawn three times as often (the weakest preset); the
# model kept is the best on the fold-9 validation pages (Dice 0.951 at step 2250)
OMP_NUM_THREADS=1 train --set init_weights=runs/trace_s5/trace_model "${FINE[@]}" trainer.lr=0.0005 \
  'data.variants=[clean,scan,bw,bw,photo,photo,photo,stained]' trainer.epochs=12 data.input_scale=0.5 \
  half_weights=true trainer.output_dir=runs/trace_s6 -o runs/trace_s6/trace_model
# 7: 2000 more steps at 0.0003, 40 % of the on-trace crops on a pulse or separator bar (strokes leaving a
# bar beside its lead label were missed); the last step was the best (Dice 0.953 on the fold-9 pages)
OMP_NUM_THREADS=1 train --set init_weights=runs/trace_s6/trace_model "${FINE[@]}" trainer.lr=0.0003 \
  'data.variants=[clean,scan,bw,bw,photo,photo,photo,stained]' data.on_marker_share=0.4 trainer.epochs=8 \
  data.input_scale=0.5 half_weights=true trainer.output_dir=runs/trace_s7 -o "$OUT"
ls -la "$OUT"
