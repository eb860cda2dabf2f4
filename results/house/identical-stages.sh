#!/usr/bin/env bash
# Old and new build on the same inputs (the pipeline by stage, model/kernels/, train --shards): eval,
# ensemble, predict, tag, data, a short training run. OLD: the build of main before the change.
set -uo pipefail
OLD=/tmp/enrelg-house-before
NEW=$HOME/.cache/enrelg-target-wt/release/enrelg
W=/tmp/identical-stages
# KEEP_OLD=1 keeps the old build's outputs of an earlier run and reruns the new build only.
if [ "${KEEP_OLD:-0}" = 1 ]; then rm -rf $W/new-*; else rm -rf $W; fi
mkdir -p $W
cd /work/main
same() { if cmp -s "$1" "$2"; then echo "SAME  $3"; else echo "DIFF  $3 ($1 vs $2)"; fi; }
for b in old new; do
  BIN=$OLD; [ $b = new ] && BIN=$NEW
  [ $b = old ] && [ "${KEEP_OLD:-0}" = 1 ] && continue
  for s in 1 2; do cp -r runs/lexical/mars-cd-66fe4f0b-seed-$s $W/$b-run$s; rm -f $W/$b-run$s/eval-*.json $W/$b-run$s/predictions-*; done
  $BIN eval --run $W/$b-run1 --split test > $W/$b-eval.log 2>&1
  $BIN ensemble --run $W/$b-run1 --run $W/$b-run2 --split test --out $W/$b-ens > $W/$b-ens.log 2>&1
  $BIN predict --run $W/$b-run1 --input datasets/mars/standoff/test --parses datasets/mars/conllu/test --out $W/$b-pred > $W/$b-pred.log 2>&1
  python3 -c "import json,glob; [print(json.dumps({'id': p, 'text': open(p).read()})) for p in sorted(glob.glob('datasets/anatem/standoff/test/*.txt'))[:12]]" > $W/in.jsonl
  $BIN tag --input $W/in.jsonl --out $W/$b-tag --run $W/$b-run1 --python .venv-parse/bin/python > $W/$b-tag.log 2>&1
  for c in mars anatem; do
    $BIN data --corpus datasets/$c --manifest datasets/$c/manifest.json --model models/minilm --out $W/$b-shards-$c > $W/$b-data-$c.log 2>&1
  done
  $BIN train --data shards/mars --model models/minilm --variant cd --epochs 2 --freeze-encoder --out $W/$b-train --cache-dir cache/encoder > $W/$b-train.log 2>&1
done
same $W/old-run1/eval-test.json $W/new-run1/eval-test.json "eval-test.json"
same $W/old-run1/predictions-test.conll $W/new-run1/predictions-test.conll "predictions-test.conll"
for f in $(cd $W/old-ens && find . -type f | sort); do same $W/old-ens/$f $W/new-ens/$f "ensemble $f"; done
same $W/old-pred/entities.jsonl $W/new-pred/entities.jsonl "predict entities.jsonl"
echo "predict .ann files differing: $(diff -rq --exclude=.enrelg --exclude=entities.jsonl --exclude=skipped.tsv $W/old-pred $W/new-pred | wc -l)"
same $W/old-tag/tagged.jsonl $W/new-tag/tagged.jsonl "tag tagged.jsonl"
for c in mars anatem; do
  n=0; d=0
  for f in $(cd $W/old-shards-$c && find . -type f -name '*.arrow' | sort); do n=$((n+1)); cmp -s $W/old-shards-$c/$f $W/new-shards-$c/$f || { d=$((d+1)); echo "DIFF shard $c $f"; }; done
  echo "shards $c: $n arrow files, $d differ"
  same <(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); m.pop('created',None); print(json.dumps(m, sort_keys=True))" $W/old-shards-$c/manifest.json) <(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); m.pop('created',None); print(json.dumps(m, sort_keys=True))" $W/new-shards-$c/manifest.json) "shards $c manifest.json"
done
curve() { python3 -c "import json,sys; [print(json.dumps({k: r[k] for k in ('epoch','loss','dev_precision','dev_recall','dev_f1')})) for r in map(json.loads, open(sys.argv[1]))]" $1; }
same <(curve $W/old-train/metrics.jsonl) <(curve $W/new-train/metrics.jsonl) "training curve (loss, dev P/R/F1 per epoch)"
curve $W/new-train/metrics.jsonl
