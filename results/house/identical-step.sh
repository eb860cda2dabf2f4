#!/usr/bin/env bash
# The shared training step (train::TrainStep with phase laps) against the old build: bench-model's
# per-step losses (frozen head and fine-tuning), and two epochs of training (the curve).
set -uo pipefail
OLD=/tmp/enrelg-house-before
NEW=$HOME/.cache/enrelg-target/release/enrelg
W=/tmp/identical
cd /work/main
same() { if cmp -s "$1" "$2"; then echo "SAME  $3"; else echo "DIFF  $3"; diff "$1" "$2" | head -6; fi; }
for x in old new; do
  BIN=$OLD; [ $x = new ] && BIN=$NEW
  $BIN bench-model --frozen --device flex --config bench/make-train.toml --shards shards/mars --model models/minilm --steps 3 --variant cd --cache-dir cache/encoder > $W/$x-bench-frozen.txt 2>&1
  $BIN bench-model --device flex --config bench/make-train.toml --shards shards/mars --model models/minilm --steps 1 --variant cd --cache-dir cache/encoder > $W/$x-bench-fine.txt 2>&1
done
loss() { grep -o "^step [0-9]*: loss [-0-9.]*" $1; }
same <(loss $W/old-bench-frozen.txt) <(loss $W/new-bench-frozen.txt) "bench-model --frozen losses per step"
same <(loss $W/old-bench-fine.txt) <(loss $W/new-bench-fine.txt) "bench-model (fine-tuning) losses per step"
loss $W/new-bench-frozen.txt; loss $W/new-bench-fine.txt
rm -rf $W/new-train
$NEW train --data shards/mars --model models/minilm --variant cd --epochs 2 --freeze-encoder --out $W/new-train --cache-dir cache/encoder > $W/new-train.log 2>&1
curve() { python3 -c "import json,sys; [print(json.dumps({k: r[k] for k in ('epoch','loss','dev_precision','dev_recall','dev_f1')})) for r in map(json.loads, open(sys.argv[1]))]" $1; }
same <(curve $W/old-train/metrics.jsonl) <(curve $W/new-train/metrics.jsonl) "training curve (loss, dev P/R/F1 per epoch)"
