"""Member life events: referral, waitlist, enrollment, job search, jobs, exit.

A member event is a queued call ``(on_event, member, token)`` at a time from a
cumulative-hazard clock (:mod:`ips_sim.sim.hazard`) or a fixed delay; it happens only
if the member still holds that token (a member who moved on since has a new one).
Staffing changes these events only through the rates the planning step sets
(:mod:`ips_sim.sim.planning`).
"""

from __future__ import annotations

from heapq import heappop, heappush
from operator import attrgetter

from ips_sim.sim.records import EventKind, ExitReason, JobEnd, Member, Phase
from ips_sim.sim.staffing import Specialist
from ips_sim.sim.tenure import SHORT_JOB_HOURS

WAITING, SEARCH, EMPLOYED, GONE = Phase
(DROP_OUT, FIRST_CONTACT, JOB_FOUND, JOB_ENDED, EARLY_PERIOD_OVER, STEP_DOWN, GIVE_UP, PREPARATION_OVER,
 DISCHARGE) = EventKind
# (module constants: an Enum's class attribute costs ~10x a global to read)
DISENGAGED, STEPPED_DOWN, GAVE_UP_WAITING, DISCHARGED_NO_JOB = (ExitReason.DISENGAGED, ExitReason.STEPPED_DOWN,
                                                                ExitReason.GAVE_UP_WAITING,
                                                                ExitReason.DISCHARGED_NO_JOB)
LEFT_SERVICES_WHILE_WORKING = JobEnd.LEFT_SERVICES_WHILE_WORKING

# The token a member event must still match to happen (a member who moved on since it was
# scheduled has a new token): the drop-out clock's, the main one (job finding or job ending,
# waiting, preparation), the first-contact clock's; discharge carries the member's id and is
# checked by phase instead.
_TOKEN = {
    DROP_OUT: "tok_drop", EARLY_PERIOD_OVER: "tok_drop", FIRST_CONTACT: "tok_contact",
    JOB_FOUND: "tok_main", JOB_ENDED: "tok_main", STEP_DOWN: "tok_main",
    GIVE_UP: "tok_main", PREPARATION_OVER: "tok_main", DISCHARGE: "id",
}
TOKEN_OF = tuple(attrgetter(_TOKEN[k]) for k in EventKind)


