#!/usr/bin/env bash
# Ctrl-C loses no work: SIGINT to a `seq2seq train` run that has trained a little must end it after
# its current step with exit status 130, one line on stderr saying so, and last.ckpt saved (timed
# saves with --save-every in between); finishing it with --resume must give bitwise the
# uninterrupted run: the same checkpoints, byte for byte, and the same metrics records (timing
# fields aside). SIGTERM does the same with exit status 143.
# EPOCHS sizes the training for the build (fewer under the sanitizers); TIME_LIMIT (CTest's
# timeout) bounds the waits.
# Usage: interrupt_resume.sh BIN_DIR SOURCE_DIR WORK_DIR EPOCHS TIME_LIMIT
set -uo pipefail
bin=$1 src=$2 work=$3 epochs=$4 time_limit=$5
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "interrupt_resume: $*" >&2; exit 1; }
source "$src/tests/programs/training_run.sh"

"$bin/seq2seq" train --run whole "${args[@]}" > whole.log 2>&1 || { cat whole.log; fail "the uninterrupted run failed"; }

# Starts a run in the background, waits until it has written its first metrics record (an epoch
# trained and validated), sends signal $2, and checks the exit status $3 and the message.
interrupt() {
  local run=$1 signal=$2 expected=$3
  # --save-every 0.001 (every 60 ms): timed saves must change nothing in the resumed result.
  "$bin/seq2seq" train --run "$run" "${args[@]}" --save-every 0.001 > "$run.log" 2> "$run.err" &
  local pid=$! waited=0
  until [ -s "$run/metrics.jsonl" ]; do
    kill -0 $pid 2> /dev/null || { cat "$run.log" "$run.err"; fail "$run: the run ended before it was interrupted"; }
    sleep 0.1
    waited=$((waited + 1))
    [ $waited -lt $((time_limit * 5)) ] || { kill -KILL $pid; fail "$run: no metrics record after $((time_limit / 2))s"; }
  done
  kill -"$signal" $pid
  wait $pid
  local rc=$?
  [ $rc -eq "$expected" ] || { cat "$run.err"; fail "$run: exit status $rc after SIG$signal, not $expected"; }
  # (before it, stderr holds the data reader's report of the file's repeated pairs)
  tail -n 1 "$run.err" | grep -q "^seq2seq: interrupted by SIG$signal at step [0-9]*; .*last.ckpt saved; continue with --resume$" ||
    { cat "$run.err"; fail "$run: the last line on stderr does not say that SIG$signal stopped it"; }
  [ "$(grep -c interrupted "$run.err")" -eq 1 ] || { cat "$run.err"; fail "$run: more than one line about the interruption"; }
  [ -f "$run/checkpoints/last.ckpt" ] || fail "$run: no last.ckpt after SIG$signal"
  echo "$run: $(tail -n 1 "$run.err")"
}

interrupt stopped INT 130
"$bin/seq2seq" train --run stopped "${args[@]}" --resume >> stopped.log 2>&1 || { tail stopped.log; fail "--resume failed"; }
expect_same_as whole stopped "resumed after SIGINT"

interrupt terminated TERM 143
echo "interrupt_resume: ok"
