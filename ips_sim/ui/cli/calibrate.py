"""``ips-sim calibrate``: fit the behavioural parameters to the IPS trials."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from ips_sim.config import refresh_package_data, repository_calibration_dir
from ips_sim.runner.executors import make_executor
from ips_sim.runner.resume import Checkpoint, partial_dir
from ips_sim.studies.calibration import (
    DEFAULT_BUDGET,
    DEFAULT_DRAWS,
    DEFAULT_REPLICATIONS,
    DEFAULT_SEED,
    calibrate,
    calibration_key,
)
from ips_sim.ui.cli.interrupt import interrupted


@click.command("calibrate")
@click.option("--targets", "targets_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Targets table [default: calibration/targets.csv].")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for fitted.yaml, fitted_usual_services.yaml, draws.csv, report.md [default: calibration/].")
@click.option("--seed", type=click.IntRange(0), default=DEFAULT_SEED, show_default=True)
@click.option("--replications", "-n", type=click.IntRange(2, 100_000), default=DEFAULT_REPLICATIONS,
              show_default=True, help="Simulated trials per evaluation (same ones every evaluation).")
@click.option("--budget", type=click.IntRange(1, 100_000), default=DEFAULT_BUDGET, show_default=True,
              help="Nelder-Mead evaluations per arm.")
@click.option("--draws", "n_draws", type=click.IntRange(0, 100_000), default=DEFAULT_DRAWS, show_default=True,
              help="Parameter draws for --parameter-uncertainty (0: none).")
@click.option("--workers", "-w", type=click.IntRange(1, 512), default=1, show_default=True,
              help="Processes per evaluation; the fit is identical for any number.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run on a Dask cluster, e.g. tcp://HOST:8786.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted calibration from <out>.partial/: saved evaluations are not run again.")
@click.option("--quiet", "-q", is_flag=True)
def calibrate_command(targets_path, out, seed, replications, budget, n_draws, workers, scheduler, resume, quiet):
    """Fit the behavioural parameters to the IPS trials (IPS and usual-services arms) and write the report.

    Without --out the fit is written to the repository's calibration/ and copied into the package's
    defaults (ips_sim/data), so runs use it at once. Every evaluation is saved in <out>.partial/ as
    the fit goes; after Ctrl-C the same command with --resume continues where it stopped.
    """
    cmd = "ips-sim calibrate " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "ips-sim calibrate"
    log = None if quiet else (lambda s: click.echo(s, err=True))
    if out is None:
        refresh_package_data()  # the fit starts from the repository's literature table
    out_dir = Path(out) if out else repository_calibration_dir()
    work = partial_dir(out_dir)
    checkpoint = Checkpoint(work, calibration_key(targets_path, seed, replications, budget, n_draws),
                            what="calibration", settings="targets, literature values, seed, replications, budget "
                                                         "or draws").open(resume)
    interrupted(f"finished evaluations are saved in {work}/; run the same command with --resume to continue")
    executor = make_executor(workers if scheduler is None else None, scheduler)
    try:
        res = calibrate(targets_path, out, seed, replications, budget, n_draws, workers, log=log, command=cmd,
                        executor=executor, checkpoint=checkpoint)
    finally:
        executor.close()
    checkpoint.discard()
    if out is None:
        refresh_package_data()
    click.echo(f"calibrated in {res['seconds']:.0f} s: IPS loss {res['ips'].loss:.3f}, usual services loss "
               f"{res['usual_services'].loss:.3f} -> {out_dir}/")
    report = out_dir / "fit_table.csv"
    if report.exists():
        with open(report, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                click.echo(f"  {r['target']:40s} {r['role']:5s} target {float(r['target_value']):8.3f}  "
                           f"simulated {float(r['simulated']):8.3f} [{float(r['ci_low']):.3f}, "
                           f"{float(r['ci_high']):.3f}] covered={r['ci_covers_target']}")

COMMANDS = [calibrate_command]
