#!/usr/bin/env bash
# Builds and runs the demo program.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

bash scripts/setup.sh
seqgrad_configure build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)" --target custom_op
./build/bin/custom_op "$@"
