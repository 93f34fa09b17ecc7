#!/usr/bin/env bash
# The seq2seq command on a file it has never seen: reversing short word sequences. A few seconds of
# training must lift exact-match accuracy far above chance (about 0.2% for sequences of 2-4 words
# out of 8), translate must read standard input, and --resume must continue the run.
# Usage: seq2seq_learns.sh BIN_DIR WORK_DIR
set -euo pipefail
bin=$1 work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "seq2seq_learns: $*" >&2; exit 1; }
awk 'BEGIN { srand(5); split("ant bee cow doe eel fox gnu hen", w, " ");
  for (i = 0; i < 700; i++) { n = 2 + int(rand() * 3); s = ""; r = "";
    for (k = 0; k < n; k++) { x = w[1 + int(rand() * 8)]; s = s (k ? " " : "") x; r = x (k ? " " : "") r }
    print s "\t" r > (i < 600 ? "train.tsv" : "test.tsv") } }'
common=(--run run --train train.tsv --hidden 48 --embedding 16 --batch 32 --shard 16 --lr 5e-3 --threads 2 --seed 2)
"$bin/seq2seq" train "${common[@]}" --epochs 8 > train1.log 2>&1 || { cat train1.log; fail "train failed"; }
steps1=$(python3 -c 'import json; print(max(json.loads(l)["step"] for l in open("run/metrics.jsonl")))')
"$bin/seq2seq" train "${common[@]}" --epochs 25 --resume > train2.log 2>&1 || { cat train2.log; fail "--resume failed"; }
grep -q "resumed from" train2.log || fail "--resume did not resume"
python3 - "$steps1" <<'PY' || fail "--resume did not continue the metrics from step $steps1"
import json, sys
steps = [json.loads(l)["step"] for l in open("run/metrics.jsonl") if "train_loss" in l]
assert steps == sorted(set(steps)), "steps repeated or out of order"
assert max(steps) > 2 * float(sys.argv[1]), (max(steps), sys.argv[1])
PY
"$bin/seq2seq" evaluate --run run --data test.tsv > eval.log 2>&1 || { cat eval.log; fail "evaluate failed"; }
cat eval.log
accuracy=$(sed -n 's/.*exact-match accuracy \([0-9.]*\)%.*/\1/p' eval.log)
[ -n "$accuracy" ] || fail "evaluate printed no accuracy"
awk -v a="$accuracy" 'BEGIN { exit !(a >= 50) }' || fail "accuracy $accuracy% is not well above chance"
grep -q "BLEU" eval.log || fail "no BLEU for word tokens"
printf 'ant bee cow\nfox gnu\n\nzebra ant\n' | "$bin/seq2seq" translate --run run > out.txt 2> translate.err || { cat translate.err; fail "translate failed"; }
[ "$(wc -l < out.txt)" -eq 4 ] || fail "translate wrote $(wc -l < out.txt) lines for 4"
[ "$(sed -n 3p out.txt)" = "" ] || fail "an empty line did not give an empty line"
grep -q "<unk>" translate.err || fail "the unknown word was not reported"
correct=0
[ "$(sed -n 1p out.txt)" = "cow bee ant" ] && correct=$((correct + 1))
[ "$(sed -n 2p out.txt)" = "gnu fox" ] && correct=$((correct + 1))
[ $correct -ge 1 ] || { cat out.txt; fail "translate got neither reversal right"; }
echo "seq2seq_learns: ok (accuracy $accuracy%)"
