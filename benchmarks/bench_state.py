"""Benchmark: the example state (13 programs), budget 10 posts, on 1 and 2 workers.

    .venv/bin/python benchmarks/bench_state.py                  # 1 and 2 local workers
    .venv/bin/python benchmarks/bench_state.py --workers 1,2 --dask   # also a 2-worker Dask LocalCluster

Runs ``scenarios/state/example_state.yaml`` exactly as ``ips-sim state ... --budget 10``
would (its replications, adaptive additions and chunking; plots off) for each worker
count, prints the wall time, CPU time, replications simulated, the speed-up over one
worker, and checks that every run wrote byte-identical allocation.csv and frontier.csv.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ips_sim.runner.executors import DaskExecutor, make_executor  # noqa: E402
from ips_sim.studies.state import load_state, run_state  # noqa: E402

STATE = REPO / "scenarios" / "state" / "example_state.yaml"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _replications(run) -> int:
    return sum(res.replications * sum(1 for lv in res.program.levels if lv) for res in run.result.evaluation.results)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2", help="comma-separated local worker counts [1,2]")
    ap.add_argument("--budget", type=int, default=10)
    ap.add_argument("--dask", action="store_true", help="also run on a 2-worker Dask LocalCluster (processes)")
    args = ap.parse_args()
    st = load_state(STATE, budget=args.budget)
    tmp = Path(tempfile.mkdtemp(prefix="bench_state-"))
    rows = []
    try:
        setups = [(f"{w} local worker{'s' if w > 1 else ''}", w) for w in (int(x) for x in args.workers.split(","))]
        if args.dask:
            setups.append(("Dask LocalCluster, 2 workers", "dask"))
        for label, w in setups:
            out = tmp / str(w)
            cluster = None
            if w == "dask":
                from distributed import LocalCluster
                cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
                ex = DaskExecutor(cluster.scheduler_address)
            else:
                ex = make_executor(w)
            c0, t0 = _cpu(), time.perf_counter()
            try:
                run = run_state(st, out, ex, plots=False)
            finally:
                ex.close()
                if cluster is not None:
                    cluster.close()
            wall, cpu = time.perf_counter() - t0, _cpu() - c0
            reps = _replications(run)
            rows.append((label, wall, cpu, reps, out))
            print(f"{label:<30} {wall:7.1f} s wall  {cpu:7.1f} s CPU  {reps} replications "
                  f"({1000 * wall / reps:.1f} ms wall each)", flush=True)
        base = rows[0][1]
        for label, wall, _, _, _ in rows[1:]:
            print(f"speed-up of {label} over {rows[0][0]}: {base / wall:.2f}x")
        first = rows[0][4]
        same = all((r[4] / f).read_bytes() == (first / f).read_bytes()
                   for r in rows[1:] for f in ("allocation.csv", "frontier.csv", "candidates.csv"))
        print(f"allocation.csv, frontier.csv, candidates.csv byte-identical across runs: {same}")
        print()
        print((first / "state.txt").read_text().rstrip())
        return 0 if same else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
