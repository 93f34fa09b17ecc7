#!/usr/bin/env bash
# A picture that cannot be drawn costs only itself: `seq2seq translate --heatmaps` and `g2p predict`
# report it on standard error, naming the line or word (and --heatmaps), and go on with the next
# input; the exit status is then 1. An empty g2p word is skipped with a message (no "-cbf29ce4.png").
# The skipped-line summary keeps "UTF-8" as written.
# Usage: heatmap_failures.sh BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "heatmap_failures: $*" >&2; exit 1; }
long=$(printf 'ant %.0s' $(seq 2000))  # 2,000 words: a heatmap about 48,000 pixels wide

# seq2seq: a tiny model; line 2 is too long to draw, line 3 is not UTF-8.
awk 'BEGIN { srand(3); split("ant bee cow doe eel fox gnu hen", w, " ");
  for (i = 0; i < 200; i++) { n = 2 + int(rand() * 3); s = ""; r = "";
    for (k = 0; k < n; k++) { x = w[1 + int(rand() * 8)]; s = s (k ? " " : "") x; r = x (k ? " " : "") r }
    print s "\t" r } }' > train.tsv
"$bin/seq2seq" train --run run --train train.tsv --hidden 16 --embedding 8 --epochs 1 --threads 1 > train.log 2>&1 \
  || { cat train.log; fail "seq2seq train failed"; }
printf 'ant bee cow\n%s\n\xff\xfe\nfox gnu\n' "$long" > in.txt
"$bin/seq2seq" translate --run run --input in.txt --heatmaps 4 > out.txt 2> err.txt
rc=$?
[ $rc -eq 1 ] || { cat err.txt; fail "translate with an undrawable heatmap: exit $rc, not 1"; }
[ "$(wc -l < out.txt)" -eq 4 ] || { cat err.txt; fail "translate wrote $(wc -l < out.txt) lines for 4"; }
grep -q -- "--heatmaps: line 2 of in.txt: no heatmap: .*32767 pixels a side" err.txt \
  || { cat err.txt; fail "the undrawable heatmap is not reported with its line, --heatmaps and the limit"; }
grep -q "skipped 1 lines of in.txt (1 not valid UTF-8 (an empty line is written))" err.txt \
  || { cat err.txt; fail "the summary does not say UTF-8"; }
[ "$(find run/heatmaps -name '*.png' | wc -l)" -eq 2 ] || { ls -a run/heatmaps; fail "expected the heatmaps of lines 1 and 4"; }
[ -z "$(find run/heatmaps -name '.*')" ] || fail "a temporary was left in heatmaps/"

# g2p: word 2 is empty, word 3 too long to draw; the words after them still come.
"$bin/g2p" --out grun --data "$src/tests/data/cmudict_sample.js" train --minutes 0.05 --hidden 16 --batch 8 --epochs 1 \
  > gtrain.log 2>&1 || { cat gtrain.log; fail "g2p train failed"; }
"$bin/g2p" --out grun predict hello "" "$(printf 'a%.0s' $(seq 2000))" world > p.out 2> p.err
rc=$?
[ $rc -eq 1 ] || { cat p.out p.err; fail "predict with an undrawable heatmap: exit $rc, not 1"; }
[ "$(grep -vc '^seqgrad ' p.out)" -eq 3 ] || { cat p.out; fail "predict printed $(grep -vc '^seqgrad ' p.out) lines for 3 words"; }
grep -q "^world " p.out || fail "the word after the failed heatmap was not predicted"
grep -q "32767" p.out && fail "the heatmap's failure is on standard output"
grep -q "word 3 ('aaaaaaaa.*\.\.\.'): no heatmap: .*32767 pixels a side" p.err \
  || { cat p.err; fail "the undrawable heatmap is not reported on standard error with its word"; }
grep -q "word 2 is empty: skipped" p.err || { cat p.err; fail "the empty word is not reported"; }
[ -s grun/heatmaps/hello.png ] && [ -s grun/heatmaps/world.png ] || fail "the drawable heatmaps are missing"
[ -z "$(find grun/heatmaps -name '-*')" ] || { ls grun/heatmaps; fail "a heatmap named after an empty word"; }
echo "heatmap_failures: ok"
