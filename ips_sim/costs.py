"""Program costs for funders: per member served, per placement, per employed month.

Cost is staff time: each specialist post costs ``specialist_cost_per_fte_year``
(fully loaded) for the time it is filled in the observation window after
warm-up (a vacant post costs nothing), and the program pays its share of the
supervisor (its specialists over all the specialists the supervisor covers).
Outcomes come from the same window, so the ratios answer "what did a year of
this program buy".
"""

from __future__ import annotations

import math

import numpy as np

from .records import FrozenRecords
from .scenario import DAYS_PER_MONTH, DAYS_PER_YEAR, Scenario
from .staffing import supervised_specialists


def employed_days_in_window(rec: FrozenRecords, start: float, end: float) -> float:
    """Days worked by members while in the program, clipped to [start, end]."""
    lo = np.maximum(rec.job["start_day"], start)
    hi = np.minimum(rec.job_stop_day(), end)
    return float(np.clip(hi - lo, 0.0, None).sum())


def members_served(rec: FrozenRecords, start: float, end: float) -> int:
    """Members on the caseload at any time in [start, end]."""
    m = rec.member
    enr = m["enrollment_day"]
    ex = m["exit_day"]
    on = np.isfinite(enr) & (enr < end) & (~np.isfinite(ex) | (ex > start))
    return int(on.sum())


def cost_metrics(rec: FrozenRecords, scenario: Scenario, placements: float) -> dict[str, float]:
    c = scenario.costs
    start, end = scenario.warmup_days, rec.horizon
    years = (end - start) / DAYS_PER_YEAR
    team = scenario.team
    filled_years = team.specialists * years - rec.vacancy_days(start, end) / DAYS_PER_YEAR
    specialists_cost = filled_years * team.fte_per_specialist * c.specialist_cost_per_fte_year
    covered = supervised_specialists(scenario)
    supervisor_cost = (scenario.supervision.supervisor_fte * c.supervisor_cost_per_fte_year * years
                       * team.specialists / covered)
    total = (specialists_cost + supervisor_cost) * c.price_index
    served = members_served(rec, start, end)
    employed_months = employed_days_in_window(rec, start, end) / DAYS_PER_MONTH

    def per(x: float) -> float:
        return total / x if x > 0 else math.nan

    return {
        "program_cost_per_year": total / years if years > 0 else math.nan,
        "members_served": float(served),
        "cost_per_member_served": per(served),
        "cost_per_placement": per(placements),
        "employed_member_months": employed_months,
        "cost_per_employed_month": per(employed_months),
    }
