"""``ips-sim compare``: options against a comparator, paired replications, ICERs and acceptability."""

from __future__ import annotations

import math
import time
from pathlib import Path

import click

from ips_sim.config import load_scenarios
from ips_sim.core.errors import UserError

EXAMPLE = """
\b
Example:
  ips-sim compare scenarios/usual_services.yaml scenarios/two_specialists_38_members.yaml \\
      scenarios/three_specialists.yaml --replications 100 --out outputs/compare
"""


def _money(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:,.0f}"


def format_comparison(c, inc, icers) -> str:
    """The incremental and ICER tables as text for the terminal."""
    lines = [f"{len(c.names)} options, {c.replications} paired replications (seed {c.seed}); "
             f"costs in {c.currency}, {c.basis}; comparator: {c.labels[c.comparator]}", ""]
    labels = dict(zip(c.names, c.labels))
    for name in c.names:
        if name == c.names[c.comparator]:
            continue
        lines.append(f"{labels[name]} against {c.labels[c.comparator]}:")
        for r in inc[inc.option == name].itertuples():
            fmt = _money if r.unit.startswith("USD") else (lambda x: f"{x:.2f}")
            lines.append(f"  {r.quantity:40s} {fmt(r.mean):>12s}  [{fmt(r.ci_low)}, {fmt(r.ci_high)}] {r.unit}")
    lines.append("")
    t = icers[icers.effect_measure == "people_employed"]
    lines.append(f"ICERs ({t.icer_unit.iloc[0]}, each against the next cheaper option on the frontier):")
    lines.append(f"  {'option':32s} {'cost':>12s} {'people employed':>16s} {'ICER':>12s}  status")
    for r in t.itertuples():
        lines.append(f"  {labels.get(r.strategy, r.strategy):32s} {_money(r.cost):>12s} {r.effect:16.2f} "
                     f"{_money(r.icer):>12s}  {r.status}")
    lines.append("  (ND on the frontier, ED extendedly dominated, D dominated)")
    return "\n".join(lines)


@click.command("compare", epilog=EXAMPLE)
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--comparator", type=click.Path(dir_okay=False), default=None,
              help="Scenario the others are compared with [default: the one with `arm: usual_services`, "
                   "else the first].")
@click.option("--replications", "-n", type=click.IntRange(2, 100_000), default=None,
              help="Paired replications per option [default: the comparator's simulation.replications].")
@click.option("--seed", type=click.IntRange(0), default=None, help="[default: the comparator's simulation.seed]")
@click.option("--parameter-uncertainty", is_flag=True,
              help="Replication i uses parameter draw i (calibration/draws.csv) and cost draw i in every option: "
                   "adds the cost-effectiveness plane, acceptability curves, NMB and EVPI.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder [default: outputs/compare/].")
@click.option("--workers", "-w", type=click.IntRange(1, 512), default=1, show_default=True,
              help="Local processes; results are identical for any number.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run on a Dask cluster, e.g. tcp://HOST:8786.")
@click.option("--overwrite", is_flag=True, help="Replace results of a different comparison in --out.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def compare_command(scenarios, comparator, replications, seed, parameter_uncertainty, out, workers, scheduler,
                    overwrite, quiet):
    """Compare SCENARIO options with common random numbers: costs, outcomes, incremental ratios, ICERs."""
    from ips_sim.reporting.tables import versions
    from ips_sim.runner.executors import make_executor
    from ips_sim.runner.output import OutputFolder
    from ips_sim.studies.calibration import scenario_draws
    from ips_sim.studies.comparison import (
        check_options,
        icer_table,
        incremental_table,
        pick_comparator,
        run_comparison,
        write_comparison,
    )

    paths = list(scenarios)
    comp_index = None
    if comparator:
        if comparator in paths:
            comp_index = paths.index(comparator)
        else:
            paths.insert(0, comparator)
            comp_index = 0
    options, errors = load_scenarios(paths)
    if errors:
        raise UserError(errors)
    errors = check_options(options)
    if errors:
        raise UserError(errors)
    comp = pick_comparator(options, comp_index)
    n = replications or options[comp].simulation.replications
    seed = options[comp].simulation.seed if seed is None else seed
    key = {"options": [o.model_dump(mode="json") for o in options], "comparator": comp, "seed": seed,
           "replications": n, "parameter_uncertainty": parameter_uncertainty}
    folder = OutputFolder(Path(out) if out else Path("outputs") / "compare", key, kind="comparison",
                          overwrite=overwrite)
    folder.check()
    draws = used = None
    if parameter_uncertainty:
        # Each option's own posterior (parameter_draws) if it has one, else the national draws.
        pairs = [scenario_draws(sc, path) for sc, path in zip(options, paths)]
        draws, used = [d for d, _ in pairs], [u for _, u in pairs]
    executor = make_executor(workers if scheduler is None else None, scheduler)
    with folder.lock():
        started = time.perf_counter()
        try:
            c = run_comparison(options, comp, n, seed, draws=draws, executor=executor)
        finally:
            executor.close()
        wall = time.perf_counter() - started
        command = ("ips-sim compare " + " ".join(paths) + f" --replications {n} --seed {seed}"
                   + (" --parameter-uncertainty" if parameter_uncertainty else "") + f" --out {folder.path}")
        doc = {"command": command, "versions": versions(), "wall_time_seconds": round(wall, 3),
               "workers": workers, "executor": executor.description, "parameter_draws": used}
        with folder.write() as tmp:
            write_comparison(tmp, c, doc)
    if not quiet:
        click.echo(format_comparison(c, incremental_table(c), icer_table(c)))
        click.echo(f"-> {folder.path}/ (comparison.csv, incremental.csv, icers.csv, budget.csv, budget_impact.csv, plots); "
                   f"ips-sim report {folder.path} builds the board report")


COMMANDS = [compare_command]
