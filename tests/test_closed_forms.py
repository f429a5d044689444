"""Closed forms for competing exponential risks when capacity never binds.

A cohort enrolled on day 0 into a team with far more hours than it demands
(every share of demanded hours received is exactly 1) and places for all
(nobody waits), with member heterogeneity off and the same drop-out rate in
the early and later months: each job seeker faces constant hazards,

* job finding ``lam = own + search + development`` (development effect 1:
  ``contacts_per_searcher_week_full_effect`` is tiny, so any employer contact
  saturates it),
* drop-out ``mu``,
* first employer contact ``kappa = 1 / first_contact_mean_days``.

So (members independent, binomial standard errors from the number of members):

* P(first job by ``t``) = ``lam / (lam + mu) (1 - exp(-(lam + mu) t))``;
* a first job also counts as the first employer contact, and a drop-out
  before either means no contact, so
  P(first contact by ``t``) = ``(kappa + lam) / (kappa + lam + mu) (1 - exp(-(kappa + lam + mu) t))``;
* P(first exit is a drop-out before any job, by ``t``) = ``mu / (lam + mu) (1 - exp(-(lam + mu) t))``;
* a job is fragile (latent class) with probability ``q`` (``q_s`` for jobs of
  20 hours a week or less: odds times ``fragile_odds_ratio_short_hours``) and
  meets preferences with probability ``p``; it ends at rate
  ``r x (fragile_rate_ratio if fragile) / (ratio if matched)``, competing with
  drop-out while employed ``mu_e`` (step-down off), so P(job ended by ``u``
  after its start) = ``sum_k w_k F(r_k, mu_e, u)`` over the four types (see
  ``ips_sim.sim.tenure.mixture``) with ``F(a, b, u) = a / (a + b) (1 - exp(-(a + b) u))``;
  job endings split by reason in the shares of ``jobs.end_reason_shares``;
  the Kaplan-Meier median job tenure is the root of the mixture's survival
  ``sum_k w_k exp(-r_k u)`` = 1/2.

The reported metrics (``ever_employed_rate``, ``first_contact_within_30_days_rate``)
match the same closed forms. Two more exact mechanisms: a piecewise-constant
referral schedule gives Poisson counts per period, and when hours bind, the
share of demanded job-search hours received scales the first-contact hazard.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import DISENGAGED, make_scenario, optional_mechanisms_off, run_many

from ips_sim.analysis.metrics import FOLLOW_UP_DAYS, RAPID_CONTACT_DAYS, km_median, replication_metrics
from ips_sim.analysis.queueing import competing_exponential_cdf as F
from ips_sim.config import DAYS_PER_MONTH
from ips_sim.sim.records import JOB_END_REASONS
from ips_sim.sim.tenure import mixture, survival

# The tests here share module-scoped fixtures: make test keeps them on one worker (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("closed_forms")

SEED = 777
M = DAYS_PER_MONTH
OWN, SEARCH, DEVELOPMENT = 0.10, 0.12, 0.08   # per month
MU = 0.15                                    # per month, drop-out while job seeking (early = late)
MU_EMPLOYED = 0.05                           # per month, drop-out while working
FIRST_CONTACT_DAYS = 14.0
END_RATE, MATCH_P, MATCH_RATIO = 0.2, 0.6, 2.0
FRAGILE_SHARE, FRAGILE_RATIO, SHORT_HOURS_OR = 0.4, 8.0, 2.5  # latent job classes (ips_sim.sim.tenure)
HOURS = {"jobs.hours_per_week_mean": 22.0, "jobs.hours_per_week_sd": 9.0,
         "jobs.hours_per_week_min": 4.0, "jobs.hours_per_week_max": 40.0}
SHARES = {"quit": 0.5, "fired": 0.2, "temporary_job_ended": 0.2, "laid_off": 0.1}
SPECIALISTS, CAP = 3, 1000
COHORT = SPECIALISTS * CAP
HORIZON_MONTHS = 30


def cohort_scenario(**changes):
    return make_scenario({
        "referrals.cohort_size": COHORT,
        "referrals.rate_per_month": 0.0,
        "referrals.schedule": [],
        "referrals.patience_mean_days": None,
        "team.specialists": SPECIALISTS,
        "team.caseload_cap": CAP,
        "team.fte_per_specialist": 1.0,
        # Hours never bind: 80 direct hours a week per specialist against at most
        # 1000 x 0.01 + 1000 x 0.01 + 1 = 21 demanded.
        "time_use.paid_hours_per_week": 80,
        "time_use.meeting_hours_per_week": 0,
        "time_use.documentation_share": 0.0,
        "time_use.travel_share": 0.0,
        "service.intake_hours": 0.0,
        "service.job_search_hours_per_member_week": 0.01,
        "service.follow_along_hours_per_member_week_first_month": 0.01,
        "service.follow_along_hours_per_member_week": 0.01,
        "service.job_development_hours_per_week": 1.0,
        "job_search.contacts_per_searcher_week_full_effect": 1e-4,
        "job_search.job_rate_own_per_month": OWN,
        "job_search.job_rate_search_per_month": SEARCH,
        "job_search.job_rate_development_per_month": DEVELOPMENT,
        "job_search.first_contact_mean_days": FIRST_CONTACT_DAYS,
        "job_search.heterogeneity_cv": 0.0,
        "job_search.first_search_shape": 1.0,   # exponential first search (the fit's shape is its own test's)
        "job_search.preparation_months": 0.0,
        "engagement.disengage_rate_early_per_month": MU,
        "engagement.disengage_rate_per_month": MU,
        "engagement.disengage_rate_employed_per_month": MU_EMPLOYED,
        "engagement.shortfall_effect": 1.0,  # no effect: every share received is 1
        "engagement.discharge_without_job_months": None,
        "jobs.end_rate_per_month": END_RATE,
        "jobs.preference_match_probability": MATCH_P,
        "jobs.match_tenure_ratio": MATCH_RATIO,
        "jobs.fragile_share": FRAGILE_SHARE,
        "jobs.fragile_rate_ratio": FRAGILE_RATIO,
        "jobs.fragile_odds_ratio_short_hours": SHORT_HOURS_OR,
        **HOURS,
        "jobs.follow_along_shortfall_effect": 1.0,
        "jobs.end_reason_shares": SHARES,
        "follow_along.step_down_enabled": False,
        "simulation.horizon_years": HORIZON_MONTHS / 12,
        "simulation.warmup_years": 0,
        "simulation.planning_step_days": 7,
        **optional_mechanisms_off(),
        **changes,
    })


@pytest.fixture(scope="module")
def cohort():
    sc = cohort_scenario()
    recs = run_many(sc, 4, SEED)
    for r in recs:
        m = r.member
        assert len(m["referral_day"]) == COHORT
        assert np.all(m["enrollment_day"] == 0.0), "nobody should wait"
        # Hours never bind: every share of demanded hours received is exactly 1.
        w = r.week
        assert np.all(w[:, 3:7] == w[:, 7:11])
    return recs


def _check_share(hits: np.ndarray, expected: float, what: str) -> None:
    n = len(hits)
    se = math.sqrt(expected * (1 - expected) / n)
    share = float(hits.mean())
    assert abs(share - expected) <= 4 * se, f"{what}: {share:.4f} vs theory {expected:.4f} (n = {n}, SE {se:.4f})"


def _members(cohort, key):
    return np.concatenate([r.member[key] for r in cohort])


@pytest.mark.parametrize("months", [0.5, 1, 3, 6, 12, 24])
def test_ever_employed_by_t(cohort, months):
    lam, mu = (OWN + SEARCH + DEVELOPMENT) / M, MU / M
    t = months * M
    first_job = _members(cohort, "first_job_day")  # enrolled on day 0
    _check_share(first_job <= t, F(lam, mu, t), f"P(first job by {months} months)")


@pytest.mark.parametrize("months", [1, 6, 24])
def test_dropped_out_before_any_job_by_t(cohort, months):
    lam, mu = (OWN + SEARCH + DEVELOPMENT) / M, MU / M
    t = months * M
    exit_day, reason, first_job = _members(cohort, "exit_day"), _members(cohort, "exit_reason"), _members(cohort, "first_job_day")
    dropped = (reason == DISENGAGED) & np.isnan(first_job) & (exit_day <= t)
    _check_share(dropped, F(mu, lam, t), f"P(drop-out without a job by {months} months)")


@pytest.mark.parametrize("days", [3, 7, 14, 30, 60, 120])
def test_first_employer_contact_by_t(cohort, days):
    lam, mu, kappa = (OWN + SEARCH + DEVELOPMENT) / M, MU / M, 1.0 / FIRST_CONTACT_DAYS
    contact = _members(cohort, "first_employer_contact_day")
    first_job = _members(cohort, "first_job_day")
    # A contact never comes after the first job (a job implies an employer was met).
    has_job = np.isfinite(first_job)
    assert np.all(contact[has_job] <= first_job[has_job])
    _check_share(contact <= days, F(kappa + lam, mu, days), f"P(first employer contact by {days} days)")


def _jobs(cohort):
    out = {k: [] for k in ("start_day", "end_day", "end_reason", "preference_match")}
    for r in cohort:
        for k in out:
            out[k].append(r.job[k])
    return {k: np.concatenate(v) for k, v in out.items()}


@pytest.mark.parametrize("months", [1, 3, 6, 12])
def test_job_ended_by_u(cohort, months):
    weights, rates = mixture(cohort_scenario())
    mu_e = MU_EMPLOYED / M
    u = months * M
    j = _jobs(cohort)
    horizon = cohort[0].horizon
    followed = j["start_day"] + u <= horizon
    ended = np.isfinite(j["end_day"]) & (j["end_day"] - j["start_day"] <= u)
    expected = sum(w * F(r, mu_e, u) for w, r in zip(weights, rates))
    _check_share(ended[followed], expected, f"P(job ended by {months} months after start)")


def test_mixture_weights_by_hand():
    """The mixture's weights and rates from the parameters by hand: P(hours <= 20) under the truncated
    normal, fragile odds 0.4/0.6 x 2.5 = 5/3 for short jobs (P = 0.625), rates r x 8 and r / 2."""
    from scipy import stats

    weights, rates = mixture(cohort_scenario())
    mu, sd = HOURS["jobs.hours_per_week_mean"], HOURS["jobs.hours_per_week_sd"]
    a, b = (4.0 - mu) / sd, (40.0 - mu) / sd
    p_short = (stats.norm.cdf((20.0 - mu) / sd) - stats.norm.cdf(a)) / (stats.norm.cdf(b) - stats.norm.cdf(a))
    q = p_short * 0.625 + (1 - p_short) * 0.4
    r = END_RATE / M
    assert np.allclose(weights, [MATCH_P * q, MATCH_P * (1 - q), (1 - MATCH_P) * q, (1 - MATCH_P) * (1 - q)])
    assert np.allclose(rates, [r * 8 / 2, r / 2, r * 8, r])


def test_job_classes_follow_hours(cohort):
    """Fragile share among jobs of 20 h or less and among longer jobs (binomial, 4 SE)."""
    j = {k: np.concatenate([r.job[k] for r in cohort]) for k in ("fragile", "hours_per_week")}
    short = j["hours_per_week"] <= 20.0
    _check_share(j["fragile"][~short], FRAGILE_SHARE, "share of fragile jobs over 20 h/week")
    _check_share(j["fragile"][short], 0.625, "share of fragile jobs of 20 h/week or less")


def test_job_end_reasons_and_preference_match(cohort):
    j = _jobs(cohort)
    _check_share(j["preference_match"], MATCH_P, "share of jobs meeting preferences")
    ended = j["end_reason"] >= 0
    for i, name in enumerate(JOB_END_REASONS):
        _check_share(j["end_reason"][ended] == i, SHARES[name], f"share of job endings: {name}")


def test_reported_metrics_match_closed_forms(cohort):
    """The metrics a planner reads: share employed within 18 months, first contact within 30 days."""
    sc = cohort_scenario()
    lam, mu, kappa = (OWN + SEARCH + DEVELOPMENT) / M, MU / M, 1.0 / FIRST_CONTACT_DAYS
    per_rep = [replication_metrics(r, sc) for r in cohort]
    n = COHORT * len(cohort)  # every member is followed 18 months (enrolled on day 0, horizon 30 months)
    for name, expected in (("ever_employed_rate", F(lam, mu, FOLLOW_UP_DAYS)),
                           ("first_contact_within_30_days_rate", F(kappa + lam, mu, RAPID_CONTACT_DAYS))):
        share = float(np.mean([m[name] for m in per_rep]))  # equal-size replications: the pooled share
        se = math.sqrt(expected * (1 - expected) / n)
        assert abs(share - expected) <= 4 * se, f"{name}: {share:.4f} vs theory {expected:.4f} (SE {se:.4f})"


def test_job_tenure_kaplan_meier_median(cohort):
    """Job durations, censored by leaving services and by the horizon (both independent of the job's own
    end), have the mixture's survival S(u) = sum_k w_k exp(-r_k u); the Kaplan-Meier median must
    match the root of S(u) = 1/2 within 4 standard errors: Greenwood's sd of S at the median over the
    density -S'(m) there."""
    from scipy.optimize import brentq

    weights, rates = mixture(cohort_scenario())
    surv = lambda u: float(survival(weights, rates, u))  # noqa: E731
    dens = lambda u: float(np.sum(weights * rates * np.exp(-rates * u)))  # noqa: E731
    median = brentq(lambda u: surv(u) - 0.5, 0.0, 1e5)
    j = _jobs(cohort)
    obs = np.concatenate([r_.job["observed_until_day"] for r_ in cohort])
    ended = np.isfinite(j["end_day"])
    dur = np.where(ended, j["end_day"], obs) - j["start_day"]
    est = km_median(dur, ended)
    # Greenwood at the theoretical median: sum over event times u_i <= m of d_i / (n_i (n_i - d_i)).
    order = np.argsort(dur, kind="stable")
    d_sorted, e_sorted = dur[order], ended[order]
    at_risk = len(dur) - np.arange(len(dur))
    upto = (d_sorted <= median) & e_sorted
    green = np.sum(1.0 / (at_risk[upto] * (at_risk[upto] - 1.0)))
    se = math.sqrt(0.25 * green) / dens(median)
    assert abs(est - median) <= 4 * se, f"KM median {est:.1f} days vs theory {median:.1f} (SE {se:.1f})"


