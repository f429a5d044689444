"""Job tenure with a falling hazard: the latent-class mixture of exponentials (ips_sim.sim.tenure).

1. Closed form. With unlimited follow-along (hours never bind), no drop-out
   while working and no step-down, a job ends only by its own hazard, so job
   durations have the mixture's survival ``S(u) = sum_k w_k exp(-r_k u)`` and
   mean ``sum_k w_k / r_k`` (weights and rates from the parameters, checked by
   hand in test_closed_forms.py). Jobs started early enough to be followed
   ``L`` days are never censored before ``L``: the share still going at ``u``
   is binomial around ``S(u)`` and the mean of ``min(T, L)`` has the closed form
   ``sum_k w_k (1 - exp(-r_k L)) / r_k`` (4 standard errors).
2. The shipped (calibrated) jobs have a falling hazard, visible in simulated
   data: job endings per month of exposure in the first month of a job exceed
   those from month 6 to 12 by more than 4 standard errors (Poisson counts).
3. The Kaplan-Meier estimator against a hand-worked example.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import REPO, run_many
from test_closed_forms import cohort_scenario

from ips_sim.analysis.survival import kaplan_meier
from ips_sim.config import DAYS_PER_MONTH, load_scenario
from ips_sim.sim.model import run_replication
from ips_sim.sim.tenure import hazard, mean_tenure, mixture, survival
from ips_sim.studies.calibration import first_job_tenure

# The tests here share module-scoped fixtures: make test keeps them on one worker (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("tenure")

M = DAYS_PER_MONTH
FOLLOW = 36 * M   # each job followed this long (L)
HORIZON_MONTHS = 60


@pytest.fixture(scope="module")
def unlimited():
    """Jobs under unlimited follow-along, no drop-out, no step-down."""
    sc = cohort_scenario(**{
        "engagement.disengage_rate_employed_per_month": 0.0,
        "engagement.disengage_rate_early_per_month": 0.0,
        "engagement.disengage_rate_per_month": 0.0,
        "simulation.horizon_years": HORIZON_MONTHS / 12,
    })
    recs = run_many(sc, 2, 4242)
    for r in recs:
        assert np.all(r.week[:, 3:7] == r.week[:, 7:11]), "hours must never bind"
    start = np.concatenate([r.job["start_day"] for r in recs])
    end = np.concatenate([r.job["end_day"] for r in recs])
    followed = start + FOLLOW <= recs[0].horizon
    dur = (end - start)[followed]
    dur = np.where(np.isfinite(dur), dur, np.inf)  # still going at the horizon: beyond FOLLOW
    return sc, dur


@pytest.mark.parametrize("months", [0.25, 1, 3, 6, 12, 24])
def test_mixture_survival_matches_closed_form(unlimited, months):
    sc, dur = unlimited
    weights, rates = mixture(sc)
    expected = float(survival(weights, rates, months * M))
    share = float(np.mean(dur > months * M))
    se = math.sqrt(expected * (1 - expected) / len(dur))
    assert abs(share - expected) <= 4 * se, f"S({months} months): {share:.4f} vs {expected:.4f} (SE {se:.4f})"


def test_mixture_mean_tenure_matches_closed_form(unlimited):
    sc, dur = unlimited
    weights, rates = mixture(sc)
    capped = np.minimum(dur, FOLLOW)
    expected = mean_tenure(weights, rates, FOLLOW)
    se = capped.std(ddof=1) / math.sqrt(len(capped))
    assert abs(capped.mean() - expected) <= 4 * se, (capped.mean() / M, expected / M, se / M)
    # The restricted mean approaches the plain mean sum w/r; with these rates it is within 2% at 36 months.
    assert mean_tenure(weights, rates) > expected > 0.98 * mean_tenure(weights, rates)


def test_mixture_hazard_falls():
    """h(u) = sum w r e^{-ru} / sum w e^{-ru} falls from the weighted mean rate to the smallest rate."""
    weights, rates = mixture(cohort_scenario())
    h = hazard(weights, rates, np.array([0.0, 30, 180, 365, 3650]))
    assert np.all(np.diff(h) < 0)
    assert math.isclose(h[0], float(np.dot(weights, rates)))
    assert h[-1] < 1.05 * rates.min()


def test_shipped_jobs_have_a_falling_hazard():
    """Default program (calibrated jobs): endings per day at risk in month 1 of a job vs months 6-12.

    Exits from services censor a job (independently of its own hazard); each rate is d / exposure with
    Poisson SE sqrt(d) / exposure."""
    sc = load_scenario(REPO / "scenarios" / "two_specialists_38_members.yaml")
    recs = [run_replication(sc, i, 99).freeze() for i in range(30)]
    start = np.concatenate([r.job["start_day"] for r in recs])
    end = np.concatenate([r.job["end_day"] for r in recs])
    seen = np.concatenate([r.job["observed_until_day"] for r in recs])
    ended = np.isfinite(end)
    dur = np.where(ended, end, seen) - start

    def rate(a, b):
        exposure = np.clip(np.minimum(dur, b) - a, 0.0, None).sum()
        d = np.sum(ended & (dur >= a) & (dur < b))
        return d / exposure, math.sqrt(d) / exposure

    h1, se1 = rate(0.0, M)
    h2, se2 = rate(6 * M, 12 * M)
    assert h1 - h2 > 4 * math.hypot(se1, se2), (h1 * M, h2 * M, se1 * M, se2 * M)


def test_kaplan_meier_by_hand():
    # durations 1, 2+, 3, 3, 4+, 5: at 1: 6 at risk, 1 event -> 5/6; at 3: 4 at risk, 2 events -> 5/6 x 2/4;
    # at 5: 1 at risk, 1 event -> 0. Greenwood at 3: S^2 (1/(6x5) + 2/(4x2)).
    t, s, se = kaplan_meier([1, 2, 3, 3, 4, 5], [True, False, True, True, False, True])
    assert np.allclose(t, [1, 3, 5])
    assert np.allclose(s, [5 / 6, 5 / 12, 0.0])
    assert math.isclose(se[1], 5 / 12 * math.sqrt(1 / 30 + 2 / 8))


def test_first_job_window_counts_jobs_after_exit_as_continuing():
    """Bond & Kukla's design: months in the first job within 24 months never exceed 24, months worked
    never fall below months in the first job, and at least the first job is counted."""
    sc = load_scenario(REPO / "scenarios" / "two_specialists_38_members.yaml")
    rec = run_replication(sc, 0, 5).freeze()
    d = first_job_tenure(rec, sc, 5)
    assert 0 < d["first_job_tenure_months"] <= 24
    assert d["months_worked_24m_after_first_job"] >= d["first_job_tenure_months"]
    assert d["jobs_24m_after_first_job"] >= 1


@pytest.mark.parametrize("support", [1.0, 0.0])
def test_jobs_continued_after_an_exit_end_at_their_own_rate(support):
    """A job left at an exit continues with an exponential remainder at the job's own rate times
    (1 + shortfall x (1 - support)): support = follow_along.support_after_step_down after a step-down,
    0 after a drop-out. So remainder x rate is standard exponential: mean 1 (SE 1/sqrt(n)), for each exit
    reason separately."""
    from ips_sim.sim.records import EXIT_REASONS
    from ips_sim.studies.trial import job_end_days

    sc = load_scenario(REPO / "scenarios" / "two_specialists_38_members.yaml").with_updates(
        {"follow_along.support_after_step_down": support, "engagement.disengage_rate_employed_per_month": 0.05})
    jb = sc.jobs
    rem, rate, stepped = [], [], []
    for i in range(20):
        rec = run_replication(sc, i, 31).freeze()
        j = rec.job
        left = j["end_reason"] == -2
        end = job_end_days(rec, sc, 31)
        r = jb.end_rate_per_month / M / np.where(j["preference_match"], jb.match_tenure_ratio, 1.0)
        r = r * np.where(j["fragile"], jb.fragile_rate_ratio, 1.0)
        reason = rec.member["exit_reason"][j["member_id"]]
        rem.append((end - j["observed_until_day"])[left])
        rate.append(r[left])
        stepped.append((reason == EXIT_REASONS.index("stepped_down"))[left])
    rem, rate, stepped = np.concatenate(rem), np.concatenate(rate), np.concatenate(stepped)
    shortfall = jb.follow_along_shortfall_effect
    for mask, sup in ((stepped, support), (~stepped, 0.0)):
        z = rem[mask] * rate[mask] * (1.0 + shortfall * (1.0 - sup))
        assert len(z) > 50
        assert abs(z.mean() - 1.0) <= 4 / math.sqrt(len(z)), (sup, z.mean(), len(z))
