#!/usr/bin/env bash
# Builds seqgrad and runs every test twice: an optimized build in build/, then a build under
# AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/. Exits non-zero on any failure.
#
#   bash scripts/test.sh                      # both builds
#   SEQGRAD_SKIP_ASAN=1 bash scripts/test.sh  # the optimized build only (a quicker local check)
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
echo "test.sh: all tests passed"