def test_referral_schedule_is_a_piecewise_poisson_process():
    """Referrals in each period of a piecewise-constant schedule are Poisson(rate x length): the mean count
    over replications within 4 SE (sd sqrt(mean / n)); none at all while the rate is 0."""
    schedule = [(0, 0.0), (6, 4.0), (9, 12.0), (12, 0.0), (15, 2.5)]  # (from month, rate per month)
    horizon = 21
    sc = make_scenario({
        "referrals.rate_per_month": 3.0,  # overridden from month 0 by the schedule
        "referrals.schedule": [{"from_month": m, "rate_per_month": r} for m, r in schedule],
        "referrals.cohort_size": 0,
        "simulation.horizon_years": horizon / 12, "simulation.warmup_years": 0,
        "simulation.planning_step_days": 31,
    })
    n = 60
    edges = [m for m, _ in schedule] + [horizon]
    counts = np.array([np.histogram(r.member["referral_day"], bins=np.array(edges) * M)[0]
                       for r in run_many(sc, n, SEED)])
    for k, (start, rate) in enumerate(schedule):
        expected = rate * (edges[k + 1] - start)
        if expected == 0:
            assert counts[:, k].sum() == 0
        else:
            se = math.sqrt(expected / n)
            assert abs(counts[:, k].mean() - expected) <= 4 * se, (start, counts[:, k].mean(), expected)


