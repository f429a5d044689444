"""Outcome metrics of a replication, and their summary over replications.

Every metric is computed on the observation window after warm-up. Members
still waiting, enrolled or working at the horizon are censored: they count
in the time-averaged metrics up to the horizon, employment within 18 months
counts only members enrolled at least 18 months before the horizon, and job
tenure is a Kaplan-Meier median with ongoing jobs censored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ips_sim.config import DAYS_PER_MONTH, Scenario
from ips_sim.core.intervals import t_half_width
from ips_sim.economics.costs import cost_metrics
from ips_sim.sim.records import ExitReason, FrozenRecords
from ips_sim.sim.workforce import supervision_coverage

FOLLOW_UP_DAYS = 18 * DAYS_PER_MONTH  # the RCTs' usual follow-up (Bond 2026 slides: mean 18.6 months)
RAPID_CONTACT_DAYS = 30  # IPS: first face-to-face employer contact within 30 days (What is IPS)


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    description: str


METRICS = (
    Metric("referrals", "people", "referrals received after warm-up"),
    Metric("enrolled", "people", "people enrolled after warm-up"),
    Metric("mean_wait_days", "days", "mean days from referral to enrollment, people enrolled (referred after warm-up)"),
    Metric("prob_wait", "share", "share of referrals (after warm-up, outcome known) who could not enroll at once"),
    Metric("share_gave_up_waiting", "share", "share of referrals (after warm-up, outcome known) who left the waitlist"),
    Metric("waitlist_end", "people", "people on the waitlist at the last month end"),
    Metric("waitlist_mean", "people", "mean waitlist at month ends"),
    Metric("waitlist_max", "people", "largest waitlist at a month end (after warm-up)"),
    Metric("enrolled_within_30_days_share", "share",
           "share of referrals (after warm-up, 30 days of follow-up) enrolled within 30 days of referral; "
           "people who gave up or still wait count as not enrolled"),
    Metric("wait_days_p50", "days",
           "median days from referral to enrollment (Kaplan-Meier: people still waiting at the horizon or who "
           "gave up are censored when they leave the list), referrals after warm-up; a lower bound where never "
           "reached, as wait_days_p90"),
    Metric("wait_days_p90", "days",
           "90th percentile of days from referral to enrollment (Kaplan-Meier, censored as wait_days_p50); where "
           "the estimate never reaches it (the last people at risk left or still wait), the longest wait observed, "
           "a lower bound"),
    Metric("ever_employed_rate", "share",
           "share of enrolled members with a competitive job within 18 months of enrollment "
           "(members with 18 months of follow-up)"),
    Metric("days_to_first_job_median", "days", "median days from enrollment to first job, members employed within 18 months"),
    Metric("days_to_first_employer_contact_median", "days",
           "median days from enrollment to first face-to-face employer contact (contacts within the window)"),
    Metric("first_contact_within_30_days_rate", "share",
           "share of enrolled members (30 days of follow-up) with a first employer contact within 30 days"),
    Metric("placements", "jobs", "jobs started after warm-up"),
    Metric("jobs_per_worker_mean", "jobs", "mean jobs held by members with at least one job (enrolled after warm-up)"),
    Metric("job_tenure_days_median", "days", "Kaplan-Meier median job duration, jobs started after warm-up"),
    Metric("employed_share_mean", "share", "mean share of the active caseload working, at month ends"),
    Metric("employed_members_mean", "people", "mean members working, at month ends"),
    Metric("quarterly_working_rate", "share",
           "share of members served in a quarter who worked in a competitive job during it (IPS Learning "
           "Collaborative definition), mean over full quarters after warm-up"),
    Metric("employer_contacts_per_specialist_week", "contacts", "face-to-face employer contacts per specialist-week"),
    Metric("caseload_per_specialist_mean", "members", "mean caseload per specialist, at month ends"),
    Metric("specialist_utilisation", "share", "hours used over hours available for direct work"),
    Metric("job_search_service_share", "share", "job-search hours received over hours demanded"),
    Metric("job_search_hours_per_seeker_week", "hours",
           "job-search hours received per job seeker per week (seekers counted at each planning step)"),
    Metric("job_finding_rate_per_seeker_month", "jobs per month",
           "jobs started per job-seeker month (placements after warm-up / job-seeker months at planning steps)"),
    Metric("follow_along_service_share", "share", "follow-along hours received over hours demanded"),
    Metric("program_cost_per_year", "money",
           "program service cost per year, not discounted (all cost items; see ips_sim/economics/costs.py)"),
    Metric("program_cost_discounted", "money",
           "program service cost over the observation window, discounted at costs.discount_rate"),
    Metric("members_served", "people", "members on the caseload at any time after warm-up"),
    Metric("people_employed_per_year", "people",
           "distinct people who held a competitive job while in the program in an observation year, mean over "
           "years (what compare counts per program-year)"),
    Metric("cost_per_member_served", "money", "program cost after warm-up / members served"),
    Metric("cost_per_placement", "money", "program cost after warm-up / jobs started"),
    Metric("employed_member_months", "months", "months worked by members while in the program, after warm-up"),
    Metric("cost_per_employed_month", "money", "program cost after warm-up / employed member-months"),
    Metric("member_earnings_per_year", "money",
           "members' earnings while in the program per year (job hours x hourly wage)"),
    Metric("vacancy_days", "days", "days specialist posts stood vacant after warm-up, summed over posts (turnover)"),
    Metric("vacancy_share", "share", "vacant post-days over post-days after warm-up"),
    Metric("members_affected_by_staff_change", "people",
           "members enrolled after warm-up whose specialist left while they were enrolled"),
    Metric("ever_employed_rate_affected", "share",
           "ever_employed_rate among members whose specialist left within their 18 months of follow-up "
           "(descriptive, not causal)"),
    Metric("ever_employed_rate_unaffected", "share",
           "ever_employed_rate among members whose specialist did not leave within their 18 months of follow-up"),
    Metric("supervision_coverage_mean", "share",
           "supervisor hours received over hours needed, specialist-weeks in post after warm-up"),
    Metric("practice_quality_mean", "share",
           "mean practice quality (supervision x new-hire ramp-up) over specialist-weeks in post after warm-up"),
)
METRIC_NAMES = tuple(m.name for m in METRICS)
MONEY = "money"  # unit placeholder of money metrics; tables show the price-year label ("USD 2024")


def unit_label(unit: str, currency: str) -> str:
    """A metric's unit as printed: money metrics get the currency label of the run."""
    return currency if unit == MONEY else unit

