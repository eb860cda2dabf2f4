#!/usr/bin/env bash
# `make train DATASET=mars` (window CD, make train's inputs) for the seeds given, one lane per
# call (RAYON_NUM_THREADS=$THREADS, default 1), records copied into results/$NAME/ (default fused-kernels) as each
# run finishes.
# Resumable: a seed whose record has eval-test.json is skipped, a run folder with run.json resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$HOME/.cache/enrelg-target/release/enrelg}
NAME=${NAME:-fused-kernels}
for seed in "$@"; do
  rec=results/$NAME/mars-cd-seed$seed
  [ -f "$rec/eval-test.json" ] && continue
  run=runs/$NAME/mars-cd-seed$seed
  resume=""
  [ -f "$run/run.json" ] && resume="--resume"
  RAYON_NUM_THREADS=${THREADS:-1} "$BIN" train --shards shards/mars --model models/minilm --variant cd --seed "$seed" \
    --shape-dim 32 --char-dim 50 --layer-mix --word-pool mean --coref-scope window --out "$run" --test $resume
  mkdir -p "$rec"
  cp "$run/run.json" "$run/metrics.jsonl" "$run/eval-test.json" "$rec/"
done
