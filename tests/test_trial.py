"""Virtual trials: risk ratio arithmetic, ITT outcomes, comparator vs IPS, power vs trial size.

Expected values come from the published targets (calibration/targets.csv) or
from arithmetic; tolerances are 4 Monte Carlo standard errors of the simulated
quantity, with fixed seeds.
"""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest
from conftest import IPS_SIM, REPO

from ips_sim.config import DAYS_PER_MONTH, scenario_from_dict
from ips_sim.sim.model import run_replication
from ips_sim.studies.trial import cohort_outcomes, cohort_scenario, job_end_days, power, risk_ratio, virtual_trial

SEED = 424242


def test_risk_ratio_katz_interval():
    # (55/100)/(25/100) = 2.2; se(log RR) = sqrt(1/55 - 1/100 + 1/25 - 1/100)
    rr, lo, hi = risk_ratio(55, 100, 25, 100)
    se = math.sqrt(1 / 55 - 1 / 100 + 1 / 25 - 1 / 100)
    assert rr == pytest.approx(2.2)
    assert lo == pytest.approx(2.2 * math.exp(-1.959964 * se), rel=1e-6)
    assert hi == pytest.approx(2.2 * math.exp(1.959964 * se), rel=1e-6)
    # a zero cell: 0.5 added to every cell, interval still finite
    rr0, lo0, hi0 = risk_ratio(5, 20, 0, 20)
    assert rr0 == pytest.approx((5.5 / 21) / (0.5 / 21)) and math.isfinite(hi0)


@pytest.mark.parametrize("n, specialists, fte, cap", [
    (120, 6, 1.0, 20),     # a multiple of the cap: full posts, unchanged
    (92, 5, 0.92, 21),     # 92 / 20 = 4.6 FTE over 5 posts; floor(21 x 0.92) = 19 = ceil(92 / 5) places each
    (110, 6, 110 / 120, 21),  # 5.5 FTE over 6 posts; floor(21 x 0.9167) = 19 = ceil(110 / 6) places each
    (1, 1, 0.05, 20),      # 1 / 20 FTE, the schema's smallest post
])
def test_a_trial_is_staffed_with_n_over_cap_full_time_equivalents(n, specialists, fte, cap):
    """Specialist hours per member do not depend on how n rounds against the caseload cap: n / 20 FTE
    (by hand), spread over ceil(n / 20) specialists with room for everyone."""
    from ips_sim.sim.staffing import direct_hours_per_week, team_caseload_cap

    base = scenario_from_dict({})
    sc = cohort_scenario(base, n, 18)
    assert sc.team.specialists == specialists
    assert sc.team.fte_per_specialist == pytest.approx(fte)
    assert sc.team.caseload_cap == cap
    assert team_caseload_cap(sc) >= n
    assert sc.team.specialists * sc.team.fte_per_specialist == pytest.approx(n / 20)
    full = cohort_scenario(base, 120, 18)
    per_member = sc.team.specialists * direct_hours_per_week(sc) / n
    assert per_member == pytest.approx(full.team.specialists * direct_hours_per_week(full) / 120)


def test_cohort_outcomes_are_consistent_with_the_records():
    sc = cohort_scenario(scenario_from_dict({}), 60, 18)
    fu = 18 * DAYS_PER_MONTH
    rec = run_replication(sc, 3, SEED).freeze()
    out = cohort_outcomes(rec, sc, fu, SEED)
    first = rec.member["first_job_day"]
    assert out["n"] == 60 == sc.referrals.cohort_size
    assert out["employed"] == np.sum(first <= fu)
    # nobody works more days than the follow-up lasts; employed people work > 0 days
    assert 0 < out["days_worked_mean"] <= fu
    assert out["weeks_worked_employed_mean"] * 7 <= fu
    # jobs continued after an exit end no earlier than the exit, other jobs are untouched
    end = job_end_days(rec, sc, SEED)
    left = rec.job["end_reason"] == -2
    assert np.all(end[left] >= rec.job["observed_until_day"][left])
    ended = rec.job["end_reason"] >= 0
    assert np.array_equal(end[ended], rec.job["end_day"][ended])


def test_comparator_employment_is_well_below_ips():
    ips = scenario_from_dict({})
    ctl = scenario_from_dict({"arm": "usual_services", "name": "usual_services"})
    res = virtual_trial(ips, ctl, 120, 18, replications=60, seed=SEED)
    d = np.array([r["risk_difference"] for r in res.per_trial])
    se = d.std(ddof=1) / math.sqrt(len(d))
    # Published difference over 28 RCTs: 55% - 25% = 0.30 (Bond slides; Bond, Drake & Becker 2008), with the
    # means' ranges (IPS 51-61%, control 23-27%: outside-US to US) between 0.51 - 0.27 = 0.24 and
    # 0.61 - 0.23 = 0.38. The fit also meets de Winter et al. 2022, whose active-control differences are
    # smaller (17.5 points in trials of 12 months or less, 22.3 in longer ones), so the difference is held
    # to that range rather than to 0.30.
    assert 0.24 - 4 * se <= d.mean() <= 0.38 + 4 * se
    assert d.mean() - 4 * se > 0.15  # 'well below': at least half the published gap, beyond noise
    rr = np.array([r["risk_ratio"] for r in res.per_trial])
    assert np.all(rr > 1.0)  # a trial of 120 per arm never favours usual services at these rates


def test_power_increases_with_trial_size():
    ips = scenario_from_dict({})
    ctl = scenario_from_dict({"arm": "usual_services", "name": "usual_services"})
    reps = 200
    results = [virtual_trial(ips, ctl, n, 18, replications=reps, seed=SEED) for n in (15, 30, 60)]
    powers = [power(r) for r in results]
    assert powers[0] < powers[1] < powers[2]
    # Each power agrees with the normal approximation of the Wald test of log RR at the
    # simulated mean rates of that trial size, within 4 Monte Carlo SE.
    for n, res, pw in zip((15, 30, 60), results, powers):
        p1 = np.mean([r["ips_employment_rate"] for r in res.per_trial])
        p0 = np.mean([r["control_employment_rate"] for r in res.per_trial])
        s = math.sqrt((1 - p1) / (n * p1) + (1 - p0) / (n * p0))
        theory = 0.5 * math.erfc(-(math.log(p1 / p0) / s - 1.959964) / math.sqrt(2))
        assert abs(pw - theory) <= 4 * math.sqrt(theory * (1 - theory) / reps), (n, pw, theory)


def test_trial_command_writes_table_and_csv(tmp_path):
    out = tmp_path / "trial"
    r = subprocess.run([str(IPS_SIM), "trial", str(REPO / "scenarios" / "two_specialists_38_members.yaml"),
                        "--n-per-arm", "30", "--replications", "10", "--seed", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "risk_ratio" in r.stdout and "power" in r.stdout
    assert (out / "trials.csv").exists() and (out / "trial_summary.csv").exists()
    rows = (out / "trials.csv").read_text().strip().splitlines()
    assert len(rows) == 11
