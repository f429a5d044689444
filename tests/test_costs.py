"""Costs: hand-derived totals and ratios from the records of a replication."""

from __future__ import annotations

import math

import numpy as np
from conftest import make_scenario

from ips_sim.costs import employed_days_in_window, members_served
from ips_sim.metrics import replication_metrics
from ips_sim.model import run_replication
from ips_sim.scenario import DAYS_PER_MONTH, DAYS_PER_YEAR


def _scenario(**updates):
    base = {
        "simulation.horizon_years": 4, "simulation.warmup_years": 1,
        "costs.specialist_cost_per_fte_year": 50_000, "costs.supervisor_cost_per_fte_year": 60_000,
        "costs.price_index": 1.5, "team.specialists": 2, "team.fte_per_specialist": 1.0,
        "supervision.supervisor_fte": 1.0, "supervision.specialists_per_supervisor": 10,
        "turnover.enabled": False,
    }
    base.update(updates)
    return make_scenario(base)


def test_program_cost_is_posts_plus_supervisor_share():
    sc = _scenario()
    rec = run_replication(sc, 0).freeze()
    m = replication_metrics(rec, sc)
    # 2 specialists x 50,000 + 1 supervisor x 60,000 x (2 of the 10 specialists covered), x 1.5 price index.
    assert math.isclose(m["program_cost_per_year"], (2 * 50_000 + 60_000 * 2 / 10) * 1.5, rel_tol=1e-12)
    total = m["program_cost_per_year"] * 3.0  # observation window: years 1 to 4
    assert math.isclose(m["cost_per_placement"], total / m["placements"], rel_tol=1e-12)
    assert math.isclose(m["cost_per_member_served"], total / m["members_served"], rel_tol=1e-12)
    assert math.isclose(m["cost_per_employed_month"], total / m["employed_member_months"], rel_tol=1e-12)


def test_part_time_posts_cost_in_proportion():
    full = replication_metrics(run_replication(_scenario(), 0).freeze(), _scenario())
    sc = _scenario(**{"team.fte_per_specialist": 0.5})
    half = replication_metrics(run_replication(sc, 0).freeze(), sc)
    assert math.isclose(full["program_cost_per_year"] - half["program_cost_per_year"], 2 * 25_000 * 1.5, rel_tol=1e-12)


def test_vacant_posts_are_not_paid():
    sc = _scenario(**{"turnover.enabled": True, "turnover.annual_rate": 2.0, "turnover.hiring_delay_days": 90})
    rec = run_replication(sc, 3).freeze()
    m = replication_metrics(rec, sc)
    assert m["vacancy_days"] > 0
    filled_years = 2 * 3.0 - m["vacancy_days"] / DAYS_PER_YEAR
    expected = (filled_years * 50_000 + 3.0 * 60_000 * 2 / 10) * 1.5 / 3.0
    assert math.isclose(m["program_cost_per_year"], expected, rel_tol=1e-9)


def test_employed_days_and_members_served_by_hand():
    sc = _scenario()
    rec = run_replication(sc, 1).freeze()
    start, end = sc.warmup_days, rec.horizon
    # By hand, job by job and member by member.
    days = 0.0
    for s, e, o in zip(rec.job["start_day"], rec.job["end_day"], rec.job["observed_until_day"]):
        stop = e if np.isfinite(e) else o
        days += max(0.0, min(stop, end) - max(s, start))
    assert math.isclose(employed_days_in_window(rec, start, end), days, rel_tol=1e-12)
    served = sum(
        1 for en, ex in zip(rec.member["enrollment_day"], rec.member["exit_day"])
        if np.isfinite(en) and en < end and (not np.isfinite(ex) or ex > start)
    )
    assert members_served(rec, start, end) == served
    m = replication_metrics(rec, sc)
    assert math.isclose(m["employed_member_months"], days / DAYS_PER_MONTH, rel_tol=1e-12)
