set -e
NEW=$HOME/.cache/enrelg-target/release/enrelg
OLD=/tmp/enrelg-orig
cd /work/main
rm -rf /tmp/new && mkdir -p /tmp/new
echo "== old build: $(git rev-parse --short ad96f4d), new build: $(git rev-parse --short HEAD)"
for s in 1 2 3; do cp -r /tmp/base/fresh-seed$s /tmp/new/mars-cd-seed$s; done
for s in 1 2 3; do $NEW eval --run /tmp/new/mars-cd-seed$s --split test > /tmp/new/report-seed$s.txt 2>/dev/null; done
for s in 1 2 3; do
  for f in predictions-test.conll eval-test.json; do
    cmp /tmp/base/mars-cd-seed$s/$f /tmp/new/mars-cd-seed$s/$f && echo "seed $s $f: identical ($(sha256sum < /tmp/new/mars-cd-seed$s/$f | cut -c1-16))"
  done
done
$NEW ensemble --run /tmp/new/mars-cd-seed1 --run /tmp/new/mars-cd-seed2 --run /tmp/new/mars-cd-seed3 --split test --out /tmp/new/ensemble 2>/dev/null | tail -4
for f in predictions-test.conll eval-test.json; do
  cmp /tmp/base/ensemble/$f /tmp/new/ensemble/$f && echo "ensemble $f: identical ($(sha256sum < /tmp/new/ensemble/$f | cut -c1-16))"
done
python3 - <<'PY'
import json
a=json.load(open('/tmp/base/ensemble/ensemble-test.json')); b=json.load(open('/tmp/new/ensemble/ensemble-test.json'))
strip=lambda d: {**d, 'members':[{k:v for k,v in m.items() if k!='run'} for m in d['members']]}
assert strip(a)==strip(b), (a,b)
print("ensemble-test.json: identical but for the members' folder paths; F1", b['f1'], "members", [m['f1'] for m in b['members']])
PY
for c in mars anatem; do
  $OLD data --corpus ../shared/data/$c --manifest datasets/$c/manifest.json --model models/minilm --out /tmp/base/shards-$c > /dev/null 2>&1
  $NEW data --corpus ../shared/data/$c --manifest datasets/$c/manifest.json --model models/minilm --out /tmp/new/shards-$c > /dev/null 2>&1
  diff -r /tmp/base/shards-$c /tmp/new/shards-$c && echo "enrelg data $c: every shard file identical ($(ls /tmp/new/shards-$c/*/*.arrow | wc -l) Arrow files + manifest)"
done
