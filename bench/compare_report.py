#!/usr/bin/env python3
"""The seqgrad-vs-PyTorch table from the measurements scripts/compare.sh collects.

    bench/compare_report.py RAW OUT LOAD_BEFORE LOAD_AFTER CORES "WORKLOADS" TORCH_CORETYPE [TORCH_BF16_KERNELS]

RAW holds, per workload w, round r and thread count t: seqgrad.w.tT.rR.json (bench_workloads'
Google Benchmark JSON), pytorch.w.tT.bB.rR.json (bench/pytorch_reference.py's lines, B = OpenBLAS
threads), when measured, memory.w.json (workload_memory --json), and for the bfloat16 table
seqgrad_bf16.w.tT.rR.json (bench_workloads --precision bf16) and pytorch_bf16.w.tT.rR.json
(pytorch_reference.py --precision bf16: torch.autocast). Writes the table (Markdown)
to OUT and prints it. Run by the python that runs PyTorch, whose version the table names.
"""
import glob
import json
import os
import subprocess
import sys
import time

TARGETS = {"seq2seq_b64_h256": 3.0, "seq2seq_b1_h64": 15.0, "mhsa_b16_t64_d256": 2.0}
# seqgrad bf16 over seqgrad float32 (best thread setting each), for a CPU with AVX512-BF16 and no AMX.
BF16_TARGETS = {"mhsa_b16_t64_d256": 1.5}


def fp32_peak(raw):  # GFLOP/s per core, the FMA loop's best in any of seqgrad's runs
    peaks = [float(json.load(open(p)).get("context", {}).get("fp32_peak_gflops_per_core", 0))
             for p in glob.glob(f"{raw}/seqgrad.*.json")]
    return max(peaks, default=0.0)


def seqgrad_runs(raw, w, t, kind="seqgrad"):
    runs = []
    for path in glob.glob(f"{raw}/{kind}.{w}.t{t}.r*.json"):
        for b in json.load(open(path))["benchmarks"]:
            runs.append({"tokens_per_second": b["items_per_second"], "ms_per_step": b["real_time"],
                         "cpu_ms_per_step": b["cpu_time"], "peak_rss_kib": b["peak_rss_kib"], "threads": t,
                         "parameters": int(b["parameters"]), "gemm_gflop_per_step": b["gemm_gflop_per_step"]})
    return runs


def pytorch_runs(raw, w, t, b, pattern="pytorch.{w}.t{t}.b{b}.r*.json"):
    runs = []
    for path in glob.glob(f"{raw}/" + pattern.format(w=w, t=t, b=b)):
        for line in open(path):
            if line.strip():
                runs.append(dict(json.loads(line), blas_threads=b))
    return runs


def pytorch_bf16_runs(raw, w, t):  # OpenBLAS at t threads too
    return pytorch_runs(raw, w, t, t, "pytorch_bf16.{w}.t{t}.r*.json")


def pt_config(r):
    return f"torch {r['threads']}, BLAS {r['blas_threads']}"


def best(runs):  # the best round: the one least disturbed by other load
    return max(runs, key=lambda r: r["tokens_per_second"]) if runs else None


def tok(r):
    return f"{r['tokens_per_second']:,.0f}" if r else "-"


def mib(kib):
    return f"{kib / 1024:.0f} MiB"


