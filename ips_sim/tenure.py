"""Job tenure: the latent-class mixture of exponentials, its closed forms, and Kaplan-Meier.

Each job is drawn at its start into a latent class, fragile or stable (odds
raised for jobs of 20 hours a week or less; Cook & Burke-Miller 2015), and
ends at a constant hazard given its class and whether it meets the member's
preferences: stable ``r``, fragile ``r x fragile_rate_ratio``, both divided by
``match_tenure_ratio`` for a job meeting preferences (Becker et al. 1996).
Over jobs, tenure is a mixture of exponentials, whose hazard falls with time
in the job (the fragile jobs end early; those left are mostly stable), while
each job's own hazard stays a constant that scales its exponential threshold
on the specialist's shared job-ending clock (:mod:`ips_sim.hazard`), so event
times stay exact and the event loop does no per-job work.

Closed forms here assume full follow-along and no competing exits (they are
what the model gives with unlimited follow-along and no drop-out, and what
the tests check it against).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .scenario import DAYS_PER_MONTH, Scenario

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
    lo, hi, mu, sd = jb.hours_per_week_min, jb.hours_per_week_max, jb.hours_per_week_mean, jb.hours_per_week_sd
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


def kaplan_meier(durations, ended) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan-Meier survival at each distinct event time, with Greenwood's standard error.

    Returns (times, S, se). ``ended`` False marks a censored duration.
    """
    d = np.asarray(durations, float)
    e = np.asarray(ended, bool)
    d_sorted = np.sort(d)
    times, deaths = np.unique(d[e], return_counts=True)
    if len(times) == 0:
        return times, np.zeros(0), np.zeros(0)
    at_risk = len(d) - np.searchsorted(d_sorted, times, side="left")  # durations >= each event time
    s = np.cumprod(1.0 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.cumsum(deaths / (at_risk * (at_risk - deaths)))
        se = s * np.sqrt(g)  # undefined once S reaches 0: reported as 0
    return times, s, np.where(np.isfinite(se), se, 0.0)


def km_at(times, s, u) -> np.ndarray:
    """The Kaplan-Meier step function evaluated at ``u`` (1 before the first event)."""
    k = np.searchsorted(times, np.atleast_1d(u), side="right") - 1
    return np.where(k >= 0, s[np.clip(k, 0, None)] if len(s) else 1.0, 1.0)


# Published points on first-job tenure shown with the simulated Kaplan-Meier curve.
# Bond & Kukla 2011 (Psychiatr Serv 62:950-953), prospective sample n = 82: 8.01 months in the first
# job within 24 months of its start (the area under the first-job survival curve up to 24 months).
FIRST_JOB_MEAN_MONTHS = 8.01
# Bond & Kukla 2009 (VCU final report): 21 of 142 clients (15%) held a single job the entire two years,
# i.e. were still in their first job at 24 months (pooled sample, including the retrospective clients
# selected for staying, so an upper figure for a prospective cohort).
SINGLE_JOB_24M_SHARE = 0.15
# McGurk et al. 2018 (Psychiatr Serv, doi:10.1176/appi.ps.201700489): job tenure "frequently three to
# six months" in controlled studies; drawn as a band of medians.
TRIAL_TENURE_MONTHS = (3.0, 6.0)


def plot_first_job_survival(path, first_job_days, scenario: Scenario, window_months: float = 24.0) -> dict:
    """Kaplan-Meier of simulated first jobs (95% Greenwood band) against the published points; hazard panel.

    ``first_job_days``: each first job's days within the window (equal to the window if it lasted
    through it: censored there). Returns the numbers the report quotes.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = DAYS_PER_MONTH
    window = window_months * m
    d = np.asarray(first_job_days, float)
    ended = d < window - 1e-9
    times, s, se = kaplan_meier(d, ended)
    t_m = np.concatenate([[0.0], times / m])
    s_full = np.concatenate([[1.0], s])
    se_full = np.concatenate([[0.0], se])
    lo, hi = np.clip(s_full - 1.96 * se_full, 0, 1), np.clip(s_full + 1.96 * se_full, 0, 1)
    at = [float(km_at(times, s, u * m)[0]) for u in (3, 6, 12, 24)]
    restricted = float(np.minimum(d, window).mean() / m)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [1.35, 1]})
    ax.fill_between(t_m, lo, hi, step="post", color="tab:blue", alpha=0.25, lw=0, label="95% CI (Greenwood)")
    ax.step(t_m, s_full, where="post", color="tab:blue", lw=1.6,
            label=f"simulated first jobs (Kaplan-Meier, n = {len(d)})")
    weights, rates = mixture(scenario)
    u = np.linspace(0, window, 200)
    ax.plot(u / m, survival(weights, rates, u), "--", color="0.35", lw=1,
            label="all jobs, closed form at full follow-along")
    ax.plot([window_months], [SINGLE_JOB_24M_SHARE], "s", color="tab:red", ms=7,
            label="15% held one job through 2 years (Bond & Kukla 2009, pooled n = 142)")
    ax.plot(TRIAL_TENURE_MONTHS, [0.5, 0.5], color="tab:orange", lw=5, solid_capstyle="butt",
            label="typical tenure in trials, 3-6 months (McGurk et al. 2018)")
    ax.text(0.98, 0.97, f"months in first job within 24 months:\nsimulated {restricted:.2f}, "
            f"published {FIRST_JOB_MEAN_MONTHS:.2f}\n(Bond & Kukla 2011, prospective n = 82)",
            transform=ax.transAxes, ha="right", va="top", fontsize=8,
            bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    ax.set_xlim(0, window_months)
    ax.set_ylim(0, 1.02)
    ax.set_xticks(range(0, int(window_months) + 1, 3))
    ax.set_xlabel("months since the start of the first job")
    ax.set_ylabel("share still in the first job")
    ax.set_title("First-job survival, default program with the fitted parameters", fontsize=10)
    ax.legend(fontsize=7, loc="center right", bbox_to_anchor=(1.0, 0.6))
    ax.grid(alpha=0.3)

    # Empirical hazard of the same first jobs by month of tenure (endings / days at risk), 95% CI.
    edges = np.arange(0, window_months + 1e-9, 1.0) * m
    exposure = np.array([np.clip(np.minimum(d, b) - a, 0, None).sum() for a, b in zip(edges[:-1], edges[1:])])
    events = np.array([np.sum(ended & (d >= a) & (d < b)) for a, b in zip(edges[:-1], edges[1:])])
    with np.errstate(divide="ignore", invalid="ignore"):
        h = events / exposure * m
        h_se = np.sqrt(events) / exposure * m
    mid = (edges[:-1] + edges[1:]) / 2 / m
    bx.errorbar(mid, h, yerr=1.96 * h_se, fmt="o", ms=3, color="tab:blue", lw=1,
                label="simulated first jobs, per month of tenure")
    bx.plot(u / m, hazard(weights, rates, u) * m, "--", color="0.35", lw=1, label="mixture, full follow-along")
    bx.set_xlim(0, window_months)
    bx.set_ylim(0, None)
    bx.set_xticks(range(0, int(window_months) + 1, 3))
    bx.set_xlabel("months since the start of the job")
    bx.set_ylabel("job endings per job-month")
    bx.set_title("The hazard falls with time in the job", fontsize=10)
    bx.legend(fontsize=7)
    bx.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
    return {"n": int(len(d)), "at": at, "restricted_mean_months": restricted}
