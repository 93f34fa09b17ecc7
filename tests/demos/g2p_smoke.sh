#!/usr/bin/env bash
# g2p train / evaluate / predict on the committed dictionary sample, with a tiny model and budget.
set -euo pipefail
g2p=$1 data=$2 out=$3
rm -rf "$out"
fail() { echo "g2p_smoke: $*" >&2; exit 1; }

"$g2p" --out "$out" --data "$data" train --minutes 0.05 --hidden 16 --batch 8 --epochs 3 > "$out.train.log" 2>&1 \
  || { cat "$out.train.log"; fail "train failed"; }
grep -q "^test (beam [0-9]*): [0-9]* words  WER" "$out.train.log" || { cat "$out.train.log"; fail "no test score"; }
for f in config.json letters.json phonemes.json checkpoints/best.ckpt checkpoints/last.ckpt metrics.jsonl; do
  [ -s "$out/$f" ] || fail "train did not write $f"
done

"$g2p" --out "$out" --data "$data" evaluate > "$out.eval.log" 2>&1 || { cat "$out.eval.log"; fail "evaluate failed"; }
grep -q "^dev: " "$out.eval.log" && grep -q "^test: " "$out.eval.log" || fail "evaluate printed no scores"

"$g2p" --out "$out" predict hello Seqgrad --beam 2 > "$out.predict.log" 2>&1 || { cat "$out.predict.log"; fail "predict failed"; }
[ -s "$out/heatmaps/hello.png" ] && [ -s "$out/heatmaps/seqgrad.png" ] || fail "predict wrote no heatmaps"

# A word outside the letters' vocabulary is read as <unk>, not refused; a missing model is a clear error.
if "$g2p" --out "$out.none" predict hello > "$out.none.log" 2>&1; then fail "predict without a model succeeded"; fi
grep -q "run \`g2p train\` first" "$out.none.log" || { cat "$out.none.log"; fail "unclear error without a model"; }
echo "g2p_smoke: ok"
