"""Costs: hand-derived totals, price years and discounting against their closed forms."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest
from conftest import make_scenario

from ips_sim.analysis.metrics import replication_metrics
from ips_sim.config import COST_MONEY_ITEMS, DAYS_PER_MONTH, DAYS_PER_YEAR, ScenarioError, prices
from ips_sim.economics.costs import budget, economic_outcomes, employed_days_in_window, members_served
from ips_sim.sim.model import run_replication

# BLS CPI-U annual averages (series CUUR0000SA0) given in issue 10: the 2004 -> 2024 factor.
INDEX_2004_TO_2024 = 313.689 / 188.9
ALL_2004 = {k: 2004 for k in COST_MONEY_ITEMS}


def _scenario(**updates):
    """A tiny program with no turnover; every cost input set here, in 2004 dollars, reported in 2024."""
    base = {
        "simulation.horizon_years": 4, "simulation.warmup_years": 1,
        "costs.price_year": 2024, "costs.price_years": ALL_2004,
        "costs.specialist_cost_per_fte_year": 50_000, "costs.supervisor_cost_per_fte_year": 60_000,
        "costs.supervisor_fringe_rate": 0.0, "costs.overhead_rate": 0.0, "costs.travel_cost_per_mile": 0.0,
        "costs.hire_cost_share_of_specialist_year": 0.0, "costs.benefits_counselling_cost_per_new_member": 0.0,
        "costs.fixed_cost_per_year": 0.0, "costs.cost_per_member_month": 0.0, "costs.discount_rate": 0.0,
        "costs.perspective": "funder", "costs.offsets": [],
        "team.specialists": 2, "team.fte_per_specialist": 1.0,
        "supervision.supervisor_fte": 1.0, "supervision.specialists_per_supervisor": 10,
        "turnover.enabled": False,
    }
    base.update(updates)
    return make_scenario(base)


def _metrics(sc, rep=0):
    rec = run_replication(sc, rep).freeze()
    return rec, replication_metrics(rec, sc)


def test_program_cost_is_posts_times_years_times_cost_times_index():
    sc = _scenario()
    rec, m = _metrics(sc)
    # 2 specialists x 50,000 + 1 supervisor x 60,000 x (2 of the 10 specialists covered), 2004 -> 2024 dollars.
    per_year = (2 * 50_000 + 60_000 * 2 / 10) * INDEX_2004_TO_2024
    assert math.isclose(m["program_cost_per_year"], per_year, rel_tol=1e-12)
    total = per_year * 3.0  # observation window: years 1 to 4
    assert math.isclose(float(budget(rec, sc)["service_cost"].sum()), total, rel_tol=1e-12)
    assert math.isclose(m["cost_per_placement"], total / m["placements"], rel_tol=1e-12)
    assert math.isclose(m["cost_per_member_served"], total / m["members_served"], rel_tol=1e-12)
    assert math.isclose(m["cost_per_employed_month"], total / m["employed_member_months"], rel_tol=1e-12)


def test_part_time_posts_cost_in_proportion():
    _, full = _metrics(_scenario())
    _, half = _metrics(_scenario(**{"team.fte_per_specialist": 0.5}))
    assert math.isclose(full["program_cost_per_year"] - half["program_cost_per_year"],
                        2 * 25_000 * INDEX_2004_TO_2024, rel_tol=1e-12)


def test_fringe_overhead_fixed_and_counselling_by_hand():
    sc = _scenario(**{"costs.supervisor_fringe_rate": 0.5, "costs.overhead_rate": 0.1,
                      "costs.fixed_cost_per_year": 7_000, "costs.benefits_counselling_cost_per_new_member": 100})
    rec, m = _metrics(sc)
    enr = rec.member["enrollment_day"]
    new = int(((enr >= sc.warmup_days) & (enr < rec.horizon)).sum())
    direct = (2 * 50_000 + 60_000 * 1.5 * 2 / 10) * 3.0 + 100 * new
    expected = (direct * 1.1 + 7_000 * 3.0) * INDEX_2004_TO_2024
    assert math.isclose(m["program_cost_per_year"] * 3.0, expected, rel_tol=1e-12)


def test_travel_follows_community_hours_delivered():
    sc = _scenario(**{"costs.travel_cost_per_mile": 0.5, "costs.travel_miles_per_community_hour": 8})
    rec, m = _metrics(sc)
    w = rec.week
    after = w[:, 0] >= sc.warmup_days
    hours = w[after, 4:7].sum()  # follow-along, job search, job development hours received
    base = (2 * 50_000 + 60_000 * 2 / 10) * 3.0
    assert hours > 0
    assert math.isclose(m["program_cost_per_year"] * 3.0, (base + 0.5 * 8 * hours) * INDEX_2004_TO_2024,
                        rel_tol=1e-12)


def test_vacant_posts_are_not_paid_and_each_hire_costs():
    sc = _scenario(**{"turnover.enabled": True, "turnover.annual_rate": 2.0, "turnover.hiring_delay_days": 90,
                      "costs.hire_cost_share_of_specialist_year": 0.25})
    rec, m = _metrics(sc, 3)
    assert m["vacancy_days"] > 0
    hires = sum(1 for _, _, e in rec.vacancy if np.isfinite(e) and sc.warmup_days <= e < rec.horizon)
    assert hires > 0
    filled_years = 2 * 3.0 - m["vacancy_days"] / DAYS_PER_YEAR
    expected = (filled_years * 50_000 + 3.0 * 60_000 * 2 / 10 + hires * 0.25 * 50_000) * INDEX_2004_TO_2024 / 3.0
    assert math.isclose(m["program_cost_per_year"], expected, rel_tol=1e-9)


def test_discounting_matches_the_annuity_closed_form():
    """Constant cost C a year for N years, year k discounted by (1+r)^-k: C (1+r) (1 - (1+r)^-N) / r."""
    r, n = 0.03, 3
    sc = _scenario(**{"costs.discount_rate": r})
    _, m = _metrics(sc)
    c = (2 * 50_000 + 60_000 * 2 / 10) * INDEX_2004_TO_2024
    assert math.isclose(m["program_cost_discounted"], c * (1 + r) * (1 - (1 + r) ** -n) / r, rel_tol=1e-12)
    _, undiscounted = _metrics(_scenario())
    assert math.isclose(undiscounted["program_cost_discounted"], c * n, rel_tol=1e-12)


def test_price_year_round_trips():
    lo, hi = prices.years_available()
    years = range(lo, hi + 1)
    for a, b in product(years, years):
        assert math.isclose(prices.convert(prices.convert(1234.5, a, b), b, a), 1234.5, rel_tol=1e-12)
    assert math.isclose(prices.convert(1.0, 2004, 2024), INDEX_2004_TO_2024, rel_tol=1e-12)
    assert prices.currency_label(None) == f"USD {hi}"


def test_scenario_costs_scale_with_the_price_year():
    _, m24 = _metrics(_scenario())
    _, m10 = _metrics(_scenario(**{"costs.price_year": 2010}))
    assert math.isclose(m24["program_cost_per_year"] / m10["program_cost_per_year"], 313.689 / 218.056,
                        rel_tol=1e-12)
    # an input in 2024 dollars reported in 2024 is not changed
    _, same = _metrics(_scenario(**{"costs.price_years": {**ALL_2004, "specialist_cost_per_fte_year": 2024,
                                                                      "supervisor_cost_per_fte_year": 2024}}))
    assert math.isclose(same["program_cost_per_year"], 2 * 50_000 + 60_000 * 2 / 10, rel_tol=1e-12)


@pytest.mark.parametrize("updates, field", [
    ({"costs.price_year": 1990}, "costs"),
    ({"costs.price_years": {**ALL_2004, "hourly_wage": 2035}}, "costs"),
    ({"costs.offsets": ["earnings"]}, "costs"),
    ({"costs.perspective": "wider"}, "costs"),
    ({"costs.offsets": ["benefits"], "costs.perspective": "wider"}, "costs.offsets"),
])
def test_bad_cost_settings_are_clear_errors(updates, field):
    with pytest.raises(ScenarioError) as exc:
        _scenario(**updates)
    assert len(exc.value.messages) == 1
    assert f": {field}" in exc.value.messages[0]


def test_wider_perspective_subtracts_earnings_from_hours_times_wage():
    sc = _scenario(**{"costs.perspective": "wider", "costs.offsets": ["earnings"]})
    rec = run_replication(sc, 2).freeze()
    funder = _scenario()
    j = rec.job
    stop = np.where(np.isfinite(j["end_day"]), j["end_day"], j["observed_until_day"])
    days = np.clip(np.minimum(stop, rec.horizon) - np.maximum(j["start_day"], sc.warmup_days), 0, None)
    earnings = float((days / 7.0 * j["hours_per_week"] * j["hourly_wage"]).sum()) * INDEX_2004_TO_2024
    years = 3.0
    wide, narrow = economic_outcomes(rec, sc), economic_outcomes(rec, funder)
    assert earnings > 0
    assert math.isclose(narrow["cost"] - wide["cost"], earnings / years, rel_tol=1e-9)
    assert math.isclose(wide["earnings"], earnings / years, rel_tol=1e-9)


def test_employed_days_and_members_served_by_hand():
    sc = _scenario()
    rec = run_replication(sc, 1).freeze()
    start, end = sc.warmup_days, rec.horizon
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


def test_budget_years_add_up_to_the_window():
    sc = _scenario(**{"simulation.horizon_years": 3.5})
    rec = run_replication(sc, 0).freeze()
    b = budget(rec, sc)
    assert list(b["year"]) == [1, 2, 3]
    assert math.isclose(b["days"].sum(), 2.5 * DAYS_PER_YEAR, rel_tol=1e-12)
    assert np.allclose(b["specialist_fte"], 2.0)
