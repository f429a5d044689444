"""Replications per second of the default scenario (10 simulated years).

Prints figures; asserts nothing. Target (issue 3): 1,000 replications of the
2-specialist scenario over 10 years in under 20 s on 2 cores.

    .venv/bin/python benchmarks/bench_replications.py [--replications 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from pathlib import Path

from ips_sim.config import load_scenario
from ips_sim.runner.experiment import run_replications
from ips_sim.sim.model import run_replication

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "two_specialists_38_members.yaml"))
    ap.add_argument("--replications", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--profile", action="store_true", help="profile 20 replications in one process")
    args = ap.parse_args()
    sc = load_scenario(args.scenario).with_updates({"simulation.horizon_years": 10})

    t = time.perf_counter()
    for i in range(20):
        run_replication(sc, i)
    one = (time.perf_counter() - t) / 20
    print(f"one process, simulation only: {one * 1000:.1f} ms per replication ({1 / one:.0f} replications/s)")

    for w in sorted({1, args.workers}):
        t = time.perf_counter()
        run_replications(sc, args.replications, workers=w, keep_records=False)
        wall = time.perf_counter() - t
        print(f"{args.replications} replications with metrics, {w} worker(s): {wall:.1f} s "
              f"({args.replications / wall:.0f} replications/s)")

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for i in range(20):
            run_replication(sc, i)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())


if __name__ == "__main__":
    main()
