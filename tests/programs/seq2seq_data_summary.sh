#!/usr/bin/env bash
# What the seq2seq command says it read: one line per file, the same in train and evaluate, whose
# counts add up (lines = pairs + skipped + blank; pairs = distinct sources + those merged into an
# earlier source), and the counts of the held-out split, the model line and evaluate agree with it.
# The README's homophones example prints the line the README shows. The committed example data
# repeats nothing. Usage: seq2seq_data_summary.sh BIN_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "seq2seq_data_summary: $*" >&2; exit 1; }
tiny=(--hidden 8 --embedding 8 --batch 8 --shard 8 --epochs 1 --threads 2)

# The README's example, as the README prints it.
printf 'N AY T\tnight\nN AY T\tknight\nR EH D\tred\n' > homophones.tsv
"$bin/seq2seq" train --run h --train homophones.tsv --dev homophones.tsv "${tiny[@]}" > h.log 2>&1 || { cat h.log; fail "train failed"; }
expected=$(awk '/^it is `data: homophones.tsv/ { on = 1 } on { line = line (line ? " " : "") $0 } on && /0 blank`/ { exit }
  END { sub(/^it is `/, "", line); sub(/`.*$/, "", line); print line }' "$src/README.md")
[ -n "$expected" ] || fail "the README's example line is missing"
[ "$(grep -c "^$expected\$" h.log)" -eq 2 ] || { cat h.log; fail "train did not print the README's line for --train and --dev: $expected"; }
if grep -q "read as <unk>" h.log; then cat h.log; fail "a --dev of the training data's own symbols was said to hold unknown ones"; fi
printf 'N AY Q\tnigzt\n' > other.tsv  # Q is no source symbol; z (characters: no, words: nigzt) no target one
"$bin/seq2seq" train --run o --train homophones.tsv --dev other.tsv "${tiny[@]}" > o.log 2>&1 || { cat o.log; fail "train failed"; }
grep -qxF "seq2seq: 1 source and 1 target symbols of other.tsv are not in the training data's vocabularies (read as <unk>)" o.log \
  || { cat o.log; fail "train did not count the --dev symbols outside the vocabularies"; }

# 10 sources, 13 pairs: "a b" with 3 targets, "c" with 2; a repeat, a malformed line and a blank line.
{
  for s in "a b" d e f g h i j; do printf '%s\tX %s\n' "$s" "$s"; done
  printf 'a b\tY\na b\tZ\n\nno tab\nc\tC\nc\tD\nk\tK\na b\tY\n'
} > pairs.tsv
line="data: pairs.tsv: 16 lines: 13 pairs of 10 distinct sources (3 merged into an earlier source as alternative targets), 2 skipped, 1 blank"
"$bin/seq2seq" train --run run --train pairs.tsv --dev-every 2 "${tiny[@]}" > train.log 2>&1 || { cat train.log; fail "train failed"; }
grep -qxF "$line" train.log || { cat train.log; fail "train's summary is not: $line"; }
# Sources in file order: "a b" d e f g h i j c k; every 2nd is held out with all its targets: d f h j k
# (5 sources, 5 pairs), and "a b" (3 targets) e g i c (2 targets) are trained on (5 sources, 8 pairs).
grep -qxF "held out for validation: 1 source in 2 with all its targets, 5 sources (5 pairs); training on the other 5 sources (8 pairs)" train.log \
  || { cat train.log; fail "the held-out split's counts are not the summary's"; }
grep -q "^model: [0-9]* parameters; 8 training pairs, 5 validation sources;" train.log || { cat train.log; fail "the model line's counts disagree"; }

"$bin/seq2seq" evaluate --run run --data pairs.tsv > eval.log 2> eval.err || { cat eval.log eval.err; fail "evaluate failed"; }
grep -qxF "$line" eval.log || { cat eval.log; fail "evaluate's summary differs from train's"; }
grep -q "^10 sources  exact-match accuracy" eval.log || { cat eval.log; fail "evaluate did not score the 10 distinct sources"; }
# With the hypotheses on standard output, the summary goes with the scores to standard error.
"$bin/seq2seq" evaluate --run run --data - --hypotheses - < pairs.tsv > hyps.txt 2> hyps.err || { cat hyps.err; fail "evaluate --hypotheses - failed"; }
[ "$(wc -l < hyps.txt)" -eq 10 ] || fail "--hypotheses - wrote $(wc -l < hyps.txt) lines for 10 sources"
grep -qxF "${line/pairs.tsv/<stdin>}" hyps.err || { cat hyps.err; fail "the summary did not go to standard error"; }

# The committed example data: no line repeats, no test source is a training source.
for f in reverse.tsv reverse_test.tsv; do
  [ -z "$(cut -f1 "$src/examples/seq2seq/data/$f" | sort | uniq -d)" ] || fail "$f repeats a source"
done
[ -z "$(cut -f1 "$src/examples/seq2seq/data/reverse.tsv" "$src/examples/seq2seq/data/reverse_test.tsv" | sort | uniq -d)" ] \
  || fail "reverse_test.tsv holds sources of reverse.tsv"
echo "seq2seq_data_summary: ok"