# Plain words for each metric, shown by the app, the tutorial and the API tables;
# tests/test_metrics.py checks every metric has one.
LABELS = {
    "referrals": "Referrals received",
    "enrolled": "People enrolled",
    "mean_wait_days": "Mean wait for a place",
    "prob_wait": "Referrals who had to wait",
    "share_gave_up_waiting": "Referrals who gave up waiting",
    "waitlist_end": "Waitlist at the end",
    "waitlist_mean": "Mean waitlist",
    "waitlist_max": "Largest waitlist",
    "enrolled_within_30_days_share": "Enrolled within 30 days of referral",
    "wait_days_p50": "Median wait for a place",
    "wait_days_p90": "Wait for a place, 90th percentile",
    "ever_employed_rate": "Employed within 18 months",
    "days_to_first_job_median": "Median days to first job",
    "days_to_first_employer_contact_median": "Median days to first employer contact",
    "first_contact_within_30_days_rate": "Employer contact within 30 days",
    "placements": "Jobs started",
    "jobs_per_worker_mean": "Jobs per person who worked",
    "job_tenure_days_median": "Median job length",
    "employed_share_mean": "Share of caseload working",
    "employed_members_mean": "People working (mean)",
    "quarterly_working_rate": "Worked during the quarter",
    "employer_contacts_per_specialist_week": "Employer contacts per specialist-week",
    "caseload_per_specialist_mean": "Caseload per specialist",
    "specialist_utilisation": "Specialist hours used",
    "job_search_service_share": "Job-search help received vs needed",
    "job_search_hours_per_seeker_week": "Job-search hours per job seeker per week",
    "job_finding_rate_per_seeker_month": "Jobs found per job-seeker month",
    "follow_along_service_share": "Follow-along help received vs needed",
    "program_cost_per_year": "Program cost per year",
    "program_cost_discounted": "Program cost, discounted",
    "member_earnings_per_year": "Members' earnings per year",
    "members_served": "People served",
    "people_employed_per_year": "People employed in a year",
    "cost_per_member_served": "Cost per person served",
    "cost_per_placement": "Cost per job started",
    "employed_member_months": "Months worked in the program",
    "cost_per_employed_month": "Cost per month worked",
    "vacancy_days": "Days specialist posts stood vacant",
    "vacancy_share": "Share of post-days vacant",
    "members_affected_by_staff_change": "People whose specialist left",
    "ever_employed_rate_affected": "Employed within 18 months, specialist left",
    "ever_employed_rate_unaffected": "Employed within 18 months, specialist stayed",
    "supervision_coverage_mean": "Supervision received vs needed",
    "practice_quality_mean": "Practice quality",
}

