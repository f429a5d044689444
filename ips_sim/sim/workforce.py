"""The program's workforce over time: supervision shared each planning step, and staff turnover.

Kept out of :class:`ips_sim.sim.model.Program` so the member event loop stays lean:
with turnover off nothing here runs per step (supervision coverage and practice
quality are set once). With turnover on, each post is a SimPy process (the
specialist leaves, the post stays vacant, a new hire ramps up) and the
supervisor's hours are shared out every planning step. The measure of
supervision received, from a replication's records, lives here too.
"""

from __future__ import annotations

import math
from collections import deque

from ips_sim.config import DAYS_PER_MONTH, DAYS_PER_YEAR, Scenario
from ips_sim.core.streams import Streams
from ips_sim.sim.records import FrozenRecords, Member, Phase
from ips_sim.sim.staffing import (
    Specialist,
    coverage,
    expected_post_shares,
    practice_quality,
    supervised_specialists,
    supervision_hours_per_week,
)

GONE = Phase.GONE


class Workforce:
    """Supervision and turnover of one program's specialist posts."""

    def __init__(self, program, scenario: Scenario, streams: Streams, vacant: int = 0,
                 new_hires: list[float] | tuple = ()):
        # ``program``: the model.Program whose posts these are (not imported: the model imports this
        # module). Its interface here: specialists, rec, env, step, week_factor, hours_per_step,
        # specialist_with_room(), admit_from_waitlist(t), move_member(m, r, t).
        self.program = program
        self.sc = scenario
        self.streams = streams
        sup, to = scenario.supervision, scenario.turnover
        wf = program.week_factor
        self.supervised = sup.enabled
        self.turnover_on = to.enabled
        self.sup_available = supervision_hours_per_week(scenario) * wf
        self.sup_exp_need = sup.hours_per_specialist_week * wf
        self.sup_new_need = sup.hours_per_new_hire_week * wf
        p_ramp, p_vacant = expected_post_shares(scenario)
        others = max(0, supervised_specialists(scenario) - scenario.team.specialists)
        # Specialists of other teams the supervisor also covers: expected need, their posts
        # turning over like this program's (steady state).
        self.sup_external_need = others * (
            self.sup_exp_need * (1.0 - p_ramp - p_vacant) + self.sup_new_need * p_ramp)
        self.practice_effect = sup.practice_effect
        self.ramp_days = to.ramp_up_months * DAYS_PER_MONTH
        self.ramp_step = program.step / self.ramp_days if self.ramp_days > 0 else 1.0
        self.ramp_start = to.new_hire_effectiveness
        self.ramp_sup_effect = to.ramp_supervision_effect
        self.reassign = to.caseload_on_departure == "reassign"
        self.orphans: deque[Member] = deque()  # members of a vacant post waiting for a colleague with room
        # Whether coverage and quality can change during the run: posts turn over, or today
        # (scenario start:) some are vacant or held by new hires still ramping up.
        self.changes = to.enabled or bool(vacant) or bool(new_hires) or bool(scenario.team.vacancies)
        if not self.changes:
            # Nobody leaves: every post filled by an experienced specialist for good, so
            # coverage and quality are constant; set them once and keep the loop lean.
            self.supervise()
        # Posts as they are today (start.vacant_posts): the last posts are the vacant ones, the
        # ones before them are held by new hires still ramping up.
        specialists = program.specialists
        n_posts = len(specialists)
        self.vacant_posts = specialists[n_posts - vacant:] if vacant else []
        for s, months in zip(specialists[n_posts - vacant - len(new_hires):n_posts - vacant], new_hires):
            s.ramp = min(1.0, months * DAYS_PER_MONTH / self.ramp_days) if self.ramp_days > 0 else 1.0
        for s in self.vacant_posts:
            self.depart(s, 0.0)

    def start(self) -> None:
        """Start one turnover process per post that turns over or is vacant today (after the model's own)."""
        to = self.sc.turnover
        turnover = to.enabled and to.annual_rate > 0
        for s in self.program.specialists:
            if not (turnover or s in self.vacant_posts):
                continue
            # Own streams per post: turnover never shifts another stream's draws.
            self.program.env.process(self.turnover(
                s, DAYS_PER_YEAR / to.annual_rate if turnover else math.inf, to.hiring_delay_days,
                self.streams.exponential(f"specialist_turnover_{s.index}"),
                self.streams.exponential(f"specialist_hiring_delay_{s.index}"),
                vacant=s in self.vacant_posts,
            ))
        for v in self.sc.team.vacancies:  # a known staffing history (team.vacancies)
            self.program.env.process(self.known_vacancy(self.program.specialists[v.post - 1],
                                                        v.from_month * DAYS_PER_MONTH, v.to_month * DAYS_PER_MONTH))

    def known_vacancy(self, s: Specialist, from_day: float, to_day: float):
        """A vacancy the scenario names (``team.vacancies``): the post empties, then a new hire fills it."""
        env = self.program.env
        if from_day > env.now:
            yield env.timeout(from_day - env.now)
        self.depart(s, env.now)
        yield env.timeout(to_day - env.now)
        self.hire(s, env.now)

    # ------------------------------------------------------------------ supervision

    def supervise(self) -> None:
        """Share the supervisor's hours out; set each specialist's practice quality for this step.

        Every specialist supervised gets the same share (coverage) of the hours they
        need; new hires need more. Quality = (1 - practice_effect x (1 - coverage)),
        times the new hire's ramp-up effectiveness; ramp-up advances more slowly when
        coverage is short.
        """
        specialists = self.program.specialists
        if self.supervised:
            exp_need, new_need = self.sup_exp_need, self.sup_new_need
            total = self.sup_external_need
            for s in specialists:
                need = (new_need if s.ramp < 1.0 else exp_need) if s.in_post else 0.0
                s.sup_need = need
                total += need
            c = coverage(self.sup_available, total)
        else:
            c = 1.0
        for s in specialists:
            s.sup_got = s.sup_need * c
            if s.in_post:
                s.quality = practice_quality(c, self.practice_effect, s.ramp, self.ramp_start)
                if s.ramp < 1.0:
                    s.ramp += self.ramp_step * (1.0 - self.ramp_sup_effect * (1.0 - c))
                    if s.ramp >= 1.0:
                        s.ramp = 1.0

    # ------------------------------------------------------------------ staff turnover

    def turnover(self, s: Specialist, tenure_days: float, delay_days: float, draw_leave, draw_delay,
                 vacant: bool = False):
        """One post: the specialist leaves (exponential tenure), the post stays vacant, a new hire starts.

        ``vacant``: the post is vacant on day 0 and recruitment is under way (exponential delay,
        memoryless, so the time already spent recruiting does not matter).
        """
        env = self.program.env
        if vacant:
            yield env.timeout(draw_delay() * delay_days)
            self.hire(s, env.now)
        while tenure_days < math.inf:
            yield env.timeout(draw_leave() * tenure_days)
            self.depart(s, env.now)
            yield env.timeout(draw_delay() * delay_days)
            self.hire(s, env.now)

    def depart(self, s: Specialist, t: float) -> None:
        """The specialist of post ``s`` leaves: the post has no hours and takes nobody new.

        Members move to colleagues with room (``reassign``); the rest stay with the
        vacant post and get no hours (their hazards follow at the next planning step).
        """
        p = self.program
        s.in_post = False
        s.hours = 0.0
        s.cap = 0
        s.quality = 1.0
        s.sup_need = s.sup_got = 0.0
        s.vacancy = p.rec.open_vacancy(s.index, t)
        self._rehome(s, t)

    def rehome_start_members(self) -> None:
        """Today's members on posts vacant today (scenario ``start:``) are handled as at a departure on day 0."""
        for s in self.vacant_posts:
            self._rehome(s, 0.0)

    def _rehome(self, s: Specialist, t: float) -> None:
        """Members of the vacant post ``s`` move to colleagues with room (``reassign``); the rest stay
        with the post and get no hours until a colleague has room or the new hire starts."""
        p = self.program
        members = [m for m in p.rec.members if m.specialist is s and m.phase != GONE]
        for m in members:
            if m.staff_change_day is None:
                m.staff_change_day = t
        if self.reassign:
            for m in members:
                r = p.specialist_with_room()
                if r is None:
                    self.orphans.append(m)
                else:
                    self.transfer(m, r, t)

    def hire(self, s: Specialist, t: float) -> None:
        """A new hire fills post ``s``: full hours from the next planning step, ramping up."""
        p = self.program
        s.in_post = True
        s.hours = p.hours_per_step
        s.cap = s.base_cap
        s.ramp = 0.0 if self.ramp_days > 0 else 1.0
        s.vacancy.end_day = t
        s.vacancy = None
        p.admit_from_waitlist(t)

    def reassign_orphans(self, t: float) -> None:
        """Members of vacant posts move to colleagues who now have room, in the order they were left."""
        orphans = self.orphans
        while orphans:
            m = orphans[0]
            if m.phase == GONE or m.specialist.in_post:
                orphans.popleft()  # left services, or the post was filled meanwhile
                continue
            r = self.program.specialist_with_room()
            if r is None:
                return
            orphans.popleft()
            self.transfer(m, r, t)

    def transfer(self, m: Member, r: Specialist, t: float) -> None:
        """Move an enrolled member to specialist ``r``, keeping every clock's residual hazard."""
        self.program.move_member(m, r, t)


# --------------------------------------------------------------------------- measures from records


def supervision_coverage(rec: FrozenRecords, start: float) -> float:
    """Supervisor hours received over hours needed, specialist-weeks in post from ``start`` on.

    1 when nothing was needed (supervision not modelled: every hour needed is met); NaN
    when no post was filled in the window.
    """
    w = rec.weeks(start, in_post_only=True)
    need = w["supervision_needed"].sum()
    if need > 0:
        return float(w["supervision_received"].sum() / need)
    return 1.0 if len(w["day"]) else math.nan



