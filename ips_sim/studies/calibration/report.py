"""The calibration report: fit table, plots, job-tenure and time-course sections, draw check."""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from ips_sim.config import DAYS_PER_MONTH, Scenario
from ips_sim.core.intervals import mean_ci
from ips_sim.reporting.tenure_plot import plot_first_job_survival
from ips_sim.sim.tenure import hazard, mean_tenure, mixture, survival
from ips_sim.studies.calibration.fitting import ArmFit
from ips_sim.studies.calibration.simulator import (
    START_HAZARD_PER_MONTH,
    Simulator,
    program_outcomes,
    target_quantity,
    trial_interval,
    trial_quantity,
)
from ips_sim.studies.calibration.plots import plot_fit
from ips_sim.studies.calibration.targets import DRAW_CHECKS, PROGRAM_REPLICATIONS, Target
from ips_sim.studies.calibration.timecourse import time_course

# --------------------------------------------------------------------------- report


def fit_table(sim: Simulator, targets: list[Target], ips_upd: dict, us_upd: dict,
              draws: list[dict] | None = None, first: int | None = None,
              program_rows: list[dict] | None = None, arm_rows: tuple | None = None) -> list[dict]:
    """Every target with its simulated mean, 95% CI, spread over single trials, coverage.

    Trial targets use fresh replications (``first`` = the fit's replication count by default), so the
    check is not on the random numbers the fit was tuned on.
    """
    first = sim.replications if first is None else first
    if arm_rows is None:
        arm_rows = (sim.arm("ips", ips_upd, first=first), sim.arm("usual_services", ips_upd, us_upd, first=first))
    rows_i, rows_u = arm_rows
    unc_i = unc_u = None
    if draws:
        unc_i, unc_u = [], []
        for k in range(sim.replications):
            d = draws[k % len(draws)]
            unc_i += sim.arm("ips", d["ips"], first=first + k, replications=1)
            unc_u += sim.arm("usual_services", d["ips"], d["usual_services"], first=first + k, replications=1)
    prog = program_rows if program_rows is not None else fitted_program(sim, ips_upd)
    out = []
    for t in targets:
        if t.design == "trial":
            mean = trial_quantity(t, rows_i, rows_u)
            lo, hi, p_lo, p_hi = trial_interval(t, rows_i, rows_u)
            n_rep = len(rows_i)
            if unc_i is not None:
                u_mean = trial_quantity(t, unc_i, unc_u)
                _, _, u_lo, u_hi = trial_interval(t, unc_i, unc_u)
            else:
                u_mean = u_lo = u_hi = math.nan
        else:
            x = np.array([r[t.metric] for r in prog], float)
            x = x[np.isfinite(x)]
            mean, lo, hi = mean_ci(x)
            p_lo, p_hi = float(np.percentile(x, 2.5)), float(np.percentile(x, 97.5))
            n_rep = len(x)
            u_mean = u_lo = u_hi = math.nan
        out.append({
            "target": t.target, "role": t.role, "design": t.design, "arm": t.arm, "metric": t.metric,
            "target_value": t.value, "target_low": t.low, "target_high": t.high,
            "simulated": mean, "ci_low": lo, "ci_high": hi,
            "ci_covers_target": bool(lo <= t.value <= hi),
            "in_target_range": bool(t.low <= mean <= t.high),
            "single_trial_p2.5": p_lo, "single_trial_p97.5": p_hi,
            "z": (mean - t.value) / t.sd,
            "with_parameter_uncertainty": u_mean, "uncertainty_p2.5": u_lo, "uncertainty_p97.5": u_hi,
            "replications": n_rep, "source": t.source,
        })
    return out


def fitted_program(sim: Simulator, ips_upd: dict) -> list[dict]:
    """Running-program rows of the default program with the IPS fit (benchmark checks, tenure plot)."""
    program_sc = sim.scenario("ips", ips_upd).with_updates({"name": "calibration_program"})
    return program_outcomes(program_sc, PROGRAM_REPLICATIONS, sim.seed, executor=sim.executor)