# Shares that cannot exceed 1 by definition (hours received <= hours demanded, people
# among people). Every metric is >= 0; the rest have no upper bound.
AT_MOST_ONE = frozenset({
    "prob_wait", "share_gave_up_waiting", "enrolled_within_30_days_share", "ever_employed_rate",
    "first_contact_within_30_days_rate",
    "employed_share_mean", "quarterly_working_rate", "specialist_utilisation", "job_search_service_share",
    "follow_along_service_share", "vacancy_share", "ever_employed_rate_affected",
    "ever_employed_rate_unaffected", "supervision_coverage_mean", "practice_quality_mean",
})


def metric_label(name: str) -> str:
    """Plain words for a metric (its id made readable if it has no label, e.g. a cost item)."""
    return LABELS.get(name) or name.replace("_", " ").capitalize()


def metric_range(name: str) -> tuple[float, float]:
    """The values a metric can take: [0, 1] for the shares in AT_MOST_ONE, else [0, inf)."""
    return (0.0, 1.0) if name in AT_MOST_ONE else (0.0, math.inf)


def km_median(durations: np.ndarray, observed: np.ndarray) -> float:
    """Kaplan-Meier median of right-censored durations (NaN if S(t) never reaches 0.5).

    >>> km_median(np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, True, True, True]))
    2.0
    """
    return km_quantile(durations, observed, 0.5)


def km_quantile(durations: np.ndarray, observed: np.ndarray, q: float, bound_if_unreached: bool = False) -> float:
    """Smallest duration where the Kaplan-Meier estimate of P(duration <= t) reaches ``q``.

    If it never does (the last people at risk were censored), NaN, or with ``bound_if_unreached``
    the longest duration observed: a lower bound of the quantile (dropping such replications
    would keep only the shorter ones).

    >>> km_quantile(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([True, True, True, False, False]), 0.5)
    3.0
    >>> km_quantile(np.array([0.0, 0.0, 10.0]), np.array([True, True, True]), 0.5)
    0.0
    """
    if len(durations) == 0:
        return math.nan
    order = np.lexsort((~observed, durations))  # at ties, events before censorings
    d = durations[order]
    e = observed[order]
    n = len(d)
    at_risk = n - np.arange(n)
    factors = np.where(e, 1.0 - 1.0 / at_risk, 1.0)
    surv = np.cumprod(factors)
    hit = np.nonzero(surv <= 1.0 - q + 1e-12)[0]
    if len(hit):
        return float(d[hit[0]])
    return float(d[-1]) if bound_if_unreached else math.nan


