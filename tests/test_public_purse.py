"""The public purse's account: member-month benefits by hand, conservation of every dollar."""

from __future__ import annotations

import numpy as np
import pytest

from ips_sim.config import DAYS_PER_MONTH, DAYS_PER_YEAR, scenario_from_dict
from ips_sim.config.benefit_rules import rules
from ips_sim.economics.benefits import Benefit, SSDIMonth
from ips_sim.economics.costs import budget, discounted, economic_outcomes, with_public_purse
from ips_sim.economics.public_purse import PURSE_ITEMS, benefit_months, monthly_earnings
from ips_sim.runner.experiment import run_replications
from ips_sim.sim.records import FrozenRecords

# The tests here share module-scoped fixtures: make test keeps them on one worker (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("public_purse")

R24 = rules(2024)


def one_worker(status: Benefit, hours: float, wage: float, months: int = 24) -> FrozenRecords:
    """One member referred on day 0, working from day 0 to the horizon at hours x wage."""
    horizon = months * DAYS_PER_MONTH
    member = {"member_id": np.array([0]), "referral_day": np.array([0.0]), "enrollment_day": np.array([0.0]),
              "exit_day": np.array([np.nan]), "benefit_status": np.array([int(status)], np.int8),
              "counselled": np.array([True])}
    job = {"member_id": np.array([0]), "start_day": np.array([0.0]), "end_day": np.array([np.nan]),
           "observed_until_day": np.array([horizon]), "hours_per_week": np.array([hours]),
           "hourly_wage": np.array([wage])}
    return FrozenRecords(0, horizon, member, job, np.zeros((0, 17)), np.zeros((0, 4)))


def scenario(**benefits):
    return scenario_from_dict({"benefits": {"rules_year": 2024, **benefits}})


def test_ssi_member_month_by_hand_with_two_month_lag():
    # 20 h/week at $10: 20 x 10 / 7 x DAYS_PER_MONTH = $869.64 a month (2024 dollars).
    rec = one_worker(Benefit.SSI, 20.0, 10.0)
    e = monthly_earnings(rec, 1.0)
    month_pay = 20.0 * 10.0 / 7.0 * DAYS_PER_MONTH
    assert e[0, :3] == pytest.approx([month_pay] * 3)
    m = benefit_months(rec, scenario(), e, R24)
    # months 0 and 1 count the income of two months before referral (none): the full rate;
    # from month 2 on, 943 - (869.64 - 85) / 2
    assert m["ssi"][0, :2] == pytest.approx([943.0, 943.0])
    assert m["ssi"][0, 2:] == pytest.approx(943.0 - (month_pay - 85.0) / 2.0)
    assert m["ssdi"][0].sum() == 0.0


def test_concurrent_member_ssi_rises_when_ssdi_is_suspended():
    # $2,000 a month (above SGA $1,550 and the trial work amount): 9 trial months, 3 grace months,
    # then suspended; SSI counts SSDI (unearned) and earnings two months later.
    wage = 2000.0 / (40.0 / 7.0 * DAYS_PER_MONTH)
    rec = one_worker(Benefit.BOTH, 40.0, wage, months=18)
    sc = scenario(concurrent_ssdi_monthly_benefit=600.0)
    m = benefit_months(rec, sc, monthly_earnings(rec, 1.0), R24)
    code = m["ssdi_code"][0]
    assert list(code[:9]) == [SSDIMonth.TRIAL_WORK] * 9 and list(code[9:12]) == [SSDIMonth.GRACE] * 3
    assert all(code[12:] == SSDIMonth.SUSPENDED)
    assert m["ssdi"][0, :12] == pytest.approx(600.0) and m["ssdi"][0, 12:].sum() == 0.0
    # SSI: countable = (600 - 20) + (2000 - 65) / 2 = 1547.5 > 943: nothing while both come in;
    # two months after the check stops, countable = (2000 - 20 - 65) / 2 = 957.5 > 943: still nothing
    assert m["ssi"][0, 2:].sum() == 0.0
    # at $1,800 the suspended months leave (1800 - 85) / 2 = 857.5 countable: SSI 85.5 from month 14
    wage = 1800.0 / (40.0 / 7.0 * DAYS_PER_MONTH)
    rec = one_worker(Benefit.BOTH, 40.0, wage, months=18)
    m = benefit_months(rec, sc, monthly_earnings(rec, 1.0), R24)
    assert m["ssi"][0, 14:] == pytest.approx(943.0 - 857.5)
    assert m["ssi"][0, 2:14].sum() == 0.0


