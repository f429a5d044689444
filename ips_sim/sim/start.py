"""The program on day 0: today's members and posts, for planning from today.

A scenario's ``start:`` section gives counts (and optionally details) of the
people waiting, the members searching and the members working today, and the
posts vacant. :func:`start_people` turns it into one :class:`StartPerson` per
person, filling unknown details with the documented defaults below; the model
(:mod:`ips_sim.sim.model`) then puts each on the same clocks as any member, drawing
their remaining times from the model's own hazards. :func:`start_from_records`
goes the other way: the state of a replication on a given day, as a ``start:``
mapping (used to check that a steady state started from reproduces the steady state).

Defaults when only counts are given (visible assumptions, no source):

- a person waiting has waited 0 days (patience is exponential, so only the order matters);
- a job seeker enrolled ``max(engagement.early_months, job_search.preparation_months)`` months ago
  (settled in: past the early-engagement period and any preparation) and has not had a job;
- a worker has been in the job for ``service.first_month_days`` (just past the intensive first
  month) and enrolled ``max(that, engagement.early_months)`` months ago.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ips_sim.config import DAYS_PER_MONTH, Scenario
from ips_sim.sim.records import FrozenRecords

WAITING, JOB_SEEKER, WORKER = "waiting", "job_seeker", "worker"


@dataclass(frozen=True)
class StartPerson:
    """One person in the program on day 0 (times in days before day 0)."""

    phase: str
    waited_days: float = 0.0        # waiting: days since referral
    enrolled_days: float = 0.0      # job seekers and workers: days since enrollment
    had_job: bool = False           # job seekers: held a job since enrollment
    job_days: float = 0.0           # workers: days in the current job


def _values(section, name: str, count: int, default):
    v = getattr(section, name, None) if section is not None else None
    if v is None:
        return [default] * count
    return list(v) if isinstance(v, list) else [v] * count


def start_people(sc: Scenario) -> list[StartPerson]:
    """Everyone in the program on day 0: the waitlist longest-waiting first, then job seekers, then workers."""
    st = sc.start
    if st is None:
        return []
    m = DAYS_PER_MONTH
    settled = max(sc.engagement.early_months, sc.job_search.preparation_months)
    out = []
    n = st.count("waitlist")
    waited = sorted(_values(st.waitlist, "waited_days", n, 0.0), reverse=True)
    out += [StartPerson(WAITING, waited_days=float(w)) for w in waited]
    n = st.count("job_seekers")
    enr = _values(st.job_seekers, "months_since_enrollment", n, settled)
    had = _values(st.job_seekers, "had_job", n, False)
    out += [StartPerson(JOB_SEEKER, enrolled_days=float(e) * m, had_job=bool(h)) for e, h in zip(enr, had)]
    n = st.count("workers")
    first_month = sc.service.first_month_days / m
    jobs = _values(st.workers, "months_in_job", n, first_month)
    enr = _values(st.workers, "months_since_enrollment", n, None)
    out += [StartPerson(WORKER, job_days=float(j) * m,
                        enrolled_days=float(max(j, sc.engagement.early_months) if e is None else e) * m)
            for j, e in zip(jobs, enr)]
    return out


def start_from_records(rec: FrozenRecords, day: float) -> dict:
    """The state of a replication at ``day`` as a ``start:`` mapping (counts with every detail).

    Waiting: referred by ``day``, not enrolled and not gone by then. Working: holding a job at
    ``day`` while in the program. Job seekers: the other enrolled members (had a job before = a
    job ended before ``day``).
    """
    mem, job = rec.member, rec.job
    ref, enr, ex = mem["referral_day"], mem["enrollment_day"], mem["exit_day"]
    present = (ref <= day) & ~(ex <= day)
    waiting = present & ~(enr <= day)
    enrolled = present & (enr <= day)
    stop = np.where(np.isfinite(job["end_day"]), job["end_day"], job["observed_until_day"])
    holding = (job["start_day"] <= day) & (stop > day)
    started = {}
    for mid, s in zip(job["member_id"][holding], job["start_day"][holding]):
        started[int(mid)] = float(s)
    ended_before = set(int(x) for x in job["member_id"][job["start_day"] < day])
    ids = mem["member_id"]
    seekers_m, seekers_job, workers_job, workers_enr = [], [], [], []
    for k in np.nonzero(enrolled)[0]:
        mid = int(ids[k])
        since = (day - enr[k]) / DAYS_PER_MONTH
        if mid in started:
            workers_job.append((day - started[mid]) / DAYS_PER_MONTH)
            workers_enr.append(since)
        else:
            seekers_m.append(since)
            seekers_job.append(mid in ended_before)
    waited = [float(day - r) for r in ref[waiting]]
    return {
        "waitlist": {"count": len(waited), "waited_days": waited},
        "job_seekers": {"count": len(seekers_m), "months_since_enrollment": seekers_m, "had_job": seekers_job},
        "workers": {"count": len(workers_job), "months_in_job": workers_job, "months_since_enrollment": workers_enr},
    }


def posterior_match_probability(p: float, ratio: float, rate_per_day: float, days: float) -> float:
    """P(the job matches the member's preferences | it has lasted ``days``) under the model's ending hazards.

    Matching jobs end at ``rate / ratio``, others at ``rate`` (Bayes with exponential survival).

    >>> posterior_match_probability(0.5, 2.0, 0.0, 100.0)
    0.5
    """
    a = p * math.exp(-rate_per_day * days / ratio)
    b = (1.0 - p) * math.exp(-rate_per_day * days)
    return a / (a + b) if a + b > 0 else 1.0
