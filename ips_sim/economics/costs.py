"""Program costs that follow what the simulation did, in a stated price year.

Cost items (every amount a named field of the scenario's ``costs`` section,
each with its own price year, converted to ``costs.price_year`` with CPI-U):

* specialist posts: ``specialist_cost_per_fte_year`` for the time each post is
  filled (a vacant post costs nothing; Latimer et al. 2004 direct cost per
  specialist), times ``team.fte_per_specialist``;
* the supervisor: salary x (1 + ``supervisor_fringe_rate``) x FTE, the program's
  share (its specialists over all the specialists the supervisor covers);
* travel: miles per hour of community work (job search, job development and
  follow-along hours the simulation delivered) x the mileage rate;
* hiring: recruitment and training per new hire (the end of each vacancy);
* benefits counselling per member enrolled;
* overhead: ``overhead_rate`` on the five items above;
* fixed program costs per year, and a cost per member-month on the caseload
  (how usual services are costed).

The wider perspective subtracts members' earnings (simulated hours x wage while
in the program) and/or adds mental-health hospital costs per member-month, as
``costs.offsets`` lists. Costs and the flows employed months and earnings of
observation year k are discounted by (1 + ``discount_rate``)^k; year 0 is the
first year after warm-up (day 0 for a cohort).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ips_sim.config import DAYS_PER_MONTH, DAYS_PER_YEAR, Scenario, prices
from ips_sim.economics.public_purse import public_purse
from ips_sim.sim.records import VACANCY, WEEK, FrozenRecords
from ips_sim.sim.staffing import supervised_specialists

SERVICE_ITEMS = ("specialists", "supervisor", "travel", "hiring", "benefits_counselling", "overhead",
                 "fixed", "member_month_services")
BUDGET_COLUMNS = ("year", "days", "specialist_fte", "members_served", "members_enrolled", "people_employed",
                  "employed_months", "hires", *SERVICE_ITEMS, "service_cost", "earnings", "hospital",
                  "perspective_cost", "discount_factor")


def days_worked(rec: FrozenRecords, start, end) -> np.ndarray:
    """Per job: days worked while in the program within [start, end] (arrays of windows: a row each)."""
    start, end = np.asarray(start, dtype=float)[..., None], np.asarray(end, dtype=float)[..., None]
    return np.clip(np.minimum(rec.job_stop_day(), end) - np.maximum(rec.job["start_day"], start), 0.0, None)


def employed_days_in_window(rec: FrozenRecords, start: float, end: float) -> float:
    """Days worked by members while in the program, clipped to [start, end]."""
    return float(days_worked(rec, start, end).sum())


def members_served(rec: FrozenRecords, start, end):
    """Members on the caseload at any time in [start, end] (arrays of windows: one count each)."""
    m = rec.member
    enr = m["enrollment_day"]
    ex = m["exit_day"]
    start, end = np.asarray(start, dtype=float)[..., None], np.asarray(end, dtype=float)[..., None]
    on = np.isfinite(enr) & (enr < end) & (~np.isfinite(ex) | (ex > start))
    counts = on.sum(axis=-1)
    return int(counts) if counts.ndim == 0 else counts


def is_cohort(scenario: Scenario) -> bool:
    """A trial-style cohort (people referred together on day 0, no further referrals)."""
    r = scenario.referrals
    return r.cohort_size > 0 and r.rate_per_month == 0 and not r.schedule


def unit_label(scenario: Scenario) -> str:
    return "per participant" if is_cohort(scenario) else "per program-year"


def money(scenario: Scenario, item: str) -> float:
    """A money input of the costs section (or ``hourly_wage``) in the output price year, per unit of its own."""
    c = scenario.costs
    amount = scenario.jobs.hourly_wage_mean if item == "hourly_wage" else getattr(c, item)
    return prices.convert(amount, c.price_years[item], prices.output_year(c.price_year))


def observation_years(start: float, end: float) -> list[tuple[float, float]]:
    """[a, b) day ranges of the years of the observation window (the last may be partial)."""
    n = max(1, math.ceil((end - start) / DAYS_PER_YEAR - 1e-9))
    return [(start + k * DAYS_PER_YEAR, min(start + (k + 1) * DAYS_PER_YEAR, end)) for k in range(n)]


def budget(rec: FrozenRecords, scenario: Scenario) -> dict[str, np.ndarray]:
    """Per observation year: staffing, members, employment and every cost item (output price year)."""
    c = scenario.costs
    team = scenario.team
    start, end = scenario.warmup_days, rec.horizon
    years = observation_years(start, end)
    m, j, w, v = rec.member, rec.job, rec.week, rec.vacancy
    enr, ex = m["enrollment_day"], m["exit_day"]
    enrolled = np.isfinite(enr)
    on_until = np.where(np.isfinite(ex), ex, end)
    # Hours in the community: follow-along, job search and job development received.
    community = w[:, WEEK["hours_follow_along"]] + w[:, WEEK["hours_job_search"]] + w[:, WEEK["hours_job_development"]]
    hires_at = v[:, VACANCY["end_day"]]  # a vacancy ends with a hire (NaN: still open)
    hires_at = hires_at[np.isfinite(hires_at)]
    share = team.specialists / supervised_specialists(scenario)
    spec = money(scenario, "specialist_cost_per_fte_year") * team.fte_per_specialist
    sup = (money(scenario, "supervisor_cost_per_fte_year") * (1.0 + c.supervisor_fringe_rate)
           * scenario.supervision.supervisor_fte * share)
    mile = money(scenario, "travel_cost_per_mile") * c.travel_miles_per_community_hour
    counsel = money(scenario, "benefits_counselling_cost_per_new_member")
    fixed = money(scenario, "fixed_cost_per_year")
    per_mm = money(scenario, "cost_per_member_month")
    hosp = money(scenario, "hospital_cost_per_member_month")
    wage = prices.convert(1.0, c.price_years["hourly_wage"], prices.output_year(c.price_year))
    earn_rate = j["hours_per_week"] * j["hourly_wage"] * wage / 7.0  # output-year dollars per day worked

    # All years at once: a row per year, a column per job (member, vacancy); each year's sums are
    # over one contiguous row, so they add the same numbers in the same order as year by year.
    a = np.array([y[0] for y in years])[:, None]
    b = np.array([y[1] for y in years])[:, None]
    days = (b - a)[:, 0]
    worked = days_worked(rec, a[:, 0], b[:, 0])
    on_days = np.clip(np.minimum(on_until[enrolled], b) - np.maximum(enr[enrolled], a), 0.0, None)
    member_months = on_days.sum(axis=1) / DAYS_PER_MONTH
    filled = team.specialists * days - rec.vacancy_days(a[:, 0], b[:, 0])
    new_members = ((enr >= a) & (enr < b)).sum(axis=1).astype(float)
    hires = ((hires_at >= a) & (hires_at < b)).sum(axis=1).astype(float)
    # Week rows are in time order, so a year's rows are one slice (the same numbers a mask selects).
    week_day = w[:, WEEK["day"]]
    lo, hi = np.searchsorted(week_day, a[:, 0], "left"), np.searchsorted(week_day, b[:, 0], "left")
    community_hours = np.array([community[i:k].sum() for i, k in zip(lo, hi)])
    ids = j["member_id"]

    r = {k: np.zeros(len(years)) for k in BUDGET_COLUMNS}
    r["year"][:] = np.arange(1, len(years) + 1)
    r["days"][:] = days
    r["specialist_fte"][:] = filled * team.fte_per_specialist / days
    r["members_served"][:] = members_served(rec, a[:, 0], b[:, 0])
    r["members_enrolled"][:] = new_members
    r["people_employed"][:] = [len(np.unique(ids[row > 0])) for row in worked]
    r["employed_months"][:] = worked.sum(axis=1) / DAYS_PER_MONTH
    r["hires"][:] = hires
    r["specialists"][:] = spec * filled / DAYS_PER_YEAR
    r["supervisor"][:] = sup * days / DAYS_PER_YEAR
    r["travel"][:] = mile * community_hours
    r["hiring"][:] = hires * c.hire_cost_share_of_specialist_year * spec
    r["benefits_counselling"][:] = new_members * counsel
    r["overhead"][:] = c.overhead_rate * (r["specialists"] + r["supervisor"] + r["travel"] + r["hiring"]
                                          + r["benefits_counselling"])
    r["fixed"][:] = fixed * days / DAYS_PER_YEAR
    r["member_month_services"][:] = per_mm * member_months
    r["service_cost"][:] = sum(r[i] for i in SERVICE_ITEMS)
    r["earnings"][:] = (earn_rate * worked).sum(axis=1)
    r["hospital"][:] = hosp * member_months
    r["perspective_cost"][:] = (r["service_cost"]
                                - (r["earnings"] if "earnings" in c.offsets else 0.0)
                                + (r["hospital"] if "hospital" in c.offsets else 0.0))
    r["discount_factor"][:] = [(1.0 + c.discount_rate) ** -k for k in range(len(years))]
    return r


def replication_budget(rec: FrozenRecords, scenario: Scenario) -> dict[str, np.ndarray]:
    """``budget(rec, scenario)``, computed once per replication and scenario and kept with the records, so the
    metrics (made where the replication runs) and the budget table (after the run) share the same rows.

    Returns a new dict of the kept arrays (add columns to it freely; do not write into its arrays).
    """
    key = hashlib.blake2b(scenario.model_dump_json().encode(), digest_size=16).digest()
    kept = (rec.derived or {}).get("budget")
    if kept is None or kept[0] != key:
        kept = (key, budget(rec, scenario))
        rec.derived = {**(rec.derived or {}), "budget": kept}
    return dict(kept[1])


def discounted(rows: dict[str, np.ndarray], column: str) -> float:
    """Sum over years of a column times the year's discount factor."""
    return float((rows[column] * rows["discount_factor"]).sum())


