#!/usr/bin/env bash
# seq2seq train --subwords: the SentencePiece model is kept in the run folder and bound to the
# checkpoints (an edited or missing one refused, naming it), translate writes plain text (no "▁"
# pieces), evaluate and --hypotheses score and write decoded text, a resume trains the same subword
# model again (so it is accepted), and --subwords with --chars or out of range is refused in one line.
# The README's --subwords commands run in readme_seq2seq.sh.
# Usage: seq2seq_subwords.sh BIN_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "seq2seq_subwords: $*" >&2; exit 1; }
data=$src/examples/seq2seq/data
small=(--hidden 32 --embedding 16 --batch 32 --lr 5e-3 --threads 2 --seed 3)

"$bin/seq2seq" train --run run --train "$data/reverse.tsv" --subwords 40 --epochs 6 "${small[@]}" > train.log 2>&1 ||
  { cat train.log; fail "train --subwords 40 failed"; }
[ -s run/subwords.model ] || fail "no subwords.model in the run folder"
grep -q '"subwords": "40"' run/config.json || { cat run/config.json; fail "config.json does not record --subwords 40"; }
grep -q '"▁' run/target_vocab.json || fail "the target vocabulary holds no word-initial pieces"
grep -q "best checkpoint on validation (decoded text): exact-match accuracy .* BLEU " train.log ||
  { cat train.log; fail "train did not score the decoded validation text"; }
# The validations score the decoded text too: the best one's scores are the final line's.
best_validation=$(grep "(best so far)" train.log | tail -n 1 | sed -n 's/.*exact-match accuracy \([0-9.]*%\)  word error rate \([0-9.]*%\).*/\1 \2/p')
final=$(sed -n 's/^best checkpoint on validation (decoded text): exact-match accuracy \([0-9.]*%\)  word error rate \([0-9.]*%\).*/\1 \2/p' train.log)
[ -n "$final" ] && [ "$best_validation" = "$final" ] || { cat train.log; fail "the best validation ($best_validation) did not score the decoded text ($final)"; }

awk -F'\t' '{ print $1 }' "$data/reverse_test.tsv" > sources.txt
"$bin/seq2seq" translate --run run --input sources.txt --beam 3 > out.txt 2> translate.err || { cat translate.err; fail "translate failed"; }
[ "$(wc -l < out.txt)" -eq "$(wc -l < sources.txt)" ] || fail "translate wrote $(wc -l < out.txt) lines for $(wc -l < sources.txt)"
if grep -q '▁' out.txt; then head -3 out.txt; fail "translate wrote subword pieces, not text"; fi
# Reversal of words the model knows: most outputs are exactly the reference (an untrained model
# spells none right; 6 epochs reach about 40% here).
right=$(paste out.txt <(cut -f2 "$data/reverse_test.tsv") | awk -F'\t' '$1 == $2' | wc -l)
[ "$right" -ge 15 ] || { paste out.txt "$data/reverse_test.tsv" | head -5; fail "only $right of 100 outputs are right"; }
grep -Eq '^[a-z]+( [a-z]+)*$' out.txt || fail "no output is plain words"

"$bin/seq2seq" evaluate --run run --data "$data/reverse_test.tsv" --beam 3 --hypotheses hyp.txt > eval.log 2>&1 ||
  { cat eval.log; fail "evaluate failed"; }
grep -Eq "^100 sources \(scored on the decoded text\)  exact-match accuracy [0-9.]+%  word error rate [0-9.]+%  BLEU [0-9.]+$" eval.log ||
  { cat eval.log; fail "evaluate printed no scores of the decoded text"; }
cmp -s hyp.txt out.txt || { diff hyp.txt out.txt | head; fail "evaluate --hypotheses differs from translate's text"; }
# Its exact match is the count of outputs equal to their reference.
grep -q "exact-match accuracy $right.00%" eval.log || { cat eval.log; fail "evaluate's exact match is not $right%"; }

# export has no place for the subword model: refused in one line, nothing written.
if "$bin/seq2seq" export --run run --out model.safetensors > export.out 2> export.err; then fail "export of a subword run was accepted"; fi
[ "$(wc -l < export.err)" -eq 1 ] && grep -q "subwords" export.err || { cat export.err; fail "export's refusal does not name the subwords"; }
[ ! -e model.safetensors ] || fail "a refused export wrote its file"

# Resume: the same data trains the same subword model, so the run continues.
"$bin/seq2seq" train --run run --train "$data/reverse.tsv" --subwords 40 --epochs 7 --resume "${small[@]}" > resume.log 2>&1 ||
  { cat resume.log; fail "--resume of a subword run failed"; }

# An edited, replaced or missing subword model is refused, naming the file.
cp run/subwords.model kept.model
printf 'x' >> run/subwords.model
if "$bin/seq2seq" translate --run run --input sources.txt > /dev/null 2> edited.err; then fail "an edited subwords.model was accepted"; fi
[ "$(wc -l < edited.err)" -eq 1 ] && grep -q "subwords.model: does not match the checkpoint" edited.err || { cat edited.err; fail "the edit was not named in one line"; }
rm run/subwords.model
if "$bin/seq2seq" evaluate --run run --data "$data/reverse_test.tsv" > /dev/null 2> missing.err; then fail "a missing subwords.model was accepted"; fi
grep -q "subwords.model: missing" missing.err || { cat missing.err; fail "the missing model was not named"; }
cp kept.model run/subwords.model
"$bin/seq2seq" translate --run run --input sources.txt > /dev/null 2>&1 || fail "the restored model does not load"

# Refused before anything is written: --subwords with --chars, a size out of range, a size the text cannot give.
for bad in "--subwords 40 --chars" "--subwords 4" "--subwords 5000"; do
  # shellcheck disable=SC2086
  if "$bin/seq2seq" train --run bad --train "$data/reverse.tsv" $bad --epochs 1 > bad.out 2> bad.err; then fail "train $bad was accepted"; fi
  [ ! -e bad ] || fail "train $bad wrote the run folder"
  [ "$(grep -c "^seq2seq: " bad.err)" -eq 1 ] || { cat bad.err; fail "train $bad: not one line"; }
  grep -q -- "--subwords" bad.err || { cat bad.err; fail "train $bad: --subwords not named"; }
done
echo "seq2seq_subwords: ok ($right of 100 right)"
