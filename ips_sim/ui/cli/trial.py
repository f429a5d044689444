"""``ips-sim trial``: a virtual randomized trial, IPS against usual services."""

from __future__ import annotations

from pathlib import Path

import click

from ips_sim.config import load_scenario, read_yaml_file, scenario_from_dict
from ips_sim.config.workload import check_many
from ips_sim.core.progress import Progress
from ips_sim.runner.executors import make_executor
from ips_sim.runner.output import OutputFolder
from ips_sim.runner.resume import Checkpoint
from ips_sim.studies.calibration import draw_updates, explicit_paths, load_draws
from ips_sim.studies.trial import cohort_scenario, format_table, virtual_trial, write_trial
from ips_sim.ui.cli.interrupt import interrupted


@click.command("trial")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--n-per-arm", type=click.IntRange(1, 100_000), required=True, help="People randomized to each arm.")
@click.option("--follow-up-months", type=click.FloatRange(1, 120), default=18.0, show_default=True)
@click.option("--replications", "-n", type=click.IntRange(1, 1_000_000), default=200, show_default=True,
              help="Simulated trials (power = share of them with a significant result).")
@click.option("--seed", type=click.IntRange(0), default=None, help="[default: the scenario's simulation.seed]")
@click.option("--control", type=click.Path(dir_okay=False), default=None,
              help="Control-arm scenario [default: the usual-services arm, `arm: usual_services`].")
@click.option("--parameter-uncertainty", is_flag=True,
              help="Trial i uses parameter draw i of calibration/draws.csv (cycled) in both arms.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for trials.csv and trial_summary.csv [default: outputs/<scenario>_trial_<n>/].")
@click.option("--workers", "-w", type=click.IntRange(1, 512), default=1, show_default=True)
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run on a Dask cluster, e.g. tcp://HOST:8786.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted trial from <out>.partial/: finished cohorts are not run again.")
@click.option("--force", is_flag=True, help="Run even if the work estimate is over the limits.")
@click.option("--overwrite", is_flag=True, help="Replace results of a different trial in --out.")
def trial_command(scenario, n_per_arm, follow_up_months, replications, seed, control, parameter_uncertainty, out,
                  workers, scheduler, resume, force, overwrite):
    """Randomize simulated cohorts to IPS (SCENARIO) or usual services and report the trial's outcome table.

    Finished cohorts are saved in <out>.partial/ as the trial goes; after Ctrl-C
    or a crash, the same command with --resume runs only what is missing.

    \b
    Example:
      ips-sim trial scenarios/two_specialists_38_members.yaml --n-per-arm 150
      ips-sim trial scenarios/two_specialists_38_members.yaml --n-per-arm 150 --resume   # after Ctrl-C
    """
    ips = load_scenario(scenario)
    ctl = load_scenario(control) if control else scenario_from_dict({"arm": "usual_services", "name": "usual_services"})
    seed = ips.simulation.seed if seed is None else seed
    key = {"ips": ips.model_dump(mode="json"), "control": ctl.model_dump(mode="json"), "seed": seed,
           "n_per_arm": n_per_arm, "follow_up_months": follow_up_months,
           "parameter_uncertainty": parameter_uncertainty}
    folder = OutputFolder(Path(out) if out else Path("outputs") / f"{ips.name}_trial_{n_per_arm}", key,
                          kind="trial", overwrite=overwrite)
    folder.check()
    check_many(((cohort_scenario(arm, n_per_arm, follow_up_months), replications) for arm in (ips, ctl)),
               scenario, force)
    draws = None
    if parameter_uncertainty:
        all_draws = load_draws()
        ex_i = explicit_paths(read_yaml_file(scenario) or {})
        ex_c = explicit_paths(read_yaml_file(control) or {}) if control else set()
        draws = [(draw_updates(ips, all_draws, i, ex_i), draw_updates(ctl, all_draws, i, ex_c))
                 for i in range(len(all_draws))]
    executor = make_executor(workers if scheduler is None else None, scheduler)
    checkpoint = Checkpoint(folder.partial, {**key, "replications": replications}, codec="pickle", units="ips",
                            what="trial", settings="scenario, control, seed, trial size, follow-up, replications "
                                                   "or parameter uncertainty")
    with folder.lock():
        checkpoint.open(resume)
        progress = Progress(2 * replications, f"{ips.name} trial", unit="cohort")
        interrupted(f"finished cohorts are saved in {folder.partial}/; run the same command with --resume "
                    "to continue")
        try:
            result = virtual_trial(ips, ctl, n_per_arm, follow_up_months, replications, seed, draws=draws,
                                   executor=executor, checkpoint=checkpoint, progress=progress)
        finally:
            progress.close()
            executor.close()
        with folder.write() as tmp:
            write_trial(tmp, result)
        checkpoint.discard()
    click.echo(format_table(result))
    click.echo(f"-> {folder.path}/trials.csv, trial_summary.csv")


COMMANDS = [trial_command]