def cost_metrics(rec: FrozenRecords, scenario: Scenario, placements: float) -> dict[str, float]:
    """Cost metrics of a run (undiscounted, output price year) from the budget rows."""
    rows = replication_budget(rec, scenario)
    start, end = scenario.warmup_days, rec.horizon
    years = (end - start) / DAYS_PER_YEAR
    total = float(rows["service_cost"].sum())
    served = members_served(rec, start, end)
    employed_months = employed_days_in_window(rec, start, end) / DAYS_PER_MONTH

    def per(x: float) -> float:
        return total / x if x > 0 else math.nan

    return {
        "program_cost_per_year": total / years if years > 0 else math.nan,
        "program_cost_discounted": discounted(rows, "service_cost"),
        "members_served": float(served),
        "people_employed_per_year": float(rows["people_employed"].sum()) / years if years > 0 else math.nan,
        "cost_per_member_served": per(served),
        "cost_per_placement": per(placements),
        "employed_member_months": employed_months,
        "cost_per_employed_month": per(employed_months),
        "member_earnings_per_year": float(rows["earnings"].sum()) / years if years > 0 else math.nan,
    }


ECONOMIC_OUTCOMES = (
    ("cost", "money", "cost in the chosen perspective (costs.perspective: funder, wider or government), discounted"),
    ("service_cost", "money", "program service cost (funder perspective), discounted"),
    ("cost_undiscounted", "money", "cost in the chosen perspective, not discounted"),
    ("people_employed", "people", "people who held a competitive job (cohort: share of participants; "
                                  "program: distinct people employed in a year)"),
    ("employed_months", "months", "months worked by members while in the program, discounted"),
    ("earnings", "money", "members' earnings (hours x wage) while in the program, discounted"),
    ("members_served", "people", "members on the caseload (cohort: per participant = 1)"),
    ("cost_per_member_served", "money", "undiscounted service cost over members served in the window"),
    ("public_purse_cost", "money", "government (public purse) cost: program + outside benefits counselling + SSI + "
                                   "SSDI - payroll and income tax + hospital, discounted (docs/benefits.md)"),
    ("ssi_paid", "money", "SSI paid to members, discounted"),
    ("ssdi_paid", "money", "SSDI paid to members, discounted"),
    ("taxes_paid", "money", "payroll tax (employee, and employer if counted) and federal income tax net of EITC on "
                            "members' earnings and SSDI, discounted"),
    ("counselling_outside", "money", "benefits counselling by an outside counsellor (public purse), discounted"),
    ("net_income", "money", "members' earnings + SSI + SSDI - employee payroll tax - income tax, discounted"),
    ("qalys", "QALY", "quality-adjusted life years from competitive work (benefits.utility_gain_employed x years "
                      "worked; an assumption), discounted"),
)


