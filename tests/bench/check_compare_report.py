#!/usr/bin/env python3
"""bench/compare_report.py on a fixed set of measurements (fixtures/raw: three workloads, two rounds,
1 and 2 threads, memory runs of which one grows, bfloat16 runs of one workload) must print the tables
in fixtures/expected_table.md: the best round per configuration, the ratios, the FMA-peak ceiling,
the verdicts (met, MISSED), the memory verdicts (flat, GROWS) and the bfloat16 table (seqgrad bf16
against seqgrad f32, PyTorch autocast and PyTorch f32, PyTorch's bf16 kernels named). The header line holds the date, the processor and PyTorch's version, so
only the parts of it that come from the arguments and the measurements are compared.

    check_compare_report.py REPOSITORY_ROOT
"""
import difflib
import pathlib
import subprocess
import sys
import tempfile


def main():
    root = pathlib.Path(sys.argv[1])
    here = pathlib.Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "compare.md"
        run = subprocess.run([sys.executable, str(root / "bench/compare_report.py"), str(here / "fixtures/raw"), str(out),
                              "1.00 1.10 1.20", "1.30 1.40 1.50", "2",
                              "seq2seq_b64_h256 seq2seq_b1_h64 mhsa_b16_t64_d256", "SkylakeX", "oneDNN brg:test_bf16"],
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"compare_report.py failed ({run.returncode}):\n{run.stderr}")
        written = out.read_text().splitlines()
    problems = []
    if run.stdout.splitlines()[-1] != f"(written to {out})":
        problems.append(f"the last line printed is not '(written to {out})'")
    if run.stdout.splitlines()[:len(written)] != written:
        problems.append("what is printed differs from what is written")
    header = written[2] if len(written) > 2 else ""
    for part in ["by scripts/compare.sh on ", " 2 cores; seqgrad GEMM f32 test-backend; 2 threads; PyTorch ",
                 " with OPENBLAS_CORETYPE=SkylakeX. Load average 1.00 1.10 1.20 before, 1.30 1.40 1.50 after "]:
        if part not in header:
            problems.append(f"the header line lacks '{part}': {header}")
    expected = (here / "fixtures/expected_table.md").read_text().splitlines()
    if written[4:] != expected:
        problems.append("the tables differ from fixtures/expected_table.md (- expected, + written):\n" +
                        "\n".join(difflib.unified_diff(expected, written[4:], lineterm="")))
    if problems:
        sys.exit("\n".join(problems))
    print(f"compare_report.py: {len(expected)} lines as expected")


if __name__ == "__main__":
    main()
