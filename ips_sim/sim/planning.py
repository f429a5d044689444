"""The planning step: every ``planning_step_days`` each specialist shares out their hours and the hazards follow.

This is the one path by which staffing acts on outcomes: hours available are
allocated to intake, follow-along, job search and job development; the share of
demanded hours each activity receives (times the specialist's practice quality)
sets the six hazard rates of the specialist's members (job finding, first employer
contact, drop-out by phase, job ending). A specialist's shares, rates and week
record are a pure function of their state, so an unchanged state costs nothing and
a state seen before is looked up in a table (:func:`shared_memo`).
"""

from __future__ import annotations

import struct

from ips_sim.config import DAYS_PER_MONTH, Scenario
from ips_sim.sim.hazard import set_rates
from ips_sim.sim.records import WEEK_ROW
from ips_sim.sim.staffing import FOLLOW_ALONG, INTAKE, JOB_DEVELOPMENT, JOB_SEARCH, Specialist, allocate

MEMO_SIZE = 4096  # states remembered per specialist (a bound; a run visits a few hundred)


class PlanningStep:
    """The planning step of :class:`ips_sim.sim.model.Program` (a part of that class, in its own module).

    Uses the program's ``specialists``, ``step``, ``step_in_force``, ``workforce``, ``rec``,
    ``k``, ``policy``, ``order``, ``kernel``, ``_push`` and ``_end_first_months``.
    """

    def _planning_step(self, _a, _b, t: float) -> None:
        """Every planning step, each specialist shares out their hours and the hazards follow; then the next step.

        A specialist's hours, rates and week record are a pure function of their state
        (counts, intake owed, hours, practice quality, supervision): unchanged since the
        last step, the rates in force carry on; a state seen before reuses its numbers. The
        state is kept in two parts: the counts and intake owed, which change all the time, and
        the setting (hours, quality, supervision), which changes only with staff turnover and
        ramp-up; the table of states seen is one per setting.
        Thresholds reached before the step ends go onto the event queue as member events.
        """
        t_end = t + self.step
        self.step_in_force.end = t_end
        changes = self.workforce.changes
        if changes:
            self.workforce.supervise()
        push, queue_due = self._push, self.kernel.queue_due
        week_days, week_rows = self.rec.week_days, self.rec.week_rows
        for s in self.specialists:
            if s.first_months and s.first_months[0][0] <= t:
                self._end_first_months(s, t)
            if changes or not s.setting:
                # Hours, practice quality and supervision: set once unless posts turn over or new hires ramp up.
                setting = (s.hours, s.quality, s.in_post, s.sup_need, s.sup_got)
                if setting != s.setting:
                    s.setting = setting
                    s.memo_now = states_seen(s.memo, setting)
                    s.state = ()
            state = (s.n_search, s.n_employed, s.n_new_workers, s.intake_backlog, s.n_caseload)
            if state != s.state:
                s.state = state
                memo = s.memo_now
                shares = memo.get(state)
                if shares is None:
                    if len(memo) >= MEMO_SIZE:
                        memo.clear()
                    shares = memo[state] = share_hours(self.k, self.policy, self.order, s, state, s.setting)
                s.intake_served, rates, s.row = shares
                if rates != s.rates:  # another state, often the same rates
                    s.rates = rates
                    set_rates(s.clocks, rates, t)
            s.intake_backlog = state[3] - s.intake_served
            for clock in s.clocks:
                if clock.due_top <= t_end:  # the member events that fall due within this step
                    queue_due(clock, t_end, t)
            week_days.append(t)
            week_rows.append(s.row)
        push(t_end, self._planning_step, None, None)


def bounded_table(tables: dict, key, limit: int) -> dict:
    """The table kept under ``key`` in ``tables`` (new and empty on first use); when ``limit`` tables are
    kept, all are dropped first: a bound on memory, never on results, which do not depend on the tables."""
    table = tables.get(key)
    if table is None:
        if len(tables) >= limit:
            tables.clear()
        table = tables[key] = {}
    return table


def states_seen(memo: dict, setting: tuple) -> dict:
    """The table of planning states seen with ``setting`` (hours, quality, in post, supervision) in ``memo``."""
    return bounded_table(memo, setting, MEMO_SIZE)


