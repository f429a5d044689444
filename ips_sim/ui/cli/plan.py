"""``ips-sim plan``: the smallest staffing that meets every target with confidence."""

from __future__ import annotations

import click

from ips_sim.analysis.metrics import METRICS, unit_label
from ips_sim.config import ScenarioError, load_scenario
from ips_sim.config.prices import currency_label
from ips_sim.config.workload import check_many
from ips_sim.core.echo import shown
from ips_sim.core.errors import UserError
from ips_sim.core.progress import Progress
from ips_sim.runner.executors import make_executor, option_problems
from ips_sim.runner.output import OutputFolder
from ips_sim.studies.plan import give_up_warning, parse_targets, parse_vary, plan, sentence, table_lines, write_plan
from ips_sim.studies.sweep import try_updates

PLAN_EXAMPLES = """
\b
Examples:
  ips-sim plan scenarios/two_specialists_38_members.yaml --vary team.specialists=1..6 \\
      --target "mean_wait_days<=30" --target "ever_employed_rate>=0.45"
  ips-sim plan scenarios/high_referral_demand.yaml --vary team.specialists=2..8 \\
      --target "share_gave_up_waiting<=0.1" --replications 40 --max-replications 320 --workers 2
"""



@click.command("plan", epilog=PLAN_EXAMPLES)
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--vary", "vary", required=True, metavar="FIELD=VALUES",
              help="The field to plan and the values to try in order, e.g. team.specialists=1..6, "
                   "team.fte_per_specialist=0.5..1:0.1 or team.caseload_cap=25,20,15.")
@click.option("--target", "targets", multiple=True, required=True, metavar="METRIC<=VALUE",
              help="A target every answer must meet with confidence (repeatable), e.g. \"mean_wait_days<=30\".")
@click.option("--replications", "-n", type=click.IntRange(2, 100_000), default=None,
              help="Replications per value to start with [default: the scenario's simulation.replications].")
@click.option("--max-replications", type=click.IntRange(2, 1_000_000), default=None,
              help="Most replications for a value too close to call (doubling) [default: 8 x --replications].")
@click.option("--workers", "-w", type=click.IntRange(1, 4096), default=None,
              help="Local processes [default: the machine's cores]; results are identical for any number.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run on a Dask cluster, e.g. tcp://HOST:8786.")
@click.option("--confidence", type=click.FloatRange(0.5, 1.0, max_open=True), default=0.95, show_default=True,
              help="Confidence level of the intervals compared with the targets.")
@click.option("--seed", type=click.IntRange(0), default=None, help="Base random seed [default: the scenario's].")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Also write plan.csv and plan.txt (the answer and table) to this folder.")
@click.option("--parameter-uncertainty", is_flag=True,
              help="Replication i uses parameter draw i: the scenario's own posterior (parameter_draws, from "
                   "ips-sim fit-program) or the national calibration draws.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--overwrite", is_flag=True, help="Replace a different plan's results in --out.")
@click.option("--force", is_flag=True,
              help="Run even if the estimated work is over the limit (about an hour of CPU time, or a "
                   "replication too large for memory).")
def plan_command(scenario, vary, targets, replications, max_replications, workers, scheduler, confidence, seed, out,
                 parameter_uncertainty, quiet, overwrite, force):
    """Find the smallest value of a field (e.g. team.specialists) meeting every target with confidence.

    A value meets a target only if its confidence interval is on the right
    side of the threshold (ci_high <= 30 for mean_wait_days<=30). Values whose
    interval straddles a threshold get more replications (doubling, up to
    --max-replications).
    """

    errors = []
    try:
        path, values = parse_vary(vary)
    except ValueError as exc:
        errors.append(f"--vary: {shown(vary)}: {exc}")
        path, values = None, []
    parsed = parse_targets(targets, "--target", errors)
    errors.extend(option_problems(workers, scheduler))
    base = None
    try:
        base = load_scenario(scenario)
    except ScenarioError as exc:
        errors.extend(exc.messages)
    if base is not None and path is not None:
        for v in values:
            _, problems = try_updates(base, {path: v})
            for loc, value, why in problems:
                errors.append(f"--vary: {path}={shown(v)}: {why}" + ("" if loc == path else f" ({loc}: {shown(value)})"))
    n = replications or (base.simulation.replications if base is not None else 2)
    if n < 2:
        errors.append(f"{scenario}: simulation.replications: {n}: plan needs at least 2; give --replications")
    top = max_replications if max_replications is not None else 8 * n
    if max_replications is not None and max_replications < n:
        errors.append(f"--max-replications: {max_replications}: must be at least --replications ({n})")
    if errors:
        raise UserError(errors)
    # The most the plan can run: every value at --max-replications.
    check_many(((base.with_updates({path: v}), top) for v in values), scenario, force)
    folder = None
    if out:
        key = {"scenario": base.model_dump(mode="json"), "vary": vary, "targets": sorted(targets), "seed": seed,
               "replications": n, "max_replications": top, "confidence": confidence,
               "parameter_uncertainty": parameter_uncertainty}
        folder = OutputFolder(out, key, kind="plan", overwrite=overwrite)
        folder.check()
    for line in base.warnings():
        click.echo(line, err=True)
    draws = draws_used = None
    if parameter_uncertainty:
        from ips_sim.studies.calibration import scenario_draws

        draws, draws_used = scenario_draws(base, scenario)
    executor = make_executor(workers, scheduler)
    progress = Progress(len(values) * n, f"plan {path}", quiet)
    try:
        res = plan(base, path, values, parsed, executor, replications=n, max_replications=top,
                   confidence=confidence, seed=seed, progress=progress, draws=draws)
    finally:
        progress.close()
        executor.close()
    currency = currency_label(base.costs.price_year)
    units = {m.name: unit_label(m.unit, currency) for m in METRICS}  # money metrics as "USD 2024"
    used = sorted({t.metric for t in parsed})
    years = base.simulation.horizon_years - base.simulation.warmup_years
    text = [sentence(res), "", *table_lines(res, years), "",
            f"seed {seed if seed is not None else base.simulation.seed}, common random numbers across values; "
            + "; ".join(f"{m} in {units[m]}" for m in used),
            f"costs in {currency}, not discounted; cost per additional person employed: against the previous "
            f"value in the table, paired replications; budget: cost per year x {years:g} observed years",
            f"mode: {base.mode}"] + (["parameter uncertainty: replication i uses parameter draw i ("
                                      + ("the scenario's own posterior" if base.parameter_draws else
                                         "national calibration draws") + ")"] if parameter_uncertainty else [])
    warning = give_up_warning(res)
    if warning:
        text.append(warning)
    for line in text:
        click.echo(line)
    if folder is not None:
        import sys

        doc = {"scenario": base.model_dump(mode="json"), "seed": seed if seed is not None else base.simulation.seed,
               "command": " ".join(["ips-sim", *sys.argv[1:]]), "path": path, "years": years,
               "currency": currency, "targets": [str(t) for t in parsed], "parameter_draws": draws_used}
        with folder.lock(), folder.write(doc) as tmp:
            write_plan(tmp, res, text, years, currency)
        click.echo(f"-> {folder.path}/plan.csv, plan.txt")

COMMANDS = [plan_command]