def replication_metrics(rec: FrozenRecords, scenario: Scenario) -> dict[str, float]:
    """All metrics of one replication (NaN where undefined, e.g. no jobs)."""
    warm = scenario.warmup_days
    horizon = rec.horizon
    m = rec.member
    ref = m["referral_day"]
    enr = m["enrollment_day"]
    first_job = m["first_job_day"]
    exit_reason = m["exit_reason"]
    out: dict[str, float] = {}

    referred = ref >= warm
    enrolled = np.isfinite(enr) & (enr >= warm)
    out["referrals"] = float(referred.sum())
    out["enrolled"] = float(enrolled.sum())
    waited = referred & np.isfinite(enr)
    out["mean_wait_days"] = _mean(enr[waited] - ref[waited])
    gave_up = exit_reason == ExitReason.GAVE_UP_WAITING
    known = referred & (np.isfinite(enr) | gave_up)
    out["prob_wait"] = _mean(((enr > ref) | gave_up)[known])
    out["share_gave_up_waiting"] = _mean(gave_up[known])
    out.update(waiting_metrics(ref, enr, m["exit_day"], gave_up, warm, horizon))

    mo = rec.months()
    in_window = mo["day"] > warm
    waitlist, caseload, employed = mo["waitlist"][in_window], mo["caseload"][in_window], mo["employed"][in_window]
    out["waitlist_end"] = float(mo["waitlist"][-1]) if len(mo["waitlist"]) else math.nan
    out["waitlist_mean"] = _mean(waitlist)
    out["waitlist_max"] = float(waitlist.max()) if len(waitlist) else math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        out["employed_share_mean"] = _mean(np.where(caseload > 0, employed / caseload, np.nan))
    out["employed_members_mean"] = _mean(employed)
    out["caseload_per_specialist_mean"] = _mean(caseload) / scenario.team.specialists

    out["quarterly_working_rate"] = quarterly_working_rate(rec, warm, horizon)

    followed = enrolled & (enr + FOLLOW_UP_DAYS <= horizon)
    to_job = first_job - enr
    employed_18 = followed & (to_job <= FOLLOW_UP_DAYS)
    out["ever_employed_rate"] = _mean(employed_18[followed])
    out["days_to_first_job_median"] = _median(to_job[employed_18])
    contact = m["first_employer_contact_day"]
    to_contact = contact - enr
    out["days_to_first_employer_contact_median"] = _median(to_contact[enrolled & np.isfinite(contact)])
    followed_30 = enrolled & (enr + RAPID_CONTACT_DAYS <= horizon)
    out["first_contact_within_30_days_rate"] = _mean((to_contact <= RAPID_CONTACT_DAYS)[followed_30])

    j = rec.job
    started = j["start_day"] >= warm
    out["placements"] = float(started.sum())
    workers = enrolled & (m["jobs"] > 0)
    out["jobs_per_worker_mean"] = _mean(m["jobs"][workers].astype(float))
    out["job_tenure_days_median"] = km_median((rec.job_stop_day() - j["start_day"])[started], rec.job_ended()[started])

    ww = rec.weeks(warm)
    out["employer_contacts_per_specialist_week"] = employer_contacts_per_specialist_week(rec, scenario)
    used = ww["hours_intake"] + ww["hours_follow_along"] + ww["hours_job_search"] + ww["hours_job_development"]
    avail = ww["hours_available"].sum()
    out["specialist_utilisation"] = float(used.sum() / avail) if avail > 0 else math.nan
    out["job_search_service_share"] = _ratio(ww["hours_job_search"].sum(), ww["demand_job_search"].sum())
    out["follow_along_service_share"] = _ratio(ww["hours_follow_along"].sum(), ww["demand_follow_along"].sum())
    # Job seekers at a planning step = hours they demanded / hours demanded per seeker (planning.share_hours).
    step = scenario.simulation.planning_step_days
    per_seeker = scenario.service.job_search_hours_per_member_week * step / 7.0
    seeker_weeks = ww["demand_job_search"].sum() / per_seeker * step / 7.0 if per_seeker > 0 else 0.0
    out["job_search_hours_per_seeker_week"] = _ratio(ww["hours_job_search"].sum(), seeker_weeks)
    out["job_finding_rate_per_seeker_month"] = _ratio(out["placements"], seeker_weeks * 7.0 / DAYS_PER_MONTH)
    out.update(cost_metrics(rec, scenario, out["placements"]))
    out.update(staffing_metrics(rec, scenario))
    return out


