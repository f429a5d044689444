"""The Python API for notebooks: ``ips_sim.run`` and ``ips_sim.compare`` return tables.

A scenario is a YAML path, a dict of fields (over the defaults) or a
:class:`~ips_sim.config.Scenario`; ``changes`` sets dotted fields on top
(``{"team.caseload_cap": 25}``). Bad input raises
:class:`~ips_sim.config.ScenarioError` with one line per problem.

Examples:
    >>> import ips_sim
    >>> short = {"simulation": {"horizon_years": 3, "warmup_years": 1}}
    >>> result = ips_sim.run(short, replications=3, seed=7)
    >>> len(result.replications), int(result.summary.loc["referrals", "replications"])
    (3, 3)
    >>> bool(result.summary.loc["ever_employed_rate", "ci_low"] >= 0)
    True
    >>> cmp = ips_sim.compare(short, changes={"team.specialists": 1}, replications=5, seed=7)
    >>> cmp.table.loc["referrals", "variant_is"]  # same seed, same referrals
    'same'
    >>> cmp.table.loc["mean_wait_days", "variant_is"]  # half the places: people wait longer
    'higher'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ips_sim.analysis.mechanism import why_chain
from ips_sim.analysis.metrics import metric_label
from ips_sim.analysis.paired import comparison_table
from ips_sim.config import Scenario, load_scenario, scenario_from_dict, set_dotted
from ips_sim.reporting.tables import monthly_table, replication_table, summary_table
from ips_sim.runner.experiment import run_replications
from ips_sim.sim.records import FrozenRecords

ScenarioLike = str | Path | dict | Scenario


def load(scenario: ScenarioLike, changes: dict[str, Any] | None = None) -> Scenario:
    """A validated scenario from a path, a dict or a Scenario, with dotted ``changes`` applied.

    Examples:
        >>> load({"team": {"specialists": 3}}, changes={"team.caseload_cap": 15}).team.caseload_cap
        15
    """
    if isinstance(scenario, Scenario):
        sc = scenario
    elif isinstance(scenario, dict):
        sc = scenario_from_dict(scenario, "<dict>", name=scenario.get("name", "scenario"))
    else:
        sc = load_scenario(scenario)
    if not changes:
        return sc
    data = sc.model_dump(mode="json")
    for path, value in changes.items():
        set_dotted(data, path, value)
    return scenario_from_dict(data, "changes", name=sc.name)


@dataclass(frozen=True)
class Result:
    """One scenario's replications as tables.

    ``summary``: one row per metric (index: metric id) with label, unit, mean, std,
    95% CI and replications; ``replications``: one row per replication, one column per
    metric; ``monthly``: per replication and month, stocks and flows; ``records``: the
    raw arrays of each replication (members, jobs, weeks, month ends).
    """

    scenario: Scenario
    seed: int
    metrics: list[dict[str, float]] = field(repr=False)
    records: list[FrozenRecords] = field(repr=False)

    @property
    def summary(self) -> pd.DataFrame:
        df = summary_table(self.metrics).set_index("metric")
        df.insert(0, "label", [metric_label(m) for m in df.index])
        return df

    @property
    def replications(self) -> pd.DataFrame:
        return replication_table(self.metrics)

    @property
    def monthly(self) -> pd.DataFrame:
        return monthly_table(self.records)


@dataclass(frozen=True)
class Comparison:
    """Two runs with the same seed: ``table`` (paired difference per metric) and ``why`` (the mechanism chain)."""

    baseline: Result
    variant: Result

    @property
    def table(self) -> pd.DataFrame:
        return comparison_table(self.baseline.metrics, self.variant.metrics).set_index("metric")

    @property
    def why(self) -> pd.DataFrame:
        return why_chain(self.baseline.metrics, self.variant.metrics)


def run(scenario: ScenarioLike, replications: int | None = None, seed: int | None = None,
        changes: dict[str, Any] | None = None, workers: int = 1, executor=None) -> Result:
    """Run replications of a scenario (defaults: the scenario's own replications and seed).

    ``workers`` local processes, or an ``executor`` from :mod:`ips_sim.runner.executors` (e.g. Dask):
    the results are the same whichever runs them.
    """
    sc = load(scenario, changes)
    seed = sc.simulation.seed if seed is None else seed
    metrics, records = run_replications(sc, replications, seed, workers=workers, executor=executor)
    return Result(sc, seed, metrics, records)


def compare(baseline: ScenarioLike, variant: ScenarioLike | None = None, replications: int | None = None,
            seed: int | None = None, changes: dict[str, Any] | None = None, workers: int = 1,
            executor=None) -> Comparison:
    """Run a baseline and a variant with the same seed (common random numbers) and pair them.

    The variant is ``variant`` (a path, dict or Scenario) with ``changes`` applied, or,
    without ``variant``, the baseline with ``changes`` applied.
    """
    base = load(baseline)
    var = load(variant if variant is not None else base, changes)
    seed = base.simulation.seed if seed is None else seed
    n = base.simulation.replications if replications is None else replications
    return Comparison(run(base, n, seed, workers=workers, executor=executor),
                      run(var, n, seed, workers=workers, executor=executor))
