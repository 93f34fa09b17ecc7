#!/usr/bin/env python3
"""Multi-process tests of seqgrad::distributed through mpirun (CTest runs one case per test).

  run_mpi_tests.py CASE --mpiexec MPIEXEC --program MPI_TRAIN --work DIR

  layouts   losses and parameters bitwise identical for (processes x threads) = 1x1, 1x2, 2x1, 2x2
  resume    2 processes stop at step K, 1 process resumes (and the other way round): identical to
            an uninterrupted run
  kill      rank 1 dies by SIGKILL mid-run: the job ends with an error within seconds; the last
            checkpoint loads and the run resumes exactly
  mismatch  processes with a different seed or different training data are refused, naming what
  alone     rank 1 fails alone (an exception) while rank 0 waits in a collective: the job ends
            with an error after the exit timeout (SEQGRAD_MPI_EXIT_TIMEOUT=3), not a hang

Root runs mpirun with --allow-run-as-root; 2 ranks on 2 cores (or fewer) get --oversubscribe.
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

STEPS = 6


def mpirun(args, n):
    cmd = [args.mpiexec]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += ["--oversubscribe", "-np", str(n)]
    for var in ("LSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS", "SEQGRAD_MPI_EXIT_TIMEOUT", "SEQGRAD_POISON_BUFFERS"):
        if var in os.environ:  # to every rank, also on other hosts
            cmd += ["-x", var]
    return cmd


def run(args, processes, threads, *extra, expect_ok=True, timeout=120):
    cmd = (mpirun(args, processes) if processes > 0 else []) + [args.program, "--threads", str(threads)] + list(extra)
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    elapsed = time.monotonic() - start
    if expect_ok and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p, elapsed


def results(p):
    """{step: loss bits}, parameter hash"""
    losses = {int(m.group(1)): m.group(2) for m in re.finditer(r"^loss (\d+) ([0-9a-f]{16})", p.stdout, re.M)}
    params = re.search(r"^parameters ([0-9a-f]{16})", p.stdout, re.M)
    if not losses or not params:
        sys.exit(f"FAIL: no losses or parameter hash in the output:\n{p.stdout}\n{p.stderr}")
    return losses, params.group(1)


def same(name, got, want):
    if got != want:
        sys.exit(f"FAIL: {name}: got {got}, want {want}")
    print(f"ok: {name}")


def case_layouts(args):
    # processes = 0: started without mpirun (MPI never initialised)
    ref_losses, ref_params = results(run(args, 0, 1, "--steps", str(STEPS))[0])
    print(f"1x1 (no mpirun): losses {ref_losses}, parameters {ref_params}")
    for processes, threads, label in [(0, 2, "1x2 (no mpirun)"), (1, 1, "1x1 (mpirun -np 1)"), (2, 1, "2x1"), (2, 2, "2x2")]:
        losses, params = results(run(args, processes, threads, "--steps", str(STEPS))[0])
        same(f"{label} losses", losses, ref_losses)
        same(f"{label} parameters", params, ref_params)


def case_resume(args):
    ref_losses, ref_params = results(run(args, 0, 1, "--steps", str(2 * STEPS))[0])
    for first, second, label in [(2, 0, "2 processes, then 1"), (0, 2, "1 process, then 2")]:
        ckpt = args.work / f"resume-{first}-{second}"
        shutil.rmtree(ckpt, ignore_errors=True)
        a, _ = run(args, first, 1, "--steps", str(STEPS), "--checkpoints", str(ckpt))
        b, _ = run(args, second, 1, "--steps", str(2 * STEPS), "--checkpoints", str(ckpt), "--resume")
        la, _ = results(a)
        lb, params = results(b)
        same(f"{label}: steps 1-{STEPS}", la, {k: v for k, v in ref_losses.items() if k <= STEPS})
        same(f"{label}: resumed steps {STEPS + 1}-{2 * STEPS}", lb, {k: v for k, v in ref_losses.items() if k > STEPS})
        same(f"{label}: parameters", params, ref_params)


def case_kill(args):
    total, kill_in = 40, 7
    ckpt = args.work / "kill"
    shutil.rmtree(ckpt, ignore_errors=True)
    p, elapsed = run(args, 2, 1, "--steps", str(total), "--checkpoints", str(ckpt), "--save-every", "2",
                     "--kill-rank1-in-step", str(kill_in), expect_ok=False, timeout=60)
    print(f"killed job: exit status {p.returncode} after {elapsed:.1f} s")
    if p.returncode == 0:
        sys.exit(f"FAIL: the job with a killed rank exited 0\n{p.stdout}\n{p.stderr}")
    if elapsed > 30:
        sys.exit(f"FAIL: the job took {elapsed:.1f} s to end after a rank died")
    if "signal 9" not in p.stderr and "Killed" not in p.stderr:
        print(f"note: mpirun's message did not name the signal:\n{p.stderr}")
    if not (ckpt / "last.ckpt").exists():
        sys.exit(f"FAIL: no last.ckpt after the killed run\n{p.stdout}\n{p.stderr}")
    # The checkpoint of step 6 (saved every 2 steps; rank 1 died in step 7) resumes exactly.
    ref_losses, ref_params = results(run(args, 0, 1, "--steps", "10")[0])
    b, _ = run(args, 0, 1, "--steps", "10", "--checkpoints", str(ckpt), "--resume")
    lb, params = results(b)
    same("resumed after the kill: steps 7-10", lb, {k: v for k, v in ref_losses.items() if k > 6})
    same("resumed after the kill: parameters", params, ref_params)


def case_mismatch(args):
    for flag, what in [("--rank1-seed", "seed"), ("--rank1-data-seed", "training data")]:
        p, elapsed = run(args, 2, 1, "--steps", "2", flag, "99", expect_ok=False, timeout=60)
        if p.returncode == 0:
            sys.exit(f"FAIL: processes with a different {what} trained\n{p.stdout}\n{p.stderr}")
        if f"differ in: {what}" not in p.stderr:
            sys.exit(f"FAIL: the refusal does not name the {what}:\n{p.stderr}")
        line = next(l for l in p.stderr.splitlines() if "differ in" in l)
        print(f"ok: a different {what} is refused in {elapsed:.1f} s: {line}")


def case_alone(args):
    os.environ["SEQGRAD_MPI_EXIT_TIMEOUT"] = "3"
    cmd_extra = ["--steps", "20", "--fail-rank1-in-step", "4"]
    p, elapsed = run(args, 2, 1, *cmd_extra, expect_ok=False, timeout=60)
    print(f"job with a failed rank: exit status {p.returncode} after {elapsed:.1f} s")
    if p.returncode == 0:
        sys.exit(f"FAIL: the job with a failed rank exited 0\n{p.stdout}\n{p.stderr}")
    if "rank 1 fails alone" not in p.stderr:
        sys.exit(f"FAIL: rank 1's error is not shown\n{p.stderr}")
    if elapsed > 30:
        sys.exit(f"FAIL: the job took {elapsed:.1f} s to end after a rank failed")
    print("ok: a rank failing alone ends the job")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["layouts", "resume", "kill", "mismatch", "alone"])
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("--work", required=True, type=pathlib.Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    # A plain run must not inherit a launcher's variables (ctest itself may run under one).
    for v in list(os.environ):
        if v.startswith(("OMPI_", "PMIX_", "PMI_")):
            del os.environ[v]
    globals()["case_" + args.case](args)


if __name__ == "__main__":
    main()
