"""``ips-sim run``, ``validate`` and ``fields``: one scenario, its checks and the field reference."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ips_sim.analysis.metrics import infinite_metrics
from ips_sim.config import load_scenario, load_scenarios
from ips_sim.config.workload import check_scenario
from ips_sim.core.echo import shown
from ips_sim.core.errors import UserError
from ips_sim.core.progress import Progress
from ips_sim.runner.executors import make_executor
from ips_sim.runner.output import OutputFolder
from ips_sim.runner.resume import Checkpoint
from ips_sim.ui.cli.interrupt import interrupted

EXAMPLES = """
\b
Examples:
  ips-sim run scenarios/two_specialists_38_members.yaml
  ips-sim run scenarios/three_specialists.yaml --replications 200 --workers 2
  ips-sim validate scenarios/*.yaml
"""


@click.command(epilog=EXAMPLES)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--replications", "-n", type=click.IntRange(1, 1_000_000), default=None,
              help="Number of replications [default: the scenario's simulation.replications].")
@click.option("--seed", type=click.IntRange(0), default=None,
              help="Base random seed [default: the scenario's simulation.seed].")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Output folder [default: outputs/<scenario name>/].")
@click.option("--workers", "-w", type=click.IntRange(1, 512), default=1, show_default=True,
              help="Processes to run replications in; results are identical for any number.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary on the terminal.")
@click.option("--parameter-uncertainty", is_flag=True,
              help="Replication i uses parameter draw i of calibration/draws.csv (cycled), so CIs include "
                   "parameter uncertainty; fields set in the scenario file win over the draws.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run: replications already saved in <out>.partial/ are not run again.")
@click.option("--overwrite", is_flag=True,
              help="Replace results of a different scenario or seed in --out (never files ips-sim did not write).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on a Dask cluster, e.g. tcp://HOST:8786 (results identical to local runs).")
@click.option("--records", "records_kept", default="all", show_default=True, metavar="all|none|N",
              help="Per-member, per-job and monthly tables for all replications, none, or the first N "
                   "(summary and replications.csv always cover every replication; memory stays bounded).")
@click.option("--force", is_flag=True,
              help="Run even if the estimated work is over the limit (about an hour of CPU time, or a "
                   "replication too large for memory).")
def run(scenario, replications, seed, out, workers, no_plots, quiet, parameter_uncertainty, resume, overwrite,
        scheduler, records_kept, force):
    """Run SCENARIO and write tables, plots and a manifest to the output folder.

    Finished replications are saved in <out>.partial/ as the run goes; after
    Ctrl-C or a crash, the same command with --resume runs only what is missing.
    """
    from ips_sim.config.prices import currency_label
    from ips_sim.reporting.tables import manifest, summary_table, write_run
    from ips_sim.runner.experiment import run_replications

    keep = _records_option(records_kept)
    sc = load_scenario(scenario)
    n = replications or sc.simulation.replications
    check_scenario(sc, n, scenario, force)
    seed = sc.simulation.seed if seed is None else seed
    used = None
    if parameter_uncertainty:  # the draws read (and refused, with one line) before anything is written
        from ips_sim.studies.calibration import scenario_draws

        _, used = scenario_draws(sc, scenario)
    key = {"scenario": sc.model_dump(mode="json"), "seed": seed, "parameter_uncertainty": parameter_uncertainty}
    folder = OutputFolder(Path(out) if out else Path("outputs") / sc.name, key, kind="run", overwrite=overwrite)
    folder.check()
    executor = make_executor(workers if scheduler is None else None, scheduler)
    work = folder.partial
    checkpoint = Checkpoint(work, {**key, "replications": n}, codec="pickle", units="chunks", what="run",
                            settings="scenario, seed, replications or parameter uncertainty")
    with folder.lock():
        checkpoint.open(resume)
        for line in sc.warnings():
            click.echo(line, err=True)  # also in manifest.json
        started = time.perf_counter()
        progress = Progress(n, sc.name, quiet)
        interrupted(f"finished replications are saved in {work}/; run the same command with --resume to continue")
        try:
            if parameter_uncertainty:
                from ips_sim.studies.calibration import run_with_draws
                metrics, records = run_with_draws(sc, scenario, n, seed, progress=progress, checkpoint=checkpoint,
                                                  executor=executor, keep_records=keep)
            else:
                metrics, records = run_replications(sc, n, seed, progress=progress, checkpoint=checkpoint,
                                                    executor=executor, keep_records=keep)
        finally:
            progress.close()
            executor.close()
        records = [r for r in records if r is not None]
        wall = time.perf_counter() - started
        infinite = infinite_metrics(metrics)
        if infinite:  # the schema's bounds should make this impossible; never write such a table
            raise UserError([f"{scenario}: results: {line}: the numbers overflowed; lower the cost and wage fields"
                             for line in infinite])
        with folder.write() as tmp:
            write_run(tmp, sc, metrics, records,
                      manifest(sc, seed, n, wall, workers=workers, executor=executor.description,
                               parameter_uncertainty=parameter_uncertainty, parameter_draws=used,
                               records=records_kept),
                      plots=not no_plots)
        checkpoint.discard()
    if not quiet:
        from ips_sim.reporting.wording import period_words, summary_lines

        table = summary_table(metrics, currency_label(sc.costs.price_year))
        click.echo(f"{sc.display_label}: {n} replications in {wall:.1f} s -> {folder.path}/")
        click.echo(f"  mode: {sc.mode}")
        for line in summary_lines(table, currency_label(sc.costs.price_year),
                                  period_words(sc.model_dump(mode="json"))):
            click.echo(line)
        click.echo(f"  (every figure at full precision, by metric id: {folder.path}/summary.csv)")


def _records_option(text: str) -> bool | int:
    """--records: all (True), none (False) or the first N replications (an int)."""
    if text == "all":
        return True
    if text == "none":
        return False
    if text.isascii() and text.isdigit() and len(text) <= 7:
        return int(text)
    raise UserError([f"--records: {shown(text)}: give all, none or a number of replications (at most 1000000)"])


@click.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path())
def validate(scenarios):
    """Check scenario files; report every error in every file."""
    ok, errors = load_scenarios(scenarios)
    if errors:
        raise UserError(errors)
    for sc in ok:
        click.echo(f"{sc.name}: ok")


@click.command()
def fields():
    """Print the scenario field reference (Markdown): default, unit, allowed values, source."""
    from ips_sim.config import reference_markdown

    click.echo(reference_markdown(), nl=False)



COMMANDS = [run, validate, fields]
