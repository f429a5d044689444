"""Where a scenario's parameter uncertainty comes from: its own posterior (``parameter_draws``) or the national draws."""

from __future__ import annotations

from pathlib import Path

from ips_sim.config import Scenario
from ips_sim.core.echo import shown
from ips_sim.core.errors import UserError


def scenario_draws_path(scenario: Scenario, scenario_path: str | Path | None,
                        draws_path: str | Path | None = None) -> tuple[Path | None, bool]:
    """The draws a scenario's parameter uncertainty comes from: its own ``parameter_draws`` file (relative
    to the scenario file) or ``draws_path`` (default: the national calibration draws); and whether its own."""
    if scenario.parameter_draws is None:
        return (Path(draws_path) if draws_path else None), False
    path = Path(scenario.parameter_draws)
    if not path.is_absolute() and scenario_path is not None:
        path = Path(scenario_path).parent / path
    if not path.is_file():
        raise UserError([f"{scenario_path}: parameter_draws: {shown(scenario.parameter_draws)}: no such file "
                         f"(a posterior.csv written by ips-sim fit-program, relative to the scenario file)"])
    return path, True


def draws_used(path: Path | None, own: bool, count: int) -> dict:
    """What a manifest records about the draws a run used: their file, whose they are and how many."""
    # The national draws ship with ips-sim (a copy of calibration/draws.csv): named by where they are made.
    return {"source": str(path) if path else "calibration/draws.csv", "count": count,
            "kind": "the scenario's own posterior" if own else "national calibration draws"}


def draws_sentence(used: dict) -> str:
    """One line for a command's output: replication i uses draw i of which draws."""
    return (f"parameter uncertainty: replication i uses parameter draw i (cycled) of {used['source']} "
            f"({used['kind']}, {used['count']} draws)")
