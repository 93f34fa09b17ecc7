#!/usr/bin/env bash
# The kill test: SIGKILL a `seq2seq train` run at several seeded moments; each time the
# folder must stay loadable (or refuse cleanly when no checkpoint was saved yet), and finishing it
# with --resume (--overwrite when no last.ckpt was saved) must give bitwise the uninterrupted run:
# the same checkpoints, byte for byte, and the same metrics records (timing fields aside).
# EPOCHS sizes the training for the build (fewer under the sanitizers); the number of kills (2 to 5)
# is then fitted from the uninterrupted run's time into half of TIME_LIMIT (CTest's timeout), so a
# slow or loaded machine tests fewer moments instead of timing out.
# Usage: kill_resume.sh BIN_DIR SOURCE_DIR WORK_DIR EPOCHS TIME_LIMIT [SEED]
set -uo pipefail
bin=$1 src=$2 work=$3 epochs=$4 time_limit=$5 seed=${6:-7}
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "kill_resume: $*" >&2; exit 1; }
source "$src/tests/programs/training_run.sh"

start=$(date +%s.%N)
"$bin/seq2seq" train --run whole "${args[@]}" > whole.log 2>&1 || { cat whole.log; fail "the uninterrupted run failed"; }
duration=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
echo "uninterrupted run: ${duration}s"

# A round (the killed part, evaluate, the rest) costs about 1.3 uninterrupted runs.
kills=$(awk -v d="$duration" -v t="$time_limit" 'BEGIN { n = int(0.5 * t / (1.3 * d)); print (n < 2 ? 2 : n > 5 ? 5 : n) }')
# Seeded kill moments over the run's length (setup included: reading, folder, first steps).
read -r -a moments <<< "$(awk -v s="$seed" -v d="$duration" -v n="$kills" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%.3f ", (0.05 + 0.9 * rand()) * d }')"
round=0
for moment in "${moments[@]}"; do
  round=$((round + 1))
  run=killed$round
  "$bin/seq2seq" train --run "$run" "${args[@]}" > "$run.log" 2>&1 &
  pid=$!
  sleep "$moment"
  kill -KILL $pid 2> /dev/null
  wait $pid 2> /dev/null
  state="no last.ckpt"
  if [ -f "$run/checkpoints/last.ckpt" ]; then
    state="last.ckpt"
    # The folder loads: evaluate reads config, vocabularies and best.ckpt and checks their binding.
    "$bin/seq2seq" evaluate --run "$run" --data "$data" > "$run.eval.log" 2>&1 || { cat "$run.eval.log"; fail "round $round: the killed folder does not load"; }
    mode=--resume
  else
    mode=--overwrite
    if [ -d "$run" ]; then  # what a kill before the first checkpoint left must be refused cleanly, not crash
      "$bin/seq2seq" evaluate --run "$run" --data "$data" > "$run.eval.log" 2>&1
      rc=$?
      [ $rc -ne 0 ] && [ $rc -lt 128 ] || fail "round $round: evaluate of a folder without checkpoints: exit $rc"
    fi
  fi
  echo "round $round: killed after ${moment}s ($state); finishing with $mode"
  "$bin/seq2seq" train --run "$run" "${args[@]}" $mode >> "$run.log" 2>&1 || { tail "$run.log"; fail "round $round: $mode failed"; }
  expect_same_as whole "$run" "round $round"
done
echo "kill_resume: ok (${#moments[@]} kills)"
