#!/usr/bin/env bash
# seqgrad against PyTorch on the three benchmark workloads, side by side in one run:
#
#     scripts/compare.sh                 # build (Release), run, print the table, write bench/results/compare.md
#     scripts/compare.sh --memory 2000   # also run each workload 2000 steps and check that RSS stays flat
#
# Options: --rounds N (default 2: every configuration runs N times, interleaved; the best round
# counts), --min-time S (seconds per measurement, default 2), --memory STEPS (default off),
# --build-dir DIR (default build), --workloads "a b" (default all three), --out FILE, --no-bf16.
#
# Workloads (bench/workloads.hpp and bench/pytorch_reference.py build the same models on the same
# kind of data): one full training step (forward, backward, Adam) each; throughput in target tokens/s.
# seqgrad runs at 1 thread and at all cores; PyTorch at every thread count t from 1 to all cores, each
# with OpenBLAS at t threads and at all cores, and the table compares against PyTorch's best. For
# seqgrad, t threads means SEQGRAD_THREADS=t (bench/workloads.hpp passes it to seqgrad::set_num_threads:
# oneTBB, which also runs the matrix products; the table names seqgrad's GEMM backend). For PyTorch, torch.set_num_threads(t) and
# OMP_NUM_THREADS=t for its own intra-op threads, and OPENBLAS_NUM_THREADS for the OpenBLAS that its
# matmuls call (OpenBLAS keeps its own pool: torch.set_num_threads does not reach it). "torch 1, BLAS
# all cores" is what an unconfigured PyTorch 1.13 does on these machines (its default is one thread here).
#
# bfloat16: on a CPU with bfloat16 products (AVX512-BF16 or AMX-BF16), each workload also runs in
# seqgrad's bf16 mode (bench_workloads --precision bf16) and in PyTorch under torch.autocast("cpu",
# dtype=torch.bfloat16) (pytorch_reference.py --precision bf16), in the same rounds; a second table
# sets them against each other and against both float32 sides, naming both sides' bf16 kernels.
# --no-bf16 leaves these rows out.
#
# The machine may be shared: the load average before and after is printed with the table, and the
# ratios come from measurements interleaved in this one run. PyTorch is Debian's python3-torch,
# found by /usr/bin/python3 (another python3 on PATH may not see it; override with PYTHON=...); when
# it is missing and the default interpreter is used, this script installs it with apt-get.
# PyTorch's matmuls run on OpenBLAS, which picks its kernels from a table of processor models and
# falls back to SSE3 kernels on processors it does not know. Only then, on a CPU with AVX-512, does
# PyTorch's run (and nothing else) get OPENBLAS_CORETYPE=SkylakeX, OpenBLAS's AVX-512 kernels, so that
# seqgrad is compared with PyTorch at its best; the table names the kernels PyTorch ran on. A caller's
# OPENBLAS_CORETYPE is left as it is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
ROUNDS=2
MIN_TIME=2
MEMORY_STEPS=0
BF16=1
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
    --no-bf16) BF16=0; shift ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

CORES="$(nproc)"
THREAD_COUNTS="1"
[[ "$CORES" -gt 1 ]] && THREAD_COUNTS="1 $CORES"

if ! "$PYTHON" -c "import torch" 2>/dev/null && [[ "$PYTHON" == /usr/bin/python3 ]]; then
  echo "== installing python3-torch (Debian) for the PyTorch side"
  "$ROOT/scripts/setup.sh" python3-torch >/dev/null
fi
if ! "$PYTHON" -c "import torch" 2>/dev/null; then
  echo "compare.sh: $PYTHON cannot import torch (apt-get install python3-torch, or set PYTHON=...)" >&2
  exit 1
fi
TORCH_CORETYPE="${OPENBLAS_CORETYPE:-}"  # what PyTorch's run gets; empty: OpenBLAS's own choice
TORCH_KERNELS="${OPENBLAS_CORETYPE:+$OPENBLAS_CORETYPE (set by the caller)}"
if [[ -z "$TORCH_CORETYPE" ]]; then
  # OPENBLAS_VERBOSE=2 makes OpenBLAS print the core it picked ("Core: Cooperlake") when it loads.
  OPENBLAS_PICK="$(OPENBLAS_VERBOSE=2 "$PYTHON" -c 'import torch' 2>&1 >/dev/null | sed -n 's/^Core: //p' | head -n 1 || true)"
  TORCH_KERNELS="(unset; OpenBLAS picked ${OPENBLAS_PICK:-?})"
  if grep -qw avx512f /proc/cpuinfo && [[ ! "$OPENBLAS_PICK" =~ ^(SkylakeX|Cooperlake|SapphireRapids)$ ]]; then
    TORCH_CORETYPE=SkylakeX
    TORCH_KERNELS="SkylakeX (OpenBLAS picked ${OPENBLAS_PICK:-?} on this AVX-512 CPU)"
  fi
fi

