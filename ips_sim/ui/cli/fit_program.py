"""``ips-sim fit-program``: a program's quarterly reports -> its own parameters, a forecast and a scenario."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

EXAMPLES = """
\b
Examples:
  ips-sim fit-program scenarios/example_program_reports.csv --scenario scenarios/example_program.yaml \\
      --out outputs/example_program
  ips-sim fit-program reports.csv --scenario base.yaml --out fit --hold-out 4 --workers 2
  ips-sim run outputs/example_program/program.yaml --parameter-uncertainty
"""


@click.command("fit-program", epilog=EXAMPLES)
@click.argument("reports", type=click.Path(dir_okay=False))
@click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False), required=True,
              help="The base scenario: the program's team, caseload cap and service (national rates by default).")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True,
              help="Folder for posterior.csv, program.yaml, diagnostics, plots and report.txt.")
@click.option("--hold-out", "hold_out", type=click.IntRange(0, 100), default=0, show_default=True,
              help="Fit on all but the last K quarters and score the forecast of those K.")
@click.option("--population", type=click.IntRange(20, 100_000), default=None,
              help="ABC-SMC particles per generation [default: 300].")
@click.option("--generations", type=click.IntRange(1, 50), default=None,
              help="ABC-SMC generations at most [default: 6].")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--workers", "-w", type=click.IntRange(1, 512), default=1, show_default=True,
              help="Local processes; the fit is identical for any number.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run on a Dask cluster, e.g. tcp://HOST:8786.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--resume", is_flag=True, help="Continue an interrupted fit from <out>.partial/.")
@click.option("--overwrite", is_flag=True, help="Replace a different fit's results in --out.")
@click.option("--force", is_flag=True, help="Run even when the work estimate is over the limit.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def fit_program_command(reports, scenario_path, out, hold_out, population, generations, seed, workers, scheduler,
                        no_plots, resume, overwrite, force, quiet):
    """Fit job finding, job ending and drop-out (and the referral level when the reports have no referrals)
    to a program's quarterly reports by ABC-SMC (pyabc), with priors from the national fit.

    Writes the posterior draws, program.yaml (a scenario of the program today carrying its posterior:
    --parameter-uncertainty uses it), diagnostics, the reports against the posterior predictive bands,
    and where the program stands against the 31/41/50% benchmarks.
    """
    from ips_sim.config import load_scenario, read_yaml_file
    from ips_sim.config.program_records import read_program_records
    from ips_sim.config.workload import check_scenario
    from ips_sim.core.errors import UserError
    from ips_sim.core.progress import Progress
    from ips_sim.runner.executors import make_executor, option_problems
    from ips_sim.runner.output import OutputFolder
    from ips_sim.runner.resume import Checkpoint
    from ips_sim.studies.calibration import load_draws
    from ips_sim.studies.program_fit import fit as F
    from ips_sim.studies.program_fit.history import program_model
    from ips_sim.studies.program_fit.study import fit_program
    from ips_sim.ui.cli.interrupt import interrupted

    problems = option_problems(workers if scheduler is None else None, scheduler)
    if problems:
        raise UserError(problems)
    records = read_program_records(reports)
    base = load_scenario(scenario_path)
    base_raw = read_yaml_file(scenario_path) or {}
    if hold_out and len(records) - hold_out < 4:
        raise UserError([f"--hold-out: {hold_out}: leaves {len(records) - hold_out} of {len(records)} quarters to fit; "
                         f"at least 4 are needed"])
    population = population or F.POPULATION
    generations = generations or F.GENERATIONS
    national = load_draws()
    pm = program_model(base_raw, base, records, quarters=len(records) - hold_out, national_draws=national)
    # Work: the calibration sample and each generation at a few proposals per acceptance, plus the predictive.
    sims = population * (1 + 4 * generations) + F.POSTERIOR_DRAWS
    check_scenario(pm.scenario, sims, f"{reports} (about {sims:,} simulated histories)", force)
    key = {"reports": hashlib.sha256(Path(reports).read_bytes()).hexdigest(),
           "scenario": base.model_dump(mode="json"), "hold_out": hold_out, "population": population,
           "generations": generations, "seed": seed}
    folder = OutputFolder(out, key, kind="fit-program", overwrite=overwrite)
    folder.check()
    checkpoint = Checkpoint(folder.partial, key, codec="pickle", units="batches", what="fit",
                            settings="reports, scenario, hold-out, population, generations or seed")
    executor = make_executor(workers if scheduler is None else None, scheduler)
    with folder.lock():
        checkpoint.open(resume)
        interrupted(f"finished simulations are saved in {folder.partial}/; run the same command with --resume "
                    f"to continue")
        progress = Progress(sims, "fit-program", quiet, unit="sim")
        try:
            res = fit_program(records, base_raw, base, seed, hold_out, population, generations, executor=executor,
                              checkpoint=checkpoint, progress=progress, national_draws=national,
                              plots=not no_plots)
        finally:
            progress.close()
            executor.close()
        with folder.write({**res.manifest, "executor": executor.description}) as tmp:
            for name, data in res.files.items():
                (tmp / name).write_bytes(data)
        checkpoint.discard()
    for line in res.lines:
        click.echo(line)
    if res.check["poor"]:
        click.echo("warning: poor fit: see the POOR FIT line above", err=True)
    click.echo(f"-> {folder.path}/ program.yaml, posterior.csv, report.txt, diagnostics.txt"
               + ("" if no_plots else ", predictive.png, parameters.png")
               + (", holdout.csv" if hold_out else ""))


COMMANDS = [fit_program_command]
