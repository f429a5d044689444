"""``ips-sim sensitivity``: which assumptions change the outcomes, and the staffing answer."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ips_sim.config import ScenarioError, load_scenario
from ips_sim.config.workload import check_many
from ips_sim.core.echo import shown
from ips_sim.core.hashing import content_hash
from ips_sim.core.errors import UserError
from ips_sim.core.progress import Progress
from ips_sim.reporting.tables import versions
from ips_sim.runner.executors import make_executor, option_problems
from ips_sim.runner.output import OutputFolder
from ips_sim.runner.resume import Checkpoint
from ips_sim.studies.plan import parse_targets, parse_vary
from ips_sim.studies.program_fit.draws import draws_sentence
from ips_sim.studies.sensitivity import (
    SensitivityError,
    check_outcomes,
    default_ranges_path,
    load_ranges,
    oat_points,
    plan_sensitivity,
    run_sensitivity,
    select,
    summary_lines,
    write_sensitivity,
)
from ips_sim.ui.cli.interrupt import interrupted

# Points per work unit: fixed, so saved units line up whatever the number of workers on --resume.
POINTS_PER_UNIT = 4

EXAMPLES = """
\b
Examples:
  ips-sim sensitivity scenarios/two_specialists_38_members.yaml \\
      --outcome mean_wait_days --outcome ever_employed_rate --out outputs/sensitivity
  ips-sim sensitivity scenarios/two_specialists_38_members.yaml --outcome mean_wait_days \\
      --method sobol --sobol-top 4 --workers 2 --out outputs/sensitivity_sobol
  ips-sim sensitivity scenarios/two_specialists_38_members.yaml --outcome ever_employed_rate \\
      --plan-vary team.specialists=1..5 --plan-target "mean_wait_days<=30" \\
      --plan-target "ever_employed_rate>=0.5" --out outputs/sensitivity_plan
