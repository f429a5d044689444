"""Closed forms of the time-course mechanisms: the first search's gamma threshold, a preparation time that
varies between members, and a later job found at ``next_job_rate_ratio`` times the first job's rate.

Same cohort design as test_closed_forms.py (hours never bind, so the job-finding hazard is the constant
``lam`` and drop-out the constant ``mu``): with a gamma(k, mean 1) threshold the time to a first job is
Gamma(k, scale 1 / (k lam)); with preparation ``P ~ Gamma(1/cv^2, scale cv^2 p)`` job search starts at P;
after a job ends the next is found at the constant hazard ``r lam``, competing with drop-out.
Drop-out competes throughout. Expected shares are integrals of those densities (scipy quad), never the
model's output; each share is held to 4 binomial SE.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, stats
from test_closed_forms import DEVELOPMENT, MU, OWN, SEARCH, SEED, M, _check_share, cohort_scenario

from conftest import run_many


def _first_jobs(**changes) -> np.ndarray:
    recs = run_many(cohort_scenario(**changes), 2, SEED)
    return np.concatenate([r.member["first_job_day"] for r in recs])


def test_first_search_shape_gamma_threshold():
    k = 3.0
    first_job = _first_jobs(**{"job_search.first_search_shape": k})
    lam, mu = (OWN + SEARCH + DEVELOPMENT) / M, MU / M
    t_job = stats.gamma(a=k, scale=1.0 / (k * lam))
    for months in (1, 3, 6, 24):
        t = months * M
        expected, _ = integrate.quad(lambda s: t_job.pdf(s) * np.exp(-mu * s), 0, t)
        _check_share(first_job <= t, expected, f"P(first job by {months} months), first search shape {k}")
    # A rising hazard: fewer first jobs in the first month than with the exponential threshold (k = 1).
    exponential, _ = integrate.quad(lambda s: lam * np.exp(-(lam + mu) * s), 0, M)
    assert np.mean(first_job <= M) < exponential


def test_preparation_time_varies_between_members():
    prep_months, cv = 3.0, 1.0
    first_job = _first_jobs(**{"job_search.preparation_months": prep_months, "job_search.preparation_cv": cv})
    lam, mu = (OWN + SEARCH + DEVELOPMENT) / M, MU / M
    prep = stats.gamma(a=1 / cv**2, scale=cv**2 * prep_months * M)

    def by(t: float) -> float:
        # P(job by t) = E_P[ int_P^t lam e^{-lam (s - P)} e^{-mu s} ds ] (drop-out from enrollment on)
        def inner(p):
            return lam * np.exp(-mu * p) * -np.expm1(-(lam + mu) * (t - p)) / (lam + mu)
        return integrate.quad(lambda p: prep.pdf(p) * inner(p), 0, t)[0]

    for months in (1, 3, 6, 24):
        _check_share(first_job <= months * M, by(months * M), f"P(first job by {months} months), preparation cv {cv}")
    # With everyone preparing exactly 3 months nobody has a job by month 2; with the spread many do.
    assert np.mean(first_job <= 2 * M) > 0.05


def test_a_later_job_is_found_at_the_next_job_rate_ratio():
    # After a job ends (not censored) the member searches again: P(next job within u) =
    # r lam / (r lam + mu) (1 - exp(-(r lam + mu) u)) (drop-out is memoryless, so its clock carried over
    # from before the job changes nothing). Only job endings at least u before the horizon count.
    r, u = 2.5, 2 * M
    recs = run_many(cohort_scenario(**{"job_search.next_job_rate_ratio": r}), 2, SEED)
    lam, mu = (OWN + SEARCH + DEVELOPMENT) / M, MU / M
    found = []
    for rec in recs:
        j = rec.job
        nxt = {(int(m), int(k)): s for m, k, s in zip(j["member_id"], j["job_number"], j["start_day"])}
        for m, k, end, why in zip(j["member_id"], j["job_number"], j["end_day"], j["end_reason"]):
            if why >= 0 and end + u <= rec.horizon:
                found.append(nxt.get((int(m), int(k) + 1), np.inf) - end <= u)
    assert len(found) > 1000
    expected = r * lam / (r * lam + mu) * -np.expm1(-(r * lam + mu) * u)
    _check_share(np.array(found), expected, f"P(next job within 2 months of a job ending), ratio {r}")
    # The first job's rate is untouched by the ratio (same closed form as with ratio 1).
    first_job = np.concatenate([rec.member["first_job_day"] for rec in recs])
    _check_share(first_job <= 3 * M, lam / (lam + mu) * -np.expm1(-(lam + mu) * 3 * M), "P(first job by 3 months)")
