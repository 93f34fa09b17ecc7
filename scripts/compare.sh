#!/usr/bin/env bash
# seqgrad against PyTorch on the three benchmark workloads, side by side in one run:
#
#     scripts/compare.sh                 # build (Release), run, print the table, write bench/results/compare.md
#     scripts/compare.sh --memory 2000   # also run each workload 2000 steps and check that RSS stays flat
#
# Options: --rounds N (default 2: every configuration runs N times, interleaved; the best round
# counts), --min-time S (seconds per measurement, default 2), --memory STEPS (default off),
# --build-dir DIR (default build), --workloads "a b" (default all three), --out FILE.
#
# Workloads (bench/workloads.hpp and bench/pytorch_reference.py build the same models on the same
# kind of data): one full training step (forward, backward, Adam) each; throughput in target tokens/s.
# seqgrad runs at 1 thread and at all cores; PyTorch at every thread count from 1 to all cores, and
# the table compares against PyTorch's best. A thread count t means, for seqgrad, SEQGRAD_THREADS=t
# (bench/workloads.hpp passes it to seqgrad::set_num_threads: oneTBB and OpenBLAS) and
# OPENBLAS_NUM_THREADS=t; for PyTorch, torch.set_num_threads(t) and OPENBLAS_NUM_THREADS=t and
# OMP_NUM_THREADS=t (PyTorch's matmuls go to the same OpenBLAS, whose own pool would otherwise use
# every core whatever torch.set_num_threads says).
#
# The machine may be shared: the load average before and after is printed with the table, and the
# ratios come from measurements interleaved in this one run. PyTorch is Debian's python3-torch,
# found by /usr/bin/python3 (another python3 on PATH may not see it; override with PYTHON=...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
ROUNDS=2
MIN_TIME=2
MEMORY_STEPS=0
WORKLOADS="seq2seq_b64_h256 seq2seq_b1_h64 mhsa_b16_t64_d256"
OUT="$ROOT/bench/results/compare.md"
PYTHON="${PYTHON:-/usr/bin/python3}"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --min-time) MIN_TIME="$2"; shift 2 ;;
    --memory) MEMORY_STEPS="$2"; shift 2 ;;
    --build-dir) BUILD="$(realpath -m "$2")"; shift 2 ;;
    --workloads) WORKLOADS="$2"; shift 2 ;;
    --out) OUT="$(realpath -m "$2")"; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

CORES="$(nproc)"
THREAD_COUNTS="1"
[[ "$CORES" -gt 1 ]] && THREAD_COUNTS="1 $CORES"

if ! "$PYTHON" -c "import torch" 2>/dev/null; then
  echo "compare.sh: $PYTHON cannot import torch (apt-get install python3-torch, or set PYTHON=...)" >&2
  exit 1
fi

# ---- build (Release) ----
GENERATOR=()
if [[ ! -f "$BUILD/CMakeCache.txt" ]] && command -v ninja >/dev/null; then GENERATOR=(-G Ninja); fi
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
echo "== building bench_workloads and workload_memory (Release) in $BUILD"
cmake -S "$ROOT" -B "$BUILD" "${GENERATOR[@]}" "${LAUNCHER[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$CORES" --target bench_workloads workload_memory >/dev/null

RAW="$(mktemp -d)"
trap 'rm -rf "$RAW"' EXIT
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== measuring (load average $LOAD_BEFORE; $CORES cores; $ROUNDS rounds of ${MIN_TIME}s per configuration)"

for round in $(seq 1 "$ROUNDS"); do
  for w in $WORKLOADS; do
    for t in $THREAD_COUNTS; do
      echo "   round $round  $w  seqgrad  threads $t"
      SEQGRAD_THREADS="$t" OPENBLAS_NUM_THREADS="$t" "$BUILD/bin/bench_workloads" \
        --benchmark_filter="^${w}/" --benchmark_min_time="$MIN_TIME" \
        --benchmark_out="$RAW/seqgrad.$w.t$t.r$round.json" --benchmark_out_format=json >/dev/null
    done
    for t in $(seq 1 "$CORES"); do
      echo "   round $round  $w  pytorch  threads $t"
      OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" "$PYTHON" "$ROOT/bench/pytorch_reference.py" \
        --workload "$w" --threads "$t" --steps 5 --warmup 3 --min-seconds "$MIN_TIME" \
        >"$RAW/pytorch.$w.t$t.r$round.json"
    done
  done
done

if [[ "$MEMORY_STEPS" -gt 0 ]]; then
  for w in $WORKLOADS; do
    echo "   memory  $w  $MEMORY_STEPS steps (1 thread)"
    # exit status 3 means growth over 5%: recorded in the table, not fatal here
    SEQGRAD_THREADS=1 OPENBLAS_NUM_THREADS=1 "$BUILD/bin/workload_memory" "$w" "$MEMORY_STEPS" --json \
      >"$RAW/memory.$w.json" || [[ $? -eq 3 ]]
  done
fi
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$(dirname "$OUT")"
"$PYTHON" - "$RAW" "$OUT" "$LOAD_BEFORE" "$LOAD_AFTER" "$CORES" "$WORKLOADS" <<'EOF'
import glob, json, os, platform, subprocess, sys, time

