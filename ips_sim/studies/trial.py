"""Trial-style cohorts and virtual randomized trials (IPS vs usual services).

A *cohort* is the design of the IPS randomized controlled trials: ``n`` people
referred (randomized) on day 0 and followed for ``follow_up_months``, staffed
at IPS fidelity (enough specialists that nobody waits: caseload cap 20 per
full-time specialist, IPS-25 item 1). Outcomes are intention-to-treat over
everyone randomized, as in the trials (Bond, Drake & Becker 2008):

* employed: any competitive job started within follow-up;
* days to first job, among the employed;
* days (weeks) worked within follow-up, per participant and among the employed;
* worked 20+ hours a week: any job of 20 or more hours a week within follow-up.

Jobs held when a member leaves services (step-down, or drop-out while
working) are censored by the model at the exit. Trial outcomes do not stop
counting work at an exit, so each such job is continued after the exit with
an exponential remaining duration at the job's own hazard (``jobs.end_rate_per_month``,
divided by ``match_tenure_ratio`` for jobs that match preferences, times
``fragile_rate_ratio`` for fragile jobs: given its class a job's hazard is
constant, so the remaining duration is exponential) times the follow-along
shortfall factor ``1 + follow_along_shortfall_effect x (1 - support)``:
support 0 after a drop-out, ``follow_along.support_after_step_down`` after a
step-down (in IPS a case manager takes over job supports; in usual services
the case is closed), from its own random stream. Assumption: after an exit nobody starts a new job (the
model no longer follows them), which understates work after exits a little.

A *virtual trial* randomizes ``n`` per arm: the IPS arm runs the scenario's
parameters, the control arm the usual-services arm
(``arm: usual_services``). Arms use independent random streams (trial ``i``
uses replication ``i`` for IPS and ``i + CONTROL_OFFSET`` for control), so the
arms are independent samples as in a real trial, while trial ``i`` of a bigger
trial shares its first participants' draws with trial ``i`` of a smaller one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import stats

from ips_sim.config import DAYS_PER_MONTH, Scenario
from ips_sim.config.prices import currency_label
from ips_sim.core.intervals import mean_ci
from ips_sim.core.streams import stream_seed
from ips_sim.economics.cea import fieller_ci
from ips_sim.economics.costs import budget, economic_outcomes
from ips_sim.economics.public_purse import ssdi_work_outcomes
from ips_sim.runner.experiment import run_replications
from ips_sim.sim.records import EXIT_REASONS, FrozenRecords, JobEnd
from ips_sim.sim.staffing import caseload_cap

CONTROL_OFFSET = 1_000_000  # replication index offset of the control arm in a virtual trial
WEEK = 7.0

OUTCOMES = (
    ("n", "people", "people randomized to the arm"),
    ("employed", "people", "people with a competitive job started within follow-up"),
    ("employment_rate", "share", "share of people randomized with a competitive job within follow-up"),
    ("days_to_first_job_mean", "days", "mean days from randomization to first job, employed people"),
    ("days_to_first_job_median", "days", "median days from randomization to first job, employed people"),
    ("days_worked_mean", "days", "mean days worked within follow-up, per person randomized"),
    ("weeks_worked_employed_mean", "weeks", "mean weeks worked within follow-up, employed people"),
    ("weeks_per_year_after_first_job", "weeks per year",
     "weeks worked per year from the start of the first job to the end of follow-up, employed people (ratio of sums)"),
    ("worked_20h_rate", "share", "share of people randomized who held a job of 20+ hours a week within follow-up"),
    ("worked_20h_share_of_employed", "share", "share of employed people who held a job of 20+ hours a week"),
    ("in_services_12m", "share", "share of people randomized still on the caseload 12 months after randomization"),
    ("cost_per_participant", "money",
     "service cost of the arm per person randomized over follow-up, discounted (costs section; ips_sim/economics/costs.py)"),
    ("ssdi_trial_work_share", "share",
     "share of SSDI beneficiaries with a trial work month within follow-up (jobs continued past an exit count)"),
    ("ssdi_suspended_or_terminated_share", "share",
     "share of SSDI beneficiaries whose check was suspended or terminated for work within follow-up "
     "(the Mental Health Treatment Study's outcome; ips_sim/economics/public_purse.py)"),
)
OUTCOME_NAMES = tuple(o[0] for o in OUTCOMES)


FTE_MIN = 0.05   # the schema's smallest post (team.fte_per_specialist)


def cohort_scenario(scenario: Scenario, n: int, follow_up_months: float) -> Scenario:
    """The scenario as a trial arm: ``n`` people on day 0, staffed at the caseload cap (n / cap full-time
    equivalents), followed ``follow_up_months``."""
    cap = caseload_cap(scenario)
    specialists = max(1, math.ceil(n / cap))
    updates = {
        "referrals.cohort_size": int(n),
        "referrals.rate_per_month": 0.0,
        "referrals.schedule": [],
        "team.specialists": specialists,
        "simulation.horizon_years": follow_up_months / 12.0,
        "simulation.warmup_years": 0.0,
    }
    if n < specialists * cap:
        # Exactly n / cap posts' worth of hours, spread over the specialists: a trial of 92 gets the
        # hours per member of one of 120 (5 specialists at 0.92 of the scenario's FTE, each carrying
        # up to 19), not the lighter caseloads of 5 full posts for 92 people.
        team = scenario.team
        fte = max(FTE_MIN, team.fte_per_specialist * n / (specialists * cap))
        per = math.ceil(n / specialists)
        full_time_cap = math.ceil(per / fte - 1e-9)
        while math.floor(full_time_cap * fte + 1e-9) < per:
            full_time_cap += 1
        updates["team.fte_per_specialist"] = fte
        updates["team.caseload_cap"] = full_time_cap
    # A trial big enough to need more specialists than one supervisor covers: the
    # supervisor span is widened to the team (the trial is staffed, not capacity-limited).
    span = getattr(getattr(scenario, "supervision", None), "specialists_per_supervisor", None)
    if span is not None and span < specialists:
        updates["supervision.specialists_per_supervisor"] = specialists
    return scenario.with_updates(updates)


def job_end_days(rec: FrozenRecords, scenario: Scenario, seed: int) -> np.ndarray:
    """End day of every job, continuing jobs censored at an exit from services (see module text).

    Jobs still going at the horizon get ``inf`` (they count up to any window end).
    """
    j = rec.job
    end = j["end_day"].copy()
    left = rec.job_end_is(JobEnd.LEFT_SERVICES_WHILE_WORKING)
    end[rec.job_end_is(JobEnd.ONGOING)] = np.inf
    if left.any():
        jb = scenario.jobs
        stepped = rec.member["exit_reason"][j["member_id"]] == EXIT_REASONS.index("stepped_down")
        support = np.where(stepped, scenario.follow_along.support_after_step_down, 0.0)
        rate = jb.end_rate_per_month * (1.0 + jb.follow_along_shortfall_effect * (1.0 - support)) / DAYS_PER_MONTH
        rate = np.where(j["preference_match"], rate / jb.match_tenure_ratio, rate)
        rate = np.where(j["fragile"], rate * jb.fragile_rate_ratio, rate)  # the job's latent class (tenure.py)
        rng = np.random.default_rng(stream_seed(seed, rec.replication, "job_after_exit"))
        e = rng.standard_exponential(len(end))  # one draw per job, in job order
        with np.errstate(divide="ignore"):
            end[left] = j["observed_until_day"][left] + np.where(rate[left] > 0, e[left] / rate[left], np.inf)
    return end


def cohort_outcomes(rec: FrozenRecords, scenario: Scenario, follow_up_days: float, seed: int) -> dict[str, float]:
    """Intention-to-treat outcomes of one simulated trial arm (vectorised; no per-event work)."""
    m = rec.member
    n = len(m["member_id"])
    start = m["enrollment_day"]
    start = np.where(np.isfinite(start), start, m["referral_day"])
    first = m["first_job_day"] - start
    employed = first <= follow_up_days
    j = rec.job
    mid = j["member_id"]
    js = j["start_day"]
    je = job_end_days(rec, scenario, seed)
    window_end = start[mid] + follow_up_days
    in_window = js < window_end
    worked = np.where(in_window, np.minimum(je, window_end) - js, 0.0)
    days = np.bincount(mid, weights=worked, minlength=n)
    big = np.bincount(mid[in_window & (j["hours_per_week"] >= 20.0)], minlength=n) > 0
    exit_day = m["exit_day"] - start
    still = ~(exit_day <= 12 * DAYS_PER_MONTH)
    n_emp = int(employed.sum())
    years_after = (follow_up_days - first[employed]) / (DAYS_PER_MONTH * 12)
    out = {
        "n": float(n),
        "employed": float(n_emp),
        "employment_rate": n_emp / n if n else math.nan,
        "days_to_first_job_mean": float(first[employed].mean()) if n_emp else math.nan,
        "days_to_first_job_median": float(np.median(first[employed])) if n_emp else math.nan,
        "days_worked_mean": float(days.mean()) if n else math.nan,
        "weeks_worked_employed_mean": float(days[employed].mean() / WEEK) if n_emp else math.nan,
        "weeks_per_year_after_first_job": (float(days[employed].sum() / WEEK / years_after.sum())
                                           if n_emp and years_after.sum() > 0 else math.nan),
        "worked_20h_rate": float(big.mean()) if n else math.nan,
        "worked_20h_share_of_employed": float(big[employed].mean()) if n_emp else math.nan,
        "in_services_12m": float(still.mean()) if follow_up_days >= 12 * DAYS_PER_MONTH and n else math.nan,
        "cost_per_participant": economic_outcomes(rec, scenario, budget(rec, scenario))["service_cost"] if n else math.nan,
    }
    ssdi = ssdi_work_outcomes(rec, scenario, until=follow_up_days, stop=je)  # jobs continued past an exit
    out["ssdi_trial_work_share"] = ssdi["ssdi_trial_work_share"]
    out["ssdi_suspended_or_terminated_share"] = ssdi["ssdi_suspended_or_terminated_share"]
    return out


def simulate_arm(scenario: Scenario, replications: int, seed: int, follow_up_months: float,
                 first: int = 0, workers: int = 1, scenario_for=None, executor=None,
                 checkpoint=None, progress=None) -> list[dict[str, float]]:
    """Outcomes of ``replications`` cohorts of an arm scenario (already a cohort design).

    ``checkpoint`` (a :class:`resume.Checkpoint`): finished cohorts are saved there and not run again.
    """
    outcome = partial(cohort_outcomes, follow_up_days=follow_up_months * DAYS_PER_MONTH, seed=seed)
    rows, _ = run_replications(scenario, replications, seed, workers, keep_records=False, first=first,
                               scenario_for=scenario_for, outcome=outcome, executor=executor,
                               checkpoint=checkpoint, progress=progress)
    return rows


# --------------------------------------------------------------------------- virtual trial


@dataclass
class TrialResult:
    per_trial: list[dict]     # one row per simulated trial
    summary: list[dict]       # the outcome table: one row per outcome
    n_per_arm: int
    follow_up_months: float
    replications: int
    seed: int
    currency: str = "USD"   # price-year label of the money outcomes


def risk_ratio(a: float, n1: float, c: float, n0: float, confidence: float = 0.95) -> tuple[float, float, float]:
    """Risk ratio (a/n1)/(c/n0) with the log-RR Wald interval (Katz); 0.5 added to every cell if one is 0.

    Examples:
        >>> [round(x, 3) for x in risk_ratio(55, 100, 25, 100)]  # se = sqrt(1/55 - 1/100 + 1/25 - 1/100) = 0.1954
        [2.2, 1.5, 3.227]
    """
    if a == 0 or c == 0 or a == n1 or c == n0:
        a, c, n1, n0 = a + 0.5, c + 0.5, n1 + 1.0, n0 + 1.0
    rr = (a / n1) / (c / n0)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    z = stats.norm.ppf(0.5 + confidence / 2)
    return rr, rr * math.exp(-z * se), rr * math.exp(z * se)


def virtual_trial(ips: Scenario, control: Scenario, n_per_arm: int, follow_up_months: float = 18.0,
                  replications: int = 200, seed: int | None = None, workers: int = 1,
                  draws: list[tuple[dict, dict]] | None = None, executor=None, checkpoint=None,
                  progress=None) -> TrialResult:
    """Simulate ``replications`` trials of ``n_per_arm`` per arm; return per-trial rows and the outcome table.

    ``draws``: optional parameter draws (IPS updates, control updates); trial ``i`` uses draw ``i`` (cycled).
    ``checkpoint``: an opened :class:`resume.Checkpoint`; each arm's finished cohorts are kept in a part
    of it (``ips``, ``control``), so an interrupted trial resumes. ``progress(n)``: cohorts finished.
    """
    seed = ips.simulation.seed if seed is None else seed
    ips_c = cohort_scenario(ips, n_per_arm, follow_up_months)
    ctl_c = cohort_scenario(control, n_per_arm, follow_up_months)
    ips_for = ctl_for = None
    if draws:
        per_draw = [(ips_c.with_updates(du), ctl_c.with_updates(dc)) for du, dc in draws[:replications]]
        ips_for = lambda i: per_draw[i % len(per_draw)][0]  # noqa: E731
        ctl_for = lambda i: per_draw[(i - CONTROL_OFFSET) % len(per_draw)][1]  # noqa: E731
    parts = (checkpoint.part("ips"), checkpoint.part("control")) if checkpoint is not None else (None, None)
    arm_i = simulate_arm(ips_c, replications, seed, follow_up_months, workers=workers, scenario_for=ips_for,
                         executor=executor, checkpoint=parts[0], progress=progress)
    arm_c = simulate_arm(ctl_c, replications, seed, follow_up_months, first=CONTROL_OFFSET, workers=workers,
                         scenario_for=ctl_for, executor=executor, checkpoint=parts[1], progress=progress)
    rows = []
    for i, (a, c) in enumerate(zip(arm_i, arm_c)):
        rr, lo, hi = risk_ratio(a["employed"], a["n"], c["employed"], c["n"])
        row = {"trial": i}
        row.update({f"ips_{k}": v for k, v in a.items()})
        row.update({f"control_{k}": v for k, v in c.items()})
        row.update({"risk_difference": a["employment_rate"] - c["employment_rate"],
                    "risk_ratio": rr, "rr_ci_low": lo, "rr_ci_high": hi,
                    "significant": float(lo > 1.0 or hi < 1.0), "significant_favouring_ips": float(lo > 1.0)})
        rows.append(row)
    currency = currency_label(ips.costs.price_year)
    return TrialResult(rows, summarise_trials(rows, currency), n_per_arm, follow_up_months, replications, seed,
                       currency)


def summarise_trials(rows: list[dict], currency: str = "USD") -> list[dict]:
    """Outcome table: per arm mean over trials (95% CI of the mean), and the spread of single trials."""
    out = []

    def add(name, unit, key_ips, key_ctl=None):
        vi = [r[key_ips] for r in rows]
        mi, li, hi_ = mean_ci(vi)
        row = {"outcome": name, "unit": unit, "ips_mean": mi, "ips_ci_low": li, "ips_ci_high": hi_,
               "ips_trial_p2.5": float(np.nanpercentile(vi, 2.5)), "ips_trial_p97.5": float(np.nanpercentile(vi, 97.5))}
        if key_ctl:
            vc = [r[key_ctl] for r in rows]
            mc, lc, hc = mean_ci(vc)
            row.update({"control_mean": mc, "control_ci_low": lc, "control_ci_high": hc,
                        "control_trial_p2.5": float(np.nanpercentile(vc, 2.5)),
                        "control_trial_p97.5": float(np.nanpercentile(vc, 97.5))})
        out.append(row)

    for name, unit, _ in OUTCOMES:
        if name in ("n",):
            continue
        add(name, currency if unit == "money" else unit, f"ips_{name}", f"control_{name}")
    add("risk_difference (IPS - control)", "share", "risk_difference")
    add("risk_ratio (per trial)", "ratio", "risk_ratio")
    add("power: share of trials with RR CI above 1", "share", "significant_favouring_ips")
    ratio = incremental_cost_per_person_employed(rows)
    out.append({"outcome": "incremental cost per additional person employed", "unit": currency,
                "ips_mean": ratio[0], "ips_ci_low": ratio[1], "ips_ci_high": ratio[2]})
    return out


def incremental_cost_per_person_employed(rows: list[dict]) -> tuple[float, float, float]:
    """(mean cost difference per participant) / (mean employment-rate difference), Fieller 95% CI over trials."""
    dc = [r["ips_cost_per_participant"] - r["control_cost_per_participant"] for r in rows]
    de = [r["risk_difference"] for r in rows]
    return fieller_ci(dc, de)


def format_table(result: TrialResult) -> str:
    """The outcome table as text (what a student reads after rerunning 'an RCT')."""
    rows = result.summary
    lines = [f"Virtual trial: {result.n_per_arm} per arm, {result.follow_up_months:g} months follow-up, "
             f"{result.replications} simulated trials (seed {result.seed})",
             f"{'outcome':44s} {'IPS mean [95% CI]':>26s} {'usual services mean [95% CI]':>30s}"]

    def fmt(m, lo, hi, unit):
        if unit in ("share", "ratio"):
            return f"{m:.3f} [{lo:.3f}, {hi:.3f}]"
        if unit.startswith("USD"):
            return f"{m:,.0f} [{lo:,.0f}, {hi:,.0f}]"
        return f"{m:.1f} [{lo:.1f}, {hi:.1f}]"

    for r in rows:
        left = fmt(r["ips_mean"], r["ips_ci_low"], r["ips_ci_high"], r["unit"])
        right = fmt(r["control_mean"], r["control_ci_low"], r["control_ci_high"], r["unit"]) if "control_mean" in r else ""
        lines.append(f"{r['outcome']:44s} {left:>26s} {right:>30s}")
    lines.append(f"(money in {result.currency}; the incremental ratio's interval is Fieller's over the simulated "
                 "trials)")
    first = result.per_trial[0]
    rr = [r["risk_ratio"] for r in result.per_trial]
    power = float(np.mean([r["significant_favouring_ips"] for r in result.per_trial]))
    se = math.sqrt(power * (1 - power) / len(rr))
    lines.append(f"risk ratio across trials: mean {np.mean(rr):.2f}, median {np.median(rr):.2f}, "
                 f"95% of trials between {np.percentile(rr, 2.5):.2f} and {np.percentile(rr, 97.5):.2f}")
    lines.append(f"power (RR 95% CI above 1) of a trial with {result.n_per_arm} per arm: {power:.3f} "
                 f"(Monte Carlo SE {se:.3f})")
    lines.append(f"trial 0 as one RCT: IPS {first['ips_employed']:.0f}/{first['ips_n']:.0f} vs control "
                 f"{first['control_employed']:.0f}/{first['control_n']:.0f}, RR {first['risk_ratio']:.2f} "
                 f"[{first['rr_ci_low']:.2f}, {first['rr_ci_high']:.2f}]")
    return "\n".join(lines)


def power(result: TrialResult) -> float:
    return float(np.mean([r["significant_favouring_ips"] for r in result.per_trial]))


def write_trial(out_dir, result: TrialResult) -> None:
    """trials.csv (one row per simulated trial), trial_summary.csv (the outcome table) and trial_table.txt
    into ``out_dir`` (a temporary folder that :mod:`ips_sim.runner.output` promotes)."""
    import csv
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("trials.csv", result.per_trial), ("trial_summary.csv", result.summary)):
        keys = list(rows[0])
        for r in rows:
            keys += [k for k in r if k not in keys]
        with open(out / name, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            for r in rows:
                w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    (out / "trial_table.txt").write_text(format_table(result) + "\n", encoding="utf-8")
