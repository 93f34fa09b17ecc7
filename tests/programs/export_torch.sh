#!/usr/bin/env bash
# examples/seq2seq/torch_reference.py against the program: for models trained here (the default
# bi-GRU + additive attention + GRU decoder, with its bridge; an LSTM encoder and decoder with dot
# attention; a transformer encoder and decoder with tied embeddings, pre-LN and learned positions),
# the PyTorch module built from `seq2seq export`'s file decodes every test line exactly as
# `seq2seq translate --beam 1` does (unknown symbols, an empty line and invalid UTF-8 among them),
# and refuses a model it does not know in one line. Skipped (exit 77) without a python3 that imports
# torch and numpy. Usage: export_torch.sh BIN_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "export_torch: $*" >&2; exit 1; }

source "$src/tests/programs/python_with.sh"
python=$(python_with numpy torch)
[ -n "$python" ] || { echo "export_torch: skipped: no python3 that imports torch and numpy"; exit 77; }
reference=$src/examples/seq2seq/torch_reference.py
data=$src/examples/seq2seq/data

cut -f1 "$data/reverse_test.tsv" > inputs.txt
printf 'dog moon fish\n\nzebra dog  red\n\xff\xfe dog\r\none\n' >> inputs.txt

check() {  # check NAME TRAIN-OPTIONS...
  local name=$1; shift
  "$bin/seq2seq" train --run "$name" --train "$data/reverse.tsv" --batch 32 --lr 5e-3 --epochs 4 --threads 2 --seed 7 "$@" \
    > "$name.log" 2>&1 || { cat "$name.log"; fail "$name: training failed"; }
  "$bin/seq2seq" export --run "$name" --out "$name.safetensors" > /dev/null
  "$bin/seq2seq" translate --run "$name" --beam 1 --input inputs.txt > "$name.seqgrad.txt" 2> /dev/null
  "$python" "$reference" "$name.safetensors" --input inputs.txt > "$name.torch.txt" 2> "$name.err" \
    || { cat "$name.err"; fail "$name: torch_reference.py failed"; }
  [ "$(wc -l < "$name.torch.txt")" -eq "$(wc -l < inputs.txt)" ] || fail "$name: not one output per input"
  diff "$name.seqgrad.txt" "$name.torch.txt" > "$name.diff" || { head "$name.diff"; fail "$name: PyTorch decodes differently"; }
  echo "$name: $(grep -c . "$name.torch.txt") outputs the same"
}
check default --hidden 32 --embedding 16
check lstm --encoder lstm --decoder lstm --unidirectional --context dot --hidden 32 --embedding 16
check transformer --encoder transformer --decoder transformer --layers 2 --decoder-layers 2 --hidden 32 --heads 4 --ff 64 \
  --tie-embeddings --norm-first --positions learned

# A model kind it does not build: refused in one line naming it.
"$python" - "$src/examples/seq2seq" <<'PY' || fail "could not write the edited file"
import json, struct, sys
sys.path.insert(0, sys.argv[1])
from safetensors_numpy import read_safetensors
tensors, meta = read_safetensors("default.safetensors")
model = json.loads(meta["model"])
model["context"] = "location"
meta["model"] = json.dumps(model)
header, offset, blobs = {"__metadata__": meta}, 0, []
for name, t in sorted(tensors.items()):
    blob = t.tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
    offset += len(blob)
    blobs.append(blob)
text = json.dumps(header).encode()
open("unknown.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
PY
if echo dog | "$python" "$reference" unknown.safetensors > unknown.out 2> unknown.err; then fail "an unknown context was accepted"; fi
[ "$(wc -l < unknown.err)" -eq 1 ] && grep -q "model context 'location' is not one this reference builds" unknown.err \
  || { cat unknown.err; fail "the refusal does not name the unknown context"; }
echo "export_torch: OK"
