"""The calibration report's plots: simulated vs published targets, employment by month of follow-up."""

from __future__ import annotations

import math

import numpy as np


# Published points on the time course of employment drawn with the simulated curves (share of people
# randomized with a competitive job by that month of follow-up): (label, month, IPS, IPS low, IPS high,
# control, control low, control high). The targets (de Winter et al.'s short and long trials, the 28-RCT
# means, five years) are drawn from targets.csv with their ranges (timecourse.py); these are compared only.
PUBLISHED_TIME_POINTS = (
    ("Crowther et al. 2001, 5 RCTs vs prevocational training (compare only)", 12.0,
     0.34, math.nan, math.nan, 0.12, math.nan, math.nan),
)


def plot_time_course(path, months: np.ndarray, curves: dict, points: list[dict]) -> None:
    """time_course.png: employment by month of follow-up for both arms (mean and 95% CI over simulated
    trials) against the published points; right panel: the odds ratio by month.

    ``curves``: arm -> (mean, low, high) arrays over ``months``; ``points``: dicts with label, month, arm,
    value, low, high, simulated (the simulated value at the same follow-up design), marker.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"ips": "tab:blue", "usual_services": "tab:orange"}
    names = {"ips": "IPS", "usual_services": "usual services"}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1.5, 1]})
    for arm, (mean, lo, hi) in curves.items():
        ax.fill_between(months, lo, hi, color=colours[arm], alpha=0.25, lw=0)
        ax.plot(months, mean, color=colours[arm], lw=1.6, label=f"{names[arm]}: simulated trials (95% CI)")
    seen = set()
    for pt in points:
        c = colours[pt["arm"]] if pt["arm"] in colours else "k"
        yerr = ([[pt["value"] - pt["low"]], [pt["high"] - pt["value"]]] if math.isfinite(pt["low"]) else None)
        label = pt["label"] if pt["label"] not in seen else None
        seen.add(pt["label"])
        ax.errorbar([pt["month"]], [pt["value"]], yerr=yerr, fmt=pt.get("marker", "s"), color="k", mfc=c,
                    ms=6, capsize=3, lw=1, label=label)
        if math.isfinite(pt.get("simulated", math.nan)):
            ax.plot([pt["month"]], [pt["simulated"]], "x", color=c, ms=8, mew=2)
    ax.plot([], [], "x", color="0.3", ms=8, mew=2, label="simulated at the same design (each trial at its own follow-up)")
    ax.set_xlabel("months of follow-up")
    ax.set_ylabel("share of people randomized with a competitive job")
    ax.set_xlim(0, months[-1] + 1)
    ax.set_ylim(0, 0.85)
    ax.set_xticks([0, 6, 12, 18, 24, 30, 36, 42, 48, 54, 60])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="upper left")
    ax.set_title("Employment by month of follow-up: simulated trials vs published trials", fontsize=10)

    m_i, m_u = curves["ips"][0], curves["usual_services"][0]
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = (m_i / (1 - m_i)) / (m_u / (1 - m_u))
    bx.plot(months, odds, color="k", lw=1.4, label="simulated (odds of the mean curves)")
    for pt in points:
        if pt["arm"] != "odds_ratio":
            continue
        bx.errorbar([pt["month"]], [pt["value"]], yerr=[[pt["value"] - pt["low"]], [pt["high"] - pt["value"]]],
                    fmt="s", color="tab:green", ms=6, capsize=3, label=pt["label"])
        if math.isfinite(pt.get("simulated", math.nan)):
            bx.plot([pt["month"]], [pt["simulated"]], "x", color="tab:green", ms=8, mew=2)
    bx.set_xlabel("months of follow-up")
    bx.set_ylabel("odds ratio of employment, IPS vs usual services")
    bx.set_xlim(0, months[-1] + 1)
    # Infinite while no control has a job yet (a preparation phase): scaled on the finite part, at most 10.
    finite = odds[3:][np.isfinite(odds[3:])]
    bx.set_ylim(0, min(10.0, max(6.0, float(finite.max()) * 1.1)) if finite.size else 6.0)
    bx.set_xticks([0, 12, 24, 36, 48, 60])
    bx.grid(alpha=0.3)
    bx.legend(fontsize=6.5)
    bx.set_title("Odds ratio by follow-up", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


__all__ = ["PUBLISHED_TIME_POINTS", "plot_fit", "plot_time_course"]


def plot_fit(path, rows: list[dict]) -> None:
    """calibration_fit.png (``path``: a file name or a binary file object)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.42 * len(rows) + 1.2))
    for k, r in enumerate(rows[::-1]):
        v = r["target_value"]
        ax.plot([r["target_low"] / v, r["target_high"] / v], [k, k], color="0.8", lw=8, solid_capstyle="butt")
        ax.plot([1], [k], "|", color="k", ms=14)
        if math.isfinite(r["uncertainty_p2.5"]):
            ax.plot([r["uncertainty_p2.5"] / v, r["uncertainty_p97.5"] / v], [k - 0.22] * 2, color="tab:orange", lw=1)
        ax.plot([r["single_trial_p2.5"] / v, r["single_trial_p97.5"] / v], [k + 0.22] * 2, color="tab:blue", lw=1,
                alpha=0.5)
        col = {"fit": "tab:green", "bound": "tab:cyan"}.get(r["role"], "tab:purple")
        ax.errorbar([r["simulated"] / v], [k], xerr=[[max(0, (r["simulated"] - r["ci_low"]) / v)],
                                                     [max(0, (r["ci_high"] - r["simulated"]) / v)]],
                    fmt="o", color=col, ms=5)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r['target']} ({r['role']})" for r in rows[::-1]], fontsize=8)
    ax.axvline(1, color="k", lw=0.5)
    ax.set_xlabel("simulated / target\n(grey: target range; dot: simulated mean and 95% CI;\ngreen fit, cyan bound, "
                  "purple check; blue: 95% of single\nsimulated trials; orange: the same with parameter uncertainty)",
                  fontsize=7)
    ax.set_title("ips-sim calibration: simulated vs published targets", fontsize=10)
    ax.set_xlim(0, 3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


