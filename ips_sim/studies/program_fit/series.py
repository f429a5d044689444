"""Quarterly report series of a simulated program, counted the way programs report them.

A replication's records (``FrozenRecords``) become, per quarter of the history, the same
numbers a program sends to the IPS learning community: people served (on the caseload at
any time in the quarter), people working (on the caseload and holding a competitive job at
any time in the quarter), new job starts, enrollments, referrals, closures and people
waiting at the quarter's end. ``quarterly_series`` is the outcome function the runner calls
in its workers; ``summary_statistics`` reduces the series to the few numbers ABC compares.
"""

from __future__ import annotations

import numpy as np

from ips_sim.config import DAYS_PER_MONTH
from ips_sim.sim.records import FrozenRecords

QUARTER_DAYS = 3 * DAYS_PER_MONTH
SERIES = ("people_served", "people_working", "job_starts", "enrollments", "referrals", "closures", "waiting")


def quarter_bounds(quarters: int) -> np.ndarray:
    """Day of each quarter's start, and the end of the last (quarters + 1 values); day 0 = first quarter."""
    return np.arange(quarters + 1) * QUARTER_DAYS


def quarterly_series(rec: FrozenRecords, scenario=None, quarters: int | None = None) -> dict[str, list[float]]:
    """Per quarter: the report counts of one replication (``SERIES``), as plain lists (sent between processes)."""
    if quarters is None:
        quarters = int(round(scenario.simulation.horizon_years * 4))
    b = quarter_bounds(quarters)
    lo, hi = b[:-1, None], b[1:, None]
    mem, job = rec.member, rec.job
    enr, ex, ref = mem["enrollment_day"], mem["exit_day"], mem["referral_day"]
    on = np.isfinite(enr)
    stay_end = np.where(np.isfinite(ex), ex, np.inf)
    served = (on & (enr < hi) & (stay_end >= lo)).sum(axis=1)
    # Working: a job overlapping the quarter (jobs end at latest when the member leaves services).
    j_start, j_stop = job["start_day"], rec.job_stop_day()
    overlap = (j_start < hi) & (j_stop >= lo)
    working = np.array([len(np.unique(job["member_id"][row])) for row in overlap])
    starts = ((j_start >= lo) & (j_start < hi)).sum(axis=1)
    enrollments = (on & (enr >= lo) & (enr < hi)).sum(axis=1)
    referrals = ((ref >= lo) & (ref < hi)).sum(axis=1)
    closures = (on & (ex >= lo) & (ex < hi)).sum(axis=1)
    # Waiting at the quarter's end: the month-end snapshot nearest to it.
    m = rec.months()
    if len(m["day"]):
        idx = np.abs(m["day"][None, :] - b[1:, None]).argmin(axis=1)
        waiting = m["waitlist"][idx]
    else:
        waiting = np.zeros(quarters)
    out = {"people_served": served, "people_working": working, "job_starts": starts, "enrollments": enrollments,
           "referrals": referrals, "closures": closures, "waiting": waiting}
    return {k: [float(x) for x in v] for k, v in out.items()}


def summary_statistics(series: dict, columns: list[str]) -> dict[str, float]:
    """The numbers ABC compares: each reported series' mean over the quarters, the change from the first
    half to the second of people served and working, the share of people served who worked and, when
    job starts are reported, job starts per person working in a quarter (``starts_per_working``).

    Job starts per person working identifies job ending: with the caseload near a steady state the jobs
    that start replace those that end, so the ratio is close to the share of jobs that end in a quarter.
    The share working does not tell a job ending soon apart from a job found late (a one prior-sd change
    of the job-ending factor moved it by about 1.5 noise sd at 8 quarters and no more at 16), while the
    ratio moved 1.8 sd at 8 quarters and 3.6 at 16 (a two-post program, 12-20 replications per arm): it
    is the statistic through which more quarters tell more about how long jobs last.
    """
    out = {}
    for c in columns:
        v = np.asarray(series[c], dtype=float)
        out[f"{c}_mean"] = float(v.mean())
    for c in ("people_served", "people_working"):
        v = np.asarray(series[c], dtype=float)
        h = len(v) // 2
        out[f"{c}_change"] = float(v[-h:].mean() - v[:h].mean()) if h else 0.0
    served = float(np.sum(series["people_served"]))
    working = float(np.sum(series["people_working"]))
    out["working_share"] = working / served if served > 0 else 0.0
    if "job_starts" in columns:
        out["starts_per_working"] = float(np.sum(series["job_starts"])) / working if working > 0 else 0.0
    return out
