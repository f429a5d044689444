"""What one replication leaves behind: members, jobs, weeks and month-ends.

The event loop appends plain tuples and mutates small slot objects; nothing
here runs per event beyond that. :meth:`ReplicationRecords.freeze` turns the
lists into numpy arrays (compact to pickle between processes); tables are
built from those once, in :mod:`ips_sim.metrics` and :mod:`ips_sim.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NAN = float("nan")

# Which token a member event must match (see model.py): 0 drop-out, 1 main, 2 contact.
# 3: the member's id (events checked by phase instead). Order as the kinds in model.py:
# DROP_OUT, FIRST_CONTACT, JOB_FOUND, JOB_ENDED, EARLY_PERIOD_OVER, FIRST_MONTH_OVER, STEP_DOWN, GIVE_UP,
# PREPARATION_OVER, DISCHARGE
_TOKEN_SLOT = (0, 2, 1, 1, 0, 1, 1, 1, 1, 3)

EXIT_REASONS = ("disengaged", "stepped_down", "gave_up_waiting", "discharged_no_job")
JOB_END_REASONS = ("quit", "fired", "temporary_job_ended", "laid_off")


class Member:
    """A person referred to the program, from referral to exit."""

    __slots__ = (
        "id", "referral_day", "enrollment_day", "first_contact_day", "first_job_day",
        "exit_day", "exit_reason", "n_jobs", "days_employed", "specialist", "phase", "job", "new_worker",
        "frailty", "e_drop", "e_find", "e_contact",
        "tok_drop", "tok_main", "tok_contact", "th_drop", "clock_drop",
        "th_main", "th_contact", "staff_change_day",
    )

    def __init__(self, member_id: int, referral_day: float):
        self.id = member_id
        self.referral_day = referral_day
        self.enrollment_day = None
        self.first_contact_day = None
        self.first_job_day = None
        self.exit_day = None
        self.exit_reason = None
        self.n_jobs = 0
        self.days_employed = 0.0
        self.specialist = None
        self.phase = 0
        self.job = None
        self.new_worker = False
        self.tok_drop = self.tok_main = self.tok_contact = 0
        self.th_drop = 0.0
        self.clock_drop = None
        self.th_main = 0.0             # threshold on the job-finding or job-ending clock (turnover moves it)
        self.th_contact = 0.0          # threshold on the first-contact clock
        self.staff_change_day = None   # first day the member's specialist left while the member was enrolled

    def token_of(self, kind: int) -> int:
        slot = _TOKEN_SLOT[kind]
        if slot == 0:
            return self.tok_drop
        if slot == 1:
            return self.tok_main
        return self.tok_contact if slot == 2 else self.id


WEEK_COLUMNS = (
    "day", "specialist", "hours_available",
    "hours_intake", "hours_follow_along", "hours_job_search", "hours_job_development",
    "demand_intake", "demand_follow_along", "demand_job_search", "demand_job_development",
    "employer_contacts", "caseload",
    # supervision and turnover: 1 if the post is filled; supervisor hours needed and received;
    # practice quality (supervision x new-hire ramp-up) that scaled the hazards this step
    "in_post", "supervision_needed", "supervision_received", "practice_quality",
)
MONTH_COLUMNS = ("day", "waitlist", "caseload", "employed")

# Job list layout (a list, mutated when the job ends).
J_MEMBER, J_NUMBER, J_START, J_END, J_HOURS, J_WAGE, J_MATCH, J_REASON, J_OBSERVED, J_FRAGILE = range(10)


class ReplicationRecords:
    """Raw records of one replication, filled by the model."""

    def __init__(self, replication: int):
        self.replication = replication
        self.members: list[Member] = []
        self.jobs: list[list] = []
        # (day, specialist, hours available, hours received by intake, follow_along, job_search,
        #  job_development, hours demanded by the same four, employer contacts, caseload): see WEEK_COLUMNS
        self.weeks: list[tuple] = []
        # (day, waitlist, caseload, employed) at each month end
        self.months: list[tuple] = []
        # [post, start day, end day (None while open)] of each vacancy of a specialist post
        self.vacancies: list[list] = []
        self.horizon = NAN

    def start_job(self, member_id: int, number: int, t: float, hours: float, wage: float, match: bool,
                  fragile: bool = False) -> list:
        job = [member_id, number, t, None, hours, wage, match, None, None, fragile]
        self.jobs.append(job)
        return job

    def end_job(self, job: list, t: float, reason: str | None) -> None:
        """Close a job; ``reason`` None means the member left services while working (censored)."""
        if reason is not None:
            job[J_END] = t
            job[J_REASON] = reason
        else:
            job[J_REASON] = ""
        job[J_OBSERVED] = t

    def close(self, horizon: float, specialists) -> None:
        """Censor what is still going at the horizon."""
        self.horizon = horizon
        for v in self.vacancies:
            if v[2] is None:
                v[2] = horizon
        for m in self.members:
            if m.job is not None:
                m.days_employed += horizon - m.job[J_START]
                m.job[J_OBSERVED] = horizon

    def freeze(self) -> "FrozenRecords":
        return FrozenRecords.from_records(self)


def _f(x):
    return NAN if x is None else x


@dataclass
class FrozenRecords:
    """Arrays of one replication (NaN where an event did not happen)."""

    replication: int
    horizon: float
    member: dict[str, np.ndarray]
    job: dict[str, np.ndarray]
    week: np.ndarray
    month: np.ndarray
    # (post, start day, end day) of each vacancy (turnover); empty without turnover
    vacancy: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))

    @classmethod
    def from_records(cls, r: ReplicationRecords) -> "FrozenRecords":
        ms = r.members
        exit_code = {None: -1, **{name: i for i, name in enumerate(EXIT_REASONS)}}
        member = {
            "member_id": np.fromiter((m.id for m in ms), np.int64, len(ms)),
            "referral_day": np.fromiter((m.referral_day for m in ms), float, len(ms)),
            "enrollment_day": np.fromiter((_f(m.enrollment_day) for m in ms), float, len(ms)),
            "first_employer_contact_day": np.fromiter((_f(m.first_contact_day) for m in ms), float, len(ms)),
            "first_job_day": np.fromiter((_f(m.first_job_day) for m in ms), float, len(ms)),
            "exit_day": np.fromiter((_f(m.exit_day) for m in ms), float, len(ms)),
            "exit_reason": np.fromiter((exit_code[m.exit_reason] for m in ms), np.int8, len(ms)),
            "jobs": np.fromiter((m.n_jobs for m in ms), np.int32, len(ms)),
            "days_employed": np.fromiter((m.days_employed for m in ms), float, len(ms)),
            "specialist": np.fromiter((-1 if m.specialist is None else m.specialist.index for m in ms),
                                      np.int16, len(ms)),
            "staff_change_day": np.fromiter((_f(m.staff_change_day) for m in ms), float, len(ms)),
        }
        js = r.jobs
        reason_code = {None: -1, "": -2, **{name: i for i, name in enumerate(JOB_END_REASONS)}}
        job = {
            "member_id": np.fromiter((j[J_MEMBER] for j in js), np.int64, len(js)),
            "job_number": np.fromiter((j[J_NUMBER] for j in js), np.int32, len(js)),
            "start_day": np.fromiter((j[J_START] for j in js), float, len(js)),
            "end_day": np.fromiter((_f(j[J_END]) for j in js), float, len(js)),
            "hours_per_week": np.fromiter((j[J_HOURS] for j in js), float, len(js)),
            "hourly_wage": np.fromiter((j[J_WAGE] for j in js), float, len(js)),
            "preference_match": np.fromiter((j[J_MATCH] for j in js), bool, len(js)),
            "end_reason": np.fromiter((reason_code[j[J_REASON]] for j in js), np.int8, len(js)),
            "observed_until_day": np.fromiter((_f(j[J_OBSERVED]) for j in js), float, len(js)),
            # latent class of the job (tenure.py): fragile jobs end fragile_rate_ratio times faster
            "fragile": np.fromiter((j[J_FRAGILE] for j in js), bool, len(js)),
        }
        week = np.array(r.weeks, dtype=float).reshape(-1, len(WEEK_COLUMNS))
        month = np.array(r.months, dtype=float).reshape(-1, 4)
        vacancy = np.array(r.vacancies, dtype=float).reshape(-1, 3)
        return cls(r.replication, r.horizon, member, job, week, month, vacancy)
