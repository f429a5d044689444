"""The state objectives (counts a year, so they add up over programs) and one work unit of a state run.
"""

from __future__ import annotations

from ips_sim.analysis.metrics import METRIC_NAMES, replication_metrics
from ips_sim.config import DAYS_PER_YEAR, Scenario
from ips_sim.runner.experiment import cycled_draws, run_replications
from ips_sim.sim.records import FrozenRecords

# --------------------------------------------------------------------------- objectives

# The state objective is a sum over programs, so each is a count per year of the observation
# window (after warm-up), not a share: a post that lets a program serve more people counts.
OBJECTIVES = {
    "employed_within_18_months": ("people a year",
                                  "members enrolled a year x share with a competitive job within 18 months "
                                  "of enrollment (enrolled / window years x ever_employed_rate)"),
    "employed_months": ("member-months a year", "months worked by members while in the program, a year "
                        "(employed_member_months / window years)"),
    "served_within_30_days": ("people a year", "referrals enrolled within 30 days of referral, a year "
                              "(referrals / window years x enrolled_within_30_days_share)"),
}


def state_outcome(rec: FrozenRecords, scenario: Scenario) -> dict[str, float]:
    """The run metrics of one replication plus the state objectives (counts a year of the window)."""
    out = replication_metrics(rec, scenario)
    years = (rec.horizon - scenario.warmup_days) / DAYS_PER_YEAR
    rate = out["ever_employed_rate"]
    out["employed_within_18_months"] = (out["enrolled"] * rate / years) if out["enrolled"] > 0 else 0.0
    out["employed_months"] = out["employed_member_months"] / years
    share = out["enrolled_within_30_days_share"]
    out["served_within_30_days"] = (out["referrals"] * share / years) if out["referrals"] > 0 else 0.0
    return out


OUTCOME_NAMES = tuple(METRIC_NAMES) + tuple(OBJECTIVES)


def run_state_unit(scenario: Scenario, seed: int, first: int, n: int, names: tuple[str, ...] | None = None,
                   draws: tuple[dict, ...] | None = None) -> list[dict[str, float]]:
    """One work unit: the outcomes ``names`` (default all) of replications ``first .. first+n-1`` of a program.

    With ``draws`` (parameter uncertainty), replication i uses parameter draw i (cycled): the same draw at
    every staffing level, so a level's gain stays a paired difference."""
    out = run_replications(scenario, n, seed, workers=1, keep_records=False, first=first, outcome=state_outcome,
                           scenario_for=cycled_draws(scenario, draws) if draws else None)[0]
    return out if names is None else [{k: o[k] for k in names} for o in out]