def employer_contacts_per_specialist_week(rec: FrozenRecords, scenario: Scenario) -> float:
    """Face-to-face employer contacts per specialist-week in post after warm-up (vacant posts make none)."""
    contacts = rec.weeks(scenario.warmup_days, in_post_only=True)["employer_contacts"]
    return _mean(contacts) * 7.0 / scenario.simulation.planning_step_days


def waiting_metrics(ref: np.ndarray, enr: np.ndarray, exit_day: np.ndarray, gave_up: np.ndarray, warm: float,
                    horizon: float) -> dict[str, float]:
    """Waits that do not hide people who gave up: enrolled within 30 days, and censored percentiles.

    Enrolled within 30 days: among referrals after warm-up with 30 days of follow-up, those
    enrolled by day 30 of their wait; giving up or still waiting counts as not enrolled.
    Percentiles: Kaplan-Meier of referral to enrollment, with people still waiting at the
    horizon censored there and people who gave up censored when they left the list (the wait
    of someone who stays on the list). A percentile the estimate never reaches is reported as
    the longest wait observed (a lower bound), so no replication drops out of the mean.
    """
    referred = ref >= warm
    wait = enr - ref
    followed = referred & (ref + RAPID_CONTACT_DAYS <= horizon)
    within = np.isfinite(enr) & (wait <= RAPID_CONTACT_DAYS)
    stop = np.where(np.isfinite(enr), enr, np.where(gave_up, exit_day, horizon))
    d = (stop - ref)[referred]
    e = np.isfinite(enr)[referred]
    return {
        "enrolled_within_30_days_share": _mean(within[followed].astype(float)),
        "wait_days_p50": km_quantile(d, e, 0.5, bound_if_unreached=True),
        "wait_days_p90": km_quantile(d, e, 0.9, bound_if_unreached=True),
    }


def staffing_metrics(rec: FrozenRecords, scenario: Scenario) -> dict[str, float]:
    """Vacancies, members affected by a staff change and their outcome, supervision received."""
    warm, horizon = scenario.warmup_days, rec.horizon
    out: dict[str, float] = {}
    out["vacancy_days"] = rec.vacancy_days(warm, horizon)
    out["vacancy_share"] = _ratio(out["vacancy_days"], scenario.team.specialists * (horizon - warm))

    m = rec.member
    enr = m["enrollment_day"]
    change = m.get("staff_change_day", np.full(len(enr), np.nan))
    enrolled = np.isfinite(enr) & (enr >= warm)
    out["members_affected_by_staff_change"] = float((enrolled & np.isfinite(change)).sum())

    followed = enrolled & (enr + FOLLOW_UP_DAYS <= horizon)
    employed_18 = (m["first_job_day"] - enr) <= FOLLOW_UP_DAYS
    affected = (change - enr) <= FOLLOW_UP_DAYS
    out["ever_employed_rate_affected"] = _mean(employed_18[followed & affected])
    out["ever_employed_rate_unaffected"] = _mean(employed_18[followed & ~affected])

    out["supervision_coverage_mean"] = supervision_coverage(rec, warm)
    out["practice_quality_mean"] = _mean(rec.weeks(warm, in_post_only=True)["practice_quality"])
    return out


