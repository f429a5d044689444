"""`ips-sim run` end to end, as a new user runs it: every table written against `--records none`.

Runs the command in a child process (150 replications of the default scenario on one worker,
plots on unless ``--no-plots``), alternating ``--records all`` and ``--records none`` for a few
rounds so machine load falls on both alike, and prints the CPU time of each (the child's
user + system time, start-up and imports included) per replication, median over rounds, and
their ratio. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_run.py [--replications 150] [--rounds 3] [--no-plots]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "two_specialists_38_members.yaml"))
    ap.add_argument("--replications", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-plots", action="store_true", help="pass --no-plots (tables only)")
    args = ap.parse_args()
    times: dict[str, list[float]] = {"all": [], "none": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for records in ("all", "none"):
                cmd = [sys.executable, "-c", "from ips_sim.ui.cli import main; main()", "run", args.scenario,
                       "-n", str(args.replications), "-w", "1", "-q", "--records", records,
                       "--out", str(Path(tmp) / records), "--overwrite"]
                if args.no_plots:
                    cmd.append("--no-plots")
                before = child_cpu()
                subprocess.run(cmd, check=True, cwd=ROOT)
                times[records].append((child_cpu() - before) / args.replications)
    per = {k: statistics.median(v) * 1000 for k, v in times.items()}
    plots = "no plots" if args.no_plots else "plots on"
    print(f"ips-sim run {Path(args.scenario).name}: {args.replications} replications, 1 worker, {plots}; "
          f"CPU time of the whole command per replication, median of {args.rounds} rounds")
    print(f"  --records all   {per['all']:6.1f} ms")
    print(f"  --records none  {per['none']:6.1f} ms")
    print(f"  ratio all / none  {per['all'] / per['none']:.2f}x")


if __name__ == "__main__":
    main()
