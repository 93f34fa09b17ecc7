#!/usr/bin/env bash
# The run folder's five guarantees (numbered as in tests/seq2seq/test_run_folder.cpp, the library's
# own tests), through the g2p program. Each check failed with the g2p of before the run folder.
# Usage: run_folder_guard.sh G2P SOURCE_DIR WORK_DIR
set -uo pipefail
g2p=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
data=$src/tests/data/cmudict_sample.js
failures=0
fail() { echo "run_folder_guard: guarantee $1: $2"; failures=$((failures + 1)); }
train() { "$g2p" --out run --data "$data" train --minutes 0.05 --hidden 16 --batch 8 "$@" > train.log 2>&1; }
snapshot() { (cd run && find . -type f ! -name '*.png' | sort | xargs sha1sum); }
train --epochs 2 || { cat train.log; echo "setup failed"; exit 1; }
before=$(snapshot)
: > empty.js

# 1: a failed start writes nothing.
"$g2p" --out run --data "$data" train --minutes 0.05 --hidden 32 --batch 8 --epochs 2 --resume > refused.log 2>&1
[ "$before" = "$(snapshot)" ] || fail 1 "a refused train (--resume with another --hidden) changed the run folder"
"$g2p" --out run --data "$data" train --minutes 0.05 --hidden 16 --batch 0 --dropout 0.5 --epochs 2 --resume > refused.log 2>&1
[ "$before" = "$(snapshot)" ] || fail 1 "a refused train (--batch 0) changed the run folder"

"$g2p" --out run --data "$work/empty.js" train --minutes 0.05 --hidden 16 --batch 8 --epochs 2 --resume > refused.log 2>&1
[ "$before" = "$(snapshot)" ] || fail 1 "a refused train (empty data) changed the run folder"
# 2: no silent replacement; --resume with nothing to resume is an error.
train --epochs 2 && fail 2 "train into an existing run without --resume/--overwrite succeeded"
[ "$before" = "$(snapshot)" ] || fail 2 "train without --resume changed the run folder"
mkdir -p other && cp run/config.json run/letters.json run/phonemes.json other/
"$g2p" --out other --data "$data" train --minutes 0.05 --hidden 16 --batch 8 --epochs 2 --resume > other.log 2>&1 \
  && fail 2 "--resume without last.ckpt succeeded"
# 3: a damaged config.json is refused naming the file.
cp run/config.json config.bak && : > run/config.json
"$g2p" --out run --data "$data" evaluate > eval.log 2>&1
grep -q "config.json" eval.log || fail 3 "an empty config.json is not named: $(tail -n 1 eval.log)"
cp config.bak run/config.json
# 4: swapped letters are refused.
cp run/letters.json letters.bak
python3 - run/letters.json <<'PY'
import json, sys
p = sys.argv[1]; j = json.load(open(p)); s = j["symbols"]; s[4], s[5] = s[5], s[4]; json.dump(j, open(p, "w"))
PY
"$g2p" --out run --data "$data" evaluate > eval.log 2>&1 && fail 4 "swapped letters in letters.json were accepted"
cp letters.bak run/letters.json
# 5: leftover temporaries removed (a checkpoint's, and the pictures': one pattern), no duplicate
# metrics records after a resume.
leftovers="run/checkpoints/.last.ckpt.tmp-AbC123 run/.loss.png.tmp-Qx7Z9a run/heatmaps/.hello.png.tmp-000aZz"
mkdir -p run/heatmaps && for f in $leftovers; do : > "$f"; done
echo '{"step": 999999, "train_loss": 1}' >> run/metrics.jsonl  # a record written after the last checkpoint
train --epochs 3 --resume || { cat train.log; fail 5 "--resume failed"; }
for f in $leftovers; do [ -e "$f" ] && fail 5 "a leftover temporary ($f) was not removed"; done
python3 - run/metrics.jsonl <<'PY' || fail 5 "metrics.jsonl holds records after the checkpoint's step or twice"
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1]) if "train_loss" in l]
assert 999999 not in steps and steps == sorted(set(steps)), steps
PY
# 6: the precision of the products is no part of the run's identity (checkpoints are float32): a run
# resumes in the other one, and config.json records the one it continues in. On a CPU without
# bfloat16 instructions --precision bf16 is refused naming them, before anything is written.
precision() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("precision"))' run/config.json; }
if "$g2p" --version | grep -q "bf16 unavailable"; then
  before=$(snapshot)
  train --epochs 4 --resume --precision bf16 && fail 6 "--precision bf16 was accepted on a CPU without bfloat16 products"
  tail -n 1 train.log | grep -q "AVX512-BF16" || fail 6 "the refusal does not name the CPU feature: $(tail -n 1 train.log)"
  [ "$before" = "$(snapshot)" ] || fail 6 "a refused --precision bf16 changed the run folder"
else
  [ "$(precision)" = "f32" ] || fail 6 "config.json records precision $(precision), not f32"
  train --epochs 4 --resume --precision bf16 || { cat train.log; fail 6 "an f32 run did not resume in bf16"; }
  [ "$(precision)" = "bf16" ] || fail 6 "config.json records precision $(precision) after a bf16 resume"
  train --epochs 5 --resume --precision f32 || { cat train.log; fail 6 "a bf16 run did not resume in f32"; }
  [ "$(precision)" = "f32" ] || fail 6 "config.json records precision $(precision) after an f32 resume"
  "$g2p" --out run --data "$data" evaluate > eval.log 2>&1 || fail 6 "the resumed run does not load: $(tail -n 1 eval.log)"
fi
[ $failures -eq 0 ] && echo "run_folder_guard: ok"
[ $failures -eq 0 ]
