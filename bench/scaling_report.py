#!/usr/bin/env python3
"""Thread-scaling table and plot data from bench_workloads JSON files.

    bench/scaling_report.py DIR OUT_DIR "MACHINE"   # DIR holds threads_<t>.json, one per thread count

Writes OUT_DIR/scaling.md (tokens/s and the speed-up over 1 thread, per workload) and
OUT_DIR/scaling.jsonl (one line per thread count, for build/bin/plot_metrics); prints the
workload names, comma-separated, as the last line.
"""
import json
import pathlib
import re
import sys


def main():
    src, out_dir, machine = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
    rates = {}
    for f in src.glob("threads_*.json"):
        t = int(re.search(r"threads_(\d+)\.json", f.name).group(1))
        for b in json.loads(f.read_text())["benchmarks"]:
            rates.setdefault(b["name"].split("/")[0], {})[t] = b["items_per_second"]
    names = sorted(rates)
    threads = sorted(rates[names[0]])
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "scaling.jsonl", "w") as f:
        for t in threads:
            f.write(json.dumps({"threads": t, **{n: rates[n][t] / rates[n][1] for n in names}}) + "\n")
    lines = [f"Thread scaling on {machine}: target tokens/s of one training step (speed-up over 1 thread)", "",
             "| threads | " + " | ".join(names) + " |", "|---:|" + "---:|" * len(names)]
    for t in threads:
        lines.append(f"| {t} | " + " | ".join(f"{rates[n][t]:,.0f} ({rates[n][t] / rates[n][1]:.2f}x)" for n in names) + " |")
    (out_dir / "scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(",".join(names))


if __name__ == "__main__":
    main()
