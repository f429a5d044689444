"""The tables and plots of `ips-sim run` on their own: CPU time of ``write_run`` in a fresh process.

Runs the replications once (not timed), then writes every table and plot twice: the first time as
`ips-sim run` does it (matplotlib and the table code imported then, fonts loaded), the second warm.
Steadier than timing the whole command when only the writing changes. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_write_run.py [--replications 150] [--no-plots]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "two_specialists_38_members.yaml"))
    ap.add_argument("--replications", type=int, default=150)
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args()
    from ips_sim.config import load_scenario
    from ips_sim.runner.experiment import run_replications

    sc = load_scenario(args.scenario)
    metrics, records = run_replications(sc, args.replications, sc.simulation.seed, keep_records=True)
    times = []
    for _ in range(2):
        t = time.process_time()
        from ips_sim.reporting.tables import write_run

        with tempfile.TemporaryDirectory() as tmp:
            write_run(Path(tmp), sc, metrics, records, {"benchmark": True}, plots=not args.no_plots)
        times.append(time.process_time() - t)
    plots = "no plots" if args.no_plots else "plots on"
    print(f"write_run {Path(args.scenario).name}: {args.replications} replications, {plots}; CPU time")
    print(f"  first (imports included)  {times[0]:.2f} s  ({times[0] / args.replications * 1000:.1f} ms per replication)")
    print(f"  again                     {times[1]:.2f} s")


if __name__ == "__main__":
    main()
