"""Job tenure: the latent-class mixture of exponentials and its closed forms.

Each job is drawn at its start into a latent class, fragile or stable (odds
raised for jobs of 20 hours a week or less; Cook & Burke-Miller 2015), and
ends at a constant hazard given its class and whether it meets the member's
preferences: stable ``r``, fragile ``r x fragile_rate_ratio``, both divided by
``match_tenure_ratio`` for a job meeting preferences (Becker et al. 1996).
Over jobs, tenure is a mixture of exponentials, whose hazard falls with time
in the job (the fragile jobs end early; those left are mostly stable), while
each job's own hazard stays a constant that scales its exponential threshold
on the specialist's shared job-ending clock (:mod:`ips_sim.sim.hazard`), so event
times stay exact and the event loop does no per-job work.

Closed forms here assume full follow-along and no competing exits (they are
what the model gives with unlimited follow-along and no drop-out, and what
the tests check it against).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ips_sim.config import DAYS_PER_MONTH, Scenario

# Cook & Burke-Miller 2015 (JRRD 52(4):371-384): workers were more likely to quit jobs of
# "20 h/wk or less"; jobs at or under this many hours a week get the short-hours odds ratio.
SHORT_JOB_HOURS = 20.0


def fragile_probability(share: float, odds_ratio: float, short: bool) -> float:
    """P(a job is fragile): ``share`` for jobs over 20 h a week; odds times ``odds_ratio`` for short jobs.

    >>> fragile_probability(0.5, 2.0, False), round(fragile_probability(0.5, 2.0, True), 4)
    (0.5, 0.6667)
    """
    if not short or share <= 0.0 or share >= 1.0:
        return share
    odds = share / (1.0 - share) * odds_ratio
    return odds / (1.0 + odds)


def short_hours_probability(scenario: Scenario) -> float:
    """P(hours <= 20) under the scenario's truncated-normal hours distribution."""
    jb = scenario.jobs
    return short_hours_share(jb.hours_per_week_mean, jb.hours_per_week_sd, jb.hours_per_week_min,
                             jb.hours_per_week_max)


def short_hours_share(mu: float, sd: float, lo: float, hi: float) -> float:
    """P(hours <= 20) for hours ~ Normal(mu, sd) truncated to [lo, hi]."""
    cut = min(max(SHORT_JOB_HOURS, lo), hi)
    if sd <= 0.0:
        x = min(max(mu, lo), hi)
        return 1.0 if x <= cut else 0.0
    d = stats.truncnorm((lo - mu) / sd, (hi - mu) / sd, loc=mu, scale=sd)
    return float(d.cdf(cut))


def mixture(scenario: Scenario, end_rate_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Weights and job-ending rates (per day) of the four job types (match x class) at full follow-along.

    ``end_rate_scale`` multiplies every rate (say ``1 + follow_along_shortfall_effect`` for no follow-along).
    """
    jb = scenario.jobs
    p_short = short_hours_probability(scenario)
    q = (1.0 - p_short) * fragile_probability(jb.fragile_share, jb.fragile_odds_ratio_short_hours, False) \
        + p_short * fragile_probability(jb.fragile_share, jb.fragile_odds_ratio_short_hours, True)
    p = jb.preference_match_probability
    r = jb.end_rate_per_month * end_rate_scale / DAYS_PER_MONTH
    weights, rates = [], []
    for w_match, ratio in ((p, jb.match_tenure_ratio), (1.0 - p, 1.0)):
        for w_class, mult in ((q, jb.fragile_rate_ratio), (1.0 - q, 1.0)):
            weights.append(w_match * w_class)
            rates.append(r * mult / ratio)
    return np.array(weights), np.array(rates)


def fragile_rate_ratio_for_start_hazard(start_hazard: float, end_rate: float, fragile_share: float,
                                        odds_ratio_short: float, p_short: float, p_match: float,
                                        match_ratio: float) -> float:
    """The fragile/stable rate ratio whose mixture has hazard ``start_hazard`` at a job's start.

    The hazard at u = 0 is the weighted mean rate, ``end_rate x (p/M + 1 - p) x (q R + 1 - q)`` (p the
    match probability, M the match ratio, q the fragile share averaged over hours), linear in R. Below the
    all-stable start hazard R is 1 (the start hazard cannot be that low with these values).

    >>> round(fragile_rate_ratio_for_start_hazard(0.25, 0.05, 0.5, 1.0, 0.0, 0.0, 2.0), 6)
    9.0
    """
    q = (1.0 - p_short) * fragile_probability(fragile_share, odds_ratio_short, False) \
        + p_short * fragile_probability(fragile_share, odds_ratio_short, True)
    stable = end_rate * (p_match / match_ratio + 1.0 - p_match)
    if q <= 0.0 or stable <= 0.0:
        return 1.0
    return max(1.0, (start_hazard / stable - (1.0 - q)) / q)


def survival(weights, rates, u) -> np.ndarray:
    """S(u) = sum_k w_k exp(-r_k u): probability a job lasts beyond ``u`` days."""
    u = np.asarray(u, float)
    return np.sum(np.asarray(weights)[:, None] * np.exp(-np.outer(rates, np.atleast_1d(u))), axis=0).reshape(u.shape)


def hazard(weights, rates, u) -> np.ndarray:
    """h(u) = -S'(u) / S(u), falling in ``u`` whenever the rates differ."""
    u = np.atleast_1d(np.asarray(u, float))
    e = np.asarray(weights)[:, None] * np.exp(-np.outer(rates, u))
    return (np.asarray(rates)[:, None] * e).sum(0) / e.sum(0)


def mean_tenure(weights, rates, limit: float = math.inf) -> float:
    """E[min(T, limit)] = sum_k w_k (1 - exp(-r_k limit)) / r_k (days); the plain mean when unlimited."""
    w, r = np.asarray(weights, float), np.asarray(rates, float)
    if math.isinf(limit):
        return float(np.sum(w / r))
    return float(np.sum(w * -np.expm1(-r * limit) / r))
