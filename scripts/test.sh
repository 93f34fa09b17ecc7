#!/usr/bin/env bash
# Builds seqgrad and runs every test twice: an optimized build in build/, then a build under
# AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/. Then the guards against what those
# tests cannot reach, malformed input and data races: the libFuzzer harnesses of the readers (clang,
# build-fuzz/, a bounded time each) and the multi-threaded tests under ThreadSanitizer (build-tsan/).
# Exits non-zero on any failure.
#
#   bash scripts/test.sh                      # every stage
#   SEQGRAD_SKIP_ASAN=1 bash scripts/test.sh  # without the ASan build (likewise SEQGRAD_SKIP_FUZZ,
#                                             # SEQGRAD_SKIP_TSAN; all three: a quicker local check)
#   SEQGRAD_FUZZ_SECONDS=300 bash ...         # each fuzzer longer than the default 30 s
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

bash scripts/setup.sh
jobs=$(nproc)

# build_and_test DIR: builds everything in DIR and runs its tests, timing both.
build_and_test() {
  local dir=$1 start=$SECONDS
  cmake --build "$dir" -j "$jobs"
  echo "test.sh: $dir built in $((SECONDS - start)) s"
  start=$SECONDS
  (cd "$dir" && ctest --output-on-failure -j "$jobs")
  echo "test.sh: $dir tests ran in $((SECONDS - start)) s"
}

echo "== optimized build (build/)"
seqgrad_configure build -DCMAKE_BUILD_TYPE=Release
build_and_test build

if [ "${SEQGRAD_SKIP_ASAN:-0}" != 1 ]; then
  echo "== AddressSanitizer + UBSan build (build-asan/)"
  # -O1 keeps the tests quick; -g1 (line tables: reports still name file and line) compiles the
  # xtensor-heavy translation units in about 2/3 the time of -g. Benchmarks are not tests and are
  # not built here; the examples are (they run as tests).
  seqgrad_configure build-asan -DSEQGRAD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DSEQGRAD_BUILD_BENCH=OFF -DSEQGRAD_BUILD_EXAMPLES=ON
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}  # -fno-sanitize-recover makes UB fatal
  # Pooled buffers are reused, so ASan cannot see an op read memory it never wrote; filled with
  # NaN bytes here, such a read fails the tests instead.
  export SEQGRAD_POISON_BUFFERS=1
  # fontconfig (under cairo, in the pictures library) keeps its configuration for the process's
  # life: one-off allocations that LeakSanitizer would report from every program that draws.
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
  build_and_test build-asan
fi

if [ "${SEQGRAD_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== libFuzzer harnesses (build-fuzz/)"
  # Only the harnesses and what they link (no tests, benchmarks or programs). -O1 -g1 as for ASan.
  start=$SECONDS
  seqgrad_configure build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DSEQGRAD_FUZZ=ON -DSEQGRAD_GEMM=openblas -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DSEQGRAD_BUILD_TESTS=OFF -DSEQGRAD_BUILD_BENCH=OFF -DSEQGRAD_BUILD_EXAMPLES=ON
  cmake --build build-fuzz --target fuzzers -j "$jobs"
  echo "test.sh: build-fuzz built in $((SECONDS - start)) s"
  start=$SECONDS
  bash tests/fuzz/run_fuzzers.sh build-fuzz "${SEQGRAD_FUZZ_SECONDS:-30}"
  echo "test.sh: fuzzers ran in $((SECONDS - start)) s"
fi

if [ "${SEQGRAD_SKIP_TSAN:-0}" != 1 ]; then
  echo "== ThreadSanitizer: the multi-threaded tests (build-tsan/)"
  # One test program (data parallelism, the trainer, parallel_blocks), not the whole project; see
  # tests/tsan/README.md for oneTBB and OpenBLAS.
  start=$SECONDS
  if command -v ccache >/dev/null 2>&1; then export CMAKE_CXX_COMPILER_LAUNCHER=ccache; fi
  bash tests/tsan/build_onetbb.sh build-tsan/onetbb  # libtbb under TSan (once)
  echo "test.sh: oneTBB under TSan ready in $((SECONDS - start)) s"
  start=$SECONDS
  seqgrad_configure build-tsan -DSEQGRAD_TSAN=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DSEQGRAD_BUILD_BENCH=OFF -DSEQGRAD_BUILD_EXAMPLES=OFF -DTBB_DIR="$PWD/build-tsan/onetbb/lib/cmake/TBB"
  cmake --build build-tsan --target seqgrad_tsan_tests -j "$jobs"
  echo "test.sh: build-tsan built in $((SECONDS - start)) s"
  start=$SECONDS
  # No suppressions: with oneTBB instrumented there is nothing to suppress. halt_on_error: the
  # first report fails the stage (exit status 66).
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/bin/seqgrad_tsan_tests
  echo "test.sh: TSan tests ran in $((SECONDS - start)) s"
fi
echo "test.sh: all tests passed"