@pytest.mark.parametrize("policy", ["priority", "proportional"])
def test_hours_shortfall_scales_first_contact_hazard(policy):
    """Hours bind: 1000 job seekers ask 0.2 h a week each (200 h) of a specialist with 40 direct hours and
    no other demand, so each gets the share s = 40 / 200 = 0.2 of their job-search hours, every week (no
    jobs, no drop-outs: the caseload never changes). The first-contact hazard is s / first_contact_mean_days:
    P(contact by t) = 1 - exp(-s t / F)."""
    share, f_days, n = 0.2, 14.0, 1000
    sc = make_scenario({
        "referrals.cohort_size": n, "referrals.rate_per_month": 0.0, "referrals.schedule": [],
        "team.specialists": 1, "team.caseload_cap": n, "team.fte_per_specialist": 1.0,
        "time_use.paid_hours_per_week": 40, "time_use.meeting_hours_per_week": 0,
        "time_use.documentation_share": 0.0, "time_use.travel_share": 0.0,
        "time_use.allocation_policy": policy,
        "service.intake_hours": 0.0, "service.job_search_hours_per_member_week": 40 / share / n,
        "service.job_development_hours_per_week": 0.0,
        "job_search.first_contact_mean_days": f_days,
        "job_search.job_rate_own_per_month": 0.0, "job_search.job_rate_search_per_month": 0.0,
        "job_search.job_rate_development_per_month": 0.0, "job_search.preparation_months": 0.0,
        "engagement.disengage_rate_early_per_month": 0.0, "engagement.disengage_rate_per_month": 0.0,
        "engagement.discharge_without_job_months": None,
        "simulation.horizon_years": 1, "simulation.warmup_years": 0, "simulation.planning_step_days": 7,
        **optional_mechanisms_off(),
    })
    recs = run_many(sc, 3, SEED)
    for r in recs:
        assert np.allclose(r.week[:, 5] / r.week[:, 9], share)  # hours received / demanded for job search
    contact = np.concatenate([r.member["first_employer_contact_day"] for r in recs])
    for days in (7, 30, 70, 180):
        _check_share(contact <= days, -math.expm1(-share * days / f_days), f"P(first contact by {days} days)")


