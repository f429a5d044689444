"""Benchmark: a 60-point staffing sweep x 200 replications of 5 simulated years.

    .venv/bin/python benchmarks/bench_sweep.py                # 1 and 2 workers
    .venv/bin/python benchmarks/bench_sweep.py --workers 1,2,4 --replications 50

Grid: team.specialists 1..5 x referrals.rate_per_month 2,4,6,8 x team.caseload_cap
15,20,25 on scenarios/two_specialists_38_members.yaml, horizon 5 years (warm-up
2). Prints the wall time of the simulation and aggregation (plots off) for each
worker count, the speed-up over one worker, and checks that every run wrote a
byte-identical sweep.csv. Target: under 2 minutes on 2 cores, speed-up >= 1.8.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ips_sim.runner.executors import make_executor  # noqa: E402
from ips_sim.studies.sweep import load_sweep, run_sweep  # noqa: E402

SWEEP = """\
name: bench_sweep
base: {base}
replications: {replications}
overrides:
  simulation.horizon_years: {years}
  simulation.warmup_years: 2
grid:
  team.specialists: 1..5
  referrals.rate_per_month: [2, 4, 6, 8]
  team.caseload_cap: [15, 20, 25]
"""


def _cpu() -> float:
    """User + system CPU seconds of this process and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts [1,2]")
    ap.add_argument("--replications", type=int, default=200)
    ap.add_argument("--years", type=float, default=5.0)
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep-"))
    try:
        path = tmp / "bench_sweep.yaml"
        path.write_text(SWEEP.format(base=REPO / "scenarios" / "two_specialists_38_members.yaml",
                                     replications=args.replications, years=args.years))
        sw = load_sweep(path)
        total = len(sw) * sw.replications
        print(f"{len(sw)} points x {sw.replications} replications x {args.years:g} years = {total} replications; "
              f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores "
              f"available; load average {os.getloadavg()[0]:.2f}")
        times, outputs, cpu = {}, {}, {}
        for w in counts:
            ex = make_executor(w)
            out = tmp / f"out_{w}"
            c0 = _cpu()
            t0 = time.perf_counter()
            try:
                run_sweep(sw, out, ex, plots=False)
            finally:
                ex.close()  # joins the pool: its CPU time is now in RUSAGE_CHILDREN
            times[w] = time.perf_counter() - t0
            cpu[w] = _cpu() - c0
            outputs[w] = (out / "sweep.csv").read_bytes()
            print(f"  workers {w:>2}: {times[w]:7.1f} s wall  ({total / times[w]:6.1f} replications/s), "
                  f"{cpu[w]:7.1f} CPU s in all processes, load average now {os.getloadavg()[0]:.2f}", flush=True)
        base = counts[0]
        for w in counts[1:]:
            print(f"  speed-up {w} vs {base} workers: {times[base] / times[w]:.2f}x wall; "
                  f"CPU overhead of the pool {cpu[w] / cpu[base] - 1:+.1%} (spread perfectly over {w} idle cores "
                  f"that would be a speed-up of about {w * cpu[base] / cpu[w]:.2f}x)")
        same = len(set(outputs.values())) == 1
        print(f"  sweep.csv byte-identical across worker counts: {'yes' if same else 'NO'}")
        return 0 if same else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
