#!/usr/bin/env python3
"""The "on paper" scaling of data-parallel training over MPI, from measured per-step figures.

Per step, with a fixed batch per process (weak scaling), every process computes its shards for
T_compute, converts its gradients to fixed point and back (T_fixed), and joins three collectives:
an allreduce of one double per parameter tensor (MAX), an allreduce of one int64 per parameter
(SUM; the bulk) and an allgather of the shard losses. A ring all-reduce of B bytes over N
processes costs 2 (N-1)/N x B / bandwidth + 2 (N-1) x latency; the two small collectives cost
their latency terms (2 (N-1) and (N-1) latencies). Speed-up = N x T1 / T_N with
T1 = T_compute + T_fixed (one process exchanges nothing) and T_N = T1 + T_comm(N).

  python3 bench/mpi_scaling.py --name G2P --params 1234567 --tensors 20 --compute-ms 100 --fixed-ms 2
"""
import argparse


def comm_seconds(n, params, tensors, gbit, latency):
    if n == 1:
        return 0.0
    bandwidth = gbit * 1e9 / 8  # bytes/s
    bulk = 2 * (n - 1) / n * 8 * params / bandwidth + 2 * (n - 1) * latency
    small = 2 * (n - 1) / n * 8 * tensors / bandwidth + 2 * (n - 1) * latency + (n - 1) * latency
    return bulk + small


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--params", type=int, required=True)
    ap.add_argument("--tensors", type=int, required=True)
    ap.add_argument("--compute-ms", type=float, required=True)
    ap.add_argument("--fixed-ms", type=float, default=0.0)
    ap.add_argument("--latency-us", type=float, default=10.0)
    a = ap.parse_args()
    t1 = (a.compute_ms + a.fixed_ms) / 1e3
    print(f"{a.name}: {a.params:,} parameters in {a.tensors} tensors, {8 * a.params / 1e6:.1f} MB of int64 per "
          f"all-reduce ({4 * a.params / 1e6:.1f} MB as float32), T1 = {1e3 * t1:.1f} ms, latency {a.latency_us:g} us\n")
    print("| processes | comm 10 Gb/s (ms) | speed-up 10 Gb/s | efficiency | comm 100 Gb/s (ms) | speed-up 100 Gb/s | efficiency |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in (2, 8, 32, 128):
        row = [f"{n}"]
        for gbit in (10, 100):
            c = comm_seconds(n, a.params, a.tensors, gbit, a.latency_us / 1e6)
            s = n * t1 / (t1 + c)
            row += [f"{1e3 * c:.1f}", f"{s:.1f}x", f"{100 * s / n:.0f}%"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
