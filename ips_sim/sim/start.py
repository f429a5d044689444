"""The program on day 0: today's members and posts, for planning from today.

A scenario's ``start:`` section gives counts (and optionally details) of the
people waiting, the members searching and the members working today, and the
posts vacant. :func:`start_people` turns it into one :class:`StartPerson` per
person, filling unknown details with the documented defaults below; the model
(:class:`StartMembers`, part of :class:`ips_sim.sim.model.Program`) then puts each on the
same clocks as any member, drawing their remaining times from the model's own hazards. :func:`start_from_records`
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
from ips_sim.core.streams import Streams
from ips_sim.sim.benefit_choice import BenefitChoice
from ips_sim.sim.members import DISCHARGE, EMPLOYED, GIVE_UP, JOB_ENDED, STEP_DOWN, truncated_normal
from ips_sim.sim.members import WAITING as MEMBER_WAITING
from ips_sim.sim.records import FrozenRecords, Member
from ips_sim.sim.staffing import Specialist

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


def _before_day_0(days: float) -> float:
    """The day of something that happened ``days`` before day 0: strictly negative, so a start member
    is never counted as a referral, enrollment or placement of the planning horizon."""
    return -days if days > 1e-9 else -1e-9


class StartMembers:
    """Today's members on the model's clocks, as part of :class:`ips_sim.sim.model.Program` (in its own module).

    Uses the member life events of :class:`ips_sim.sim.members.MemberLife` and the program's parameters.
    """

    def _start_members(self, streams: Streams) -> None:
        """Put today's members (scenario ``start:``) on the model's clocks at day 0.

        Their draws come from their own stream, so the k-th referral's draws are those of
        the same scenario without a start state (common random numbers). Remaining times
        come from the model's own hazards: drop-out, first contact, job finding, job ending
        and patience are exponential clocks, so a fresh threshold is the remaining time; the
        employability of someone who has searched without success, and whether a job that
        has lasted is a preference match, are drawn from their posterior given that history
        (at full service: the hazards of a program with enough hours).
        """
        rng = streams.generator("start_state")
        start_benefits = BenefitChoice(self.sc, streams, "start_benefit_status")
        sc = self.sc
        js, jb = sc.job_search, sc.jobs
        cv = js.heterogeneity_cv
        full_find = (js.job_rate_own_per_month + js.job_rate_search_per_month
                     + js.job_rate_development_per_month) / DAYS_PER_MONTH
        end_rate = jb.end_rate_per_month / DAYS_PER_MONTH
        rec = self.rec
        for person in start_people(sc):
            m = Member(len(rec.members), 0.0)
            rec.members.append(m)
            m.e_drop, m.e_find, m.e_contact = rng.standard_exponential(3).tolist()
            m.frailty = float(rng.gamma(1.0 / (cv * cv), cv * cv)) if cv > 0 else 1.0
            patience = float(rng.standard_exponential())
            m.benefit = start_benefits.status()
            if person.phase == WAITING:
                m.referral_day = _before_day_0(person.waited_days)
                m.phase = MEMBER_WAITING
                self.waitlist.append(m)
                self.n_waiting += 1
                if self.patience_mean is not None:
                    m.tok_main = self._next_token()
                    self._schedule(patience * self.patience_mean, GIVE_UP, m, m.tok_main)
                continue
            # Today's caseloads are spread over every post, vacant ones too (a vacant post's members
            # are then handled as when its specialist left, below).
            s = min(self.specialists, key=lambda x: (x.n_caseload, x.index))
            m.referral_day = m.enrollment_day = _before_day_0(person.enrolled_days)
            m.counselled = bool(m.benefit)  # today's members on the caseload: counselled before day 0 (assumption)
            m.specialist = s
            s.n_caseload += 1
            if person.phase == JOB_SEEKER:
                searched = max(0.0, person.enrolled_days - self.preparation_days)
                if cv > 0 and not person.had_job:
                    # Gamma prior (shape k, rate k) after no job for ``searched`` days at full service.
                    k = 1.0 / (cv * cv)
                    m.frailty = float(rng.gamma(k, 1.0 / (k + full_find * searched)))
                contacted = rng.random() >= math.exp(-searched / js.first_contact_mean_days)
                if person.had_job or contacted:
                    m.first_contact_day = math.nan  # before day 0, date unknown
                if person.had_job:
                    m.first_job_day = math.nan
                    m.n_jobs = 1
                self._start_search(m, 0.0, m.e_drop)
                if self.discharge_days is not None and not person.had_job:
                    self._schedule(m.enrollment_day + self.discharge_days, DISCHARGE, m, m.id)
            else:
                self._start_worker(m, s, person.job_days, rng, end_rate)
        self.workforce.rehome_start_members()
        self.admit_from_waitlist(0.0)

    def _start_worker(self, m: Member, s: Specialist, job_days: float, rng, end_rate: float) -> None:
        """A member working on day 0, in a job started ``job_days`` ago."""
        jb = self.sc.jobs
        start = max(_before_day_0(job_days), m.enrollment_day)
        s.n_employed += 1
        m.phase = EMPLOYED
        m.n_jobs = 1
        m.first_job_day = m.first_contact_day = math.nan  # before day 0 (the current job may not be the first)
        p = posterior_match_probability(jb.preference_match_probability, self.match_ratio, end_rate, job_days)
        match = bool(rng.random() < p)
        hours = truncated_normal(lambda: float(rng.standard_normal()), jb.hours_per_week_mean, jb.hours_per_week_sd,
                                 jb.hours_per_week_min, jb.hours_per_week_max)
        wage = truncated_normal(lambda: float(rng.standard_normal()), jb.hourly_wage_mean, jb.hourly_wage_sd,
                                jb.hourly_wage_min, math.inf)
        m.job = self.rec.start_job(m.id, 1, start, hours, wage, match)
        self._join_drop_out(m, s.dis_employed, 0.0, m.e_drop)
        e = float(rng.standard_exponential()) * (self.match_ratio if match else 1.0)
        m.tok_main = tok = self._next_token()
        m.th_main, due = s.job_end.add(0.0, e, m, tok)
        if due is not None:
            self._schedule(due, JOB_ENDED, m, tok)
        if job_days < self.first_month_days:
            self._begin_first_month(m, s, start, tok)
        elif self.step_down_days is not None:
            self._schedule(start + self.step_down_days, STEP_DOWN, m, tok)

