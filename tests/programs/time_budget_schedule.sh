#!/usr/bin/env bash
# A run whose time budget ends long before its epochs: the end of its schedule moves onto the budget,
# the log says so in one line, the run ends by its schedule ("schedule_end", not "time_budget") and
# the learning rate of its last step is 0. Which step that is depends on the machine's speed; that it
# ends cooled does not. Usage: time_budget_schedule.sh BIN_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "time_budget_schedule: $*" >&2; exit 1; }
"$bin/seq2seq" train --run run --train "$src/examples/seq2seq/data/reverse.tsv" --hidden 16 --embedding 8 --batch 32 \
  --shard 16 --threads 2 --epochs 100000 --minutes 0.05 --warmup 20 --cooldown 0.2 > train.log 2>&1 \
  || { cat train.log; fail "train failed"; }
replanned=$(grep -c "^schedule re-planned onto the time budget" train.log || true)
[ "$replanned" -eq 1 ] || { cat train.log; fail "expected one line saying the schedule was re-planned, got $replanned"; }
grep -q "stopped by schedule_end$" train.log || { tail -n 5 train.log; fail "the run did not end by its schedule"; }
python3 - <<'PY' || fail "the learning rate did not reach 0 at the last step"
import json
records = [json.loads(l) for l in open("run/metrics.jsonl")]
lr = [(r["step"], r["lr"]) for r in records if "lr" in r]
last_step = max(r["step"] for r in records)
assert lr and lr[-1] == (last_step, 0.0), (lr[-3:], last_step)
assert all(a[1] > 0 for a in lr[:-1]), "a rate of 0 before the last step"
PY
echo "time_budget_schedule: ok ($(grep -o 'trained [0-9]* steps' train.log))"
