"""The free parameters and the simulator of a calibration: trial arms and the running program.

Trial arms are simulated to the longest follow-up any target needs and read at every
follow-up (the 18-month outcomes and the employment curve by month), so each published
trial is compared at its own follow-up from one simulation (common random numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import yaml
from pathlib import Path

from ips_sim.analysis.metrics import replication_metrics
from ips_sim.config import (
    DAYS_PER_MONTH,
    Scenario,
    calibration_dir,
    defaults_table,
    get_dotted,
    overlay_file,
    parse_value,
    read_yaml_file,
    set_dotted,
)
from ips_sim.core.intervals import mean_ci
from ips_sim.runner.experiment import run_replications
from ips_sim.sim.tenure import fragile_rate_ratio_for_start_hazard, short_hours_share
from ips_sim.studies.calibration.targets import (
    ALL_TRIALS,
    ARMS,
    LONG_TRIALS,
    PROGRAM_REPLICATIONS_FIT,
    SHORT_TRIALS,
    TRIAL_FOLLOW_UP,
    TRIAL_HORIZON,
    TRIAL_N,
    Target,
    weighted_follow_up,
)
from ips_sim.studies.trial import CONTROL_OFFSET, cohort_outcomes, cohort_scenario, job_end_days

# --------------------------------------------------------------------------- free parameters


@dataclass(frozen=True)
class Free:
    """A free parameter: ``name`` (dotted path, or a scale on ``paths``), bounds, transform."""

    name: str
    lo: float
    hi: float
    log: bool = True
    paths: tuple = ()      # for a scale: the dotted paths it multiplies
    step: float = 0.3      # initial simplex step in the transformed scale

    def to_x(self, value: float) -> float:
        return math.log(value) if self.log else value

    def from_x(self, x: float) -> float:
        v = math.exp(x) if self.log else x
        return min(max(v, self.lo), self.hi)

    def penalty(self, x: float) -> float:
        v = math.exp(x) if self.log else x
        lo, hi = (math.log(self.lo), math.log(self.hi)) if self.log else (self.lo, self.hi)
        return 100.0 * (max(0.0, lo - x) + max(0.0, x - hi)) ** 2 if not (self.lo <= v <= self.hi) else 0.0


FREE = {
    "ips": (
        Free("job_rate_scale", 0.05, 20.0, paths=("job_search.job_rate_search_per_month",
                                                   "job_search.job_rate_development_per_month"), step=0.15),
        Free("jobs.end_rate_per_month", 0.005, 2.0, step=0.2),
        Free("engagement.disengage_rate_per_month", 0.001, 1.0, step=0.2),
        # Latent job classes (tenure.py): the share of fragile jobs is free; how much faster they end
        # (jobs.fragile_rate_ratio) follows from the job-ending hazard held at a job's start (below).
        Free("jobs.fragile_share", 0.02, 0.98, log=False, step=0.1),
        Free("jobs.hours_per_week_mean", 8.0, 40.0, log=False, step=2.0),
        # Member heterogeneity (gamma employability): how front-loaded first jobs are (the time course).
        Free("job_search.heterogeneity_cv", 0.05, 1.5, log=False, step=0.15),
        # A later job found faster than the first (recent work, a specialist who knows the member's
        # preferences and employers): the jobs held in the 24 months after a first job (Bond & Kukla 2009).
        Free("job_search.next_job_rate_ratio", 0.5, 5.0, step=0.3),
        # The shape of a member's first search (gamma threshold: 1 a constant hazard, above 1 a hazard that
        # rises over the first months): how far employment rises in the second year against the first.
        Free("job_search.first_search_shape", 1.0, 4.0, log=False, step=0.3),
    ),
    "usual_services": (
        Free("job_search.job_rate_search_per_month", 0.001, 3.0),
        Free("jobs.end_rate_per_month", 0.005, 3.0),
        Free("job_search.preparation_months", 0.0, 24.0, log=False, step=1.0),
        # Preparation that varies between people (gamma, this CV) and the control arms' own drop-out
        # (no source reports how long controls stay in vocational services): the control time course.
        # Bounded below by 0.5: time spent on prevocational activities "varies greatly among individuals"
        # (Davis et al. 2019, VIP-STAR: those who never engaged in transitional work were 2.5 times as likely
        # to have a competitive job within 6 months); a CV near 0 would have everyone prepare the same months
        # and no control jobs before then.
        Free("job_search.preparation_cv", 0.5, 3.0, log=False, step=0.5),
        Free("engagement.disengage_rate_per_month", 0.001, 1.0, step=0.2),
        # Time-limited services: a case closed after this many months without a job (usual_services.yaml),
        # and employability that matters more where services select (employed controls had more work
        # history, Bond et al. 2012): the control arms' plateau and their early, front-loaded jobs.
        Free("engagement.discharge_without_job_months", 3.0, 60.0, log=False, step=2.0),
        Free("job_search.heterogeneity_cv", 0.05, 2.0, log=False, step=0.15),
    ),
}

# Job-ending hazard at the start of a job (per month, full follow-along), held while the tenure means
# are fitted; it sets jobs.fragile_rate_ratio. No source gives first-job survival at 1 or 3 months for
# IPS; the checkpoints found put S(3 months) between about 0.5 (IPS Into Work evaluation, Strathclyde,
# reported in DDN March 2024: about half of jobs lasted 13 weeks) and 0.8 (OHID 2024/2025 IPS for
# alcohol and drug dependence: 4 in 5 / 3 in 4 who got a job sustained it 13+ weeks, an upper bound), and
# tenure "frequently three to six months" (McGurk et al. 2018). Assumption: 0.25 a month (about 20% of
# jobs ending in their first month), inside the 0.2-0.3 those checkpoints favour; range 0.15-0.45 (the
# previous fit's 0.42 at the top).
START_HAZARD_PER_MONTH = 0.25


def literature_data(arm: str = "ips", directory: Path | None = None) -> dict:
    """Defaults without any fitted layer: parameters.csv (+ usual_services.yaml for that arm)."""
    directory = directory or calibration_dir()
    data: dict = {}
    for row in defaults_table(directory):
        set_dotted(data, row["parameter"], parse_value(row["value"]))
    if arm == "usual_services":
        overlay_file(data, directory / "usual_services.yaml")
    data["name"] = f"calibration_{arm}"
    data["arm"] = arm
    return data


def updates_for(arm: str, values: dict[str, float], base: dict) -> dict[str, float]:
    """Dotted-path updates for free-parameter values (a scale multiplies its literature values); for the
    IPS arm also ``jobs.fragile_rate_ratio``, set so the job-ending hazard at a job's start is
    :data:`START_HAZARD_PER_MONTH`."""
    out = {}
    for fp in FREE[arm]:
        v = values[fp.name]
        if fp.paths:
            for p in fp.paths:
                out[p] = float(get_dotted(base, p)) * v
        else:
            out[fp.name] = v
    if arm == "ips":
        out["jobs.fragile_rate_ratio"] = held_fragile_rate_ratio(base, out)
    return out


def held_fragile_rate_ratio(base: dict, updates: dict, start_hazard: float = START_HAZARD_PER_MONTH) -> float:
    """``jobs.fragile_rate_ratio`` giving the start hazard ``start_hazard`` (per month) with these values."""
    def get(path):
        return float(updates[path]) if path in updates else float(get_dotted(base, path))

    p_short = short_hours_share(get("jobs.hours_per_week_mean"), get("jobs.hours_per_week_sd"),
                                get("jobs.hours_per_week_min"), get("jobs.hours_per_week_max"))
    ratio = fragile_rate_ratio_for_start_hazard(
        start_hazard, get("jobs.end_rate_per_month"), get("jobs.fragile_share"),
        get("jobs.fragile_odds_ratio_short_hours"), p_short, get("jobs.preference_match_probability"),
        get("jobs.match_tenure_ratio"))
    return float(f"{min(ratio, 1000.0):.6g}")


def start_values(arm: str, base: dict) -> dict[str, float]:
    return {fp.name: (1.0 if fp.paths else float(get_dotted(base, fp.name))) for fp in FREE[arm]}


# --------------------------------------------------------------------------- simulated quantities


class Simulator:
    """Simulates trial arms and the running program for parameter values, with common random numbers."""

    def __init__(self, seed: int, replications: int, directory: Path | None = None, workers: int = 1,
                 n_per_arm: int = TRIAL_N, follow_up_months: float = TRIAL_FOLLOW_UP, executor=None):
        self.seed, self.replications, self.workers, self.executor = seed, replications, workers, executor
        self.n, self.fu = n_per_arm, follow_up_months
        self.base = {arm: literature_data(arm, directory) for arm in ARMS}
        self.evaluations = 0

    def scenario(self, arm: str, ips_updates: dict, us_updates: dict | None = None) -> Scenario:
        data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.base[arm].items()}
        data = yaml.safe_load(yaml.safe_dump(data))  # deep copy
        for p, v in ips_updates.items():
            set_dotted(data, p, v)
        if arm == "usual_services":
            _reapply_overlay(data, self.base)     # usual_services.yaml wins over the IPS fit (layer order)
            for p, v in (us_updates or {}).items():
                set_dotted(data, p, v)
        return Scenario.model_validate(data)

    def arm(self, arm: str, ips_updates: dict, us_updates: dict | None = None, first: int = 0,
            replications: int | None = None) -> list[dict]:
        """Trial cohorts of an arm, simulated :data:`TRIAL_HORIZON` months and read at every follow-up."""
        sc = cohort_scenario(self.scenario(arm, ips_updates, us_updates), self.n, max(self.fu, TRIAL_HORIZON))
        offset = CONTROL_OFFSET if arm == "usual_services" else 0
        self.evaluations += 1
        outcome = partial(arm_outcomes, follow_up_months=self.fu, seed=self.seed)
        rows, _ = run_replications(sc, replications or self.replications, self.seed, self.workers,
                                   keep_records=False, first=first + offset, outcome=outcome,
                                   executor=self.executor)
        return rows


def days_to_first_job(rec) -> np.ndarray:
    """Days from enrollment (referral if never enrolled) to each member's first job (NaN: none)."""
    m = rec.member
    start = np.where(np.isfinite(m["enrollment_day"]), m["enrollment_day"], m["referral_day"])
    return m["first_job_day"] - start