def comparison_rows(raw, workloads, cores, peak):
    """The main table's rows (one per workload) and the details' rows (one per measurement)."""
    rows, details = [], []
    for w in workloads:
        sg = {t: best(seqgrad_runs(raw, w, t)) for t in sorted({1, cores})}
        pt = {(t, b): best(pytorch_runs(raw, w, t, b)) for t in range(1, cores + 1) for b in sorted({t, cores})}
        sg_best = best([r for r in sg.values() if r])
        pt_best = best([r for r in pt.values() if r])
        ratio = sg_best["tokens_per_second"] / pt_best["tokens_per_second"]
        pt1 = pt[(1, 1)]
        ratio_1 = sg[1]["tokens_per_second"] / pt1["tokens_per_second"]
        cpu_ratio_1 = pt1["cpu_ms_per_step"] / sg[1]["cpu_ms_per_step"]
        params = f"{sg_best['parameters']:,}" if sg_best["parameters"] == pt_best["parameters"] else \
            f"MISMATCH {sg_best['parameters']:,} / {pt_best['parameters']:,}"
        # The ceiling: PyTorch's best time over the least time seqgrad's matrix products alone could take,
        # every core at the measured FMA peak (the same products in both frameworks when the models match).
        floor_ms = 1e3 * sg_best["gemm_gflop_per_step"] / (peak * cores) if peak > 0 else 0.0
        ceiling = pt_best["ms_per_step"] / floor_ms if floor_ms > 0 else float("inf")
        target = TARGETS.get(w)
        if target is None:
            verdict = "-"
        elif ratio >= target:
            verdict = f">= {target:g}x: met"
        else:
            verdict = f">= {target:g}x: MISSED" + (" (above the ceiling)" if ceiling < target else "")
        rows.append(f"| {w} | {tok(sg[1])} | {tok(sg[cores])} | {tok(pt1)} | {tok(pt_best)} ({pt_config(pt_best)}) | "
                    f"**{ratio:.2f}x** | {ceiling:.2f}x | {sg_best['gemm_gflop_per_step']:.3f} | "
                    f"{ratio_1:.2f}x | {cpu_ratio_1:.2f}x | {mib(sg_best['peak_rss_kib'])} | "
                    f"{mib(pt_best['peak_rss_kib'])} | {params} | {verdict} |")
        for t, r in sg.items():
            if r:
                details.append(f"| {w} | seqgrad | {t} | {r['ms_per_step']:.3f} | {r['cpu_ms_per_step']:.3f} | {tok(r)} |")
        for r in pt.values():
            if r:
                details.append(f"| {w} | PyTorch | {pt_config(r)} | {r['ms_per_step']:.3f} | {r['cpu_ms_per_step']:.3f} | "
                               f"{tok(r)} |")
    return rows, details


def bf16_rows(raw, workloads, cores):
    """The bfloat16 table's rows: seqgrad's bf16 mode against seqgrad float32, PyTorch autocast and PyTorch f32."""
    rows = []
    for w in workloads:
        sg = {t: best(seqgrad_runs(raw, w, t, "seqgrad_bf16")) for t in sorted({1, cores})}
        if not any(sg.values()):
            continue
        sg_best = best([r for r in sg.values() if r])
        sg32 = {t: best(seqgrad_runs(raw, w, t)) for t in sorted({1, cores})}
        sg32_best = best([r for r in sg32.values() if r])
        pt16 = best([r for t in range(1, cores + 1) for r in pytorch_bf16_runs(raw, w, t)])
        pt32 = best([r for t in range(1, cores + 1) for b in sorted({t, cores}) for r in pytorch_runs(raw, w, t, b)])
        pt_any = best([r for r in (pt16, pt32) if r])

        def ratio(a, b):
            return f"{a['tokens_per_second'] / b['tokens_per_second']:.2f}x" if a and b else "-"

        cpu_1 = f"{sg32[1]['cpu_ms_per_step'] / sg[1]['cpu_ms_per_step']:.2f}x" if sg[1] and sg32[1] else "-"
        target = BF16_TARGETS.get(w)
        verdict = "-"
        if target is not None and sg32_best:
            met = sg_best["tokens_per_second"] / sg32_best["tokens_per_second"] >= target
            verdict = f">= {target:g}x seqgrad f32: {'met' if met else 'MISSED'}"
        pt16_threads = f" (torch {pt16['threads']})" if pt16 else ""
        rows.append(f"| {w} | {tok(sg[1])} | {tok(sg[cores])} | {tok(sg32_best)} | {tok(pt16)}{pt16_threads} | "
                    f"{tok(pt32)} | **{ratio(sg_best, sg32_best)}** | {cpu_1} | {ratio(sg_best, pt16)} | "
                    f"{ratio(sg_best, pt_any)} | {verdict} |")
    return rows


def memory_rows(raw, workloads):
    memory = []
    for w in workloads:
        path = f"{raw}/memory.{w}.json"
        if os.path.exists(path) and os.path.getsize(path):
            m = json.load(open(path))
            flat = "flat" if m["growth_after_100"] <= 0.05 else "GROWS"
            memory.append(f"| {w} | {m['steps']} | {mib(m['rss_after_100_kib'])} | {mib(m['rss_end_kib'])} | "
                          f"{100 * m['growth_after_100']:+.2f}% | {mib(m['peak_rss_kib'])} | {flat} |")
    return memory


def processor():
    """The processor's model name with its CPU family and model numbers: in these virtual machines the
    name alone ("AMD EPYC") does not tell a Zen 4 from a Zen 5 (scripts/common.sh: seqgrad_processor)."""
    fields = {}
    for line in open("/proc/cpuinfo"):
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return f"{fields.get('model name', '?')} (family {fields.get('cpu family', '?')} model {fields.get('model', '?')})"


