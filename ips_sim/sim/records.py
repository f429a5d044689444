"""What one replication leaves behind: members, jobs, weeks and month-ends.

The event loop appends plain tuples and mutates small slot objects; nothing
here runs per event beyond that. :meth:`ReplicationRecords.freeze` turns the
lists into numpy arrays (compact to pickle between processes); tables are
built from those once, in :mod:`ips_sim.analysis.metrics` and :mod:`ips_sim.reporting.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

NAN = float("nan")


class Phase(IntEnum):
    """Where a member is: on the waitlist, in job search, in a job (follow-along), or gone."""

    WAITING = 0
    SEARCH = 1
    EMPLOYED = 2
    GONE = 3


class EventKind(IntEnum):
    """Kinds of member event scheduled by the model (each checks a token before it happens)."""

    DROP_OUT = 0
    FIRST_CONTACT = 1
    JOB_FOUND = 2
    JOB_ENDED = 3
    EARLY_PERIOD_OVER = 4
    STEP_DOWN = 5
    GIVE_UP = 6
    PREPARATION_OVER = 7
    DISCHARGE = 8


class ExitReason(IntEnum):
    """Why a member left (the code stored in ``FrozenRecords.member["exit_reason"]``)."""

    NONE = -1               # still waiting or enrolled at the horizon
    DISENGAGED = 0
    STEPPED_DOWN = 1
    GAVE_UP_WAITING = 2
    DISCHARGED_NO_JOB = 3

    @property
    def label(self) -> str:
        return "" if self is ExitReason.NONE else self.name.lower()


class JobEnd(IntEnum):
    """How a job stopped (the code stored in ``FrozenRecords.job["end_reason"]``)."""

    LEFT_SERVICES_WHILE_WORKING = -2  # censored at the member's exit (step-down, drop-out)
    ONGOING = -1                      # still going at the horizon (censored there)
    QUIT = 0
    FIRED = 1
    TEMPORARY_JOB_ENDED = 2
    LAID_OFF = 3

    @property
    def label(self) -> str:
        return "" if self is JobEnd.ONGOING else self.name.lower()

    @property
    def ended(self) -> bool:
        """The job ended while the member was in services (not censored)."""
        return self >= 0


# Members of the enums as module constants: a class attribute of an Enum costs ~10x a global to read,
# and a member or job made per referral or job start reads them.
_STILL_IN, _WAITING, _ONGOING = ExitReason.NONE, Phase.WAITING, JobEnd.ONGOING

EXIT_REASONS = tuple(r.label for r in ExitReason if r >= 0)
JOB_END_REASONS = tuple(r.label for r in JobEnd if r.ended)


class Member:
    """A person referred to the program, from referral to exit."""

    __slots__ = (
        "id", "referral_day", "enrollment_day", "first_contact_day", "first_job_day",
        "exit_day", "exit_reason", "n_jobs", "days_employed", "specialist", "phase", "job", "new_worker",
        "frailty", "prep", "e_drop", "e_find", "e_contact",
        "tok_drop", "tok_main", "tok_contact", "th_drop", "clock_drop",
        "th_main", "th_contact", "staff_change_day",
        "benefit", "counselled", "counsel_mark", "counsel_spec",
    )

    def __init__(self, member_id: int, referral_day: float):
        self.id = member_id
        self.referral_day = referral_day
        self.enrollment_day = None
        self.first_contact_day = None
        self.first_job_day = None
        self.exit_day = None
        self.exit_reason = _STILL_IN
        self.n_jobs = 0
        self.days_employed = 0.0
        self.specialist = None
        self.phase = _WAITING
        self.job = None
        self.new_worker = False
        self.prep = 1.0                # the member's preparation time over the mean (stepwise services)
        self.tok_drop = self.tok_main = self.tok_contact = 0
        self.th_drop = 0.0
        self.clock_drop = None
        self.th_main = 0.0             # threshold on the job-finding or job-ending clock (turnover moves it)
        self.th_contact = 0.0          # threshold on the first-contact clock
        self.staff_change_day = None   # first day the member's specialist left while the member was enrolled
        self.benefit = 0               # benefit_choice.Benefit at referral
        self.counselled = False        # received benefits counselling (by the first job start, or at enrollment)
        self.counsel_mark = 0.0        # specialist's intake hours owed once this member's counselling is delivered
        self.counsel_spec = None       # the specialist owing that counselling


WEEK_COLUMNS = (
    "day", "specialist", "hours_available",
    "hours_intake", "hours_follow_along", "hours_job_search", "hours_job_development",
    "demand_intake", "demand_follow_along", "demand_job_search", "demand_job_development",
    "employer_contacts", "caseload",
    # supervision and turnover: 1 if the post is filled; supervisor hours needed and received;
    # practice quality (supervision x new-hire ramp-up) that scaled the hazards this step
    "in_post", "supervision_needed", "supervision_received", "practice_quality",
)
# A planning step's week record but its day: WEEK_COLUMNS[1:] as native doubles (struct format), appended
# by the planning step as bytes (a record a state met before reuses) and joined into the week table.
WEEK_ROW = f"{len(WEEK_COLUMNS) - 1}d"
MONTH_COLUMNS = ("day", "waitlist", "caseload", "employed")
VACANCY_COLUMNS = ("post", "start_day", "end_day")
WEEK = {name: i for i, name in enumerate(WEEK_COLUMNS)}    # column index by name
MONTH = {name: i for i, name in enumerate(MONTH_COLUMNS)}
VACANCY = {name: i for i, name in enumerate(VACANCY_COLUMNS)}



class Job:
    """One job spell; ``end_day`` and ``end_reason`` are set when it stops."""

    __slots__ = ("member_id", "number", "start_day", "end_day", "hours_per_week", "hourly_wage",
                 "preference_match", "end_reason", "observed_until_day", "fragile", "capped")

    def __init__(self, member_id: int, number: int, start_day: float, hours: float, wage: float, match: bool,
                 fragile: bool = False):
        self.member_id = member_id
        self.number = number              # 1 for the member's first job
        self.start_day = start_day
        self.end_day = None               # None while going, or when censored at the member's exit
        self.hours_per_week = hours
        self.hourly_wage = wage
        self.preference_match = match
        self.end_reason = _ONGOING
        self.observed_until_day = None    # the job's last observed day (end, exit or horizon)
        self.fragile = fragile            # latent class (tenure.py): fragile jobs end fragile_rate_ratio times faster
        self.capped = False               # hours cut to keep earnings under SGA (benefit_choice.py)


class Vacancy:
    """A specialist post standing vacant from ``start_day`` to ``end_day`` (None while open)."""

    __slots__ = ("post", "start_day", "end_day")

    def __init__(self, post: int, start_day: float):
        self.post = post
        self.start_day = start_day
        self.end_day = None


class ReplicationRecords:
    """Raw records of one replication, filled by the model."""

    def __init__(self, replication: int):
        self.replication = replication
        self.members: list[Member] = []
        self.jobs: list[Job] = []
        # One row per specialist and planning step: its day, and the rest of WEEK_COLUMNS
        # (records.WEEK_ROW bytes: a specialist's row is reused while nothing changes).
        self.week_days: list[float] = []
        self.week_rows: list[bytes] = []
        # (day, waitlist, caseload, employed) at each month end
        self.months: list[tuple] = []
        # each vacancy of a specialist post (turnover)
        self.vacancies: list[Vacancy] = []
        self.horizon = NAN

    def start_job(self, member_id: int, number: int, t: float, hours: float, wage: float, match: bool,
                  fragile: bool = False) -> Job:
        job = Job(member_id, number, t, hours, wage, match, fragile)
        self.jobs.append(job)
        return job

    def end_job(self, job: Job, t: float, reason: JobEnd) -> None:
        """Close a job; ``LEFT_SERVICES_WHILE_WORKING`` censors it at the member's exit."""
        if reason >= 0:
            job.end_day = t
        job.end_reason = reason
        job.observed_until_day = t

    def open_vacancy(self, post: int, t: float) -> Vacancy:
        v = Vacancy(post, t)
        self.vacancies.append(v)
        return v

    def close(self, horizon: float, specialists) -> None:
        """Censor what is still going at the horizon."""
        self.horizon = horizon
        for v in self.vacancies:
            if v.end_day is None:
                v.end_day = horizon
        for m in self.members:
            if m.job is not None:
                m.days_employed += horizon - m.job.start_day
                m.job.observed_until_day = horizon

    def freeze(self) -> "FrozenRecords":
        return FrozenRecords.from_records(self)


