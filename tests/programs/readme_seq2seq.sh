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
# The section's first ```sh block holding PATTERN (an awk regular expression).
readme_block() {
  awk -v pattern="$1" '/^## Train on your own data/ { on = 1; next } on && /^## / { exit } on && /^```sh/ { grab = 1; block = ""; next }
       grab && /^```/ { grab = 0; if (block ~ pattern) { printf "%s", block; exit } next } grab { block = block $0 "\n" }' "$src/README.md"
}
# Runs the section's block holding PATTERN as NAME.sh (its output in NAME.log): three seq2seq
# commands that succeed, an evaluate of 80% or more (in block_accuracy) and "dog cat red" translated.
run_block() {
  local name=$1 pattern=$2
  readme_block "$pattern" > "$name.sh"
  [ "$(grep -c 'seq2seq' "$name.sh")" -eq 3 ] || { cat "$name.sh"; fail "expected the $name block's three commands in the README"; }
  sed -e "s#\./build/bin/#$bin/#g" -e "s#examples/#$src/examples/#g" "$name.sh" > "run_$name.sh"
  bash -e "run_$name.sh" > "$name.log" 2>&1 || { cat "$name.log"; fail "the README's $name commands failed"; }
  block_accuracy=$(sed -n 's/.*exact-match accuracy \([0-9.]*\)%.*BLEU.*/\1/p' "$name.log" | tail -n 1)
  [ -n "$block_accuracy" ] || { cat "$name.log"; fail "evaluate printed no accuracy and BLEU for the $name block"; }
  awk -v a="$block_accuracy" 'BEGIN { exit !(a >= 80) }' || fail "the README's $name block reaches only $block_accuracy%"
  grep -qx "dog cat red" "$name.log" || { tail -n 3 "$name.log"; fail "the $name block did not reverse 'red cat dog'"; }
}
# The Transformer's commands: the block that trains with --decoder transformer.
run_block transformer "--decoder transformer"
t_accuracy=$block_accuracy
ls runs/reverse-transformer/heatmaps/*.png > /dev/null || fail "no cross-attention heatmap"
grep -q '"decoder": "transformer"' runs/reverse-transformer/config.json || fail "config.json does not record the decoder"
grep -q '"decoder_layers": 2' runs/reverse-transformer/config.json || fail "config.json does not record --decoder-layers"
# Subwords: the block that trains with --subwords; evaluate scores the decoded text.
run_block subwords "--subwords"
s_accuracy=$block_accuracy
grep -q "(scored on the decoded text)" subwords.log || { cat subwords.log; fail "the subword run's evaluate did not score decoded text"; }
[ -s runs/reverse-subwords/subwords.model ] || fail "the README's subword run keeps no subwords.model"
# "Export to PyTorch": the export as written; the PyTorch reference where python3 has torch.
awk '/^### Export to PyTorch/ { on = 1; next } on && /^```sh/ { grab = 1; next } grab && /^```/ { exit } grab { print }' \
  "$src/README.md" > export.sh
[ "$(grep -c 'seq2seq export' export.sh)" -eq 1 ] && grep -q 'torch_reference.py' export.sh \
  || { cat export.sh; fail "expected the export and torch_reference.py commands in the README"; }
source "$src/tests/programs/python_with.sh"
torch_python=$(python_with numpy torch)
sed -e "s#\./build/bin/#$bin/#g" -e "s#examples/#$src/examples/#g" -e "s#| python3 #| $torch_python #" export.sh > run_export.sh
[ -n "$torch_python" ] || sed -i '/torch_reference.py/d' run_export.sh
bash -e run_export.sh > export.log 2>&1 || { cat export.log; fail "the README's export commands failed"; }
[ -s reverse.safetensors ] || fail "the README's export wrote no reverse.safetensors"
[ -z "$torch_python" ] || grep -qx "dog cat red" export.log || { cat export.log; fail "torch_reference.py did not reverse 'red cat dog'"; }
echo "readme_seq2seq: ok (accuracy $accuracy%, Transformer $t_accuracy%, subwords $s_accuracy%${torch_python:+, PyTorch reference})"