def machine_facts(raw):
    """PyTorch's version (of this interpreter), the processor's name and seqgrad's GEMM backend."""
    try:
        torch_version = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                                       capture_output=True, text=True).stdout.strip()
    except OSError:
        torch_version = "?"
    cpu = processor()
    backend = "?"
    for path in glob.glob(f"{raw}/seqgrad.*.json"):
        backend = json.load(open(path)).get("context", {}).get("seqgrad_backend", backend)
        break
    return torch_version, cpu, backend


def main():
    raw, out, load_before, load_after, cores, workloads, torch_coretype = sys.argv[1:8]
    torch_bf16_kernels = sys.argv[8] if len(sys.argv) > 8 else "-"
    cores = int(cores)
    workloads = workloads.split()
    peak = fp32_peak(raw)
    rows, details = comparison_rows(raw, workloads, cores, peak)
    memory = memory_rows(raw, workloads)
    bf16 = bf16_rows(raw, workloads, cores)
    torch_version, cpu, backend = machine_facts(raw)
    lines = [
        "# seqgrad vs PyTorch",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} by scripts/compare.sh on {cpu}, {cores} cores; "
        f"seqgrad {backend}; PyTorch {torch_version} with OPENBLAS_CORETYPE={torch_coretype}. "
        f"Load average {load_before} before, {load_after} after (other jobs share this machine: "
        "compare ratios, not absolute figures, and only within one run).",
        "",
        "Target tokens per second of one training step (forward, backward, Adam), best of the rounds. "
        "Ratio = seqgrad's best thread setting over PyTorch's best configuration (in parentheses: torch's intra-op "
        "threads and OpenBLAS's threads). "
        "The 1-thread ratios (real time, and CPU time of the whole process) are less exposed to other load. "
        "Parameters: the trainable parameter count, equal in both frameworks when the models match. "
        f"Ceiling: the ratio seqgrad would reach if its step took only the time of its matrix products (GFLOP per "
        f"step, counted by the GEMM backend) at the FP32 peak measured by an FMA loop ({peak:.1f} GFLOP/s per core) on "
        f"all {cores} cores; a target above it cannot be met by removing overheads, only by doing less arithmetic.",
        "",
        f"| workload | seqgrad 1 thread | seqgrad {cores} threads | PyTorch 1 thread | PyTorch best (its threads) | "
        "seqgrad / PyTorch | ceiling (FMA peak) | GEMM GFLOP/step | at 1 thread | at 1 thread, CPU time | "
        "peak RSS seqgrad | peak RSS PyTorch | parameters (both) | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
        "Every measurement (best round): ms per step in real time and in process CPU time.",
        "",
        "| workload | framework | threads | ms/step | CPU ms/step | tokens/s |",
        "|---|---|---:|---:|---:|---:|",
        *details,
    ]
    if bf16:
        lines += ["", f"bfloat16 products: seqgrad's bf16 mode (AutocastScope; kernel named above as `bf16`) against "
                  f"seqgrad float32 and PyTorch {torch_version} under torch.autocast('cpu', dtype=torch.bfloat16) "
                  f"(its products on {torch_bf16_kernels}) and in float32, all in this run. Ratios of the best thread "
                  "settings; the CPU-time column compares seqgrad's two modes at 1 thread.", "",
                  f"| workload | seqgrad bf16 1 thread | seqgrad bf16 {cores} threads | seqgrad f32 best | "
                  "PyTorch autocast best | PyTorch f32 best | bf16 / seqgrad f32 | same, 1 thread CPU time | "
                  "bf16 / PyTorch autocast | bf16 / PyTorch best of both | target |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|", *bf16]
    if memory:
        lines += ["", "Memory of seqgrad over a long run (workload_memory, 1 thread): resident set after step 100 "
                  "and at the end; flat = no growth beyond 5%.", "",
                  "| workload | steps | RSS after 100 | RSS at end | growth | peak RSS | verdict |",
                  "|---|---:|---:|---:|---:|---:|---|", *memory]
    text = "\n".join(lines) + "\n"
    # A temporary file renamed over OUT: an interrupted run leaves the previous table, not a prefix.
    partial = f"{out}.tmp-{os.getpid()}"
    with open(partial, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, out)
    print(text)
    print(f"(written to {out})")


if __name__ == "__main__":
    main()