@dataclass
class FrozenRecords:
    """Arrays of one replication (NaN where an event did not happen)."""

    replication: int
    horizon: float
    member: dict[str, np.ndarray]
    job: dict[str, np.ndarray]
    week: np.ndarray
    month: np.ndarray
    # (post, start day, end day) of each vacancy (turnover; VACANCY_COLUMNS); empty without turnover
    vacancy: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    # What later steps compute from these records once and share (the metrics' budget rows, which the
    # budget table reuses: economics/costs.py ``replication_budget``), by name; not part of the records.
    derived: dict | None = field(default=None, compare=False, repr=False)

    # ------------------------------------------------------------------ named accessors

    def job_ended(self) -> np.ndarray:
        """Per job: it ended while the member was in services (not censored at an exit or the horizon)."""
        return np.isfinite(self.job["end_day"])

    def job_stop_day(self) -> np.ndarray:
        """Per job: the last day it was observed, its end or where it was censored (member's exit, horizon)."""
        j = self.job
        return np.where(np.isfinite(j["end_day"]), j["end_day"], j["observed_until_day"])

    def job_end_is(self, reason: JobEnd) -> np.ndarray:
        return self.job["end_reason"] == reason

    def exit_is(self, reason: ExitReason) -> np.ndarray:
        """Per member: left for ``reason``."""
        return self.member["exit_reason"] == reason

    def enrolled_from(self, day: float) -> np.ndarray:
        """Per member: enrolled on or after ``day``."""
        enr = self.member["enrollment_day"]
        return np.isfinite(enr) & (enr >= day)

    def weeks(self, start: float = -np.inf, in_post_only: bool = False) -> dict[str, np.ndarray]:
        """Week records (specialist x planning step) from ``start`` on, by column name (WEEK_COLUMNS).

        ``in_post_only`` drops the steps of vacant posts (turnover): specialist-weeks.
        """
        w = self.week
        if w.shape[1] < len(WEEK_COLUMNS):
            # Core layout of older records (13 columns): every post filled, no supervision
            # needed, practice quality 1.
            extra = np.tile([1.0, 0.0, 0.0, 1.0], (len(w), 1))[:, : len(WEEK_COLUMNS) - w.shape[1]]
            w = np.hstack([w, extra])
        keep = w[:, WEEK["day"]] >= start
        if in_post_only:
            keep &= w[:, WEEK["in_post"]] > 0
        w = w[keep]
        return {name: w[:, i] for i, name in enumerate(WEEK_COLUMNS)}

    def months(self) -> dict[str, np.ndarray]:
        """Month-end snapshots by column name (MONTH_COLUMNS)."""
        return {name: self.month[:, i] for i, name in enumerate(MONTH_COLUMNS)}

    def vacancy_days(self, start, end):
        """Days specialist posts stood vacant within [start, end], summed over posts (0 without turnover).

        ``start`` and ``end`` may be arrays of windows (say the years of a budget): one total each.
        """
        start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
        v = self.vacancy
        if len(v) == 0:
            days = np.zeros(start.shape)
        else:
            lo, hi = start[..., None], end[..., None]
            v_start, v_end = v[:, VACANCY["start_day"]], v[:, VACANCY["end_day"]]
            stop = np.where(np.isfinite(v_end), v_end, hi)  # a vacancy still open runs to the window's end
            days = np.clip(np.minimum(stop, hi) - np.maximum(v_start, lo), 0.0, None).sum(axis=-1)
        return float(days) if days.ndim == 0 else days

    @classmethod
    def from_records(cls, r: ReplicationRecords) -> "FrozenRecords":
        # One pass over the members and one over the jobs into a float table (None -> NaN),
        # then typed columns: ids, counts and codes are small integers, exact in floats.
        m = np.array([(x.id, x.referral_day, x.enrollment_day, x.first_contact_day, x.first_job_day, x.exit_day,
                       x.exit_reason, x.n_jobs, x.days_employed,
                       -1 if x.specialist is None else x.specialist.index, x.staff_change_day, x.benefit,
                       x.counselled)
                      for x in r.members], dtype=float).reshape(-1, 13)
        member = {
            "member_id": m[:, 0].astype(np.int64),
            "referral_day": m[:, 1],
            "enrollment_day": m[:, 2],
            "first_employer_contact_day": m[:, 3],
            "first_job_day": m[:, 4],
            "exit_day": m[:, 5],
            "exit_reason": m[:, 6].astype(np.int8),
            "jobs": m[:, 7].astype(np.int32),
            "days_employed": m[:, 8],
            "specialist": m[:, 9].astype(np.int16),
            "staff_change_day": m[:, 10],
            "benefit_status": m[:, 11].astype(np.int8),   # benefit_choice.Benefit
            "counselled": m[:, 12].astype(bool),
        }
        j = np.array([(x.member_id, x.number, x.start_day, x.end_day, x.hours_per_week, x.hourly_wage,
                       x.preference_match, x.end_reason, x.observed_until_day, x.fragile, x.capped)
                      for x in r.jobs], dtype=float).reshape(-1, 11)
        job = {
            "member_id": j[:, 0].astype(np.int64),
            "job_number": j[:, 1].astype(np.int32),
            "start_day": j[:, 2],
            "end_day": j[:, 3],
            "hours_per_week": j[:, 4],
            "hourly_wage": j[:, 5],
            "preference_match": j[:, 6].astype(bool),
            "end_reason": j[:, 7].astype(np.int8),
            "observed_until_day": j[:, 8],
            # latent class of the job (tenure.py): fragile jobs end fragile_rate_ratio times faster
            "fragile": j[:, 9].astype(bool),
            # hours cut so a month's earnings stay under SGA (an SSDI beneficiary's choice; benefit_choice.py)
            "hours_capped": j[:, 10].astype(bool),
        }
        n_weeks = len(r.week_days)
        week = np.empty((n_weeks, len(WEEK_COLUMNS)))
        if n_weeks:
            week[:, 0] = r.week_days
            # The rows are packed doubles already (WEEK_ROW): joined, they are the table's bytes.
            week[:, 1:] = np.frombuffer(b"".join(r.week_rows), dtype=np.float64).reshape(n_weeks, -1)
        month = np.array(r.months, dtype=float).reshape(-1, 4)
        vacancy = np.array([(v.post, v.start_day, v.end_day) for v in r.vacancies], dtype=float).reshape(-1, 3)
        return cls(r.replication, r.horizon, member, job, week, month, vacancy)
