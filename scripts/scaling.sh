#!/usr/bin/env bash
# Thread scaling of the three benchmark workloads: runs bench_workloads at 1, 2, ... up to the cores
# present (or --max N), and writes the speed-up over 1 thread per workload as a table
# (bench/results/scaling.md) and a plot (bench/results/scaling.png).
#
#     scripts/scaling.sh [--max N] [--min-time S] [--build-dir DIR] [--out-dir DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build" OUT_DIR="$ROOT/bench/results" MAX=$(nproc) MIN_TIME=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --max) MAX="$2"; shift 2 ;;
    --min-time) MIN_TIME="$2"; shift 2 ;;
    --build-dir) BUILD="$(realpath -m "$2")"; shift 2 ;;
    --out-dir) OUT_DIR="$(realpath -m "$2")"; shift 2 ;;
    *) echo "scaling.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ ! -x "$BUILD/bin/bench_workloads" || ! -x "$BUILD/bin/plot_metrics" ]]; then
  cmake --build "$BUILD" -j "$(nproc)" --target bench_workloads plot_metrics
fi
mkdir -p "$OUT_DIR"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for ((t = 1; t <= MAX; t++)); do
  echo "scaling.sh: $t thread(s)" >&2
  SEQGRAD_THREADS=$t "$BUILD/bin/bench_workloads" --benchmark_min_time="$MIN_TIME" \
    --benchmark_out="$tmp/threads_$t.json" --benchmark_out_format=json > /dev/null
done

source "$ROOT/scripts/common.sh"
machine="$(nproc) cores, $(seqgrad_processor)"
python3 "$ROOT/bench/scaling_report.py" "$tmp" "$OUT_DIR" "$machine" | tee "$tmp/report"
"$BUILD/bin/plot_metrics" "$OUT_DIR/scaling.jsonl" "$OUT_DIR/scaling.png" --x threads --y "$(tail -n 1 "$tmp/report")" \
  --title "speed-up over 1 thread ($machine)" --xlabel threads --ylabel speed-up --ymin 0 --markers --overwrite
echo "scaling.sh: wrote $OUT_DIR/scaling.md and $OUT_DIR/scaling.png"