def quarterly_working_rate(rec: FrozenRecords, start: float, end: float) -> float:
    """Mean over full quarters in [start, end] of: members served in the quarter who worked in it.

    Served = on the caseload at any time in the quarter; worked = held a job at any
    time in the quarter while in the program. This is how IPS programs report their
    quarterly employment rate (Becker, Drake & Bond 2014; ipsworks benchmarks 31/41/50%),
    which runs higher than the share working on a given day.
    """
    quarter = 3 * DAYS_PER_MONTH
    n = int((end - start) // quarter)
    if n == 0:
        return math.nan
    m, j = rec.member, rec.job
    enr, ex = m["enrollment_day"], m["exit_day"]
    exit_or_end = np.where(np.isfinite(ex), ex, np.inf)
    k = np.arange(n)
    a, b = start + k * quarter, start + (k + 1) * quarter  # quarter k is [a_k, b_k]
    # members x quarters: on the caseload in the quarter; held a job in it while in the program
    served = (np.isfinite(enr) & (enr < b[:, None]) & (exit_or_end >= a[:, None])).T
    held = (j["start_day"] < b[:, None]) & (rec.job_stop_day() >= a[:, None])  # quarters x jobs
    worked = np.zeros_like(served)
    rows = np.searchsorted(m["member_id"], j["member_id"])  # member ids are sorted
    np.logical_or.at(worked, rows, held.T)
    n_served = served.sum(axis=0)
    n_worked = (served & worked).sum(axis=0)
    has = n_served > 0
    rates = n_worked[has] / n_served[has]
    return float(np.mean(rates)) if len(rates) else math.nan


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else math.nan


def _mean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else math.nan


def _median(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else math.nan


def summarise(per_replication: list[dict[str, float]], confidence: float = 0.95,
              bounded: bool = True) -> list[dict]:
    """Mean, sd and t-based confidence interval of each metric over replications.

    The interval is cut at the metric's range (:func:`metric_range`): a count cannot
    be below 0, nor a share above 1. The true mean lies inside the range, so the cut
    interval covers it exactly as often as the t-interval does (same coverage, no
    impossible values). ``ci_cut`` says whether that happened. ``bounded=False`` keeps
    the plain t-interval (for paired differences, which may be negative).

    >>> [r["ci_low"] for r in summarise([{"placements": 0.0}, {"placements": 0.0}, {"placements": 3.0}])]
    [0.0]
    >>> summarise([])
    []
    """
    rows = []
    if not per_replication:
        return rows  # no replications, nothing to summarise
    units = {mt.name: mt.unit for mt in METRICS}
    names = [n for n in METRIC_NAMES if n in per_replication[0]] + [
        n for n in per_replication[0] if n not in METRIC_NAMES
    ]
    for name in names:
        x = np.array([r[name] for r in per_replication], dtype=float)
        x = x[np.isfinite(x)]
        n = len(x)
        mean = float(x.mean()) if n else math.nan
        sd = float(x.std(ddof=1)) if n > 1 else math.nan
        if n > 1:
            half = t_half_width(sd, n, confidence)
            low, high = metric_range(name) if bounded else (-math.inf, math.inf)
            lo, hi = max(mean - half, low), min(mean + half, high)
            cut = bool(lo > mean - half or hi < mean + half)
        else:
            lo = hi = math.nan
            cut = False
        rows.append({"metric": name, "unit": units.get(name, ""), "mean": mean, "std": sd,
                     "ci_low": lo, "ci_high": hi, "replications": n, "ci_cut": cut})
    return rows


def infinite_metrics(per_replication: list[dict[str, float]]) -> list[str]:
    """One line per metric that is infinite in some replication (e.g. costs overflowing); empty if none.

    NaN means "no value" (no placements, no jobs) and is allowed; an infinite value
    is never a result, and summary tables would silently drop it.
    """
    lines = []
    names = list(per_replication[0]) if per_replication else []
    for name in names:
        bad = [i for i, r in enumerate(per_replication) if math.isinf(r[name])]
        if bad:
            lines.append(f"{name} is infinite in {len(bad)} of {len(per_replication)} replications "
                         f"(first: replication {bad[0]})")
    return lines