class MemberLife:
    """What happens to members, as part of :class:`ips_sim.sim.model.Program` (in its own module).

    Its public interface, for the workforce (:mod:`ips_sim.sim.workforce`):
    :meth:`specialist_with_room`, :meth:`admit_from_waitlist` and :meth:`move_member`.
    Uses the program's streams (``draw_*``), parameters, ``rec``, ``specialists``,
    ``waitlist``, ``workforce``, ``_schedule`` (the kernel's) and ``_next_token``.
    """

    def handlers(self) -> tuple:
        """What each kind of member event does, by ``EventKind``: ``handler(member, t)``."""
        handlers = {
            JOB_FOUND: self._start_job, JOB_ENDED: self._end_job, DROP_OUT: self._drop_out,
            FIRST_CONTACT: self._first_contact, EARLY_PERIOD_OVER: self._early_period_over,
            STEP_DOWN: self._step_down,
            PREPARATION_OVER: self._start_job_hunt, DISCHARGE: self._discharge, GIVE_UP: self._give_up,
        }
        return tuple(handlers[k] for k in EventKind)

    def _event_handler(self, kind: EventKind):
        """The callback of member events of ``kind``: its handler, if the member has not moved on."""
        token_of, handle = TOKEN_OF[kind], self._handler[kind]

        def on_event(member: Member, token: int, now: float) -> None:
            if token_of(member) == token:  # else the member moved on since it was scheduled
                handle(member, now)

        return on_event

    def _drop_out(self, member: Member, t: float) -> None:
        self._exit(member, t, DISENGAGED)

    def _step_down(self, member: Member, t: float) -> None:
        self._exit(member, t, STEPPED_DOWN)

    def _discharge(self, member: Member, t: float) -> None:
        if member.phase == SEARCH and member.n_jobs == 0:
            self._exit(member, t, DISCHARGED_NO_JOB)

    def _first_contact(self, member: Member, t: float) -> None:
        member.first_contact_day = t
        member.tok_contact = 0

    def _early_period_over(self, member: Member, t: float) -> None:
        residual = member.th_drop - member.clock_drop.level_at(t)
        self._join_drop_out(member, member.specialist.dis_late, t, residual)

    def _give_up(self, member: Member, t: float) -> None:
        member.phase = GONE
        member.exit_day = t
        member.exit_reason = GAVE_UP_WAITING
        self.n_waiting -= 1

    def _refer(self, t: float) -> None:
        m = Member(len(self.rec.members), t)
        self.rec.members.append(m)
        # Draw every member's first thresholds at referral, in referral order, so the
        # k-th referral has the same drop-out, job-finding and patience draws in every
        # scenario run with the same seed (common random numbers).
        m.e_drop = self.draw_drop_out()
        m.e_find = self.draw_find()
        m.e_contact = self.draw_contact()
        m.frailty = self.draw_frailty()
        patience = self.draw_patience()
        m.benefit = self.benefits.status()
        if self.draw_prep is not None:
            m.prep = self.draw_prep()
        if self.draw_first_find is not None:
            m.e_find = self.draw_first_find()  # replaces the exponential drawn above (kept: stream order)
        s = self.specialist_with_room()
        if s is not None and not self.waitlist:
            self._enroll(m, s, t)
            return
        m.phase = WAITING
        self.waitlist.append(m)
        self.n_waiting += 1
        if self.patience_mean is not None:
            m.tok_main = self._next_token()
            self._schedule(t + patience * self.patience_mean, GIVE_UP, m, m.tok_main)

    # ------------------------------------------------------------------ the program's public interface

    def specialist_with_room(self) -> Specialist | None:
        """The specialist in post with the lowest caseload share under their cap (None if all are full)."""
        best, best_load = None, 2.0
        for s in self.specialists:
            if s.n_caseload < s.cap:
                load = s.n_caseload / s.cap
                if load < best_load:
                    best, best_load = s, load
        return best

    def admit_from_waitlist(self, t: float) -> None:
        """Members of vacant posts, then people waiting, go to specialists with room, in order."""
        if self.workforce.orphans:
            self.workforce.reassign_orphans(t)
        while self.waitlist:
            s = self.specialist_with_room()
            if s is None:
                return
            m = self.waitlist.popleft()
            if m.phase != WAITING:
                continue  # gave up earlier
            self.n_waiting -= 1
            self._enroll(m, s, t)

    def move_member(self, m: Member, r: Specialist, t: float) -> None:
        """Move an enrolled member to specialist ``r`` (staff turnover), keeping every clock's residual hazard."""
        old = m.specialist
        m.specialist = r
        old.n_caseload -= 1
        r.n_caseload += 1
        dc = m.clock_drop
        early = dc is old.dis_early
        new_clock = r.dis_early if early else (r.dis_late if dc is old.dis_late else r.dis_employed)
        self._join_drop_out(m, new_clock, t, m.th_drop - dc.level_at(t))
        if early:
            self._schedule(m.enrollment_day + self.early_days, EARLY_PERIOD_OVER, m, m.tok_drop)
        if m.phase == SEARCH:
            old.n_search -= 1
            r.n_search += 1
            if m.th_main is not None:  # on the job-finding clock (not in preparation)
                m.tok_main = tok = self._next_token()
                m.th_main, due = r.find.add(t, m.th_main - old.find.level_at(t), m, tok)
                if due is not None:
                    self._schedule(due, JOB_FOUND, m, tok)
            if m.tok_contact != 0:  # still waiting for the first employer contact
                m.tok_contact = tok = self._next_token()
                m.th_contact, due = r.contact.add(t, m.th_contact - old.contact.level_at(t), m, tok)
                if due is not None:
                    self._schedule(due, FIRST_CONTACT, m, tok)
        else:  # EMPLOYED
            old.n_employed -= 1
            r.n_employed += 1
            m.tok_main = tok = self._next_token()
            m.th_main, due = r.job_end.add(t, m.th_main - old.job_end.level_at(t), m, tok)
            if due is not None:
                self._schedule(due, JOB_ENDED, m, tok)
            start = m.job.start_day
            # Still in the job's first month? (It may have ended since the last planning step.)
            still_new = m.new_worker and start + self.first_month_days > t
            if m.new_worker:
                old.n_new_workers -= 1
                m.new_worker = False
            if still_new:
                self._begin_first_month(m, r, start, tok)  # new with r; step-down queued as for any new worker
            elif self.step_down_days is not None:
                self._schedule(start + self.step_down_days, STEP_DOWN, m, tok)

    # ------------------------------------------------------------------ enrollment, search and jobs

    def _enroll(self, m: Member, s: Specialist, t: float) -> None:
        m.enrollment_day = t
        m.specialist = s
        s.n_caseload += 1
        s.intake_backlog += self.intake_hours
        s.intake_total += self.intake_hours
        if m.benefit:
            self._counsel(m, s)
        self._start_search(m, t, m.e_drop)
        if self.discharge_days is not None:
            self._schedule(t + self.discharge_days, DISCHARGE, m, m.id)

    def _counsel(self, m: Member, s: Specialist) -> None:
        """A beneficiary's work-incentives counselling: outside (done), or hours owed by the specialist."""
        b = self.benefits
        if b.outside:
            m.counselled = True
        elif b.counsel_hours > 0:
            s.intake_backlog += b.counsel_hours
            s.intake_total += b.counsel_hours
            m.counsel_mark, m.counsel_spec = s.intake_total, s

    def _join_drop_out(self, m: Member, clock, t: float, residual: float) -> None:
        m.clock_drop = clock
        m.tok_drop = tok = self._next_token()
        m.th_drop, due = clock.add(t, residual, m, tok)
        if due is not None:
            self._schedule(due, DROP_OUT, m, tok)

    def _start_search(self, m: Member, t: float, drop_residual: float) -> None:
        s = m.specialist
        m.phase = SEARCH
        s.n_search += 1
        early_end = m.enrollment_day + self.early_days
        if t < early_end:
            self._join_drop_out(m, s.dis_early, t, drop_residual)
            self._schedule(early_end, EARLY_PERIOD_OVER, m, m.tok_drop)
        else:
            self._join_drop_out(m, s.dis_late, t, drop_residual)
        preparation_end = m.enrollment_day + self.preparation_days * m.prep
        if m.n_jobs == 0 and t < preparation_end:
            # Stepwise services: no job search until preparation is over.
            m.tok_main = tok = self._next_token()
            m.th_main = None  # not on the job-finding clock yet
            self._schedule(preparation_end, PREPARATION_OVER, m, tok)
        else:
            self._start_job_hunt(m, t)

    def _start_job_hunt(self, m: Member, t: float) -> None:
        """Put a job seeker on the job-finding and first-contact clocks."""
        s = m.specialist
        # Job finding: a fresh exponential per search spell (the first drawn at referral),
        # scaled by the member's employability (and a later job by next_job_rate_ratio).
        e = m.e_find if m.n_jobs == 0 else self.draw_find() * self.next_job_scale
        m.tok_main = tok = self._next_token()
        m.th_main, due = s.find.add(t, e / m.frailty, m, tok)
        if due is not None:
            self._schedule(due, JOB_FOUND, m, tok)
        if m.first_contact_day is None:
            m.tok_contact = tok = self._next_token()
            m.th_contact, due = s.contact.add(t, m.e_contact, m, tok)
            if due is not None:
                self._schedule(due, FIRST_CONTACT, m, tok)

    def _start_job(self, m: Member, t: float) -> None:
        s = m.specialist
        s.n_search -= 1
        s.n_employed += 1
        m.phase = EMPLOYED
        m.n_jobs += 1
        if m.first_job_day is None:
            m.first_job_day = t
        if m.first_contact_day is None:
            m.first_contact_day = t  # a job implies an employer was met
        m.tok_contact = 0
        match = self.draw_match() < self.p_match
        hours = truncated_normal(self.draw_hours, *self.hours_dist)
        wage = truncated_normal(self.draw_wage, *self.wage_dist)
        capped = False
        if m.benefit:
            c = m.counsel_spec
            if c is not None and not m.counselled and c.intake_total - c.intake_backlog >= m.counsel_mark - 1e-9:
                m.counselled = True  # the specialist's intake hours reached this member's counselling
            hours, capped = self.benefits.hours(m.benefit, m.counselled, hours, wage)
        fragile = self.draw_job_class() < (self.p_fragile_short if hours <= SHORT_JOB_HOURS else self.p_fragile)
        m.job = self.rec.start_job(m.id, m.n_jobs, t, hours, wage, match, fragile)
        m.job.capped = capped
        residual = m.th_drop - m.clock_drop.level_at(t)
        self._join_drop_out(m, s.dis_employed, t, residual)
        # The job's own constant hazard multiplier scales its threshold on the shared job-ending
        # clock: jobs meeting the member's preferences end at 1/match_ratio the hazard, fragile
        # jobs at fragile_ratio times it (a mixture of exponentials: exact times, falling hazard).
        e = self.draw_job_end() * (self.match_ratio if match else 1.0) / (self.fragile_ratio if fragile else 1.0)
        m.tok_main = tok = self._next_token()
        m.th_main, due = s.job_end.add(t, e, m, tok)
        if due is not None:
            self._schedule(due, JOB_ENDED, m, tok)
        self._begin_first_month(m, s, t, tok)

    def _begin_first_month(self, m: Member, s: Specialist, start: float, tok: int) -> None:
        """A worker in the first month of a job (started on day ``start``) needs more follow-along.

        The first month's end changes nothing but the follow-along demand the planning step
        reads, so it is not an event: each planning step first ends the first months that
        are over by then (``_end_first_months``), exactly the state an event would leave.
        """
        m.new_worker = True
        s.n_new_workers += 1
        heappush(s.first_months, (start + self.first_month_days, tok, m))
        if self.step_down_days is not None and not self.step_down_after_first_month:
            self._schedule(start + self.step_down_days, STEP_DOWN, m, tok)

    def _end_first_months(self, s: Specialist, t: float) -> None:
        """Workers of ``s`` whose job's first month ended by ``t`` (still in that job) are no longer new."""
        first_months = s.first_months
        while first_months and first_months[0][0] <= t:
            _, tok, m = heappop(first_months)
            if m.tok_main == tok:  # still in that job, with this specialist
                m.new_worker = False
                s.n_new_workers -= 1
                if self.step_down_after_first_month:
                    self._schedule(m.job.start_day + self.step_down_days, STEP_DOWN, m, tok)

    def _leave_job(self, m: Member, t: float, reason: JobEnd) -> None:
        s = m.specialist
        s.n_employed -= 1
        if m.new_worker:
            s.n_new_workers -= 1
            m.new_worker = False
        self.rec.end_job(m.job, t, reason)
        m.days_employed += t - m.job.start_day
        m.job = None

    def _end_job(self, m: Member, t: float) -> None:
        u = self.draw_reason()
        reason = self.reason_cdf[-1][1]
        for cum, r in self.reason_cdf:
            if u < cum:
                reason = r
                break
        self._leave_job(m, t, reason)
        residual = m.th_drop - m.clock_drop.level_at(t)
        self._start_search(m, t, residual)

    def _exit(self, m: Member, t: float, reason: ExitReason) -> None:
        s = m.specialist
        if m.phase == EMPLOYED:
            # The member leaves services, not (as far as we know) the job: censored here.
            self._leave_job(m, t, LEFT_SERVICES_WHILE_WORKING)
        else:
            s.n_search -= 1
        s.n_caseload -= 1
        m.phase = GONE
        m.exit_day = t
        m.exit_reason = reason
        m.tok_main = m.tok_drop = m.tok_contact = 0
        self.admit_from_waitlist(t)


def truncated_normal(draw, mean: float, sd: float, low: float, high: float) -> float:
    """Normal(mean, sd) restricted to [low, high] by rejection, 100 tries (falls back to clipping)."""
    x = mean + sd * draw()
    if low <= x <= high:  # the first try, without a loop (nearly always enough)
        return x
    for _ in range(99):
        x = mean + sd * draw()
        if low <= x <= high:
            return x
    return min(max(mean, low), high)