def test_early_and_later_drop_out_rates_carry_the_residual_over():
    """Different drop-out rates in the early months (mu1 for T months) and later (mu2), no jobs: the
    drop-out hazard is piecewise constant, P(drop-out by t) = 1 - exp(-(mu1 min(t, T) + mu2 (t - T)+)).
    With equal rates the switch is invisible; here a member left on the early clock, or moved to the
    late clock with a wrong residual (say the whole first threshold), would drop out at the wrong times."""
    mu1, mu2, early = 0.4, 0.05, 3.0
    sc = cohort_scenario(**{
        "job_search.job_rate_own_per_month": 0.0, "job_search.job_rate_search_per_month": 0.0,
        "job_search.job_rate_development_per_month": 0.0,
        "engagement.disengage_rate_early_per_month": mu1, "engagement.disengage_rate_per_month": mu2,
        "engagement.early_months": early, "simulation.horizon_years": 1.5,
    })
    recs = run_many(sc, 2, SEED)
    ex = np.concatenate([r.member["exit_day"] for r in recs])
    for months in (1, 3, 4, 6, 12):
        cum = mu1 * min(months, early) + mu2 * max(months - early, 0.0)
        _check_share(ex <= months * M, -math.expm1(-cum), f"P(drop-out by {months} months)")


def test_member_heterogeneity_gamma_frailty():
    """Job-finding hazard lam Z with Z ~ Gamma(mean 1, cv): P(first job by t) = E_Z[F(lam Z, mu, t)],
    integrated numerically over the gamma density."""
    from scipy import integrate, stats

    cv = 1.0
    sc = cohort_scenario(**{"job_search.heterogeneity_cv": cv})
    recs = run_many(sc, 2, SEED)
    first_job = np.concatenate([r.member["first_job_day"] for r in recs])
    lam, mu = (OWN + SEARCH + DEVELOPMENT) / M, MU / M
    z = stats.gamma(a=1 / cv**2, scale=cv**2)
    for months in (1, 6, 24):
        t = months * M
        expected, _ = integrate.quad(lambda x, t=t: z.pdf(x) * F(lam * x, mu, t), 0, np.inf)
        _check_share(first_job <= t, expected, f"P(first job by {months} months), gamma frailty cv {cv}")
    # Heterogeneity lowers the share employed below the homogeneous closed form (Jensen: F concave in lam).
    assert np.mean(first_job <= 24 * M) < F(lam, mu, 24 * M)
