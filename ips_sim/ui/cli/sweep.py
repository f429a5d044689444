"""``ips-sim sweep``: a base scenario over a grid of field values."""

from __future__ import annotations

from pathlib import Path

import click

from ips_sim.config.workload import check_many
from ips_sim.core.errors import EnvironmentFault, UserError
from ips_sim.core.progress import Progress
from ips_sim.runner.executors import make_executor, option_problems
from ips_sim.runner.output import OutputFolder
from ips_sim.runner.resume import partial_dir
from ips_sim.studies.sweep import SweepError, glance, load_sweep, run_sweep
from ips_sim.ui.cli.interrupt import interrupted

SWEEP_EXAMPLES = """
\b
Examples:
  ips-sim sweep scenarios/sweeps/specialists_by_referrals.yaml
  ips-sim sweep scenarios/sweeps/caseload_cap.yaml --replications 100 --workers 2
  ips-sim sweep scenarios/sweeps/specialists_by_referrals.yaml --resume     # after Ctrl-C
  ips-sim sweep scenarios/sweeps/specialists_by_referrals.yaml --scheduler tcp://10.0.0.5:8786
"""



@click.command("sweep", epilog=SWEEP_EXAMPLES)
@click.argument("sweep_file", metavar="SWEEP.yaml", type=click.Path(dir_okay=False))
@click.option("--workers", "-w", type=click.IntRange(1, 4096), default=None,
              help="Local processes [default: the machine's cores]; results are identical for any number.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on a Dask distributed cluster, e.g. tcp://HOST:8786 (workers need ips-sim installed).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted sweep from DIR.partial/: run only the points not finished.")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Output folder DIR [default: outputs/<sweep name>/]; work in progress is in DIR.partial/.")
@click.option("--replications", "-n", type=click.IntRange(2, 100_000), default=None,
              help="Replications per point [default: the sweep file's, else the base scenario's].")
@click.option("--seed", type=click.IntRange(0), default=None,
              help="Base random seed, the same at every point [default: the sweep file's, else the base's].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary on the terminal.")
@click.option("--keep-records", is_flag=True,
              help="Also write per-member, per-job and monthly tables of every point (large).")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--overwrite", is_flag=True, help="Replace results of a different sweep in --out.")
@click.option("--force", is_flag=True,
              help="Run even if the estimated work is over the limit (about an hour of CPU time, or a "
                   "replication too large for memory).")
def sweep_command(sweep_file, workers, scheduler, resume, out, replications, seed, quiet, keep_records, no_plots,
                  overwrite, force):
    """Run a base scenario over a grid of field values (e.g. specialists x referral rate).

    Every point uses the same seed and replications (common random numbers),
    so differences between points come from the fields varied, not from noise.
    Writes sweep.csv (one row per point and metric, with confidence
    intervals), points/, plots/ and manifest.json.
    """

    errors = []
    errors.extend(option_problems(workers, scheduler))
    try:
        sw = load_sweep(sweep_file, replications, seed)
    except SweepError as exc:
        errors.extend(exc.messages)
    if errors:
        raise UserError(errors)
    if sw.replications < 2:
        raise UserError([f"{sweep_file}: replications: {sw.replications}: at least 2 are needed "
                         "for confidence intervals"])
    check_many(((sc, sw.replications) for sc in sw.scenarios), sweep_file, force)
    folder = OutputFolder(Path(out) if out else Path("outputs") / sw.name,
                          {"fingerprint": sw.fingerprint(keep_records)}, kind="sweep", overwrite=overwrite)
    folder.check()
    out_dir = folder.path
    seen = []
    for sc in sw.scenarios:  # referral-rate changes hidden in a warm-up, once each
        seen += [line for line in sc.warnings() if line not in seen]
    for line in seen:
        click.echo(line, err=True)
    executor = make_executor(workers, scheduler)
    progress = None

    def on_start(points, reps):
        nonlocal progress
        if not quiet and points < len(sw):
            click.echo(f"{sw.name}: resuming: {len(sw) - points} of {len(sw)} points already finished", err=True)
        progress = Progress(reps, sw.name, quiet)

    def tick(k):
        if progress is not None:
            progress(k)

    try:
        with folder.lock():
            result = run_sweep(sw, out_dir, executor, resume=resume, keep_records=keep_records, progress=tick,
                               plots=not no_plots, on_start=on_start)
    except (KeyboardInterrupt, EnvironmentFault):  # Ctrl-C, or a worker killed on its own: say what is kept
        if progress is not None:
            progress.close()
        work = partial_dir(out_dir)
        done = len(list((work / "points").glob("p*.json"))) if work.exists() else 0
        interrupted(f"{done} of {len(sw)} points finished and kept in {work}/; "
                    "run the same command with --resume to finish")
        raise
    finally:
        if progress is not None:
            progress.close()
        executor.close()
    if quiet:
        return
    if result.already_complete:
        click.echo(f"{sw.name}: already complete in {out_dir}/; nothing to run")
        return
    click.echo(f"{sw.name}: {result.points} points x {result.replications} replications "
               f"({result.ran} run now) in {result.wall_seconds:.1f} s -> {out_dir}/")
    for line in glance(sw, out_dir / "sweep.csv"):
        click.echo(line)



COMMANDS = [sweep_command]
