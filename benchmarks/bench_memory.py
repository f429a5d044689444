"""Peak memory of a long run: N replications of the default scenario, keeping records of only some.

Runs the replications through the library's runner (``experiment.run_replications``
with ``keep_records`` = all / a number / none) and writes the run's tables to a
temporary folder as ``ips-sim run`` does, then prints wall time and peak resident
memory of this process and of the worker processes (``resource.getrusage``).
Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_memory.py [--replications 10000] [--keep 0] [--workers 2]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from ips_sim.config import load_scenario
from ips_sim.reporting.tables import write_run
from ips_sim.runner.experiment import run_replications

ROOT = Path(__file__).resolve().parent.parent


def peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "two_specialists_38_members.yaml"))
    ap.add_argument("--replications", type=int, default=10_000)
    ap.add_argument("--keep", default="0", help="records kept: all, none, or a number of replications")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    keep = {"all": True, "none": False}.get(args.keep)
    keep = int(args.keep) if keep is None else keep
    sc = load_scenario(args.scenario)
    t = time.perf_counter()
    metrics, records = run_replications(sc, args.replications, workers=args.workers, keep_records=keep)
    run_s = time.perf_counter() - t
    after_run = peak_mb(resource.RUSAGE_SELF)
    with tempfile.TemporaryDirectory() as tmp:
        write_run(Path(tmp), sc, metrics, records, {"benchmark": True}, plots=False)
        written = sorted(p.name for p in Path(tmp).iterdir())
    wall = time.perf_counter() - t
    kept = sum(r is not None for r in records)
    print(f"{sc.name}: {args.replications} replications, records kept for {kept}, {args.workers} worker(s)")
    print(f"  wall time {wall:.0f} s (simulation and metrics {run_s:.0f} s, "
          f"{run_s / args.replications * 1000 * args.workers:.1f} ms per replication per worker)")
    print(f"  peak memory: main process {after_run:.0f} MB after the run, {peak_mb(resource.RUSAGE_SELF):.0f} MB "
          f"after writing {', '.join(written)}; largest worker {peak_mb(resource.RUSAGE_CHILDREN):.0f} MB")


if __name__ == "__main__":
    main()
