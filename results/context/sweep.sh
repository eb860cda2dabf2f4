#!/usr/bin/env bash
# Dev sweep of --context on Mars: make train's default (frozen MiniLM, CD, shape 32 + chars 50 +
# layer mix + mean pool, up to 30 epochs, early stopping on dev F1) with N subtokens of document
# context, seed 1; N = 0 is runs/speed-r2 (the same configuration and code path). Resumable: a run
# with eval-test.json is skipped, a killed one resumes from its last epoch.
set -euo pipefail
BIN=${BIN:-/tmp/enrelg-ctx}
cd /work/main
for spec in "$@"; do
  n=${spec%%:*}; seed=${spec##*:}
  out=runs/context/mars-cd-ctx$n-seed$seed
  test -f $out/eval-test.json && continue
  mkdir -p runs/context
  resume=; test -f $out/run.json && resume=--resume
  /usr/bin/time -v $BIN train --device flex --data shards/mars --model models/minilm --variant cd \
    --seed $seed --shape-dim 32 --char-dim 50 --layer-mix --word-pool mean --coref-scope window \
    --context $n --out $out --test $resume >> runs/context/mars-ctx$n-seed$seed.log 2>&1
done
