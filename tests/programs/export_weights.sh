#!/usr/bin/env bash
# seq2seq export: the best checkpoint's model weights alone, read back with numpy only
# (examples/seq2seq/safetensors_numpy.py, torch made unimportable): exactly the checkpoint's model
# tensors (no optimizer state), bit for bit, and the metadata (config.json's model object, both
# vocabularies, the tokenization and translate's output limit); an existing --out refused unless
# --overwrite, bad --out paths and runs refused with one line before anything is written.
# Usage: export_weights.sh BIN_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "export_weights: $*" >&2; exit 1; }

source "$src/tests/programs/python_with.sh"
python=$(python_with numpy)
[ -n "$python" ] || fail "no python3 with numpy (scripts/setup.sh installs Debian's python3-numpy)"

"$bin/seq2seq" train --run run --train "$src/examples/seq2seq/data/reverse.tsv" --chars --max-length 40 --hidden 24 --embedding 8 \
  --batch 32 --epochs 2 --threads 2 --seed 4 > train.log 2>&1 || { cat train.log; fail "training failed"; }

"$bin/seq2seq" export --run run --out model.safetensors > export.log 2>&1 || { cat export.log; fail "export failed"; }
grep -q "^model.safetensors: [0-9]* tensors ([0-9]* values) of run/checkpoints/best.ckpt$" export.log \
  || { cat export.log; fail "export did not say what it wrote"; }

"$python" - "$src/examples/seq2seq" <<'PY' || fail "the exported file is not the model's weights and metadata"
import json, sys
sys.modules["torch"] = None  # the numpy-only reader must not need torch
sys.path.insert(0, sys.argv[1])
from safetensors_numpy import read_safetensors
import numpy as np

tensors, meta = read_safetensors("model.safetensors")
checkpoint, ckpt_meta = read_safetensors("run/checkpoints/best.ckpt")
model = {n: t for n, t in checkpoint.items() if not n.startswith("optimizer.")}
problems = []
if len(model) == len(checkpoint):
    problems.append("the checkpoint has no optimizer.* tensors: the comparison would prove nothing")
if set(tensors) != set(model):
    problems.append(f"names differ: extra {sorted(set(tensors) - set(model))}, missing {sorted(set(model) - set(tensors))}")
for name in sorted(set(tensors) & set(model)):
    a, b = tensors[name], model[name]
    if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a, b):
        problems.append(f"{name}: {a.dtype} {a.shape} differs from the checkpoint's {b.dtype} {b.shape}")
config = json.load(open("run/config.json"))
want = {"format": "pt", "seq2seq.export": "1", "model": config["model"],
        "source_vocab": json.load(open("run/source_vocab.json")), "target_vocab": json.load(open("run/target_vocab.json")),
        "source_tokens": "characters", "target_tokens": "characters", "max_output_length": "80"}
got = dict(meta)
for key in ("model", "source_vocab", "target_vocab"):
    got[key] = json.loads(got.get(key, "null"))
if got != want:
    problems.append(f"metadata {sorted(got)} differs: " + ", ".join(k for k in set(want) | set(got) if want.get(k) != got.get(k)))
if want["source_vocab"]["symbols"][:4] != ["<pad>", "<sos>", "<eos>", "<unk>"]:
    problems.append("the vocabulary does not start with the four specials")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY

# The numpy reader refuses a file whose header runs past its end, naming the file.
head -c 100 model.safetensors > cut.safetensors
"$python" -c "import sys; sys.path.insert(0, '$src/examples/seq2seq'); from safetensors_numpy import read_safetensors; read_safetensors('cut.safetensors')" \
  2> cut.err && fail "the numpy reader read a cut file"
grep -q "cut.safetensors: header length" cut.err || { cat cut.err; fail "the numpy reader's refusal does not name the problem"; }

# An existing --out is kept unless --overwrite; bad paths and runs are refused, each in one line.
cp model.safetensors first.safetensors
echo keep > kept.safetensors
expect_refusal() {  # expect_refusal WHAT PATTERN ARGS...
  local what=$1 pattern=$2; shift 2
  if "$bin/seq2seq" export "$@" > refused.out 2> refused.err; then fail "$what: export succeeded"; fi
  [ "$(wc -l < refused.err)" -eq 1 ] || { cat refused.err; fail "$what: not one line"; }
  grep -qF -- "$pattern" refused.err || { cat refused.err; fail "$what: the message does not say '$pattern'"; }
}
expect_refusal "existing --out" "kept.safetensors: the file exists (give --overwrite" --run run --out kept.safetensors
[ "$(cat kept.safetensors)" = keep ] || fail "a refused export changed the existing file"
expect_refusal "--out a folder" "run: a folder, not a file" --run run --out run --overwrite
expect_refusal "--out in a missing folder" "its folder nowhere does not exist" --run run --out nowhere/model.safetensors
[ ! -e nowhere ] || fail "a refused export created its folder"
expect_refusal "no run" "no trained run in empty" --run empty --out new.safetensors
[ ! -e new.safetensors ] || fail "a refused export wrote its --out"
expect_refusal "no --out" "--out is required" --run run
"$bin/seq2seq" export --run run --out kept.safetensors --overwrite > /dev/null
cmp -s kept.safetensors first.safetensors || fail "--overwrite did not replace the file with the weights"
if ls -A | grep -q '\.tmp'; then ls -A; fail "a temporary was left behind"; fi
echo "export_weights: OK"
