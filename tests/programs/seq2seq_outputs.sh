#!/usr/bin/env bash
# The seq2seq command's outputs as translation toolkits give them: translate --output FILE (atomic,
# an existing file refused unless --overwrite), --nbest N in the 'INDEX ||| output ||| score'
# format, --scores, evaluate --hypotheses FILE, '-' as standard input for the TSV options, the
# trainer's log in evaluate's words (exact-match accuracy, not G2P's WER), and --version of every
# program. Usage: seq2seq_outputs.sh BIN_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "seq2seq_outputs: $*" >&2; exit 1; }
data=$src/examples/seq2seq/data

for program in seq2seq g2p bottleneck; do
  "$bin/$program" --version > version.txt 2>&1 || { cat version.txt; fail "$program --version failed"; }
  grep -Eq "^$program \(seqgrad [0-9]+\.[0-9]+\.[0-9]+\)$" version.txt || { cat version.txt; fail "$program --version: no name and version"; }
  grep -q "GEMM f32" version.txt || { cat version.txt; fail "$program --version: no GEMM backend line"; }
done

# A small model, its training pairs from standard input.
"$bin/seq2seq" train --run run --train - --hidden 32 --embedding 16 --batch 32 --lr 5e-3 --epochs 6 --threads 2 --seed 3 \
  < "$data/reverse.tsv" > train.log 2>&1 || { cat train.log; fail "train --train - failed"; }
grep -q "^data: <stdin>: " train.log || { cat train.log; fail "train did not name standard input"; }
grep -q "validation at step .*exact-match accuracy .*token error rate" train.log || { cat train.log; fail "the training log does not say exact-match accuracy and token error rate"; }
if grep -Eq "WER|PER" train.log; then cat train.log; fail "the training log still says WER/PER"; fi

# The test file's sources, each once (evaluate scores a source given twice as one input with two references).
awk -F'\t' '!seen[$1]++ { print $1 }' "$data/reverse_test.tsv" > sources.txt
lines=$(wc -l < sources.txt)
"$bin/seq2seq" translate --run run --beam 3 --input sources.txt > plain.txt
"$bin/seq2seq" translate --run run --beam 3 --input sources.txt --output out.txt > out.stdout
[ ! -s out.stdout ] || fail "translate --output also wrote to standard output"
cmp -s plain.txt out.txt || fail "translate --output differs from standard output"
[ "$(wc -l < out.txt)" -eq "$lines" ] || fail "--output has $(wc -l < out.txt) lines for $lines"
ls -A | grep -q '\.tmp-' && fail "a temporary was left behind"
echo keep > kept.txt
if "$bin/seq2seq" translate --run run --input sources.txt --output kept.txt 2> refused.err; then fail "an existing --output was overwritten"; fi
grep -q "exists" refused.err || { cat refused.err; fail "the refusal does not say the file exists"; }
[ "$(cat kept.txt)" = keep ] || fail "a refused --output changed the file"
"$bin/seq2seq" translate --run run --beam 3 --input sources.txt --output kept.txt --overwrite
cmp -s plain.txt kept.txt || fail "--overwrite did not replace the file with the outputs"

# --scores: each output, then ' ||| ' and a finite negative score.
"$bin/seq2seq" translate --run run --beam 3 --input sources.txt --scores > scored.txt
sed 's/ ||| [^|]*$//' scored.txt | cmp -s - plain.txt || fail "--scores changed the outputs"
awk -F' \\|\\|\\| ' 'NF != 2 || $2 !~ /^-[0-9]+\.[0-9]+$/ { print "bad line " NR ": " $0; bad = 1 } END { exit bad }' scored.txt \
  || fail "--scores lines are not 'output ||| score'"

# --nbest 3: 'INDEX ||| output ||| score', indices in input order from 0, at most 3 each, best first,
# the first of each scoring at least as well as the plain output (--nbest 1 is the plain output).
printf 'dog moon fish\n\none red fish\n' > three.txt
"$bin/seq2seq" translate --run run --beam 3 --nbest 3 --input three.txt > nbest.txt
"$bin/seq2seq" translate --run run --beam 3 --input three.txt --scores > three_plain.txt
"$bin/seq2seq" translate --run run --beam 3 --nbest 1 --input three.txt > nbest1.txt
[ "$(cut -d' ' -f1 nbest1.txt | tr '\n' ' ')" = "0 2 " ] || { cat nbest1.txt; fail "--nbest 1 did not give one line per non-empty input"; }
sed 's/^[0-9]* ||| //' nbest1.txt | cmp -s - <(grep -v '^$' three_plain.txt) || fail "--nbest 1 is not the plain output with its score"
cat nbest.txt
python3 - <<'PY' || fail "--nbest output is not the n-best format"
import re
rows = [l.rstrip("\n") for l in open("nbest.txt")]
plain = [l.rstrip("\n").rsplit(" ||| ", 1) if l.strip() else None for l in open("three_plain.txt")]
by_index = {}
for row in rows:
    m = re.fullmatch(r"(\d+) \|\|\| (.*) \|\|\| (-?\d+\.\d+)", row)
    assert m, row
    by_index.setdefault(int(m.group(1)), []).append((m.group(2), float(m.group(3))))
assert sorted(by_index) == [0, 2], by_index.keys()          # the empty line 1 has no hypotheses
assert [int(r.split(" ")[0]) for r in rows] == sorted(int(r.split(" ")[0]) for r in rows)
assert any(len(h) > 1 for h in by_index.values()), "no input got several hypotheses"
for i, hyps in by_index.items():
    assert len(hyps) <= 3, hyps
    assert hyps[0][1] >= float(plain[i][1]) - 1e-6, (hyps[0], plain[i])
    scores = [s for _, s in hyps]
    assert scores == sorted(scores, reverse=True), scores
    assert len({h for h, _ in hyps}) == len(hyps), hyps
PY

# evaluate --hypotheses: one line per input in the file's order, the beam's outputs; --data -.
"$bin/seq2seq" evaluate --run run --data "$data/reverse_test.tsv" --beam 3 --hypotheses hyps.txt > eval.log
grep -q "exact-match accuracy" eval.log || fail "evaluate printed no scores"
[ "$(wc -l < hyps.txt)" -eq "$lines" ] || fail "--hypotheses has $(wc -l < hyps.txt) lines for $lines inputs"
cmp -s hyps.txt plain.txt || { diff hyps.txt plain.txt | head; fail "--hypotheses differ from translate's outputs"; }
if "$bin/seq2seq" evaluate --run run --data "$data/reverse_test.tsv" --hypotheses hyps.txt > /dev/null 2> refused.err; then
  fail "an existing --hypotheses file was overwritten"
fi
"$bin/seq2seq" evaluate --run run --data - --beam 3 --hypotheses - < "$data/reverse_test.tsv" > piped.txt 2> piped.err
cmp -s piped.txt plain.txt || fail "--hypotheses - did not write only the outputs to standard output"
grep -q "exact-match accuracy" piped.err || fail "with --hypotheses - the scores did not go to standard error"
echo "seq2seq_outputs: ok"