"""


@click.command("sensitivity", epilog=EXAMPLES)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--outcome", "outcomes", multiple=True, required=True, metavar="METRIC",
              help="An outcome to analyse (repeatable), e.g. mean_wait_days, ever_employed_rate.")
@click.option("--method", type=click.Choice(["morris", "sobol"]), default="morris", show_default=True,
              help="morris: elementary-effects screening of every ranged assumption; sobol: the screening, "
                   "then Sobol indices (S1, ST) for the --sobol-top that matter most.")
@click.option("--ranges", "ranges_file", type=click.Path(dir_okay=False), default=None,
              help="Ranges file (parameter,low,high,requires,reasoning) [default: calibration/assumption_ranges.csv].")
@click.option("--parameter", "parameters", multiple=True, metavar="FIELD",
              help="Vary only these ranged assumptions (repeatable) [default: every ranged one].")
@click.option("--trajectories", type=click.IntRange(2, 10_000), default=10, show_default=True,
              help="Morris trajectories (each costs one point more than the number of assumptions).")
@click.option("--sobol-samples", type=click.IntRange(2, 65_536), default=64, show_default=True,
              help="Sobol base samples N, a power of 2 (N x (k + 2) points for k assumptions).")
@click.option("--sobol-top", type=click.IntRange(1, 100), default=4, show_default=True,
              help="How many assumptions (largest Morris mu*) get Sobol indices.")
@click.option("--replications", "-n", type=click.IntRange(1, 100_000), default=10, show_default=True,
              help="Replications per sample point (the same indices and seed at every point).")
@click.option("--plan-vary", default=None, metavar="FIELD=VALUES",
              help="Also re-plan at each assumption's low and high end: the field and values to try, "
                   "as in ips-sim plan, e.g. team.specialists=1..6.")
@click.option("--plan-target", "plan_targets", multiple=True, metavar="METRIC<=VALUE",
              help="A target of the planning question (repeatable), as in ips-sim plan.")
@click.option("--plan-replications", type=click.IntRange(2, 100_000), default=20, show_default=True,
              help="Replications per value in each re-plan (doubled for values too close to call).")
@click.option("--plan-max-replications", type=click.IntRange(2, 1_000_000), default=80, show_default=True,
              help="Most replications per value in each re-plan.")
@click.option("--workers", "-w", type=click.IntRange(1, 4096), default=None,
              help="Local processes [default: the machine's cores]; results are identical for any number.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run on a Dask cluster, e.g. tcp://HOST:8786.")
@click.option("--seed", type=click.IntRange(0), default=None, help="Base random seed [default: the scenario's].")
@click.option("--parameter-uncertainty", is_flag=True,
              help="Replication i of every point (and every re-plan) uses parameter draw i: the scenario's own "
                   "posterior (parameter_draws, from ips-sim fit-program) or the national calibration draws.")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Output folder [default: outputs/<scenario name>_sensitivity/].")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run: points already finished (saved in OUT.partial/) are not run again.")
@click.option("--overwrite", is_flag=True, help="Replace results of a different analysis in --out.")
@click.option("--force", is_flag=True,
              help="Run even if the estimated work is over the limit (more than an hour of CPU time).")
@click.option("--no-plots", is_flag=True, help="Write the tables only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def sensitivity_command(scenario, outcomes, method, ranges_file, parameters, trajectories, sobol_samples, sobol_top,
                        replications, plan_vary, plan_targets, plan_replications, plan_max_replications, workers,
                        scheduler, seed, parameter_uncertainty, out, resume, overwrite, force, no_plots, quiet):
    """Which assumptions change the outcomes (Morris, Sobol) and the recommended staffing.

    Every parameter marked assumption in calibration/parameters.csv is varied
    over the plausible range stated (with its reasoning) in the ranges file,
    with common random numbers at every sample point. Writes sensitivity.csv
    (ranked), one plot per outcome (tornado and Morris mu*-sigma), and with
    --plan-target, plan_sensitivity.csv: the smallest staffing meeting the
    targets with each assumption at its low and its high end.
    """
    errors = list(check_outcomes(outcomes))
    if method == "sobol" and sobol_samples & (sobol_samples - 1):
        errors.append(f"--sobol-samples: {sobol_samples}: must be a power of 2 (e.g. 32, 64, 128)")
    errors.extend(option_problems(workers, scheduler))
    path = values = None
    if plan_vary is not None:
        try:
            path, values = parse_vary(plan_vary)
        except ValueError as exc:
            errors.append(f"--plan-vary: {shown(plan_vary)}: {exc}")
    parsed = parse_targets(plan_targets, "--plan-target", errors)
    if bool(plan_vary) != bool(plan_targets):
        errors.append("--plan-vary: a planning question needs both --plan-vary and at least one --plan-target")
    if plan_max_replications < plan_replications:
        errors.append(f"--plan-max-replications: {plan_max_replications}: must be at least --plan-replications "
                      f"({plan_replications})")
    base = None
    try:
        base = load_scenario(scenario)
    except ScenarioError as exc:
        errors.extend(exc.messages)
    ranges = None
    if base is not None:
        try:
            ranges = load_ranges(ranges_file or default_ranges_path(), base)
            ranges = select(ranges, parameters)
        except SensitivityError as exc:
            errors.extend(exc.messages)
        if ranges is not None and not ranges.varied:
            errors.append(f"{ranges_file or default_ranges_path()}: no ranged assumption has an effect in {scenario}")
    draws = used = None
    if parameter_uncertainty and base is not None:
        from ips_sim.studies.calibration import scenario_draws

        try:
            draws, used = scenario_draws(base, scenario)
        except UserError as exc:
            errors.extend(exc.messages)
    if errors:
        raise UserError(errors)
    if method == "sobol" and sobol_top > len(ranges.varied):
        sobol_top = len(ranges.varied)
    out = Path(out) if out else Path("outputs") / f"{base.name}_sensitivity"
    seed = base.simulation.seed if seed is None else seed
    k = len(ranges.varied)
    n_points = len(oat_points(ranges.varied)) + trajectories * (k + 1)
    if method == "sobol":
        n_points += sobol_samples * (sobol_top + 2)
    key = {"scenario": base.model_dump(mode="json"), "seed": seed, "replications": replications, "method": method,
           "trajectories": trajectories, "sobol_samples": sobol_samples, "sobol_top": sobol_top,
           "outcomes": list(outcomes), "ranges": [vars(r) for r in ranges.varied], "points_per_unit": POINTS_PER_UNIT,
           "plan": [plan_vary, list(plan_targets), plan_replications, plan_max_replications] if parsed else None,
           "parameter_draws": content_hash(draws) if draws else None}
    # Before any work: the analyses' points, and at most every planned value at --plan-max-replications
    # for each of the 2k + 1 re-plans.
    requests = [(base, n_points * replications)]
    if parsed:
        requests += [(base.with_updates({path: v}), plan_max_replications * (2 * k + 1)) for v in values]
    check_many(requests, scenario, force)
    folder = OutputFolder(out, key, kind="sensitivity", overwrite=overwrite)
    folder.check()
    work = folder.partial
    store = Checkpoint(work, key, what="sensitivity analysis",
                       settings="scenario, seed, design, ranges, outcomes, planning question or parameter uncertainty")
    with folder.lock():
        store.open(resume)
        executor = make_executor(workers, scheduler)
        click.echo(f"{base.name}: {k} assumptions, {n_points} points x {replications} replications on "
                   f"{executor.description}", err=True)
        progress = Progress(n_points, "sensitivity", quiet)
        started = time.time()
        interrupted(f"finished points are saved in {work}/: run the same command with --resume "
                              "to continue")
        try:
            res, ps = _run(base, outcomes, ranges, executor, method, trajectories, sobol_samples, sobol_top,
                           replications, seed, store, progress, parsed, path, values, plan_replications,
                           plan_max_replications, draws)
        finally:
            progress.close()
            executor.close()
        text = summary_lines(res, ps, values) + ([draws_sentence(used)] if used else [])
        for line in text:
            click.echo(line)
        doc = {"scenario": base.model_dump(mode="json"), "seed": seed, "replications_per_point": replications,
               "method": method, "outcomes": list(outcomes), "trajectories": trajectories,
               "sobol_samples": sobol_samples if method == "sobol" else None,
               "sobol_parameters": res.sobol_parameters, "points": res.points_run,
               "ranges_file": str(ranges_file or default_ranges_path()),
               "plan": {"vary": plan_vary, "targets": list(plan_targets), "replications": plan_replications,
                        "max_replications": plan_max_replications} if parsed else None,
               "parameter_uncertainty": used, "executor": executor.description, "versions": versions(),
               "wall_time_seconds": round(time.time() - started, 3),
               "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:])}
        with folder.write() as tmp:
            write_sensitivity(tmp, res, ps, text, doc, plots=not no_plots, plan_values=values)
        store.discard()
    click.echo(f"-> {out}/")


def _run(base, outcomes, ranges, executor, method, trajectories, sobol_samples, sobol_top, replications, seed,
         store, progress, targets, path, values, plan_replications, plan_max_replications, draws=None):
    """The analyses, then (with targets) the re-plans at each assumption's ends."""
    res = run_sensitivity(base, outcomes, ranges, executor, method=method, trajectories=trajectories,
                          sobol_samples=sobol_samples, sobol_top=sobol_top, replications=replications,
                          seed=seed, per_unit=POINTS_PER_UNIT, progress=progress, store=store, draws=draws)
    progress.close()
    ps = None
    if targets:
        click.echo(f"re-planning {path} at {2 * len(ranges.varied) + 1} settings", err=True)
        ps = plan_sensitivity(base, path, values, targets, ranges.varied, executor, replications=plan_replications,
                              max_replications=plan_max_replications, seed=seed, store=store, draws=draws)
    return res, ps


COMMANDS = [sensitivity_command]
