#!/usr/bin/env bash
# After the model's settings moved into ModelConfig (flattened into TrainConfig), evaluate.rs and
# model/pretrained.rs: run after identical.sh; compares what reads the committed records and specs.
set -uo pipefail
OLD=/tmp/enrelg-house-before
NEW=$HOME/.cache/enrelg-target/release/enrelg
W=/tmp/identical
cd /work/main
same() { if cmp -s "$1" "$2"; then echo "SAME  $3"; else echo "DIFF  $3 ($1 vs $2)"; fi; }
for x in old new; do
  BIN=$OLD; [ $x = new ] && BIN=$NEW
  $BIN show --shards shards/mars --split test --run $W/old-run1 --out $W/$x-show > $W/$x-show.log 2>&1
  $BIN results experiments/table1.toml experiments/table2.toml experiments/figure3.toml experiments/figure4.toml experiments/document.toml --out $W/$x-results.md --figures $W/$x-figures > $W/$x-results.log 2>&1
  for s in table1 table2 figure3 figure4 document; do
    $BIN experiment --spec experiments/$s.toml --dry-run > $W/$x-dry-$s.txt 2>&1
  done
  $BIN summarize runs/speed-r2/mars-cd-seed1 runs/speed-r2/mars-cd-seed2 runs/speed-r2/mars-cd-seed3 --split test > $W/$x-summarize.txt 2>&1
done
echo "show pages differing: $(diff -rq $W/old-show $W/new-show | wc -l) of $(find $W/old-show -type f | wc -l)"
same <(sed s/old-figures/F/ $W/old-results.md) <(sed s/new-figures/F/ $W/new-results.md) "results page (figure folder aside)"
echo "figures differing: $(diff -rq $W/old-figures $W/new-figures | wc -l) of $(find $W/old-figures -type f | wc -l)"
for s in table1 table2 figure3 figure4 document; do
  same $W/old-dry-$s.txt $W/new-dry-$s.txt "experiment --dry-run $s ($(grep -c seed $W/new-dry-$s.txt) lines naming cells)"
done
same $W/old-summarize.txt $W/new-summarize.txt "summarize (three Mars runs)"
