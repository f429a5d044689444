"""Economic comparison: ICER dominance on a published example, paired differences, Fieller, CEAC, EVPI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario

from ips_sim.config import COST_MONEY_ITEMS
from ips_sim.economics import cea
from ips_sim.studies.comparison import check_options, incremental_table, pick_comparator, run_comparison
from ips_sim.studies.trial import virtual_trial


def test_icers_reproduce_the_published_worked_example():
    """VA Health Economics Resource Center (HERC) cost-effectiveness example, as used by dampack's tests
    (DARTH-git/dampack tests/testthat/test_calculate_icers.R): UC, B, D, E on the frontier; C extendedly
    dominated; A strongly dominated; ICERs 5,000, 12,500 and 20,000."""
    t = cea.calculate_icers([55000, 35000, 25000, 10000, 12000, 5000], [5, 4, 3, 2, 1.5, 1],
                            ["E", "D", "C", "B", "A", "UC"])
    assert [r["strategy"] for r in t] == ["UC", "B", "D", "E", "C", "A"]
    assert [r["status"] for r in t] == ["ND", "ND", "ND", "ND", "ED", "D"]
    nd = {r["strategy"]: r for r in t if r["status"] == "ND"}
    assert math.isnan(nd["UC"]["icer"])
    assert (nd["B"]["inc_cost"], nd["B"]["inc_effect"], nd["B"]["icer"]) == (5000, 1, 5000)
    assert (nd["D"]["inc_cost"], nd["D"]["inc_effect"], nd["D"]["icer"]) == (25000, 2, 12500)
    assert (nd["E"]["inc_cost"], nd["E"]["inc_effect"], nd["E"]["icer"]) == (20000, 1, 20000)


def test_icers_equal_cost_more_effect_dominates():
    t = cea.calculate_icers([163771.0, 164848.7, 163765.1], [6.48273, 6.52861, 6.52861],
                            ["No Treat", "Treat all", "Test & treat"])
    status = {r["strategy"]: r["status"] for r in t}
    assert t[0]["strategy"] == "Test & treat"
    assert status == {"Test & treat": "ND", "Treat all": "D", "No Treat": "D"}


def test_fieller_reduces_to_a_scaled_t_interval_when_the_effect_is_known():
    """With a constant incremental effect e, the ratio's interval is the cost difference's interval / e."""
    rng = np.random.default_rng(1)
    dc = rng.normal(1000.0, 200.0, 40)
    de = np.full(40, 2.0)
    r, lo, hi = cea.fieller_ci(dc, de)
    m, clo, chi = cea.mean_ci(dc)
    assert math.isclose(r, m / 2.0)
    assert math.isclose(lo, clo / 2.0, rel_tol=1e-9) and math.isclose(hi, chi / 2.0, rel_tol=1e-9)


def test_fieller_is_unbounded_when_the_effect_is_not_significant():
    rng = np.random.default_rng(2)
    _, lo, hi = cea.fieller_ci(rng.normal(10, 1, 30), rng.normal(0.0, 1.0, 30))
    assert math.isnan(lo) and math.isnan(hi)


def test_ceac_and_evpi_by_hand():
    # two draws, two options: NMB at wtp w is w*e - c
    cost = np.array([[0.0, 10.0], [0.0, 10.0]])
    effect = np.array([[0.0, 2.0], [0.0, 0.0]])
    # w = 10: NMB draw 1: (0, 10) -> option 1; draw 2: (0, -10) -> option 0
    assert np.allclose(cea.ceac(cost, effect, [10.0]), [[0.5, 0.5]])
    # EVPI = E[max] - max E = (10 + 0)/2 - max(0, 0) = 5
    assert np.allclose(cea.evpi(cost, effect, [10.0]), [5.0])
    # w = 0: option 0 always best, nothing to learn
    assert np.allclose(cea.ceac(cost, effect, [0.0]), [[1.0, 0.0]])
    assert np.allclose(cea.evpi(cost, effect, [0.0]), [0.0])


# --------------------------------------------------------------------------- simulated comparisons

SMALL = {"simulation.horizon_years": 4, "simulation.warmup_years": 1, "turnover.enabled": False}


def _option(name, **updates):
    return make_scenario({**SMALL, **updates}, name=name)


def test_zero_cost_options_have_zero_incremental_cost():
    zero = {f"costs.{k}": 0 for k in COST_MONEY_ITEMS if k != "hourly_wage"}
    a = _option("two", **zero, **{"team.specialists": 2})
    b = _option("three", **zero, **{"team.specialists": 3})
    c = run_comparison([a, b], comparator=0, replications=4)
    inc = incremental_table(c).set_index("quantity")
    assert (inc.loc["incremental cost", ["mean", "ci_low", "ci_high"]] == 0).all()
    assert (inc.loc["incremental people employed", "mean"]) != 0


def test_paired_intervals_are_narrower_than_unpaired_on_the_same_runs():
    a = _option("two", **{"team.specialists": 2})
    b = _option("three", **{"team.specialists": 3})
    c = run_comparison([a, b], comparator=0, replications=20)
    for q in ("people_employed", "employed_months", "cost"):
        x, y = c.values(1, q), c.values(0, q)
        _, plo, phi = cea.difference_ci(x, y, paired=True)
        _, ulo, uhi = cea.difference_ci(x, y, paired=False)
        assert phi - plo < uhi - ulo, q


def test_welch_difference_by_hand_drops_missing_values_and_needs_two_each():
    """Welch's interval by hand (Welch 1947): a = (1, 2, 3, NaN), b = (2, 4): the NaN is dropped;
    va = 1/3, vb = 2/2; df = (va + vb)^2 / (va^2/2 + vb^2/1)."""
    m, lo, hi = cea.difference_ci([1.0, 2.0, 3.0, math.nan], [2.0, 4.0], paired=False)
    va, vb = 1.0 / 3.0, 2.0 / 2.0
    df = (va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 1)
    from scipy import stats
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert m == pytest.approx(-1.0) and lo == pytest.approx(-1.0 - half) and hi == pytest.approx(-1.0 + half)
    # one value on a side: the mean difference, no interval; no values: nothing
    m, lo, hi = cea.difference_ci([1.0, 2.0], [5.0, math.nan], paired=False)
    assert m == -3.5 and math.isnan(lo) and math.isnan(hi)
    assert all(math.isnan(v) for v in cea.difference_ci([], [1.0, 2.0], paired=False))


def test_comparator_defaults_to_usual_services_and_options_must_match():
    us = make_scenario({**SMALL, "arm": "usual_services"}, name="us")
    ips = _option("ips")
    assert pick_comparator([ips, us], None) == 1
    assert pick_comparator([ips, us], 0) == 0
    cohort = _option("cohort", **{"referrals.cohort_size": 20, "referrals.rate_per_month": 0})
    assert any("mixed cohorts" in e for e in check_options([ips, cohort]))
    assert any("same name" in e for e in check_options([ips, _option("ips")]))
    assert any("price_year" in e for e in check_options([ips, _option("x", **{"costs.price_year": 2010})]))


def test_cohort_options_are_per_participant():
    a = _option("ips", **{"referrals.cohort_size": 40, "referrals.rate_per_month": 0, "team.specialists": 2,
                          "simulation.warmup_years": 0, "simulation.horizon_years": 1.5})
    c = run_comparison([a], replications=2)
    assert c.basis == "per participant"
    v = c.values(0, "people_employed")
    assert ((v >= 0) & (v <= 1)).all()


def test_trial_reports_cost_per_participant_and_the_incremental_ratio():
    ips = make_scenario({"turnover.enabled": False}, name="ips")
    ctl = make_scenario({"arm": "usual_services", "turnover.enabled": False}, name="us")
    res = virtual_trial(ips, ctl, 40, 12.0, replications=6, seed=5)
    rows = {r["outcome"]: r for r in res.summary}
    cost = rows["cost_per_participant"]
    assert cost["unit"].startswith("USD ") and cost["ips_mean"] > cost["control_mean"] > 0
    ratio = rows["incremental cost per additional person employed"]
    dc = np.mean([t["ips_cost_per_participant"] - t["control_cost_per_participant"] for t in res.per_trial])
    de = np.mean([t["risk_difference"] for t in res.per_trial])
    assert math.isclose(ratio["ips_mean"], dc / de, rel_tol=1e-12)


@pytest.mark.parametrize("r", [0.0, 0.03, 0.05])
def test_discount_factors_are_annual(r):
    sc = make_scenario({**SMALL, "costs.discount_rate": r, "simulation.horizon_years": 5})
    from ips_sim.economics.costs import budget
    from ips_sim.sim.model import run_replication
    b = budget(run_replication(sc, 0).freeze(), sc)
    assert np.allclose(b["discount_factor"], (1 + r) ** -np.arange(4))
