#!/usr/bin/env bash
# g2p predict: a word is user text; its heatmap's file name is made safe and
# stays inside the run folder, a bad word does not abandon the words after it, and words come from
# arguments, a file or standard input. Usage: g2p_predict_names.sh BIN_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work/inside" && cd "$work/inside"
fail() { echo "g2p_predict_names: $*" >&2; exit 1; }
"$bin/g2p" --out run --data "$src/tests/data/cmudict_sample.js" train --minutes 0.05 --hidden 16 --batch 8 --epochs 1 > train.log 2>&1 \
  || { cat train.log; fail "train failed"; }
long=$(printf 'a%.0s' $(seq 300))
printf 'from\nfile\n' > words.txt
echo "stdin" | "$bin/g2p" --out run predict --beam 2 "../escape" "/tmp/abs_path_word" "a/b" "$long" "..." hello --input - > p1.log 2>&1 \
  || { cat p1.log; fail "predict failed"; }
"$bin/g2p" --out run predict --input words.txt > p2.log 2>&1 || { cat p2.log; fail "predict --input failed"; }
grep -q "^g2p: predict: [0-9]* letters not in the model's alphabet were read as <unk>$" p1.log \
  || { cat p1.log; fail "predict did not count the letters outside the alphabet ('/', '.')"; }
words=$(grep -v "^seqgrad \|^g2p: predict: .* read as <unk>$" p1.log | wc -l)
[ "$words" -eq 7 ] || { cat p1.log; fail "predict printed $words lines for 7 words"; }
grep -q "^stdin " p1.log && grep -q "^from " p2.log && grep -q "^file " p2.log || fail "words from stdin or a file missing"
[ ! -e ../escape.png ] && [ ! -e /tmp/abs_path_word.png ] && [ ! -e a ] || fail "a heatmap escaped the run folder"
outside=$(find "$work" -name '*.png' -not -path "$work/inside/run/heatmaps/*" -not -path "$work/inside/run/loss.png")
[ -z "$outside" ] || fail "pictures outside the run folder's heatmaps/: $outside"
[ "$(ls run/heatmaps | wc -l)" -eq 9 ] || { ls run/heatmaps; fail "expected 9 heatmaps"; }
[ -s run/heatmaps/hello.png ] || fail "a plain word's heatmap is not hello.png"
echo "g2p_predict_names: ok"
