"""The report's time course: employment by month of follow-up for both arms against the published points."""

from __future__ import annotations

import io
import math

import numpy as np

from ips_sim.core.intervals import mean_ci
from ips_sim.studies.calibration.plots import PUBLISHED_TIME_POINTS, plot_time_course
from ips_sim.studies.calibration.targets import ALL_TRIALS, LONG_TRIALS, SHORT_TRIALS, weighted_follow_up

TABLE_MONTHS = (3, 6, 9, 12, 18, 24, 36, 48, 60)
ARM_NAMES = {"ips": "IPS", "usual_services": "usual services", "odds_ratio": "odds ratio"}


def curve_band(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean employment by month over simulated trials with its 95% CI."""
    c = np.array([r["employment_curve"] for r in rows], float)
    out = np.array([mean_ci(c[:, k]) for k in range(c.shape[1])])
    return out[:, 0], out[:, 1], out[:, 2]


def _design_month(metric: str) -> float:
    if metric in ("employment_rate_short_trials", "employment_rate_short_weighted_follow_up"):
        return weighted_follow_up(SHORT_TRIALS)
    if metric in ("employment_rate_long_trials", "employment_rate_long_weighted_follow_up"):
        return weighted_follow_up(LONG_TRIALS)
    if metric == "employment_rate_28_trials":
        return weighted_follow_up(ALL_TRIALS)   # the trials' mean follow-up, 18.6 months
    if metric == "employment_rate_60m":
        return 60.0
    return math.nan


def time_course(rows_i: list[dict], rows_u: list[dict], fit_rows: list[dict]) -> tuple[bytes, list[str]]:
    """time_course.png and the report's section on the time course of employment."""
    curves = {"ips": curve_band(rows_i), "usual_services": curve_band(rows_u)}
    months = np.arange(1, len(curves["ips"][0]) + 1, dtype=float)
    points = []
    for r in fit_rows:
        month = _design_month(r["metric"])
        if not math.isfinite(month) or r["arm"] not in ("ips", "usual_services", "odds_ratio"):
            continue
        if r["role"] == "bound":   # the same published point as the row read at the trials' own follow-ups
            continue
        short = r["metric"] == "employment_rate_short_trials"
        if r["metric"] == "employment_rate_60m":
            source = "Hoffmann et al. 2014, 5 years (check)"
        elif r["metric"] == "employment_rate_28_trials":
            source = f"Bond IPS research slides 2026, mean over 28 RCTs (fit; at their mean follow-up, {month:.1f} months)"
        else:
            source = (f"de Winter et al. 2022, trials {'of 12 months or less' if short else 'over 12 months'} "
                      f"(fit; at {month:.1f} months)")
        points.append({"label": source, "month": month, "arm": r["arm"], "value": r["target_value"],
                       "low": r["target_low"], "high": r["target_high"], "simulated": r["simulated"],
                       "marker": "D" if r["role"] == "check" else "s"})
    for label, month, v_i, lo_i, hi_i, v_u, lo_u, hi_u in PUBLISHED_TIME_POINTS:
        points.append({"label": label, "month": month, "arm": "ips", "value": v_i, "low": lo_i, "high": hi_i,
                       "marker": "o"})
        points.append({"label": label, "month": month, "arm": "usual_services", "value": v_u, "low": lo_u,
                       "high": hi_u, "marker": "o"})
    buf = io.BytesIO()
    plot_time_course(buf, months, curves, points)
    lines = ["## Employment by month of follow-up", "",
             "Each simulated trial (both arms, fresh replications) is followed 60 months and read at every month: "
             "the share of people randomized with a competitive job by then (intention to treat). de Winter et al. "
             "2022 pool trials of 12 months or less and longer trials against active controls; each of those "
             "trials (the 28-RCT table: follow-ups of 6 and 12 months; 15, 18, 24, 30 and 60 months) is simulated "
             "at its own follow-up and the results weighted by people randomized, giving the participant-weighted "
             f"follow-ups {weighted_follow_up(SHORT_TRIALS):.1f} and {weighted_follow_up(LONG_TRIALS):.1f} months "
             "at which the plot shows them. The slides' means over the 28 RCTs average the trials' rates, each at its "
             "own follow-up (6 to 60 months), without weights: simulated the same way, shown at the trials' mean "
             f"follow-up, {weighted_follow_up(ALL_TRIALS):.1f} months, where a single trial would be higher (the "
             "curve bends). Ranges: +/- 1.96 binomial SE inflated by 1 / sqrt(1 - I2) for the "
             "subgroup's between-study heterogeneity (I2 68% and 81%); odds ratios with the published 95% CI.", "",
             "| month | IPS [95% CI] | usual services [95% CI] | odds ratio |", "|---|---|---|---|"]
    m_i, lo_i, hi_i = curves["ips"]
    m_u, lo_u, hi_u = curves["usual_services"]
    for mo in TABLE_MONTHS:
        if mo > len(months):
            continue
        k = mo - 1
        odds = (m_i[k] / (1 - m_i[k])) / (m_u[k] / (1 - m_u[k])) if 0 < m_u[k] and m_i[k] < 1 else math.nan
        shown = f"{odds:.2f}" if math.isfinite(odds) else "- (no control employed)"
        lines.append(f"| {mo} | {m_i[k]:.3f} [{lo_i[k]:.3f}, {hi_i[k]:.3f}] | {m_u[k]:.3f} [{lo_u[k]:.3f}, "
                     f"{hi_u[k]:.3f}] | {shown} |")
    lines += ["", "| published point | arm | month | published [range] | simulated (same design) [95% CI] | "
              "inside the range |", "|---|---|---|---|---|---|"]
    for r in fit_rows:
        month = _design_month(r["metric"])
        if not math.isfinite(month):
            continue
        lines.append(f"| {r['target']} ({r['role']}) | {ARM_NAMES.get(r['arm'], r['arm'])} | {month:.1f} | "
                     f"{r['target_value']:.3f} [{r['target_low']:.3f}, {r['target_high']:.3f}] | "
                     f"{r['simulated']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] | "
                     f"{'yes' if r['in_target_range'] else 'no'} |")
    for label, month, v_i, _, _, v_u, _, _ in PUBLISHED_TIME_POINTS:
        k = int(round(month)) - 1
        lines.append(f"| {label} | IPS / usual services | {month:g} | {v_i:.3f} / {v_u:.3f} | "
                     f"{m_i[k]:.3f} / {m_u[k]:.3f} (month {k + 1}) | |")
    lines += ["", "![time course](time_course.png)", ""]
    return buf.getvalue(), lines