def check_draws(sim: Simulator, targets: list[Target], draws: list[dict], n_check: int = DRAW_CHECKS,
                replications: int = 30) -> list[dict]:
    """How well the linearised draws hit their drawn targets: simulate the first ``n_check`` draws.

    Returns per fit target: mean drawn value, mean simulated value, mean absolute error, correlation
    of simulated with drawn values, and the Monte Carlo SE of one draw's simulated value.
    """
    first = 2 * sim.replications  # yet other replications than the fit and the report
    sims, drawn = [], []
    for d in draws[:n_check]:
        rows_i = sim.arm("ips", d["ips"], first=first, replications=replications)
        rows_u = sim.arm("usual_services", d["ips"], d["usual_services"], first=first, replications=replications)
        pc: dict = {}
        sims.append([target_quantity(sim, t, rows_i, rows_u, d["ips"], pc) for t in targets])
        drawn.append([d[f"target:{t.target}"] for t in targets])
    s, y = np.array(sims), np.array(drawn)
    out = []
    for k, t in enumerate(targets):
        r = float(np.corrcoef(s[:, k], y[:, k])[0, 1]) if np.std(y[:, k]) > 0 else math.nan
        out.append({"target": t.target, "drawn_mean": float(y[:, k].mean()), "drawn_sd": float(y[:, k].std(ddof=1)),
                    "simulated_mean": float(s[:, k].mean()), "simulated_sd": float(s[:, k].std(ddof=1)),
                    "mean_abs_error": float(np.abs(s[:, k] - y[:, k]).mean()), "correlation": r})
    return out


def _fmt(x: float, ref: float) -> str:
    if not math.isfinite(x):
        return ""
    if abs(ref) < 1.5:
        return f"{x:.3f}"
    return f"{x:.1f}"