def economic_outcomes(rec: FrozenRecords, scenario: Scenario, rows: dict | None = None) -> dict[str, float]:
    """One replication's costs and effects per participant (cohort) or per program-year (running program).

    ``rows``: the budget rows with the public purse's columns (``with_public_purse``), if made already;
    ``budget(rec, scenario)`` rows leave the public purse's outcomes out (the trial needs only the costs).
    """
    rows = with_public_purse(rec, scenario) if rows is None else rows
    start, end = scenario.warmup_days, rec.horizon
    served = members_served(rec, start, end)
    if is_cohort(scenario):
        n = float(len(rec.member["member_id"]))
        worked = np.isfinite(rec.member["first_job_day"]) & (rec.member["first_job_day"] < end)
        people = float(worked.sum())
        unit = n
    else:
        unit = (end - start) / DAYS_PER_YEAR
        people = float(rows["people_employed"].sum())  # person-years with a job, over years below
    div = unit if unit > 0 else math.nan
    per = {}
    if "public_purse_cost" in rows:
        per = {k: discounted(rows, k) / div for k in ("public_purse_cost", "ssi_paid", "ssdi_paid",
                                                      "counselling_outside", "net_income", "qalys")}
        per["taxes_paid"] = (discounted(rows, "payroll_tax") + discounted(rows, "income_tax")) / div
    return {
        "cost": discounted(rows, "perspective_cost") / div,
        "service_cost": discounted(rows, "service_cost") / div,
        "cost_undiscounted": float(rows["perspective_cost"].sum()) / div,
        "people_employed": people / div,
        "employed_months": discounted(rows, "employed_months") / div,
        "earnings": discounted(rows, "earnings") / div,
        "members_served": served / div,
        "cost_per_member_served": float(rows["service_cost"].sum()) / served if served else math.nan,
        **per,
    }


def with_public_purse(rec: FrozenRecords, scenario: Scenario) -> dict[str, np.ndarray]:
    """The budget rows with the public purse's columns (``public_purse.PURSE_COLUMNS``) added."""
    rows = replication_budget(rec, scenario)
    rows.update(public_purse(rec, scenario, rows))
    if scenario.costs.perspective == "government":
        rows["perspective_cost"] = rows["public_purse_cost"].copy()
    return rows
