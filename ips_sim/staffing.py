"""Specialists and how their hours are shared among activities.

Capacity is hours: each planning step a specialist has a fixed number of hours
for direct work (paid hours less meetings, documentation and travel). Intake,
follow-along, job search and job development each demand hours; the policy
named in the scenario decides who gets what when demand exceeds supply.
"""

from __future__ import annotations

import math

from .hazard import HazardClock
from .scenario import ACTIVITIES, Scenario

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


def allocate(available: float, demand: tuple, policy: str, order: tuple) -> list:
    """Hours received by each activity (indexed as ``ACTIVITIES``).

    ``priority``: serve activities in ``order``; the first ones are served in
    full while hours last. ``proportional``: every activity gets the same
    share of its demand.

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


class Specialist:
    """One employment specialist: caseload counters and the hazard clocks of their members."""

    __slots__ = (
        "index", "cap", "n_caseload", "n_search", "n_employed", "n_new_workers",
        "intake_backlog", "find", "contact", "dis_early", "dis_late", "dis_employed", "job_end",
    )

    def __init__(self, index: int, cap: int):
        self.index = index
        self.cap = cap
        self.n_caseload = 0       # enrolled members (job seekers + workers)
        self.n_search = 0         # members in job search
        self.n_employed = 0       # members in a job (follow-along)
        self.n_new_workers = 0    # workers still in the first month of a job
        self.intake_backlog = 0.0  # intake hours owed to new members
        self.find = HazardClock()          # job seekers: finding a job
        self.contact = HazardClock()       # job seekers: first employer contact
        self.dis_early = HazardClock()     # job seekers in their first months: dropping out
        self.dis_late = HazardClock()      # job seekers later on: dropping out
        self.dis_employed = HazardClock()  # workers: dropping out of services
        self.job_end = HazardClock()       # workers: the job ending

    @property
    def room(self) -> int:
        return self.cap - self.n_caseload