@pytest.fixture(scope="module")
def small_run():
    sc = scenario_from_dict({"simulation": {"horizon_years": 4, "warmup_years": 1}})
    _, recs = run_replications(sc, 1, 7, keep_records=True)
    return sc, recs[0]


def test_every_dollar_of_the_public_purse_is_an_item(small_run):
    sc, rec = small_run
    sc = sc.with_updates({"costs.perspective": "government", "costs.offsets": ["hospital"]})
    rows = with_public_purse(rec, sc)
    total = sum(sign * rows[item] for item, sign in PURSE_ITEMS)
    assert rows["public_purse_cost"] == pytest.approx(total, rel=1e-12)
    assert rows["perspective_cost"] == pytest.approx(rows["public_purse_cost"], rel=1e-12)
    assert (rows["ssi_paid"] > 0).all() and (rows["ssdi_paid"] > 0).all()
    out = economic_outcomes(rec, sc, rows)
    assert out["cost"] == pytest.approx(discounted(rows, "public_purse_cost") / ((rec.horizon - sc.warmup_days)
                                                                                 / DAYS_PER_YEAR))


def test_no_beneficiaries_government_is_wider_with_taxes_for_earnings(small_run):
    # With nobody on benefits, the government perspective is the wider one (earnings and hospital)
    # with members' earnings put back and the taxes on them taken off.
    sc, _ = small_run
    sc = sc.with_updates({"benefits.counselled_cap_probability": 0.0})  # nobody on SSDI changes hours
    _, recs = run_replications(sc, 1, 7, keep_records=True)
    rec = recs[0]
    none = sc.with_updates({"benefits.share_ssdi": 0.0, "benefits.share_ssi": 0.0, "benefits.share_both": 0.0})
    _, recs = run_replications(none, 1, 7, keep_records=True)
    rec0 = recs[0]
    # the benefit draws have their own stream: every other record is the same as with beneficiaries
    assert (rec0.member["benefit_status"] == 0).all() and (rec.member["benefit_status"] > 0).any()
    for k in ("start_day", "end_day", "hours_per_week", "hourly_wage", "fragile"):
        np.testing.assert_array_equal(rec0.job[k], rec.job[k])
    gov = with_public_purse(rec0, none.with_updates({"costs.perspective": "government",
                                                     "costs.offsets": ["hospital"]}))
    wider = budget(rec0, none.with_updates({"costs.perspective": "wider",
                                            "costs.offsets": ["earnings", "hospital"]}))
    assert gov["ssi_paid"].sum() == 0 and gov["ssdi_paid"].sum() == 0 and gov["counselling_outside"].sum() == 0
    taxes = gov["payroll_tax"] + gov["income_tax"]
    assert gov["public_purse_cost"] == pytest.approx(wider["perspective_cost"] + wider["earnings"] - taxes,
                                                     rel=1e-9)
    # and the month grid adds up to the budget's earnings (the same days worked, by month)
    assert gov["net_income"] == pytest.approx(wider["earnings"] - gov["payroll_tax_employee"] - gov["income_tax"],
                                              rel=1e-9)


def test_benefit_months_follow_each_beneficiarys_own_sequence(small_run):
    # benefit_months runs the SSDI rules only for beneficiaries with a month above the trial work amount
    # (the others are paid throughout) and from each one's first month: every SSDI beneficiary's codes
    # must be what the rules give for that member's whole sequence of months.
    from ips_sim.economics.benefits import ssdi_months
    sc, rec = small_run
    e = monthly_earnings(rec, 1.0)
    m = benefit_months(rec, sc, e, R24)
    first = np.maximum(0, np.ceil(rec.member["referral_day"] / DAYS_PER_MONTH - 1e-9)).astype(int)
    checked = 0
    for i in np.flatnonzero(np.isin(rec.member["benefit_status"], (1, 3))):
        whole = ssdi_months(e[i, first[i]:].tolist(), R24)
        assert list(m["ssdi_code"][i, first[i]:]) == [int(c) for c in whole]
        checked += any(c != SSDIMonth.PAID for c in whole)
    assert checked > 0


