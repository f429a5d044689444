"""The first-job survival plot of the calibration report: simulated Kaplan-Meier against published points."""

from __future__ import annotations

import numpy as np

from ips_sim.analysis.survival import kaplan_meier, km_at
from ips_sim.config import DAYS_PER_MONTH, Scenario
from ips_sim.sim.tenure import hazard, mixture, survival

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
# Early job endings: no IPS/SMI source gives first-job survival at 1 or 3 months. Checkpoints at 13 weeks
# (3 months): IPS Into Work, West London (University of Strathclyde evaluation, reported by Archer,
# Whitworth & Odedra, DDN March 2024): "around half" of jobs lasted 13 weeks or more (job-level; people
# in drug and alcohol services); OHID 2024 and 2025 IPS-AD data linkage (gov.uk): 4 in 5 (2024) and
# 3 in 4 (2025) of clients who got a job sustained it / a single job for 13 weeks or more (person-level,
# an upper bound for the first job).
EARLY_SURVIVAL_3M = (("IPS Into Work 2024: about half of jobs", 0.5),
                     ("OHID 2025: 3 in 4 (upper bound)", 0.75),
                     ("OHID 2024: 4 in 5 (upper bound)", 0.8))


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
    at_1m = float(km_at(times, s, m)[0])
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
    for k, (label, v) in enumerate(EARLY_SURVIVAL_3M):
        ax.plot([3.0], [v], ("v" if k else "o"), color="tab:green", ms=6, mfc="none" if k else "tab:green",
                label=f"13 weeks: {label}")
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
    return {"n": int(len(d)), "at": at, "at_1m": at_1m, "restricted_mean_months": restricted}