def employment_curve(rec, months: int) -> np.ndarray:
    """Share of the cohort with a first job by the end of each month 1..``months`` (intention to treat)."""
    first = days_to_first_job(rec)
    ends = np.arange(1, months + 1) * DAYS_PER_MONTH
    n = max(len(first), 1)
    return np.searchsorted(np.sort(first[np.isfinite(first)]), ends, side="right") / n


def _at(curve: np.ndarray, month: float) -> float:
    return float(curve[int(round(month)) - 1])


def arm_outcomes(rec, scenario: Scenario, follow_up_months: float, seed: int) -> dict:
    """A trial arm's outcomes at the design's follow-up (``trial.cohort_outcomes``) and its employment by
    month; the short and long trials each at their own follow-up, weighted by people randomized (de Winter
    et al. 2022 pool participants), and the 28 RCTs each at its own follow-up, unweighted (the slides
    average the trials' rates)."""
    row = cohort_outcomes(rec, scenario, follow_up_months * DAYS_PER_MONTH, seed)
    curve = employment_curve(rec, int(TRIAL_HORIZON))
    row["employment_curve"] = curve
    for name, trials in (("short", SHORT_TRIALS), ("long", LONG_TRIALS), ("28", ALL_TRIALS)):
        row[f"employment_rate_{name}_trials"] = (sum(w * _at(curve, f) for f, w in trials.items())
                                                 / sum(trials.values()))
    # One trial read at the participant-weighted follow-up (10.6 and 21.4 months), as a planner runs a
    # virtual trial; the curve bends, so this reads higher than the mix of the trials' own follow-ups.
    first = days_to_first_job(rec)
    for name, trials in (("short", SHORT_TRIALS), ("long", LONG_TRIALS)):
        row[f"employment_rate_{name}_weighted_follow_up"] = float(np.mean(first <= weighted_follow_up(trials)
                                                                          * DAYS_PER_MONTH))
    row["employment_rate_60m"] = _at(curve, 60)
    return row


