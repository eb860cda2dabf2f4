#!/usr/bin/env bash
# Verify the corpora under DIR (default datasets/) against DIR/SHA256SUMS:
# every listed file present and unchanged, and no unlisted file inside the
# released folders (mars/standoff, mars/conllu, anatem/standoff,
# anatem/conllu, enrelg). Our own files beside them (manifests, expected
# statistics, licences) are not part of the release and not checked here.
set -euo pipefail
dir="${1:-datasets}"
cd "$dir"
sha256sum -c --quiet --strict SHA256SUMS || { echo "$dir: files differ from SHA256SUMS (see above)" >&2; exit 1; }
listed=$(mktemp)
trap 'rm -f "$listed"' EXIT
awk '{ sub(/^[^ ]+  \*?/, ""); print }' SHA256SUMS | sort > "$listed"
extra=$(find mars/standoff mars/conllu anatem/standoff anatem/conllu enrelg -type f | sort | comm -23 - "$listed")
if [ -n "$extra" ]; then
  echo "$dir: files not in SHA256SUMS:" >&2
  echo "$extra" >&2
  exit 1
fi
echo "$dir: $(wc -l < "$listed") files match SHA256SUMS"
