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
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
if [[ ! -x "$BUILD/bin/bench_workloads" || ! -x "$BUILD/bin/plot_metrics" ]]; then
  cmake --build "$BUILD" -j "$(nproc)" --target bench_workloads plot_metrics
fi
mkdir -p "$OUT_DIR"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for ((t = 1; t <= MAX; t++)); do
  echo "scaling.sh: $t thread(s)" >&2
  SEQGRAD_THREADS=$t OPENBLAS_NUM_THREADS=$t "$BUILD/bin/bench_workloads" --benchmark_min_time="$MIN_TIME" \
    --benchmark_out="$tmp/threads_$t.json" --benchmark_out_format=json > /dev/null
done

python3 "$ROOT/bench/scaling_report.py" "$tmp" "$OUT_DIR" "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" \
  | tee "$tmp/report"
tail -n 1 "$tmp/report" > "$tmp/names"
"$BUILD/bin/plot_metrics" ]]; then
  cmake --build "$BUILD" -j "$(nproc)" --target bench_workloads plot_metrics
fi
mkdir -p "$OUT_DIR"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for ((t = 1; t <= MAX; t++)); do
  echo "scaling.sh: $t thread(s)" >&2
  SEQGRAD_THREADS=$t OPENBLAS_NUM_THREADS=$t "$BUILD/bin/bench_workloads" --benchmark_min_time="$MIN_TIME" \
    --benchmark_out="$tmp/threads_$t.json" --benchmark_out_format=json > /dev/null
done

# One JSON line per thread count: {"threads": t, "<workload>": speed-up over 1 thread, ...}
python3 - "$tmp" "$MAX" "$OUT_DIR" "$(nproc)" <<'PY'
import json, sys, pathlib
tmp, max_threads, out_dir, cores = pathlib.Path(sys.argv[1]), int(sys.argv[2]), pathlib.Path(sys.argv[3]), sys.argv[4]
rates = {}
for t in range(1, max_threads + 1):
    for b in json.loads((tmp / f"threads_{t}.json").read_text())["benchmarks"]:
        name = b["name"].split("/")[0]
        rates.setdefault(name, {})[t] = b["items_per_second"]
names = sorted(rates)
with open(out_dir / "scaling.jsonl", "w") as f:
    for t in range(1, max_threads + 1):
        f.write(json.dumps({"threads": t, **{n: rates[n][t] / rates[n][1] for n in names}}) + "\n")
lines = [f"Thread scaling on {cores} cores (target tokens/s; speed-up over 1 thread)", "",
         "| threads | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
for t in range(1, max_threads + 1):
    lines.append(f"| {t} | " + " | ".join(f"{rates[n][t]:,.0f} ({rates[n][t] / rates[n][1]:.2f}x)" for n in names) + " |")
(out_dir / "scaling.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
print(",".join(names), file=open(tmp / "names", "w"))
PY
"$BUILD/bin/plot_metrics" "$OUT_DIR/scaling.jsonl" "$OUT_DIR/scaling.png" --x threads --y "$(cat "$tmp/names")" \
  --title "speed-up over 1 thread" --xlabel threads --ylabel speed-up --ymin 0 --markers
echo "scaling.sh: wrote $OUT_DIR/scaling.md and $OUT_DIR/scaling.png"
