"""``ips-sim state``: where new specialist posts do the most good across a state's programs."""

from __future__ import annotations

from pathlib import Path

import click

from ips_sim.config.workload import check_many
from ips_sim.core.errors import UserError
from ips_sim.core.progress import Progress
from ips_sim.runner.executors import make_executor, option_problems
from ips_sim.runner.output import OutputFolder
from ips_sim.runner.resume import partial_dir
from ips_sim.studies.state import StateError, load_state, run_state
from ips_sim.ui.cli.interrupt import interrupted

STATE_EXAMPLES = """
\b
Examples:
  ips-sim state scenarios/state/example_state.yaml --budget 10 --workers 2
  ips-sim state scenarios/state/example_state.yaml --budget 10 --resume          # after Ctrl-C
  ips-sim state scenarios/state/example_state.yaml --scheduler tcp://10.0.0.5:8786 --out outputs/state10
"""


@click.command("state", epilog=STATE_EXAMPLES)
@click.argument("state_file", metavar="STATE.yaml", type=click.Path(dir_okay=False))
@click.option("--budget", type=float, default=None, metavar="N",
              help="New posts to allocate (or dollars a year, if the state file's budget is in dollars) "
                   "[default: the state file's budget].")
@click.option("--workers", "-w", type=click.IntRange(1, 4096), default=None,
              help="Local processes [default: the machine's cores]; results are identical for any number.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on a Dask distributed cluster, e.g. tcp://HOST:8786 (workers need ips-sim installed).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from DIR.partial/: finished units "
                                             "are not run again.")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Output folder DIR [default: outputs/<state name>/]; work in progress is in DIR.partial/.")
@click.option("--replications", "-n", type=click.IntRange(2, 100_000), default=None,
              help="Replications per program and staffing level to start with [default: the state file's].")
@click.option("--max-replications", type=click.IntRange(2, 1_000_000), default=None,
              help="Most replications where a decision is too close to call (doubling) [default: the state "
                   "file's, else 8 x --replications].")
@click.option("--seed", type=click.IntRange(0), default=None, help="State seed [default: the state file's].")
@click.option("--parameter-uncertainty", is_flag=True,
              help="Each program's replication i uses parameter draw i of its scenario's own posterior "
                   "(parameter_draws, from ips-sim fit-program) or, without one, of the national calibration draws.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary on the terminal.")
@click.option("--force", is_flag=True, help="Run even if the work estimate is over the limits.")
@click.option("--overwrite", is_flag=True, help="Replace results of a different state run in --out.")
def state_command(state_file, budget, workers, scheduler, resume, out, replications, max_replications, seed,
                  parameter_uncertainty, no_plots, quiet, force, overwrite):
    """Allocate new specialist posts (or dollars) across a state's programs by marginal analysis.

    Each program is simulated at its candidate staffing levels (common random
    numbers within a program), replications are added where a decision is too
    close to call, and the posts go where they buy the most of the objective
    (exact optimum; greedy marginal analysis is checked against it). Writes
    allocation.csv, frontier.csv, candidates.csv, targets.csv (the smallest
    budget meeting every program's targets), state.txt, frontier.png, gains.png
    and manifest.json (kind: state).
    """
    errors = []
    errors.extend(option_problems(workers, scheduler))
    st = None
    try:
        st = load_state(state_file, budget=budget, replications=replications, max_replications=max_replications,
                        seed=seed, parameter_uncertainty=parameter_uncertainty)
    except StateError as exc:
        errors.extend(exc.messages)
    if errors:
        raise UserError(errors)
    # The first round's work: every program at every candidate staffing level (rounds that add
    # replications where a decision is too close to call come on top).
    check_many(((p.scenario_at(lv), st.replications) for p in st.programs for lv in p.levels if lv), state_file,
               force)
    folder = OutputFolder(Path(out) if out else Path("outputs") / st.name, {"fingerprint": st.fingerprint()},
                          kind="state", overwrite=overwrite)
    folder.check()
    out_dir = folder.path
    executor = make_executor(workers, scheduler)
    levels = sum(sum(1 for lv in p.levels if lv) for p in st.programs)
    progress = Progress(levels * st.replications, st.name, quiet)

    def on_round(text):
        if not quiet:
            progress.close()
            click.echo(f"{st.name}: more replications where too close to call: {text}", err=True)

    interrupted(f"finished units are kept in {partial_dir(out_dir)}/; run the same command with --resume "
                "to finish")
    try:
        with folder.lock():
            run = run_state(st, out_dir, executor, resume=resume, plots=not no_plots, progress=progress,
                            on_round=on_round)
    finally:
        progress.close()
        executor.close()
    if quiet:
        return
    click.echo((out_dir / "state.txt").read_text(encoding="utf-8").rstrip("\n"))
    ev = run.result.evaluation
    plots = "" if no_plots else ", frontier.png, gains.png"
    click.echo(f"{ev.units_run} units run, {ev.units_cached} reused; {run.wall_seconds:.1f} s -> {out_dir}/ "
               f"(allocation.csv, frontier.csv, candidates.csv, targets.csv{plots})")


COMMANDS = [state_command]
