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
# The Transformer's commands: the block that trains with --decoder transformer.
readme_block "--decoder transformer" > transformer.sh
[ "$(grep -c 'seq2seq' transformer.sh)" -eq 3 ] || { cat transformer.sh; fail "expected the Transformer's three commands in the README"; }
sed -e "s#\./build/bin/#$bin/#g" -e "s#examples/#$src/examples/#g" transformer.sh > run_transformer.sh
bash -e run_transformer.sh > transformer.log 2>&1 || { cat transformer.log; fail "the README's Transformer commands failed"; }
t_accuracy=$(sed -n 's/.*exact-match accuracy \([0-9.]*\)%.*BLEU.*/\1/p' transformer.log | tail -n 1)
[ -n "$t_accuracy" ] || { cat transformer.log; fail "evaluate printed no accuracy for the Transformer"; }
awk -v a="$t_accuracy" 'BEGIN { exit !(a >= 80) }' || fail "the README's Transformer reaches only $t_accuracy%"
grep -qx "dog cat red" transformer.log || { tail -n 3 transformer.log; fail "the Transformer did not reverse 'red cat dog'"; }
ls runs/reverse-transformer/heatmaps/*.png > /dev/null || fail "no cross-attention heatmap"
grep -q '"decoder": "transformer"' runs/reverse-transformer/config.json || fail "config.json does not record the decoder"
grep -q '"decoder_layers": 2' runs/reverse-transformer/config.json || fail "config.json does not record --decoder-layers"
# Subwords: the block that trains with --subwords; evaluate scores the decoded text.
readme_block "--subwords" > subwords.sh
[ "$(grep -c 'seq2seq' subwords.sh)" -eq 3 ] || { cat subwords.sh; fail "expected the three --subwords commands in the README"; }
sed -e "s#\./build/bin/#$bin/#g" -e "s#examples/#$src/examples/#g" subwords.sh > run_subwords.sh
bash -e run_subwords.sh > subwords.log 2>&1 || { cat subwords.log; fail "the README's --subwords commands failed"; }
s_accuracy=$(sed -n 's/.*decoded text)  exact-match accuracy \([0-9.]*\)%.*BLEU.*/\1/p' subwords.log | tail -n 1)
[ -n "$s_accuracy" ] || { cat subwords.log; fail "evaluate printed no scores of the decoded text for the subword run"; }
awk -v a="$s_accuracy" 'BEGIN { exit !(a >= 80) }' || fail "the README's subword model reaches only $s_accuracy%"
[ "$(tail -n 1 subwords.log)" = "dog cat red" ] || { tail -n 3 subwords.log; fail "the subword model did not reverse 'red cat dog'"; }
[ -s runs/reverse-subwords/subwords.model ] || fail "the README's subword run keeps no subwords.model"
# "Export to PyTorch": the export as written; the PyTorch reference where python3 has torch.
awk '/^### Export to PyTorch/ { on = 1; next } on && /^```sh/ { grab = 1; next } grab && /^```/ { exit } grab { print }' \
  "$src/README.md" > export.sh
[ "$(grep -c 'seq2seq export' export.sh)" -eq 1 ] && grep -q 'torch_reference.py' export.sh \
  || { cat export.sh; fail "expected the export and torch_reference.py commands in the README"; }
torch_python=""
for candidate in python3 /usr/bin/python3; do
  if "$candidate" -c "import numpy, torch" 2>/dev/null; then torch_python=$candidate; break; fi
done
sed -e "s#\./build/bin/#$bin/#g" -e "s#examples/#$src/examples/#g" -e "s#| python3 #| $torch_python #" export.sh > run_export.sh
[ -n "$torch_python" ] || sed -i '/torch_reference.py/d' run_export.sh
bash -e run_export.sh > export.log 2>&1 || { cat export.log; fail "the README's export commands failed"; }
[ -s reverse.safetensors ] || fail "the README's export wrote no reverse.safetensors"
[ -z "$torch_python" ] || grep -qx "dog cat red" export.log || { cat export.log; fail "torch_reference.py did not reverse 'red cat dog'"; }
echo "readme_seq2seq: ok (accuracy $accuracy%, Transformer $t_accuracy%, subwords $s_accuracy%${torch_python:+, PyTorch reference})"