def _reapply_overlay(data: dict, base: dict) -> None:
    us = base["usual_services"]
    path = calibration_dir() / "usual_services.yaml"
    if path.exists():
        doc = read_yaml_file(path, "calibration overlay") or {}
        for key in (doc.get("parameters") or {}):
            set_dotted(data, key, get_dotted(us, key))


def _values(rows: list[dict], key: str) -> np.ndarray:
    x = np.array([r[key] for r in rows], dtype=float)
    return x


def _mean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else math.nan


def trial_quantity(t: Target, ips_rows: list[dict] | None, us_rows: list[dict] | None) -> float:
    """Simulated value of a trial target from per-replication arm outcomes."""
    if t.arm == "ips":
        return _mean(_values(ips_rows, t.metric))
    if t.arm == "usual_services":
        return _mean(_values(us_rows, t.metric))
    a, c = _mean(_values(ips_rows, t.metric)), _mean(_values(us_rows, t.metric))
    if t.arm == "difference":
        return c - a
    if t.arm == "ratio":
        return a / c if c > 0 else math.nan
    if t.arm == "odds_ratio":
        return odds_ratio(a, c)
    raise ValueError(f"unknown arm {t.arm!r} in target {t.target}")


def odds_ratio(a: float, c: float) -> float:
    """Odds of ``a`` over odds of ``c`` (both shares)."""
    return a / (1 - a) / (c / (1 - c)) if 0 < c and a < 1 else math.nan