# ---- build (Release) ----
cd "$ROOT"  # seqgrad_configure configures the checkout it is run from
source scripts/common.sh
echo "== building bench_workloads and workload_memory (Release) in $BUILD"
seqgrad_configure "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$CORES" --target bench_workloads workload_memory >/dev/null

TORCH_BF16_KERNELS="-"
if [[ "$BF16" -eq 1 ]] && ! "$BUILD/bin/bench_workloads" --precision bf16 --benchmark_list_tests >/dev/null 2>"$BUILD/bf16.refused"; then
  echo "== no bfloat16 rows: $(tail -n 1 "$BUILD/bf16.refused")"
  BF16=0
fi
if [[ "$BF16" -eq 1 ]]; then
  # The kernels PyTorch's autocast products run on: oneDNN names them when ONEDNN_VERBOSE is set.
  TORCH_BF16_KERNELS="$(ONEDNN_VERBOSE=1 "$PYTHON" -c '
import torch
x = torch.rand(64, 256); layer = torch.nn.Linear(256, 256)
with torch.autocast("cpu", dtype=torch.bfloat16):
    torch.matmul(layer(x), x.t())' 2>&1 | awk -F, '$2 == "exec" {print "oneDNN " $5}' | sort -u | paste -sd/ - || true)"
  TORCH_BF16_KERNELS="${TORCH_BF16_KERNELS:-?}"
fi

RAW="$(mktemp -d)"
trap 'rm -rf "$RAW"' EXIT
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== measuring (load average $LOAD_BEFORE; $CORES cores; $ROUNDS rounds of ${MIN_TIME}s per configuration)"

for round in $(seq 1 "$ROUNDS"); do
  for w in $WORKLOADS; do
    for t in $THREAD_COUNTS; do
      echo "   round $round  $w  seqgrad  threads $t"
      SEQGRAD_THREADS="$t" "$BUILD/bin/bench_workloads" \
        --benchmark_filter="^${w}/" --benchmark_min_time="$MIN_TIME" \
        --benchmark_out="$RAW/seqgrad.$w.t$t.r$round.json" --benchmark_out_format=json \
        >/dev/null 2>"$RAW/seqgrad.stderr" || { cat "$RAW/seqgrad.stderr" >&2; exit 1; }
    done
    if [[ "$BF16" -eq 1 ]]; then
      for t in $THREAD_COUNTS; do
        echo "   round $round  $w  seqgrad bf16  threads $t"
        SEQGRAD_THREADS="$t" "$BUILD/bin/bench_workloads" --precision bf16 \
          --benchmark_filter="^${w}/" --benchmark_min_time="$MIN_TIME" \
          --benchmark_out="$RAW/seqgrad_bf16.$w.t$t.r$round.json" --benchmark_out_format=json \
          >/dev/null 2>"$RAW/seqgrad.stderr" || { cat "$RAW/seqgrad.stderr" >&2; exit 1; }
      done
      for t in $(seq 1 "$CORES"); do
        echo "   round $round  $w  pytorch autocast bf16  threads $t"
        env ${TORCH_CORETYPE:+OPENBLAS_CORETYPE="$TORCH_CORETYPE"} OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" "$PYTHON" "$ROOT/bench/pytorch_reference.py" \
          --workload "$w" --threads "$t" --steps 5 --warmup 3 --min-seconds "$MIN_TIME" --precision bf16 \
          >"$RAW/pytorch_bf16.$w.t$t.r$round.json"
      done
    fi
    for t in $(seq 1 "$CORES"); do
      for b in $(echo "$t $CORES" | tr ' ' '\n' | sort -un); do
        echo "   round $round  $w  pytorch  threads $t, OpenBLAS threads $b"
        # OPENBLAS_CORETYPE only for this python, and only when OpenBLAS would run SSE3 kernels (above)
        env ${TORCH_CORETYPE:+OPENBLAS_CORETYPE="$TORCH_CORETYPE"} OPENBLAS_NUM_THREADS="$b" OMP_NUM_THREADS="$t" "$PYTHON" "$ROOT/bench/pytorch_reference.py" \
          --workload "$w" --threads "$t" --steps 5 --warmup 3 --min-seconds "$MIN_TIME" \
          >"$RAW/pytorch.$w.t$t.b$b.r$round.json"
      done
    done
  done
done

if [[ "$MEMORY_STEPS" -gt 0 ]]; then
  for w in $WORKLOADS; do
    echo "   memory  $w  $MEMORY_STEPS steps (1 thread)"
    # exit status 3 means growth over 5%: recorded in the table, not fatal here
    SEQGRAD_THREADS=1 "$BUILD/bin/workload_memory" "$w" "$MEMORY_STEPS" --json \
      >"$RAW/memory.$w.json" || [[ $? -eq 3 ]]
  done
fi
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$(dirname "$OUT")"
"$PYTHON" "$ROOT/bench/compare_report.py" "$RAW" "$OUT" "$LOAD_BEFORE" "$LOAD_AFTER" "$CORES" "$WORKLOADS" "$TORCH_KERNELS" \
  "$TORCH_BF16_KERNELS"