raw, out, load_before, load_after, cores, workloads = sys.argv[1:7]
cores = int(cores)
workloads = workloads.split()
TARGETS = {"seq2seq_b64_h256": 2.0, "seq2seq_b1_h64": 10.0, "mhsa_b16_t64_d256": 1.5}


def seqgrad_runs(w, t):
    runs = []
    for path in glob.glob(f"{raw}/seqgrad.{w}.t{t}.r*.json"):
        for b in json.load(open(path))["benchmarks"]:
            runs.append({"tokens_per_second": b["items_per_second"], "ms_per_step": b["real_time"],
                         "cpu_ms_per_step": b["cpu_time"], "peak_rss_kib": b["peak_rss_kib"], "threads": t})
    return runs


def pytorch_runs(w, t):
    runs = []
    for path in glob.glob(f"{raw}/pytorch.{w}.t{t}.r*.json"):
        for line in open(path):
            if line.strip():
                runs.append(json.loads(line))
    return runs


def best(runs):  # the best round: the one least disturbed by other load
    return max(runs, key=lambda r: r["tokens_per_second"]) if runs else None


def tok(r):
    return f"{r['tokens_per_second']:,.0f}" if r else "-"


def mib(kib):
    return f"{kib / 1024:.0f} MiB"


rows, details = [], []
for w in workloads:
    sg = {t: best(seqgrad_runs(w, t)) for t in sorted({1, cores})}
    pt = {t: best(pytorch_runs(w, t)) for t in range(1, cores + 1)}
    sg_best = best([r for r in sg.values() if r])
    pt_best = best([r for r in pt.values() if r])
    ratio = sg_best["tokens_per_second"] / pt_best["tokens_per_second"]
    ratio_1 = sg[1]["tokens_per_second"] / pt[1]["tokens_per_second"]
    cpu_ratio_1 = pt[1]["cpu_ms_per_step"] / sg[1]["cpu_ms_per_step"]
    target = TARGETS.get(w)
    verdict = "-" if target is None else (f">= {target:g}x: met" if ratio >= target else f">= {target:g}x: MISSED")
    rows.append(f"| {w} | {tok(sg[1])} | {tok(sg[cores])} | {tok(pt[1])} | {tok(pt_best)} ({pt_best['threads']}) | "
                f"**{ratio:.2f}x** | {ratio_1:.2f}x | {cpu_ratio_1:.2f}x | {mib(sg_best['peak_rss_kib'])} | "
                f"{mib(pt_best['peak_rss_kib'])} | {verdict} |")
    for name, table in (("seqgrad", sg), ("pytorch", pt)):
        for t, r in table.items():
            if r:
                details.append(f"| {w} | {name} | {t} | {r['ms_per_step']:.3f} | {r['cpu_ms_per_step']:.3f} | {tok(r)} |")

memory = []
for w in workloads:
    path = f"{raw}/memory.{w}.json"
    if os.path.exists(path) and os.path.getsize(path):
        m = json.load(open(path))
        flat = "flat" if m["growth_after_100"] <= 0.05 else "GROWS"
        memory.append(f"| {w} | {m['steps']} | {mib(m['rss_after_100_kib'])} | {mib(m['rss_end_kib'])} | "
                      f"{100 * m['growth_after_100']:+.2f}% | {mib(m['peak_rss_kib'])} | {flat} |")

try:
    torch_version = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                                   capture_output=True, text=True).stdout.strip()
except OSError:
    torch_version = "?"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
lines = [
    "# seqgrad vs PyTorch",
    "",
    f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} by scripts/compare.sh on {cpu}, {cores} cores; "
    f"PyTorch {torch_version}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}. "
    f"Load average {load_before} before, {load_after} after (other jobs share this machine: "
    "compare ratios, not absolute figures, and only within one run).",
    "",
    "Target tokens per second of one training step (forward, backward, Adam), best of the rounds. "
    "Ratio = seqgrad's best thread setting over PyTorch's best thread count (in parentheses). "
    "The 1-thread ratios (real time, and CPU time of the whole process) are less exposed to other load.",
    "",
    f"| workload | seqgrad 1 thread | seqgrad {cores} threads | PyTorch 1 thread | PyTorch best (threads) | "
    "seqgrad / PyTorch | at 1 thread | at 1 thread, CPU time | peak RSS seqgrad | peak RSS PyTorch | target |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    *rows,
    "",
    "Every measurement (best round): ms per step in real time and in process CPU time.",
    "",
    "| workload | framework | threads | ms/step | CPU ms/step | tokens/s |",
    "|---|---|---:|---:|---:|---:|",
    *details,
]
if memory:
    lines += ["", "Memory of seqgrad over a long run (workload_memory, 1 thread): resident set after step 100 "
              "and at the end; flat = no growth beyond 5%.", "",
              "| workload | steps | RSS after 100 | RSS at end | growth | peak RSS | verdict |",
              "|---|---:|---:|---:|---:|---:|---|", *memory]
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print(text)
print(f"(written to {out})")
EOF
