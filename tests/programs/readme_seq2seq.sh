#!/usr/bin/env bash
# The README's "Train on your own data" commands, run as written (build/bin, runs/ and examples/
# pointed at this build, a scratch folder and the source tree): they must succeed, and the model
# must reverse the held-out sequences. Usage: readme_seq2seq.sh BIN_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "readme_seq2seq: $*" >&2; exit 1; }
# The first ```sh block of the section.
awk '/^## Train on your own data/ { on = 1; next } on && /^## / { exit } on && /^```sh/ { grab = 1; next }
     grab && /^```/ { exit } grab { print }' "$src/README.md" > commands.sh
[ "$(grep -c 'seq2seq' commands.sh)" -eq 3 ] || { cat commands.sh; fail "expected the three commands in the README"; }
head -n 3 "$src/examples/seq2seq/data/reverse.tsv" > head.txt
awk '/^## Train on your own data/ { on = 1; next } on && /^```text/ { grab = 1; next } grab && /^```/ { exit } grab { print }' \
  "$src/README.md" | cmp -s - head.txt || fail "the README's sample is not the first lines of examples/seq2seq/data/reverse.tsv"
sed -e "s#\./build/bin/#$bin/#g" -e "s#examples/#$src/examples/#g" commands.sh > run.sh
bash -e run.sh > out.log 2>&1 || { cat out.log; fail "the README's commands failed"; }
accuracy=$(sed -n 's/.*exact-match accuracy \([0-9.]*\)%.*BLEU.*/\1/p' out.log | tail -n 1)
[ -n "$accuracy" ] || { cat out.log; fail "evaluate printed no accuracy and BLEU"; }
awk -v a="$accuracy" 'BEGIN { exit !(a >= 80) }' || fail "the README's model reaches only $accuracy%"
[ "$(tail -n 1 out.log)" = "dog cat red" ] || { tail -n 3 out.log; fail "translate did not reverse 'red cat dog'"; }
echo "readme_seq2seq: ok (accuracy $accuracy%)"
