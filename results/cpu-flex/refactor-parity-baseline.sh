set -ex
B=/tmp/enrelg-orig
cd /work/main
$B data --corpus ../shared/data/mars --manifest datasets/mars/manifest.json --model models/minilm --out shards/mars
for s in 1 2 3; do
  $B train --data shards/mars --model models/minilm --variant cd --seed $s --shape-dim 32 --char-dim 50 --layer-mix --word-pool mean --epochs 1 --out /tmp/base/mars-cd-seed$s
done
for s in 1 2 3; do cp -r /tmp/base/mars-cd-seed$s /tmp/base/fresh-seed$s; done
for s in 1 2 3; do $B eval --run /tmp/base/mars-cd-seed$s --split test; done
$B ensemble --run /tmp/base/mars-cd-seed1 --run /tmp/base/mars-cd-seed2 --run /tmp/base/mars-cd-seed3 --split test --out /tmp/base/ensemble
echo BASELINE DONE
