"""Specialists and how their hours are shared among activities.

Capacity is hours: each planning step a specialist has a fixed number of hours
for direct work (paid hours less meetings, documentation and travel). Intake,
follow-along, job search and job development each demand hours; the policy
named in the scenario decides who gets what when demand exceeds supply.
"""

from __future__ import annotations

import math

from ips_sim.config import ACTIVITIES, DAYS_PER_MONTH, DAYS_PER_YEAR, Scenario
from ips_sim.sim.hazard import HazardClock, Step

INTAKE, FOLLOW_ALONG, JOB_SEARCH, JOB_DEVELOPMENT = range(4)


def direct_hours_per_week(scenario: Scenario) -> float:
    """Hours a specialist has for member and employer work in a week."""
    tu = scenario.time_use
    fte = scenario.team.fte_per_specialist
    return fte * (tu.paid_hours_per_week - tu.meeting_hours_per_week) * (
        1.0 - tu.documentation_share - tu.travel_share
    )


def caseload_cap(scenario: Scenario) -> int:
    """Members one specialist may carry: the cap per full-time specialist, scaled by FTE."""
    return max(1, math.floor(scenario.team.caseload_cap * scenario.team.fte_per_specialist + 1e-9))


def team_caseload_cap(scenario: Scenario) -> int:
    """Places on the team: specialists x each one's FTE-scaled cap (what the model enforces)."""
    return scenario.team.specialists * caseload_cap(scenario)


def allocate(available: float, demand: tuple, policy: str, order: tuple) -> list:
    """Hours received by each activity (indexed as ``ACTIVITIES``).

    ``priority``: serve activities in ``order``; the first ones are served in
    full while hours last. ``proportional``: every activity gets the same
    share of its demand.

    Examples:
        >>> allocate(10.0, (2.0, 4.0, 8.0, 5.0), "priority", (0, 1, 2, 3))
        [2.0, 4.0, 4.0, 0.0]
        >>> allocate(9.5, (2.0, 4.0, 8.0, 5.0), "proportional", (0, 1, 2, 3))
        [1.0, 2.0, 4.0, 2.5]
    """
    total = demand[0] + demand[1] + demand[2] + demand[3]
    if total <= available:
        return list(demand)
    if policy == "proportional":
        f = available / total
        return [d * f for d in demand]
    out = [0.0, 0.0, 0.0, 0.0]
    left = available
    for a in order:
        give = demand[a] if demand[a] < left else left
        out[a] = give
        left -= give
    return out


def priority_indices(scenario: Scenario) -> tuple:
    return tuple(ACTIVITIES.index(a) for a in scenario.time_use.priority_order)


# --------------------------------------------------------------------------- supervision and new hires
#
# The supervisor's hours are a resource like the specialists' hours: each planning
# step they are shared among the specialists supervised (this program's and, if the
# supervisor covers other teams, theirs), every one getting the same share of the
# hours they need. That share (the coverage) sets the practice quality of each
# specialist, which scales the service the hazards see (planning.share_hours).


def supervision_hours_per_week(scenario: Scenario) -> float:
    """Supervisor hours a week available for supervising: FTE x paid hours less own duties."""
    sv = scenario.supervision
    return max(0.0, sv.supervisor_fte * sv.paid_hours_per_week - sv.own_duties_hours_per_week)


def supervised_specialists(scenario: Scenario) -> int:
    """Specialists the supervisor covers, this program's included."""
    n = scenario.supervision.specialists_per_supervisor
    return scenario.team.specialists if n is None else n


def expected_post_shares(scenario: Scenario) -> tuple[float, float]:
    """Long-run shares of time a post is held by a new hire in ramp-up, and vacant.

    Used for the specialists of other teams (not simulated): their posts turn over
    like this program's. Alternating renewal process: tenure ~ Exp(rate), then a
    vacancy of mean ``hiring_delay_days``; a new hire ramps up for the first
    ``ramp_up_months`` of a tenure (at nominal speed), so the expected ramp-up time
    per tenure is E[min(T, R)] = (1 - exp(-rate R)) / rate.

    >>> from ips_sim.config import scenario_from_dict
    >>> expected_post_shares(scenario_from_dict({}))
    (0.0, 0.0)
    """
    to = scenario.turnover
    if not to.enabled or to.annual_rate <= 0:
        return 0.0, 0.0
    rate = to.annual_rate / DAYS_PER_YEAR
    ramp = to.ramp_up_months * DAYS_PER_MONTH
    cycle = 1.0 / rate + to.hiring_delay_days
    in_ramp = (1.0 - math.exp(-rate * ramp)) / rate
    return in_ramp / cycle, to.hiring_delay_days / cycle