def target_quantity(sim: "Simulator", t: Target, ips_rows, us_rows, ips_updates: dict, cache: dict) -> float:
    """Simulated value of any target: trial targets from arm rows, program targets from a running program
    (simulated once per call site and kept in ``cache``)."""
    if t.design == "trial":
        return trial_quantity(t, ips_rows, us_rows)
    if "program" not in cache:
        cache["program"] = program_outcomes(sim.scenario("ips", ips_updates), PROGRAM_REPLICATIONS_FIT, sim.seed,
                                            executor=sim.executor)
    return _mean(_values(cache["program"], t.metric))


def trial_interval(t: Target, ips_rows, us_rows) -> tuple[float, float, float, float]:
    """(95% CI low, high of the simulated mean; 2.5 and 97.5 percentiles over single simulated trials)."""
    def t_ci(x):
        return mean_ci(x)[1:]

    if t.arm in ("ips", "usual_services"):
        x = _values(ips_rows if t.arm == "ips" else us_rows, t.metric)
        lo, hi = t_ci(x)
        return lo, hi, float(np.nanpercentile(x, 2.5)), float(np.nanpercentile(x, 97.5))
    a, c = _values(ips_rows, t.metric), _values(us_rows, t.metric)
    ok = np.isfinite(a) & np.isfinite(c)
    a, c = a[ok], c[ok]
    if t.arm == "difference":
        d = c - a
        lo, hi = t_ci(d)
        return lo, hi, float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))
    if t.arm == "odds_ratio":
        r = odds_ratio(a.mean(), c.mean())
        # delta method on the log odds: d log(p/(1-p)) = dp / (p (1-p))
        se = math.sqrt(a.var(ddof=1) / len(a) / (a.mean() * (1 - a.mean())) ** 2
                       + c.var(ddof=1) / len(c) / (c.mean() * (1 - c.mean())) ** 2)
        per = np.array([odds_ratio(x, y) for x, y in zip(a, c)])
        return (r * math.exp(-1.96 * se), r * math.exp(1.96 * se),
                float(np.nanpercentile(per, 2.5)), float(np.nanpercentile(per, 97.5)))
    r = a.mean() / c.mean()
    se = math.sqrt(a.var(ddof=1) / len(a) / a.mean() ** 2 + c.var(ddof=1) / len(c) / c.mean() ** 2)
    per = a / np.where(c > 0, c, np.nan)
    return (r * math.exp(-1.96 * se), r * math.exp(1.96 * se),
            float(np.nanpercentile(per, 2.5)), float(np.nanpercentile(per, 97.5)))