def share_hours(k: PlanningConstants, policy: str, order: tuple, s: Specialist,
                state: tuple, setting: tuple) -> tuple[float, tuple, bytes]:
    """Allocate the hours; the six hazard rates from the share of demanded hours received.

    Returns (intake hours served, rates in the order of ``Specialist.clocks``, the
    step's week record but its day, packed as ``records.WEEK_ROW`` doubles: a state met
    again appends it as it is, and the records' week table is these bytes joined).
    """
    n_search, n_employed, n_new, backlog, n_caseload = state
    hours, q, in_post, sup_need, sup_got = setting
    demand = (
        backlog,
        (n_new * k.follow_first_month + (n_employed - n_new) * k.follow) * k.wf,
        n_search * k.search * k.wf,
        k.development,
    )
    got = allocate(hours, demand, policy, order)

    # Share of demanded hours actually received, times the specialist's practice
    # quality (supervision, new-hire ramp-up; exactly 1 in the core model): the
    # effective dose that drives the hazards.
    search_share = (got[JOB_SEARCH] / demand[JOB_SEARCH] if demand[JOB_SEARCH] > 0 else 1.0) * q
    follow_share = (got[FOLLOW_ALONG] / demand[FOLLOW_ALONG] if demand[FOLLOW_ALONG] > 0 else 1.0) * q
    contacts = got[JOB_DEVELOPMENT] / k.hours_per_contact
    if n_search > 0:
        per_seeker_week = contacts * q / k.wf / n_search  # effective contacts
        dev_effect = min(1.0, per_seeker_week / k.contacts_full_effect)
    else:
        dev_effect = 1.0

    m = DAYS_PER_MONTH
    find_rate = (k.rate_own + k.rate_search * search_share ** k.dose_exponent + k.rate_development * dev_effect) / m
    thin_search = 1.0 + k.shortfall_effect * (1.0 - search_share)
    thin_follow = 1.0 + k.shortfall_effect * (1.0 - follow_share)
    rates = (
        find_rate,
        search_share / k.first_contact_mean_days,
        k.disengage_early * thin_search / m,
        k.disengage_late * thin_search / m,
        k.disengage_employed * thin_follow / m,
        k.job_end * (1.0 + k.follow_shortfall_effect * (1.0 - follow_share)) / m,
    )
    row = _pack(s.index, hours, got[INTAKE], got[FOLLOW_ALONG], got[JOB_SEARCH], got[JOB_DEVELOPMENT],
                demand[INTAKE], demand[FOLLOW_ALONG], demand[JOB_SEARCH], demand[JOB_DEVELOPMENT], contacts,
                n_caseload, 1.0 if in_post else 0.0, sup_need, sup_got, q)
    return got[INTAKE], rates, row


_pack = struct.Struct(WEEK_ROW).pack


# A planning state's shares, rates and week record are a pure function of the state, the
# scenario's planning numbers and the specialist's index (share_hours), so specialists
# with the same numbers share one table of the states seen, across the replications run
# in this process: later replications mostly find their states there. Results never
# depend on what is in it.
_SHARED_MEMOS: dict[tuple, dict] = {}
_MEMOS_KEPT = 8  # tables kept (a bound on memory: a sweep meets many planning numbers)


def shared_memo(key: tuple) -> dict:
    """The table of planning states seen for ``key`` (planning numbers, policy, order, specialist index)."""
    return bounded_table(_SHARED_MEMOS, key, _MEMOS_KEPT)


class PlanningConstants:
    """Scenario numbers the planning step uses, read once (attribute chains on the scenario cost time)."""

    __slots__ = ("wf", "follow_first_month", "follow", "search", "development", "hours_per_contact",
                 "contacts_full_effect", "rate_own", "rate_search", "rate_development", "dose_exponent",
                 "first_contact_mean_days", "shortfall_effect", "disengage_early", "disengage_late",
                 "disengage_employed", "job_end", "follow_shortfall_effect")

    def __init__(self, sc: Scenario, wf: float):
        sv, js, en, jb = sc.service, sc.job_search, sc.engagement, sc.jobs
        self.wf = wf
        self.follow_first_month = sv.follow_along_hours_per_member_week_first_month
        self.follow = sv.follow_along_hours_per_member_week
        self.search = sv.job_search_hours_per_member_week
        self.development = sv.job_development_hours_per_week * sc.team.fte_per_specialist * wf
        self.hours_per_contact = sv.job_development_hours_per_contact
        self.contacts_full_effect = js.contacts_per_searcher_week_full_effect
        self.rate_own = js.job_rate_own_per_month
        self.rate_search = js.job_rate_search_per_month
        self.rate_development = js.job_rate_development_per_month
        self.dose_exponent = js.dose_exponent
        self.first_contact_mean_days = js.first_contact_mean_days
        self.shortfall_effect = en.shortfall_effect
        self.disengage_early = en.disengage_rate_early_per_month
        self.disengage_late = en.disengage_rate_per_month
        self.disengage_employed = en.disengage_rate_employed_per_month
        self.job_end = jb.end_rate_per_month
        self.follow_shortfall_effect = jb.follow_along_shortfall_effect

    def key(self) -> tuple:
        """The numbers as a tuple (part of the key of :func:`shared_memo`)."""
        return tuple(getattr(self, name) for name in self.__slots__)