def coverage(available: float, needed: float) -> float:
    """Share of the supervision hours needed that the supervisor can give (1 when all met).

    >>> coverage(28.0, 25.0), coverage(28.0, 40.0), coverage(0.0, 0.0)
    (1.0, 0.7, 1.0)
    """
    if needed <= available:
        return 1.0
    return available / needed


def practice_quality(cover: float, effect: float, ramp: float, start: float) -> float:
    """Practice quality of a specialist: 1 for an experienced, fully supervised specialist.

    ``(1 - effect x (1 - cover))`` for supervision, times ``start + (1 - start) x ramp``
    for a new hire ``ramp`` (0..1) of the way through ramp-up.

    >>> practice_quality(1.0, 0.5, 1.0, 0.5)
    1.0
    >>> practice_quality(0.6, 0.5, 1.0, 0.5)
    0.8
    >>> practice_quality(0.6, 0.5, 0.5, 0.5)
    0.6000000000000001
    """
    q = 1.0 - effect * (1.0 - cover)
    if ramp < 1.0:
        q *= start + (1.0 - start) * ramp
    return q


class Specialist:
    """One employment specialist: caseload counters and the hazard clocks of their members."""

    __slots__ = (
        "index", "cap", "n_caseload", "n_search", "n_employed", "n_new_workers",
        "intake_backlog", "find", "contact", "dis_early", "dis_late", "dis_employed", "job_end",
        "base_cap", "hours", "in_post", "ramp", "quality", "sup_need", "sup_got", "vacancy",
        "clocks", "first_months", "intake_served", "memo", "memo_now", "rates", "row", "setting", "state",
        "intake_total",
    )

    def __init__(self, index: int, cap: int, hours: float = 0.0, step: Step | None = None):
        self.index = index
        self.cap = cap            # 0 while the post is vacant (nobody is enrolled with it)
        self.base_cap = cap
        self.hours = hours        # direct hours per planning step; 0 while vacant
        self.in_post = True       # False while the post is vacant (turnover)
        self.ramp = 1.0           # ramp-up progress of a new hire, 1 = experienced
        self.quality = 1.0        # practice quality this planning step (supervision x ramp-up)
        self.sup_need = 0.0       # supervisor hours needed this planning step
        self.sup_got = 0.0        # supervisor hours received this planning step
        self.vacancy = None       # the open records.Vacancy while the post is vacant
        self.n_caseload = 0       # enrolled members (job seekers + workers)
        self.n_search = 0         # members in job search
        self.n_employed = 0       # members in a job (follow-along)
        self.n_new_workers = 0    # workers still in the first month of a job
        self.first_months: list = []  # heap of (day the first month ends, token, member) of new workers
        self.intake_backlog = 0.0  # intake hours owed to new members
        self.intake_total = 0.0    # intake hours ever owed (owed - backlog = delivered, first come first served)
        self.find = HazardClock(step)          # job seekers: finding a job
        self.contact = HazardClock(step)       # job seekers: first employer contact
        self.dis_early = HazardClock(step)     # job seekers in their first months: dropping out
        self.dis_late = HazardClock(step)      # job seekers later on: dropping out
        self.dis_employed = HazardClock(step)  # workers: dropping out of services
        self.job_end = HazardClock(step)       # workers: the job ending
        self.clocks = (self.find, self.contact, self.dis_early, self.dis_late, self.dis_employed, self.job_end)
        # The planning step's state: counts and intake owed, and the setting (hours, quality,
        # supervision); the intake hours served and week record that follow from it; and the
        # numbers of every state seen, a table per setting (planning.PlanningStep._planning_step:
        # shares and rates are a pure function of the state).
        self.state: tuple = ()
        self.setting: tuple = ()
        self.intake_served = 0.0
        self.row: bytes = b""
        self.rates: tuple = ()    # the clocks' rates in force (set by planning.PlanningStep._planning_step)
        self.memo: dict = {}      # setting -> {state -> numbers}
        self.memo_now: dict = {}  # the table of the setting in force

    @property
    def room(self) -> int:
        return self.cap - self.n_caseload