@pytest.mark.parametrize("monthly, kept", [(2500.0, True), (3000.0, False)])
def test_medicaid_continues_under_1619b_below_the_threshold(monthly, kept):
    # An SSI member earning $2,500 a month: countable (2,500 - 85) / 2 = 1,207.50 > 943, so cash SSI
    # stops from month 2 (two-month lag); a year's earnings ($30,000) are under the default threshold
    # ($35,105): Medicaid continues (1619(b)). At $3,000 a month ($36,000 a year) it would be lost.
    from ips_sim.reporting.benefit_tables import member_income_table
    wage = monthly / (40.0 / 7.0 * DAYS_PER_MONTH)
    rec = one_worker(Benefit.SSI, 40.0, wage, months=6)
    sc = scenario_from_dict({"benefits": {"rules_year": 2024}, "costs": {"price_years": {"hourly_wage": 2024}},
                             "referrals": {"cohort_size": 1, "rate_per_month": 0},
                             "simulation": {"horizon_years": 0.5, "warmup_years": 0}})
    t = member_income_table([rec], sc)
    assert list(t.ssi[:2]) == pytest.approx([943.0, 943.0]) and (t.ssi[2:] == 0).all()
    assert list(t.medicaid_1619b[2:]) == [kept] * 4 and list(t.medicaid_lost[2:]) == [not kept] * 4
    assert not t.medicaid_1619b[:2].any() and not t.medicaid_lost[:2].any()


def test_app_benefit_cost_of_one_paired_replication(small_run):
    # The app's table: benefits and costs of the variant against the baseline from one replication each;
    # the net program cost is the difference of the two service costs (no outside counselling in either).
    from ips_sim.economics.benefit_cost import QUANTITIES
    from ips_sim.ui.app_benefits import benefit_cost_one
    sc, rec = small_run
    sc = sc.with_updates({"benefits.counselling_provider": "none"})
    big = sc.with_updates({"team.specialists": 3})
    _, recs = run_replications(sc, 1, 7, keep_records=True)
    _, big_recs = run_replications(big, 1, 7, keep_records=True)
    t = benefit_cost_one({"scenario": sc, "first": recs[0]}, {"scenario": big, "first": big_recs[0]})
    assert len(t) == len(QUANTITIES) + 1
    cost = economic_outcomes(big_recs[0], big)["service_cost"] - economic_outcomes(recs[0], sc)["service_cost"]
    assert t.dollars[[w for _, w in QUANTITIES].index(dict(QUANTITIES)["costs"])] == round(cost)


def test_start_state_members_referred_before_day_0():
    # Today's members (start:) were referred before day 0: their benefits count from month 0.
    from ips_sim.config import load_scenario
    from conftest import REPO
    sc = load_scenario(REPO / "scenarios" / "county_next_24_months.yaml")
    _, recs = run_replications(sc, 1, 2, keep_records=True)
    rec = recs[0]
    assert (rec.member["referral_day"] < 0).any()
    rows = with_public_purse(rec, sc)
    assert np.isfinite(rows["public_purse_cost"]).all() and rows["ssdi_paid"].sum() > 0
    m = benefit_months(rec, sc, monthly_earnings(rec, 1.0), R24)
    early = (rec.member["referral_day"] < 0) & np.isin(rec.member["benefit_status"], (1, 3))
    assert (m["ssdi_code"][early, 0] >= 0).all()


def test_run_and_tables_compute_each_replications_budget_once(monkeypatch):
    """The metrics make a replication's budget rows and the budget table reuses them (one ``budget`` call per
    replication for `run`'s metrics, budget.csv and member_income.csv); a changed scenario gets its own rows,
    and the table is the same as from rows made afresh."""
    from ips_sim.economics import costs
    from ips_sim.reporting.benefit_tables import member_income_table
    from ips_sim.reporting.tables import budget_table

    calls = []
    original = costs.budget

    def counted(rec, sc):
        calls.append(rec.replication)
        return original(rec, sc)

    monkeypatch.setattr(costs, "budget", counted)
    sc = scenario_from_dict({"simulation": {"horizon_years": 3, "warmup_years": 1}})
    _, recs = run_replications(sc, 3, 11, keep_records=True)
    assert sorted(calls) == [0, 1, 2]
    table = budget_table(recs, sc)
    member_income_table(recs[:1], sc)
    assert sorted(calls) == [0, 1, 2]
    gov = sc.with_updates({"costs.perspective": "government", "costs.offsets": ["hospital"]})
    assert with_public_purse(recs[0], gov)["perspective_cost"] == pytest.approx(
        with_public_purse(recs[0], gov)["public_purse_cost"])
    assert sorted(calls) == [0, 0, 1, 2]  # the other scenario's rows, made once
    for rec in recs:
        rec.derived = None
    fresh = budget_table(recs, sc)
    assert sorted(calls) == [0, 0, 0, 1, 1, 2, 2]
    assert fresh.equals(table)
