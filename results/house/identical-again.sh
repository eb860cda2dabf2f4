#!/usr/bin/env bash
# The new build again (after the function splits) against the old outputs of identical.sh, plus
# show and results for both builds.
set -uo pipefail
OLD=/tmp/enrelg-house-before
NEW=$HOME/.cache/enrelg-target/release/enrelg
W=/tmp/identical
cd /work/main
same() { if cmp -s "$1" "$2"; then echo "SAME  $3"; else echo "DIFF  $3 ($1 vs $2)"; fi; }
b=new; BIN=$NEW
for s in 1 2; do rm -rf $W/$b-run$s; cp -r runs/speed-r2/mars-cd-seed$s $W/$b-run$s; rm -f $W/$b-run$s/eval-*.json $W/$b-run$s/predictions-*; done
$BIN eval --run $W/$b-run1 --split test > $W/$b-eval.log 2>&1
$BIN ensemble --run $W/$b-run1 --run $W/$b-run2 --split test --out $W/$b-ens > $W/$b-ens.log 2>&1
$BIN predict --run $W/$b-run1 --input datasets/mars/standoff/test --parses datasets/mars/conllu/test --out $W/$b-pred > $W/$b-pred.log 2>&1
$BIN tag --input $W/in.jsonl --out $W/$b-tag --run $W/$b-run1 --python .venv-parse/bin/python > $W/$b-tag.log 2>&1
for c in mars anatem; do
  $BIN data --corpus datasets/$c --manifest datasets/$c/manifest.json --model models/minilm --out $W/$b-shards-$c > $W/$b-data-$c.log 2>&1
done
$BIN train --data shards/mars --model models/minilm --variant cd --epochs 2 --freeze-encoder --out $W/$b-train --cache-dir cache/encoder > $W/$b-train.log 2>&1
for x in old new; do
  BIN=$OLD; [ $x = new ] && BIN=$NEW
  $BIN show --shards shards/mars --split test --run $W/old-run1 --out $W/$x-show > $W/$x-show.log 2>&1
  $BIN results experiments/table1.toml experiments/table2.toml experiments/figure3.toml experiments/figure4.toml experiments/document.toml --out $W/$x-results.md --figures $W/$x-figures > $W/$x-results.log 2>&1
  for c in mars anatem; do
    $BIN inspect shards/$c > $W/$x-inspect-$c.txt 2>&1
    $BIN stats --corpus datasets/$c --manifest datasets/$c/manifest.json > $W/$x-stats-$c.txt 2>&1
    $BIN compare --corpus datasets/mars --enrelg datasets/enrelg/Mars --manifest datasets/mars/manifest.json > $W/$x-compare.txt 2>&1
  done
done
for c in mars anatem; do
  same $W/old-inspect-$c.txt $W/new-inspect-$c.txt "inspect $c"
  same <(grep -v "seconds" $W/old-stats-$c.txt) <(grep -v "seconds" $W/new-stats-$c.txt) "stats $c (table)"
done
same $W/old-compare.txt $W/new-compare.txt "compare mars"
same $W/old-run1/eval-test.json $W/new-run1/eval-test.json "eval-test.json"
same $W/old-run1/predictions-test.conll $W/new-run1/predictions-test.conll "predictions-test.conll"
for f in eval-test.json predictions-test.conll; do same $W/old-ens/$f $W/new-ens/$f "ensemble $f"; done
same <(sed 's/old-run/RUN/' $W/old-ens/ensemble-test.json) <(sed 's/new-run/RUN/' $W/new-ens/ensemble-test.json) "ensemble ensemble-test.json (run paths aside)"
same $W/old-pred/entities.jsonl $W/new-pred/entities.jsonl "predict entities.jsonl"
echo "predict .ann files differing: $(diff -rq --exclude=.enrelg --exclude=entities.jsonl --exclude=skipped.tsv $W/old-pred $W/new-pred | wc -l)"
same $W/old-tag/tagged.jsonl $W/new-tag/tagged.jsonl "tag tagged.jsonl"
for c in mars anatem; do
  n=0; d=0
  for f in $(cd $W/old-shards-$c && find . -type f -name '*.arrow' | sort); do n=$((n+1)); cmp -s $W/old-shards-$c/$f $W/new-shards-$c/$f || { d=$((d+1)); echo "DIFF shard $c $f"; }; done
  echo "shards $c: $n arrow files, $d differ"
done
curve() { python3 -c "import json,sys; [print(json.dumps({k: r[k] for k in ('epoch','loss','dev_precision','dev_recall','dev_f1')})) for r in map(json.loads, open(sys.argv[1]))]" $1; }
same <(curve $W/old-train/metrics.jsonl) <(curve $W/new-train/metrics.jsonl) "training curve (loss, dev P/R/F1 per epoch)"
echo "show pages differing: $(diff -rq $W/old-show $W/new-show | wc -l) of $(find $W/old-show -type f | wc -l)"
same <(sed s/old-figures/F/ $W/old-results.md) <(sed s/new-figures/F/ $W/new-results.md) "results page (figure folder aside)"
echo "figures differing: $(diff -rq $W/old-figures $W/new-figures | wc -l) of $(find $W/old-figures -type f | wc -l)"
