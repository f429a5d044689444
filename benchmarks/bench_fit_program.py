"""A default fit-program fit of 12 quarters: simulations run, wall time, effective sample size per minute.

Prints figures for the executor given; asserts nothing. Target: a default fit of 12 quarters in under
10 minutes on 2 cores, and proportionally less on a Dask cluster (--scheduler tcp://HOST:8786, or
--dask-local N: a LocalCluster of N single-threaded worker processes started here).

    .venv/bin/python benchmarks/bench_fit_program.py [--workers 2 | --scheduler ADDRESS | --dask-local 2]
        [--population 300] [--generations 6] [--reports scenarios/example_program_reports.csv] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from ips_sim.config import load_scenario, read_yaml_file
from ips_sim.config.program_records import read_program_records
from ips_sim.runner.executors import make_executor
from ips_sim.studies.calibration import load_draws
from ips_sim.studies.program_fit import fit as F
from ips_sim.studies.program_fit.study import fit_program

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", default=str(ROOT / "scenarios" / "example_program_reports.csv"))
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "example_program.yaml"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", default=None, help="a Dask scheduler's address, e.g. tcp://HOST:8786")
    ap.add_argument("--dask-local", type=int, default=None, metavar="N",
                    help="start a Dask LocalCluster of N single-threaded worker processes and fit on it")
    ap.add_argument("--population", type=int, default=F.POPULATION)
    ap.add_argument("--generations", type=int, default=F.GENERATIONS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the fit's files (program.yaml, posterior.csv ...) here")
    args = ap.parse_args()
    records = read_program_records(args.reports)
    base = load_scenario(args.scenario)
    cluster = None
    if args.dask_local:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=args.dask_local, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        args.scheduler = cluster.scheduler_address
    executor = make_executor(None if args.scheduler else args.workers, args.scheduler)
    started = time.perf_counter()
    try:
        res = fit_program(records, read_yaml_file(args.scenario) or {}, base, args.seed, population=args.population,
                          generations=args.generations, executor=executor, national_draws=load_draws(), plots=False)
    finally:
        executor.close()
        if cluster is not None:
            cluster.close()
    wall = time.perf_counter() - started
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        for name, data in res.files.items():
            (Path(args.out) / name).write_bytes(data)
    f = res.fit
    print(f"{args.reports}: {len(records)} quarters; population {args.population}, {len(f.generations)} generations; "
          f"{executor.description}; load average {os.getloadavg()[0]:.1f}")
    print(f"  simulations run (fit):         {f.simulations:,}")
    print(f"  fit wall time:                 {f.seconds:.0f} s ({f.simulations / f.seconds:.0f} simulations/s)")
    print(f"  whole command (with predictive, check, files): {wall:.0f} s")
    print(f"  effective sample size (last):  {f.ess:.0f}")
    print(f"  ESS per minute of fit:         {f.ess / (f.seconds / 60):.0f}")
    print(f"  ESS per minute, whole command: {f.ess / (wall / 60):.0f}")
    print(f"  acceptance by generation:      {', '.join(f'{a:.0%}' for a in f.generations['acceptance'])}")
    for r in res.manifest["posterior"].items():
        print(f"  {r[0]:14s} posterior mean {r[1]['mean']:.2f} [90%: {r[1]['p5']:.2f}, {r[1]['p95']:.2f}]")


if __name__ == "__main__":
    main()
