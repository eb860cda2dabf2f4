#!/usr/bin/env bash
# Dev sweep of fine-tuning recipes on Mars as a second stage: each RECIPE.toml here fine-tunes the
# encoder and the head of make train's frozen Mars run of the same seed (runs/speed-r2, dev
# 87.91 ± 0.51 over seeds 1-3) with --init-from. Arguments: RECIPE:SEED. Resumable: a run with
# eval-test.json is skipped, a killed one resumes from its last epoch. BIN: a copy of the release
# binary, so that rebuilds do not change a sweep under way.
set -euo pipefail
BIN=${BIN:-/tmp/enrelg-ft}
cd /work/main
for spec in "$@"; do
  recipe=${spec%%:*}; seed=${spec##*:}
  out=runs/finetune/mars-cd-ft-$recipe-seed$seed
  test -f $out/eval-test.json && continue
  mkdir -p runs/finetune
  if test -f $out/run.json; then start=--resume; else start="--init-from runs/speed-r2/mars-cd-seed$seed"; fi
  /usr/bin/time -v $BIN train --device flex --data shards/mars --model models/minilm --variant cd \
    --seed $seed --shape-dim 32 --char-dim 50 --layer-mix --word-pool mean --coref-scope window \
    --fine-tune --config results/finetune/$recipe.toml --out $out --test $start \
    >> runs/finetune/mars-ft-$recipe-seed$seed.log 2>&1
  # The run's records, committed beside this script.
  mkdir -p results/finetune/$(basename $out)
  cp $out/run.json $out/metrics.jsonl $out/eval-test.json results/finetune/$(basename $out)/
done
