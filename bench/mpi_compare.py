#!/usr/bin/env python3
"""bench_workloads under MPI on this machine: 2 processes x 1 thread against 1 process x 2 threads
(and 1 x 1 for reference), alternating in one run, median real time per step of each workload, and
the reduction's communication time and bytes per step (rank 0's view). Prints a markdown table.

  python3 bench/mpi_compare.py [--build build] [--rounds 3] [--min-time 2] [--out bench/results/mpi.md]

Run it under `flock /tmp/seqgrad-build.lock` on a shared machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def run(cmd):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    p = subprocess.run(cmd + [f"--benchmark_out={out}", "--benchmark_out_format=json"], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    with open(out) as f:
        data = json.load(f)
    os.unlink(out)
    return {b["name"].split("/")[0]: b for b in data["benchmarks"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", default="2")
    ap.add_argument("--out")
    a = ap.parse_args()
    prog = os.path.join(a.build, "bin", "bench_workloads")
    mpirun = ["mpirun"] + (["--allow-run-as-root"] if os.geteuid() == 0 else []) + ["--oversubscribe", "-np", "2"]
    env_min = [f"--benchmark_min_time={a.min_time}"]
    layouts = {
        "1x1": [prog, "--threads", "1"] + env_min,
        "1x2": [prog, "--threads", "2"] + env_min,
        "2x1": mpirun + [prog, "--threads", "1"] + env_min,
    }
    results = {k: [] for k in layouts}
    for r in range(a.rounds):
        for name, cmd in layouts.items():
            results[name].append(run(cmd))
            print(f"round {r + 1}: {name} done", file=sys.stderr)
    names = list(results["1x1"][0].keys())
    med = lambda layout, w, key: statistics.median(b[w][key] for b in results[layout])
    lines = ["| workload | 1x1 ms/step | 1x2 ms/step | 2x1 ms/step | 2x1 / 1x2 time | 2x1 comm ms/step (of which exchange) | 2x1 comm bytes/step | fixed-point ms/step (1x2) | parameters |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for w in names:
        t11, t12, t21 = med("1x1", w, "real_time"), med("1x2", w, "real_time"), med("2x1", w, "real_time")
        lines.append(f"| {w} | {t11:.2f} | {t12:.2f} | {t21:.2f} | {t21 / t12:.3f} | {med('2x1', w, 'comm_ms'):.2f} "
                     f"({med('2x1', w, 'exchange_ms'):.2f}) | {med('2x1', w, 'comm_bytes'):,.0f} | "
                     f"{med('1x2', w, 'reduce_ms'):.2f} | {results['1x1'][0][w]['parameters']:,.0f} |")
    table = "\n".join(lines)
    print(table)
    if a.out:
        with open(a.out, "w") as f:
            f.write(f"bench/mpi_compare.py, {a.rounds} rounds alternating, median real time per step, "
                    f"--benchmark_min_time={a.min_time}\n\n{table}\n")


if __name__ == "__main__":
    main()