def program_outcomes(scenario: Scenario, replications: int, seed: int, executor=None) -> list[dict]:
    """Running-program quantities per replication (benchmarks: caseload working share, job tenure)."""
    rows, _ = run_replications(scenario, replications, seed, keep_records=False,
                               outcome=partial(_program_row, seed=seed), executor=executor)
    return rows


def _program_row(rec, scenario: Scenario, seed: int) -> dict:
    """One replication's running-program quantities (an outcome function for the runner)."""
    met = replication_metrics(rec, scenario)
    row = {"employed_share_mean": met["employed_share_mean"],
           "quarterly_working_rate": met["quarterly_working_rate"],
           "ever_employed_rate": met["ever_employed_rate"],
           # Rinaldi et al. 2024 (routine UK service): median days to a job among those who got one.
           "days_to_first_job_median": met["days_to_first_job_median"]}
    # Gold et al. 2010 compare trial cumulative rates with programs' quarterly rates.
    row["cumulative_to_point_ratio"] = (met["ever_employed_rate"] / met["quarterly_working_rate"]
                                        if met["quarterly_working_rate"] > 0 else math.nan)
    row.update(first_job_tenure(rec, scenario, seed))
    return row


def first_job_tenure(rec, scenario: Scenario, seed: int, months: float = 24.0) -> dict:
    """Bond & Kukla 2011 design: the 24 months after the start of a first job (first jobs started
    after warm-up, with 24 months left to the horizon): months in the first job and months worked."""
    j = rec.job
    window = months * DAYS_PER_MONTH
    end = job_end_days(rec, scenario, seed)
    first = (j["job_number"] == 1) & (j["start_day"] >= scenario.warmup_days) & (
        j["start_day"] + window <= rec.horizon)
    if not first.any():
        return {"first_job_tenure_months": math.nan, "months_worked_24m_after_first_job": math.nan,
                "first_job_survival_1m": math.nan, "first_job_survival_3m": math.nan,
                "jobs_24m_after_first_job": math.nan, "first_job_days": np.zeros(0)}
    s0 = j["start_day"][first]
    tenure = np.minimum(end[first], s0 + window) - s0
    start_of = np.full(len(rec.member["member_id"]), np.nan)
    start_of[j["member_id"][first]] = s0
    ws = start_of[j["member_id"]]
    ok = np.isfinite(ws)
    worked = np.where(ok, np.clip(np.minimum(end, ws + window) - j["start_day"], 0, None), 0.0)
    per_member = np.bincount(j["member_id"][ok], weights=worked[ok], minlength=len(start_of))
    in_win = ok & (j["start_day"] < ws + window)
    n_jobs = np.bincount(j["member_id"][in_win], minlength=len(start_of))
    return {"first_job_tenure_months": float(tenure.mean() / DAYS_PER_MONTH),
            # early job endings: share of first jobs still held 1 and 3 months after their start
            "first_job_survival_1m": float((tenure > DAYS_PER_MONTH).mean()),
            "first_job_survival_3m": float((tenure > 3 * DAYS_PER_MONTH).mean()),
            "months_worked_24m_after_first_job": float(per_member[j["member_id"][first]].mean() / DAYS_PER_MONTH),
            "jobs_24m_after_first_job": float(n_jobs[j["member_id"][first]].mean()),
            # each first job's days within the window (= the window if it lasted through it): for the KM plot
            "first_job_days": tenure}

