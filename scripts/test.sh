#!/usr/bin/env bash
# Builds seqgrad and runs every test twice: an optimized build in build/, then a build under
# AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/ (clang). Then the guards against
# what those tests cannot reach, malformed input and data races: the libFuzzer harnesses of the
# readers (built in build-asan/ too, a bounded time each) and the multi-threaded tests under
# ThreadSanitizer (build-tsan/).
# Exits non-zero on any failure; ends with each stage's time.
#
#   bash scripts/test.sh                      # every stage
#   SEQGRAD_SKIP_ASAN=1 bash scripts/test.sh  # without the ASan tests (likewise SEQGRAD_SKIP_FUZZ,
#                                             # SEQGRAD_SKIP_TSAN; all three: a quicker local check
#                                             # that builds nothing but build/)
#   SEQGRAD_FUZZ_SECONDS=300 bash ...         # each fuzzer longer than the default 30 s
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

jobs=$(nproc)
stage_times=()
# timed NAME COMMAND...: runs COMMAND and keeps its wall time for the summary at the end.
timed() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  stage_times+=("$(printf '%-24s %5d s' "$name" $((SECONDS - start)))")
  echo "test.sh: $name: $((SECONDS - start)) s"
}
summary() {
  echo "test.sh: stage times (wall, $(nproc) cores, $(seqgrad_processor)):"
  printf '  %s\n' "${stage_times[@]}"
}
trap 'summary' EXIT

timed setup bash scripts/setup.sh
# ctest in the build folder, every test, as many at a time as there are cores.
run_tests() { (cd "$1" && ctest --output-on-failure -j "$jobs"); }

echo "== optimized build (build/)"
seqgrad_configure build -DCMAKE_BUILD_TYPE=Release
timed "build/ build" cmake --build build -j "$jobs"
timed "build/ tests" run_tests build

# The instrumented builds are compiled once per run and never profiled: unity builds (each
# target's sources compiled a few at a time as one translation unit) parse the shared headers
# (GoogleTest, the standard library, xtensor) once per batch instead of once per file.
unity=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8)

# fresh_unless_clang DIR: removes a build folder that an older test.sh configured with g++ (the
# compiler of a build folder is fixed when it is configured).
fresh_unless_clang() {
  if [ -f "$1/CMakeCache.txt" ] && ! grep -q '^CMAKE_CXX_COMPILER:.*clang' "$1/CMakeCache.txt"; then rm -rf "$1"; fi
}

# The sanitizer build is clang's: it compiles this code in two thirds of g++'s time under the
# sanitizers, its programs start in half the time (the ASan stage starts some 700), and libFuzzer
# comes with it, so the one build also holds the fuzzers (the release build stays g++'s).
asan_build() {
  fresh_unless_clang build-asan
  local fuzz=ON
  if [ "${SEQGRAD_SKIP_FUZZ:-0}" = 1 ]; then fuzz=OFF; fi
  # -O1 keeps the tests quick; -g1 (line tables: reports still name file and line) compiles the
  # xtensor-heavy translation units in about 2/3 the time of -g. Benchmarks are not tests and are
  # not built here; the examples are (they run as tests).
  seqgrad_configure build-asan -DCMAKE_CXX_COMPILER=clang++-14 -DSEQGRAD_SANITIZE=ON -DSEQGRAD_FUZZ=$fuzz \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DSEQGRAD_BUILD_BENCH=OFF -DSEQGRAD_BUILD_EXAMPLES=ON \
    "${unity[@]}"
  timed "build-asan/ build" cmake --build build-asan -j "$jobs" "$@"
}

if [ "${SEQGRAD_SKIP_ASAN:-0}" != 1 ]; then
  echo "== AddressSanitizer + UBSan build (build-asan/, clang), the fuzzers' build too"
  asan_build
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}  # -fno-sanitize-recover makes UB fatal
  # Pooled buffers are reused, so ASan cannot see an op read memory it never wrote; filled with
  # NaN bytes here, such a read fails the tests instead.
  export SEQGRAD_POISON_BUFFERS=1
  # fontconfig (under cairo, in the pictures library) keeps its configuration for the process's
  # life: one-off allocations that LeakSanitizer would report from every program that draws.
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
  timed "build-asan/ tests" run_tests build-asan
fi

if [ "${SEQGRAD_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== libFuzzer harnesses (build-asan/bin/fuzz_*)"
  if [ "${SEQGRAD_SKIP_ASAN:-0}" = 1 ]; then asan_build --target fuzzers; fi
  timed "fuzzers" bash tests/fuzz/run_fuzzers.sh build-asan "${SEQGRAD_FUZZ_SECONDS:-30}"
fi

if [ "${SEQGRAD_SKIP_TSAN:-0}" != 1 ]; then
  echo "== ThreadSanitizer: the multi-threaded tests (build-tsan/)"
  # One test program (data parallelism, the trainer, parallel_blocks), not the whole project; see
  # tests/tsan/README.md for oneTBB and OpenBLAS.
  # clang, as for ASan: a third less time for oneTBB, the build and the tests than with g++ (whose
  # TSan runtime cannot share a process with clang's: an older build-tsan/ goes, its oneTBB too).
  fresh_unless_clang build-tsan
  if command -v ccache >/dev/null 2>&1; then export CMAKE_CXX_COMPILER_LAUNCHER=ccache; fi
  CC=clang-14 CXX=clang++-14 timed "oneTBB under TSan" bash tests/tsan/build_onetbb.sh build-tsan/onetbb  # once
  seqgrad_configure build-tsan -DCMAKE_CXX_COMPILER=clang++-14 -DSEQGRAD_TSAN=ON -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DSEQGRAD_BUILD_BENCH=OFF -DSEQGRAD_BUILD_EXAMPLES=OFF -DTBB_DIR="$PWD/build-tsan/onetbb/lib/cmake/TBB" "${unity[@]}"
  timed "build-tsan/ build" cmake --build build-tsan --target seqgrad_tsan_tests -j "$jobs"
  # No suppressions: with oneTBB instrumented there is nothing to suppress. halt_on_error: the
  # first report fails the stage (exit status 66).
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" timed "TSan tests" build-tsan/bin/seqgrad_tsan_tests
fi
echo "test.sh: all tests passed"
