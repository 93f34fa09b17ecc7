#!/usr/bin/env bash
# The bottleneck comparison end to end with tiny models, data and budgets.
set -euo pipefail
bottleneck=$1 out=$2
rm -rf "$out"
"$bottleneck" --seconds 1 --train-size 200 --test-size 40 --hidden 16 --batch 16 --out "$out" > "$out.log" 2>&1 \
  || { cat "$out.log"; echo "bottleneck_smoke: failed" >&2; exit 1; }
for model in "no context" "mean context" "additive attention" "transformer encoder" "transformer"; do
  grep -q "^| $model | [0-9]* | " "$out/table.md" || { cat "$out/table.md"; echo "bottleneck_smoke: no row for $model" >&2; exit 1; }
done
for f in accuracy_by_length.png attention.png; do
  [ -s "$out/$f" ] || { echo "bottleneck_smoke: $f missing" >&2; exit 1; }
done
echo "bottleneck_smoke: ok"
