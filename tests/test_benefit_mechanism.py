"""Benefits in the simulation: the hours rule, counselling through hours, and the MHTS check."""

from __future__ import annotations

import numpy as np
import pytest

from ips_sim.config import DAYS_PER_MONTH, prices, scenario_from_dict
from ips_sim.config.benefit_rules import rules
from ips_sim.core.streams import Streams
from ips_sim.runner.experiment import run_replications
from ips_sim.sim.benefit_choice import MARGIN, Benefit, BenefitChoice
from ips_sim.studies.comparison import run_comparison
from ips_sim.studies.trial import virtual_trial

SSDI_ONLY = {"benefits.share_ssdi": 1.0, "benefits.share_ssi": 0.0, "benefits.share_both": 0.0}


def test_hours_rule_caps_at_the_trial_work_amount_or_sga():
    sc = scenario_from_dict({}).with_updates({"benefits.uncounselled_cap_probability": 1.0,
                                              "benefits.counselled_cap_probability": 1.0})
    c = BenefitChoice(sc, Streams(1, 0))
    r = rules(sc.benefits.rules_year)
    to_wage = prices.convert(1.0, sc.benefits.rules_year, sc.costs.price_years["hourly_wage"])
    wage = 10.0
    # a month at the capped hours earns the limit x 0.99 (in the wage's price year)
    h, capped = c.hours(Benefit.SSDI, False, 40.0, wage)
    assert capped and h * wage / 7.0 * DAYS_PER_MONTH == pytest.approx(MARGIN * r.twp_month_earnings * to_wage)
    h, capped = c.hours(Benefit.BOTH, True, 40.0, wage)
    assert capped and h * wage / 7.0 * DAYS_PER_MONTH == pytest.approx(MARGIN * r.sga_monthly * to_wage)
    # under the limit, or not on SSDI: the offered hours
    assert c.hours(Benefit.SSDI, True, 5.0, wage) == (5.0, False)
    assert c.hours(Benefit.SSI, False, 40.0, wage) == (40.0, False)
    assert c.hours(Benefit.NEITHER, False, 40.0, wage) == (40.0, False)


def test_benefit_shares_drawn_as_given():
    sc = scenario_from_dict({"referrals": {"cohort_size": 4000, "rate_per_month": 0},
                             "simulation": {"horizon_years": 0.1, "warmup_years": 0}})
    _, recs = run_replications(sc, 1, 3, keep_records=True)
    s = recs[0].member["benefit_status"]
    b = sc.benefits
    for code, p in ((Benefit.SSDI, b.share_ssdi), (Benefit.SSI, b.share_ssi), (Benefit.BOTH, b.share_both)):
        se = np.sqrt(p * (1 - p) / len(s))
        assert abs((s == code).mean() - p) < 4 * se


def test_counselling_by_specialists_depends_on_hours_delivered():
    # With counselling in the specialists' intake hours shared in proportion to demand, an overloaded
    # team (large caseloads) delivers it later, and more beneficiaries start a job uncounselled.
    base = {"benefits": {"counselling_provider": "specialist", "counselling_hours_per_beneficiary": 12},
            "simulation": {"horizon_years": 4, "warmup_years": 1}, "referrals": {"rate_per_month": 4},
            "time_use": {"allocation_policy": "proportional"}}

    def counselled_share(specialists: int) -> float:
        sc = scenario_from_dict({**base, "team": {"specialists": specialists, "caseload_cap": 80 // specialists}})
        _, recs = run_replications(sc, 4, 11, keep_records=True)
        shares = []
        for rec in recs:
            m = rec.member
            worked = (m["benefit_status"] > 0) & np.isfinite(m["first_job_day"])
            shares.append(m["counselled"][worked].mean())
        return float(np.mean(shares))

    low, high = counselled_share(1), counselled_share(4)
    assert 0.0 < low < high <= 1.0


def test_mhts_no_difference_in_ssdi_suspension_or_termination():
    # Mental Health Treatment Study (SSDI beneficiaries; Drake et al. 2013; Psychiatr Serv 2019):
    # IPS raised employment, but suspension or termination of benefits for work did not differ by
    # arm. A virtual trial of SSDI beneficiaries: 20 trials of 100 per arm, 24 months. The difference
    # must stay under 1 percentage point, about the smallest difference a trial of MHTS size (~1,000
    # per arm) detects with 80% power at rates under 1% (0.7-0.9 points, two-sided 5%, arcsine or
    # Wald), while IPS members use more trial work months.
    ips = scenario_from_dict({}).with_updates(SSDI_ONLY)
    ctl = scenario_from_dict({"arm": "usual_services"}).with_updates(SSDI_ONLY)
    r = virtual_trial(ips, ctl, 100, follow_up_months=24, replications=20, seed=5)
    d = {row["outcome"]: row for row in r.summary}
    assert d["employment_rate"]["ips_ci_low"] > d["employment_rate"]["control_ci_high"]
    assert d["ssdi_trial_work_share"]["ips_ci_low"] > d["ssdi_trial_work_share"]["control_ci_high"]
    s = d["ssdi_suspended_or_terminated_share"]
    assert abs(s["ips_mean"] - s["control_mean"]) < 0.01


def test_ssi_falls_with_earnings_while_ssdi_stays():
    # Both findings at once: IPS saves SSI (the check falls by half of each dollar past $85 from the
    # first month of work) while SSDI is hardly ever stopped (only above SGA after the trial work period).
    opts = [scenario_from_dict({"name": "usual", "arm": "usual_services",
                                "referrals": {"cohort_size": 38, "rate_per_month": 0},
                                "simulation": {"horizon_years": 1.5, "warmup_years": 0}}),
            scenario_from_dict({"name": "ips", "referrals": {"cohort_size": 38, "rate_per_month": 0},
                                "simulation": {"horizon_years": 1.5, "warmup_years": 0}})]
    c = run_comparison(opts, comparator=0, replications=20, seed=9)
    ssi_saved = c.values(0, "ssi_paid") - c.values(1, "ssi_paid")
    ssdi_saved = c.values(0, "ssdi_paid") - c.values(1, "ssdi_paid")
    assert ssi_saved.mean() - 4 * ssi_saved.std(ddof=1) / np.sqrt(20) > 0
    assert abs(ssdi_saved.mean()) < 0.1 * ssi_saved.mean()
