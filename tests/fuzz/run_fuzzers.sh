#!/usr/bin/env bash
# Runs every libFuzzer harness of a SEQGRAD_FUZZ build for a bounded time, two at a time, and fails
# on any crash, leak, sanitizer report, timeout or refused-wrongly input (the harness aborts).
#
#   tests/fuzz/run_fuzzers.sh BUILD_DIR [SECONDS_EACH]     (default 30 s each)
#
# Each fuzzer starts from the committed seeds (tests/fuzz/corpus/NAME), the inputs that once failed
# (tests/fuzz/regressions/NAME) and what earlier runs in BUILD_DIR found (BUILD_DIR/fuzz-corpus/NAME,
# where new inputs go; the repository is never written). A failing input is left in
# BUILD_DIR/fuzz-artifacts/NAME/: once fixed, commit it under tests/fuzz/regressions/NAME/, where
# the replay tests of the normal builds run it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=${1:?usage: run_fuzzers.sh BUILD_DIR [SECONDS_EACH]}
seconds=${2:-30}
names=(safetensors cmudict tsv vocab_text vocab_json metrics_log)

symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
if [ -n "$symbolizer" ]; then export ASAN_SYMBOLIZER_PATH=$symbolizer; fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Valid weights and checkpoints in the format the library writes now, beside the committed seeds.
mkdir -p "$build/fuzz-corpus/safetensors"
SEQGRAD_FUZZ_WRITE_SEEDS="$build/fuzz-corpus/safetensors" "$build/bin/fuzz_safetensors"

run_one() {
  local name=$1 corpus=$build/fuzz-corpus/$1 log=$build/fuzz-logs/$1.log
  mkdir -p "$corpus" "$build/fuzz-artifacts/$name" "$build/fuzz-logs"
  local dirs=("$corpus" "tests/fuzz/corpus/$name")
  if [ -d "tests/fuzz/regressions/$name" ]; then dirs+=("tests/fuzz/regressions/$name"); fi
  # -timeout: one input taking 10 s is a finding; -rss_limit_mb/-malloc_limit_mb: so is 1 GB of
  # memory (or one allocation of 256 MB) for an input of at most -max_len bytes.
  "$build/bin/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=256 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$name/" "${dirs[@]}" >"$log" 2>&1
}

report() {
  local name=$1 status=$2 log=$build/fuzz-logs/$1.log
  local runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" -eq 0 ]; then
    echo "fuzz: $name: ${runs:-?} executions in ${seconds} s, nothing found"
  else
    echo "fuzz: $name FAILED (exit $status, ${runs:-?} executions); the end of $log:"
    tail -n 60 "$log"
    ls "$build/fuzz-artifacts/$name/"
    failed=1
  fi
}

failed=0
for ((i = 0; i < ${#names[@]}; i += 2)); do
  a=${names[i]} b=${names[i + 1]:-}
  run_one "$a" & pa=$!
  if [ -n "$b" ]; then run_one "$b" & pb=$!; fi
  sa=0; wait "$pa" || sa=$?
  report "$a" "$sa"
  if [ -n "$b" ]; then
    sb=0; wait "$pb" || sb=$?
    report "$b" "$sb"
  fi
done
exit "$failed"