def fit_markdown(rows: list[dict]) -> str:
    lines = ["| target | role | target value [range] | simulated mean [95% CI] | CI covers target | mean in range "
             "| single trials 2.5-97.5% | with parameter uncertainty 2.5-97.5% | source |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        v = r["target_value"]
        unc = (f"{_fmt(r['uncertainty_p2.5'], v)} - {_fmt(r['uncertainty_p97.5'], v)}"
               if math.isfinite(r["uncertainty_p2.5"]) else "")
        lines.append(
            f"| {r['target']} | {r['role']} | {_fmt(v, v)} [{_fmt(r['target_low'], v)}, {_fmt(r['target_high'], v)}] "
            f"| {_fmt(r['simulated'], v)} [{_fmt(r['ci_low'], v)}, {_fmt(r['ci_high'], v)}] "
            f"| {'yes' if r['ci_covers_target'] else 'no'} | {'yes' if r['in_target_range'] else 'no'} "
            f"| {_fmt(r['single_trial_p2.5'], v)} - {_fmt(r['single_trial_p97.5'], v)} | {unc} | {r['source']} |")
    return "\n".join(lines) + "\n"


def fit_csv(rows: list[dict]) -> bytes:
    f = io.StringIO(newline="")
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return f.getvalue().encode()


def _png(plot, *args):
    """A plot function's PNG as bytes (it draws into a buffer instead of a file)."""
    buf = io.BytesIO()
    out = plot(buf, *args)
    return buf.getvalue(), out


def report_files(sim: Simulator, targets: list[Target], ips: ArmFit, us: ArmFit, draws: list[dict],
                 prov: dict) -> dict[str, bytes]:
    """The report's files by name: fit_table.csv, calibration_fit.png, tenure_survival.png, report.md."""
    prog = fitted_program(sim, ips.updates)
    first = sim.replications  # fresh replications: not those the fit was tuned on
    arm_rows = (sim.arm("ips", ips.updates, first=first),
                sim.arm("usual_services", ips.updates, us.updates, first=first))
    rows = fit_table(sim, targets, ips.updates, us.updates, draws, program_rows=prog, arm_rows=arm_rows)
    files = {"fit_table.csv": fit_csv(rows), "calibration_fit.png": _png(plot_fit, rows)[0]}
    files["time_course.png"], course_lines = time_course(*arm_rows, rows)
    program = sim.scenario("ips", {})
    fitted_sc = sim.scenario("ips", ips.updates)
    first_days = np.concatenate([r["first_job_days"] for r in prog])
    files["tenure_survival.png"], km = _png(plot_first_job_survival, first_days, fitted_sc)
    lines = [
        "# Calibration report",
        "",
        f"Written by `{prov['command']}` on {prov['date']} (git {prov['git_commit'][:10]}). "
        f"Targets: `{prov['targets_file']}` (sha256 `{prov['targets_sha256'][:16]}...`).",
        "",
        f"Design: {prov['design']}; {sim.replications} replications per evaluation, seed {prov['seed']}, "
        f"Nelder-Mead budget {prov['budget']} evaluations per arm. The table is computed on "
        f"{sim.replications} fresh replications (not those used in the fit); running-program rows on "
        f"{PROGRAM_REPLICATIONS} replications of the default program ({program.team.specialists} specialists, "
        f"{program.referrals.rate_per_month:g} referrals a month, {program.simulation.horizon_years:g} years, "
        f"{program.simulation.warmup_years:g} warm-up).",
        "",
        "## Fitted parameters",
        "",
        "| arm | parameter | fitted | loss | evaluations | converged |",
        "|---|---|---|---|---|---|",
    ]
    for fit in (ips, us):
        for k, v in fit.values.items():
            lines.append(f"| {fit.arm} | `{k}` | {v:.4g} | {fit.loss:.3f} | {fit.evaluations} | {fit.success} |")
    lines += ["", "Resulting values written to the overlays:", ""]
    for fit in (ips, us):
        for k, v in fit.updates.items():
            lines.append(f"- {fit.arm}: `{k}` = {v:.4g}")
    lines += ["", "## Fit table", "",
              "Role `fit`: in the loss; `bound`: the same published figure read another way, in the loss only "
              "outside its range; `check`: not fitted, reported to show what the model does with it. "
              "`CI covers target`: the 95% CI of the simulated mean contains the published value. "
              "`mean in range`: the simulated mean lies inside the target's range (`ci_or_range` in targets.csv).",
              "", "### Fitted targets", "", fit_markdown([r for r in rows if r["role"] == "fit"]), "",
              "### Bounds (in the loss only outside their range)", "",
              fit_markdown([r for r in rows if r["role"] == "bound"]), "",
              "### Checks (compared only, not in the loss)", "",
              fit_markdown([r for r in rows if r["role"] == "check"]), "", "![fit](calibration_fit.png)", ""]
    lines += course_lines
    lines += tenure_section(rows, km, fitted_sc, len(prog))
    lines += misfit_section(rows)
    if draws:
        fit_t = [t for t in targets if t.role == "fit" and (t.design == "trial" or t.arm == "ips")]
        chk = check_draws(sim, fit_t, draws)
        lines += ["## Parameter draws", "",
                  f"{len(draws)} draws in `draws.csv` (see docs/calibration.md); the column 'with parameter "
                  "uncertainty' above runs replication i with draw i. Check of the linearised inverse: the first "
                  f"{min(DRAW_CHECKS, len(draws))} draws simulated with 30 trials each (fresh replications): does each draw "
                  "reproduce the targets it was drawn for?", "",
                  "| fit target | drawn mean (sd) | simulated mean (sd) | mean abs error | correlation drawn vs simulated |",
                  "|---|---|---|---|---|"]
        for c in chk:
            ref = c["drawn_mean"]
            lines.append(f"| {c['target']} | {_fmt(c['drawn_mean'], ref)} ({_fmt(c['drawn_sd'], ref)}) | "
                         f"{_fmt(c['simulated_mean'], ref)} ({_fmt(c['simulated_sd'], ref)}) | "
                         f"{_fmt(c['mean_abs_error'], ref)} | {c['correlation']:.2f} |")
        lines += ["", "A draw's simulated value carries Monte Carlo noise of its 30 trials as well as the "
                  "linearisation error, so the correlation is below 1 even for an exact inverse.", ""]
    files["report.md"] = "\n".join(lines).encode()
    return files


TENURE_TARGETS = ("first_job_tenure_months_program", "months_worked_24m_after_first_job_program",
                  "jobs_24m_after_first_job_program", "first_job_survival_3m_program",
                  "worked_20h_share_of_employed_ips")


def tenure_section(rows: list[dict], km: dict, scenario: Scenario, n_reps: int) -> list[str]:
    """The report's job-tenure section: the four tenure targets, the KM plot, the fitted mixture."""
    jb = scenario.jobs
    weights, rates = mixture(scenario)
    m = DAYS_PER_MONTH
    by = {r["target"]: r for r in rows}
    lines = ["## Job tenure", "",
             "Jobs are fragile or stable (a latent class drawn at the job's start; odds of a fragile job times "
             f"{jb.fragile_odds_ratio_short_hours:g} for jobs of 20 hours a week or less), ending at constant hazards "
             "given their class and preference match: a mixture of exponentials with a falling hazard (see "
             "docs/calibration.md). Fitted: fragile share of jobs over 20 h "
             f"{jb.fragile_share:.3g}, fragile hazard {jb.fragile_rate_ratio:.3g} x the stable one (set so that the "
             f"job-ending hazard at a job's start is the assumed {START_HAZARD_PER_MONTH:g} a month, see "
             "docs/calibration.md), stable hazard "
             f"{jb.end_rate_per_month:.3g} per month (jobs not meeting preferences), hours a week "
             f"truncated normal with mean {jb.hours_per_week_mean:.3g} (sd {jb.hours_per_week_sd:g}).", "",
             "| quantity | target [range] | simulated mean [95% CI] | source |", "|---|---|---|---|"]
    for name in TENURE_TARGETS:
        r = by.get(name)
        if r is None:
            continue
        v = r["target_value"]
        lines.append(f"| {name} | {_fmt(v, v)} [{_fmt(r['target_low'], v)}, {_fmt(r['target_high'], v)}] | "
                     f"{_fmt(r['simulated'], v)} [{_fmt(r['ci_low'], v)}, {_fmt(r['ci_high'], v)}] | {r['source']} |")
    h0 = float(hazard(weights, rates, 0.0)[0]) * m
    h6 = float(hazard(weights, rates, 6 * m)[0]) * m
    lines += ["", f"Mixture at full follow-along (closed form, `ips_sim.sim.tenure`): job-ending hazard {h0:.3f} per month "
              f"at the start of a job, {h6:.3f} after six months; median job {_median_months(weights, rates):.1f} "
              f"months, mean {mean_tenure(weights, rates) / m:.1f} months.", "",
              "![first-job survival](tenure_survival.png)", "",
              f"Kaplan-Meier of {km['n']} simulated first jobs (default program, {n_reps} replications; first jobs "
              "started after warm-up with 24 months left; jobs held when a member leaves services continue, see "
              "trial.py) with a 95% Greenwood band. Still in the first job at 1 month: "
              f"{km['at_1m']:.2f} ({1 - km['at_1m']:.0%} of first jobs end within their first month); at 3, 6, 12 "
              "and 24 months: " + ", ".join(f"{s:.2f}" for s in km["at"]) + f"; area under the curve to 24 months "
              f"{km['restricted_mean_months']:.2f} months (the first-job target).", ""]
    return lines


def _median_months(weights, rates) -> float:
    from scipy.optimize import brentq
    return brentq(lambda u: float(survival(weights, rates, u)) - 0.5, 0.0, 1e6) / DAYS_PER_MONTH


def misfit_section(rows: list[dict]) -> list[str]:
    """What does not fit: every target whose simulated mean is outside its range or whose CI misses it."""
    out = [r for r in rows if not r["in_target_range"]]
    near = [r for r in rows if r["in_target_range"] and not r["ci_covers_target"]]
    lines = ["## What does not fit", ""]
    if not out:
        lines.append("Every target's simulated mean lies inside its range.")
    for r in out:
        v = r["target_value"]
        lines.append(f"- **{r['target']}** ({r['role']}): simulated {_fmt(r['simulated'], v)} "
                     f"[{_fmt(r['ci_low'], v)}, {_fmt(r['ci_high'], v)}], outside the range "
                     f"[{_fmt(r['target_low'], v)}, {_fmt(r['target_high'], v)}].")
    if near:
        lines += ["", "Inside the range but with a 95% CI that misses the published value: "
                  + ", ".join(f"{r['target']} ({_fmt(r['simulated'], r['target_value'])} vs "
                              f"{_fmt(r['target_value'], r['target_value'])})" for r in near) + "."]
    lines += ["", "See docs/calibration.md for why, and what it means for planning.", ""]
    return lines
