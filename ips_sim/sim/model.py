"""The SimPy model of one IPS program: referrals to job endings, one replication.

Events are the model's most frequent objects, so most are queued calls: plain
``(function, a, b)`` tuples in the entries SimPy itself would make on its
queue (same time arithmetic, same event ids), called as ``function(a, b)``.
Three kinds of work recur all run long, each queueing its next call: referrals
bring people in; the planning step shares each specialist's hours out and sets
the hazards that follow from the service each member actually receives;
month-end snapshots record the state. Member events (first employer contact,
job start, job end, drop-out, step-down, giving up on the waitlist) are
``(handler, member, token)`` at times that come from cumulative-hazard clocks
(see :mod:`ips_sim.sim.hazard`): staffing changes outcomes only through hours
received. ``_run_until`` is SimPy's ``run(until=...)`` with its ``step``
written into the loop (same order, same stopping point) that also makes the
queued calls; SimPy processes (staff turnover) run beside them as usual. The
queue is only ever run by it.

Time is in days. Nothing here builds tables: events append to lists, and
:mod:`ips_sim.sim.records` turns them into arrays at the end.
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappop, heappush
from itertools import count
from operator import attrgetter

import simpy
from simpy.events import NORMAL, URGENT

from ips_sim.config import DAYS_PER_MONTH, END_REASONS, MONTH_NAMES, Scenario, months_between
from ips_sim.core.streams import Streams
from ips_sim.sim.hazard import Step, set_rates
from ips_sim.sim.records import EventKind, ExitReason, JobEnd, Member, Phase, ReplicationRecords
from ips_sim.sim.staffing import (
    FOLLOW_ALONG,
    INTAKE,
    JOB_DEVELOPMENT,
    JOB_SEARCH,
    Specialist,
    allocate,
    caseload_cap,
    direct_hours_per_week,
    priority_indices,
)
from ips_sim.sim.start import JOB_SEEKER, posterior_match_probability, start_people
from ips_sim.sim.start import WAITING as START_WAITING
from ips_sim.sim.tenure import SHORT_JOB_HOURS, fragile_probability
from ips_sim.sim.workforce import Workforce

WAITING, SEARCH, EMPLOYED, GONE = Phase
(DROP_OUT, FIRST_CONTACT, JOB_FOUND, JOB_ENDED, EARLY_PERIOD_OVER, STEP_DOWN, GIVE_UP, PREPARATION_OVER,
 DISCHARGE) = EventKind

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


class Program:
    """One replication of an IPS program under a scenario."""

    def __init__(self, scenario: Scenario, replication: int, seed: int | None = None):
        self.sc = scenario
        self.env = simpy.Environment()
        seed = scenario.simulation.seed if seed is None else seed
        streams = Streams(seed, replication)
        # One stream per random process (see streams.py); names never change meaning.
        self.draw_arrival = streams.exponential("referral_arrivals")
        self.draw_patience = streams.exponential("waitlist_patience")
        self.draw_drop_out = streams.exponential("disengagement")
        self.draw_contact = streams.exponential("first_employer_contact")
        self.draw_find = streams.exponential("job_finding")
        self.draw_frailty = streams.gamma_mean_one("member_employability", scenario.job_search.heterogeneity_cv)
        self.draw_job_end = streams.exponential("job_ending")
        self.draw_match = streams.uniform("job_preference_match")
        self.draw_hours = streams.normal("job_hours")
        self.draw_wage = streams.normal("job_wage")
        self.draw_reason = streams.uniform("job_end_reason")
        self.draw_job_class = streams.uniform("job_class")

        cap = caseload_cap(scenario)
        self.step_in_force = Step()  # every hazard clock's rates hold until step_in_force.end
        self.specialists = [Specialist(i, cap, step=self.step_in_force) for i in range(scenario.team.specialists)]
        self.waitlist: deque[Member] = deque()
        self.n_waiting = 0
        self.rec = ReplicationRecords(replication)
        # Tokens 1, 2, ...: a member event must still match its member's token to happen.
        self._next_token = count(1).__next__
        handlers = {
            JOB_FOUND: self._start_job, JOB_ENDED: self._end_job, DROP_OUT: self._drop_out,
            FIRST_CONTACT: self._first_contact, EARLY_PERIOD_OVER: self._early_period_over,
            STEP_DOWN: self._step_down,
            PREPARATION_OVER: self._start_job_hunt, DISCHARGE: self._discharge, GIVE_UP: self._give_up,
        }
        self._handler = tuple(handlers[k] for k in EventKind)  # what each kind of event does
        self._on_event = tuple(self._event_handler(k) for k in EventKind)  # a member event's callback, by kind
        for s in self.specialists:
            # What each clock's thresholds trigger: the member event, which must still match
            # the member's token of that kind.
            for clock, kind in ((s.find, JOB_FOUND), (s.contact, FIRST_CONTACT), (s.dis_early, DROP_OUT),
                                (s.dis_late, DROP_OUT), (s.dis_employed, DROP_OUT), (s.job_end, JOB_ENDED)):
                clock.on_due, clock.version_of = self._on_event[kind], TOKEN_OF[kind]

        # Parameters read once, in the units the event loop uses (days).
        sv, en, js, jb = scenario.service, scenario.engagement, scenario.job_search, scenario.jobs
        self.step = scenario.simulation.planning_step_days
        self.week_factor = self.step / 7.0
        self.hours_per_step = direct_hours_per_week(scenario) * self.week_factor
        self.policy = scenario.time_use.allocation_policy
        self.order = priority_indices(scenario)
        self.early_days = en.early_months * DAYS_PER_MONTH
        self.first_month_days = sv.first_month_days
        self.preparation_days = js.preparation_months * DAYS_PER_MONTH
        self.discharge_days = (
            None if en.discharge_without_job_months is None else en.discharge_without_job_months * DAYS_PER_MONTH
        )
        self.step_down_days = (
            scenario.follow_along.step_down_after_months * DAYS_PER_MONTH
            if scenario.follow_along.step_down_enabled else None
        )
        # Step-down is queued when a worker's first month ends (a job that ends in its first month
        # never costs the event), unless it comes so soon that it must be queued at the job start.
        self.step_down_after_first_month = (
            self.step_down_days is not None and self.step_down_days >= self.first_month_days + self.step
        )
        self.patience_mean = scenario.referrals.patience_mean_days
        self.match_ratio = jb.match_tenure_ratio
        self.p_match = jb.preference_match_probability
        self.intake_hours = sv.intake_hours
        # Normal(mean, sd) truncated to [low, high]: a job's hours a week and hourly wage.
        self.hours_dist = (jb.hours_per_week_mean, jb.hours_per_week_sd, jb.hours_per_week_min, jb.hours_per_week_max)
        self.wage_dist = (jb.hourly_wage_mean, jb.hourly_wage_sd, jb.hourly_wage_min, math.inf)
        # Latent job classes (see tenure.py): P(fragile) for jobs over and at/under 20 h a week.
        self.fragile_ratio = jb.fragile_rate_ratio
        self.p_fragile = fragile_probability(jb.fragile_share, jb.fragile_odds_ratio_short_hours, False)
        self.p_fragile_short = fragile_probability(jb.fragile_share, jb.fragile_odds_ratio_short_hours, True)
        reasons = [(JobEnd[r.upper()], jb.end_reason_shares.get(r, 0.0)) for r in END_REASONS]
        cum, self.reason_cdf = 0.0, []
        for r, p in reasons:
            cum += p
            self.reason_cdf.append((cum, r))
        self.rate_schedule = self._rate_schedule(streams)
        self.k = _PlanningConstants(scenario, self.week_factor)
        planning_key = (tuple(getattr(self.k, name) for name in _PlanningConstants.__slots__), self.policy, self.order)
        for s in self.specialists:
            s.hours = self.hours_per_step
            s.memo = _shared_memo((planning_key, s.index))
        start = scenario.start
        vacant = start.vacant if start is not None else 0
        new_hires = start.new_hire_months if start is not None else []

        # Supervision and staff turnover (workforce.py), with the posts as they are today
        # (start: vacant posts, new hires ramping up); then today's members.
        self.workforce = Workforce(self, scenario, streams, vacant, new_hires)
        if start is not None:
            self._start_members(streams)

        env = self.env
        # Referrals, the planning step and month-end snapshots recur all run long: each is a
        # queued call (like member events) that does the work and queues the next one, instead
        # of a generator process and a new Timeout every time. Each starts as SimPy starts a
        # process (urgent, now), so the order of events is the same.
        self._referral_call = (self._referral, None, None)
        self._planning_call = (self._planning_step, None, None)
        self._snapshot_call = (self._snapshot, None, None)
        for first in (self._referrals_start, self._planning_step, self._queue_next_snapshot):
            heappush(env._queue, (env._now, URGENT, next(env._eid), (first, None, None)))
        self.workforce.start()

    # ------------------------------------------------------------------ running

    def run(self) -> ReplicationRecords:
        horizon = self.sc.horizon_days
        _run_until(self.env, horizon)
        months = self.rec.months
        if abs(horizon - (len(months) + 1) * DAYS_PER_MONTH) < 1e-6:
            # A horizon of whole months: the run stops just before any event at the horizon,
            # which is the month-end snapshot's convention, so the last month end is the state now.
            self._snapshot_row(horizon)
        self.rec.close(horizon, self.specialists)
        return self.rec

    def _schedule(self, due: float, kind: EventKind, member: Member, token: int) -> None:
        """Put a member event on SimPy's queue at ``due`` (at once if that has passed).

        As ``env.timeout(delay)`` does (same time arithmetic, same event-id order), without
        building a Timeout.
        """
        env = self.env
        now = env._now
        delay = due - now
        heappush(env._queue, (now + (delay if delay > 0.0 else 0.0), NORMAL, next(env._eid),
                              (self._on_event[kind], member, token)))

    # ------------------------------------------------------------------ processes

    def _rate_schedule(self, streams: Streams) -> list[tuple[float, float]]:
        """Referral rate as (start day, rate per day) pieces, from the scenario.

        With a trend, seasonality or overdispersion the rate is also constant within each
        simulation month k (which begins k calendar months after start.date):
        schedule rate x exp(trend_per_year x months since base_date / 12) x seasonality of
        the calendar month x a gamma factor of mean 1 and variance ``overdispersion``. So
        the expected count of month k is exactly what the fitted model of monthly counts
        (ips-sim fit-referrals) says, and with overdispersion the counts are negative binomial.
        """
        sc = self.sc
        ref = sc.referrals
        pieces = [(0.0, ref.rate_per_month / DAYS_PER_MONTH)]
        for month, rate in sc.schedule_months():
            day = month * DAYS_PER_MONTH
            pieces = [q for q in pieces if q[0] < day] + [(day, rate / DAYS_PER_MONTH)]
        if ref.trend_per_year == 0 and ref.seasonality is None and ref.overdispersion == 0:
            return pieces
        n_months = int(math.ceil(sc.horizon_days / DAYS_PER_MONTH)) + 1
        date = sc.start_date
        offset = months_between(ref.base_date, date) if ref.base_date is not None else 0.0
        alpha = ref.overdispersion
        gamma = streams.generator("referral_overdispersion") if alpha > 0 else None
        factors = []
        for k in range(n_months):
            f = math.exp(ref.trend_per_year * (offset + k) / 12.0)
            if ref.seasonality is not None:
                f *= ref.seasonality[MONTH_NAMES[(date.month - 1 + k) % 12]]
            if gamma is not None:
                f *= float(gamma.gamma(1.0 / alpha, alpha))
            factors.append(f)
        breaks = sorted({q[0] for q in pieces} | {k * DAYS_PER_MONTH for k in range(n_months)})
        out, j = [], 0
        for day in breaks:
            while j + 1 < len(pieces) and pieces[j + 1][0] <= day:
                j += 1
            k = min(int(day / DAYS_PER_MONTH + 1e-9), n_months - 1)
            out.append((day, pieces[j][1] * factors[k]))
        return out

    def _referrals_start(self, _a=None, _b=None) -> None:
        """Day 0: a trial-style cohort is referred together; then the first referral is queued."""
        for _ in range(self.sc.referrals.cohort_size):
            self._refer(0.0)
        self._queue_next_referral()

    def _referral(self, _a=None, _b=None) -> None:
        self._refer(self.env._now)
        self._queue_next_referral()

    def _queue_next_referral(self) -> None:
        """Poisson referrals with a piecewise-constant rate (exact, by cumulative hazard)."""
        env = self.env
        pieces = self.rate_schedule
        need = self.draw_arrival()
        now = t = env._now
        k = 0
        while k + 1 < len(pieces) and pieces[k + 1][0] <= t:
            k += 1
        while True:
            rate = pieces[k][1]
            end = pieces[k + 1][0] if k + 1 < len(pieces) else math.inf
            if rate > 0.0 and t + need / rate <= end:
                t += need / rate
                break
            if end == math.inf:
                return  # rate is zero for ever: no more referrals
            need -= rate * (end - t)
            t = end
            k += 1
        # now + (t - now), as env.timeout(t - now) computes it: the same float time
        heappush(env._queue, (now + (t - now), NORMAL, next(env._eid), self._referral_call))

    def _planning_step(self, _a=None, _b=None) -> None:
        """Every planning step, each specialist shares out their hours and the hazards follow; then the next step.

        A specialist's hours, rates and week record are a pure function of their state
        (counts, intake owed, hours, practice quality, supervision): unchanged since the
        last step, the rates in force carry on; a state seen before reuses its numbers.
        Thresholds reached before the step ends go onto SimPy's queue as member events.
        """
        env = self.env
        t = env._now
        t_end = t + self.step
        self.step_in_force.end = t_end
        if self.workforce.changes:
            self.workforce.supervise()
        queue, eid = env._queue, env._eid
        week_days, week_rows = self.rec.week_days, self.rec.week_rows
        for s in self.specialists:
            if s.first_months and s.first_months[0][0] <= t:
                self._end_first_months(s, t)
            state = (s.n_search, s.n_employed, s.n_new_workers, s.intake_backlog, s.hours, s.quality,
                     s.n_caseload, s.in_post, s.sup_need, s.sup_got)
            if state != s.state:
                s.state = state
                shares = s.memo.get(state)
                if shares is None:
                    if len(s.memo) >= _MEMO_SIZE:
                        s.memo.clear()
                    shares = s.memo[state] = self._share_hours(s, state)
                s.intake_served, rates, s.row = shares
                if rates != s.rates:  # another state, often the same rates
                    s.rates = rates
                    set_rates(s.clocks, rates, t)
            s.intake_backlog = state[3] - s.intake_served
            for clock in s.clocks:
                if clock.due_top <= t_end:  # the entries _schedule would make, in the same order
                    clock.queue_due(t_end, t, queue, eid)
            week_days.append(t)
            week_rows.append(s.row)
        heappush(queue, (t_end, NORMAL, next(eid), self._planning_call))

    def _snapshot(self, _a=None, _b=None) -> None:
        """Month-end counts, kept independently of the member records (checked against them in tests)."""
        self._snapshot_row(self.env._now)
        self._queue_next_snapshot()

    def _queue_next_snapshot(self, _a=None, _b=None) -> None:
        env = self.env
        # Urgent: the state just before any event at the month end itself (say a day-0
        # cohort discharged exactly N months later); such events count in the next month,
        # as the monthly flows do (bins [start, end)), whatever order they were scheduled in.
        heappush(env._queue, (env._now + DAYS_PER_MONTH, URGENT, next(env._eid), self._snapshot_call))

    def _snapshot_row(self, t: float) -> None:
        caseload = employed = 0
        for s in self.specialists:
            caseload += s.n_caseload
            employed += s.n_employed
        self.rec.months.append((t, self.n_waiting, caseload, employed))

    # ------------------------------------------------------------------ planning step

    def _share_hours(self, s: Specialist, state: tuple) -> tuple[float, tuple, tuple]:
        """Allocate the hours; the six hazard rates from the share of demanded hours received.

        Returns (intake hours served, rates in the order of ``Specialist.clocks``, the
        step's week record but its day).
        """
        n_search, n_employed, n_new, backlog, hours, q, n_caseload, in_post, sup_need, sup_got = state
        k = self.k
        demand = (
            backlog,
            (n_new * k.follow_first_month + (n_employed - n_new) * k.follow) * k.wf,
            n_search * k.search * k.wf,
            k.development,
        )
        got = allocate(hours, demand, self.policy, self.order)

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
        row = (s.index, hours, got[INTAKE], got[FOLLOW_ALONG], got[JOB_SEARCH], got[JOB_DEVELOPMENT],
               demand[INTAKE], demand[FOLLOW_ALONG], demand[JOB_SEARCH], demand[JOB_DEVELOPMENT], contacts,
               n_caseload, 1.0 if in_post else 0.0, sup_need, sup_got, q)
        return got[INTAKE], rates, row

    # ------------------------------------------------------------------ member events

    def _event_handler(self, kind: EventKind):
        """The callback of member events of ``kind``: its handler, if the member has not moved on."""
        token_of, handle, env = TOKEN_OF[kind], self._handler[kind], self.env

        def on_event(member: Member, token: int) -> None:
            if token_of(member) == token:  # else the member moved on since it was scheduled
                handle(member, env._now)

        return on_event

    def _drop_out(self, member: Member, t: float) -> None:
        self._exit(member, t, ExitReason.DISENGAGED)

    def _step_down(self, member: Member, t: float) -> None:
        self._exit(member, t, ExitReason.STEPPED_DOWN)

    def _discharge(self, member: Member, t: float) -> None:
        if member.phase == SEARCH and member.n_jobs == 0:
            self._exit(member, t, ExitReason.DISCHARGED_NO_JOB)

    def _first_contact(self, member: Member, t: float) -> None:
        member.first_contact_day = t
        member.tok_contact = 0

    def _early_period_over(self, member: Member, t: float) -> None:
        residual = member.th_drop - member.clock_drop.level_at(t)
        self._join_drop_out(member, member.specialist.dis_late, t, residual)

    def _give_up(self, member: Member, t: float) -> None:
        member.phase = GONE
        member.exit_day = t
        member.exit_reason = ExitReason.GAVE_UP_WAITING
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
        s = self._specialist_with_room()
        if s is not None and not self.waitlist:
            self._enroll(m, s, t)
            return
        m.phase = WAITING
        self.waitlist.append(m)
        self.n_waiting += 1
        if self.patience_mean is not None:
            m.tok_main = self._next_token()
            self._schedule(t + patience * self.patience_mean, GIVE_UP, m, m.tok_main)

    def _specialist_with_room(self) -> Specialist | None:
        best, best_load = None, 2.0
        for s in self.specialists:
            if s.n_caseload < s.cap:
                load = s.n_caseload / s.cap
                if load < best_load:
                    best, best_load = s, load
        return best

    def _admit_from_waitlist(self, t: float) -> None:
        if self.workforce.orphans:
            self.workforce.reassign_orphans(t)
        while self.waitlist:
            s = self._specialist_with_room()
            if s is None:
                return
            m = self.waitlist.popleft()
            if m.phase != WAITING:
                continue  # gave up earlier
            self.n_waiting -= 1
            self._enroll(m, s, t)

    def _enroll(self, m: Member, s: Specialist, t: float) -> None:
        m.enrollment_day = t
        m.specialist = s
        s.n_caseload += 1
        s.intake_backlog += self.intake_hours
        self._start_search(m, t, m.e_drop)
        if self.discharge_days is not None:
            self._schedule(t + self.discharge_days, DISCHARGE, m, m.id)

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
        preparation_end = m.enrollment_day + self.preparation_days
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
        # scaled by the member's employability.
        e = m.e_find if m.n_jobs == 0 else self.draw_find()
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
        hours = _truncated_normal(self.draw_hours, *self.hours_dist)
        wage = _truncated_normal(self.draw_wage, *self.wage_dist)
        fragile = self.draw_job_class() < (self.p_fragile_short if hours <= SHORT_JOB_HOURS else self.p_fragile)
        m.job = self.rec.start_job(m.id, m.n_jobs, t, hours, wage, match, fragile)
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
            self._leave_job(m, t, JobEnd.LEFT_SERVICES_WHILE_WORKING)
        else:
            s.n_search -= 1
        s.n_caseload -= 1
        m.phase = GONE
        m.exit_day = t
        m.exit_reason = reason
        m.tok_main = m.tok_drop = m.tok_contact = 0
        self._admit_from_waitlist(t)


    # ------------------------------------------------------------------ start state

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
            if person.phase == START_WAITING:
                m.referral_day = _before_day_0(person.waited_days)
                m.phase = WAITING
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
        self._admit_from_waitlist(0.0)

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
        hours = _truncated_normal(lambda: float(rng.standard_normal()), jb.hours_per_week_mean, jb.hours_per_week_sd,
                                  jb.hours_per_week_min, jb.hours_per_week_max)
        wage = _truncated_normal(lambda: float(rng.standard_normal()), jb.hourly_wage_mean, jb.hourly_wage_sd,
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


_MEMO_SIZE = 4096  # states remembered per specialist (a bound; a run visits a few hundred)

# A planning state's shares, rates and week record are a pure function of the state, the
# scenario's planning numbers and the specialist's index (Program._share_hours), so
# specialists with the same numbers share one table of the states seen, across the
# replications run in this process: later replications mostly find their states there.
# Results never depend on what is in it.
_SHARED_MEMOS: dict[tuple, dict] = {}
_MEMOS_KEPT = 8  # tables kept (a bound on memory: a sweep meets many planning numbers)


def _shared_memo(key: tuple) -> dict:
    memo = _SHARED_MEMOS.get(key)
    if memo is None:
        if len(_SHARED_MEMOS) >= _MEMOS_KEPT:
            _SHARED_MEMOS.clear()
        memo = _SHARED_MEMOS[key] = {}
    return memo


class _PlanningConstants:
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


class _Stop:
    """The marker ``_run_until`` puts on the queue where ``env.run(until=...)`` puts its until event."""

    __slots__ = ()


def _run_until(env: simpy.Environment, horizon: float) -> None:
    """What ``env.run(until=horizon)`` does, with SimPy's ``step`` written into the loop.

    The same order and the same stopping point: SimPy schedules an urgent event at the
    horizon and stops when it comes off the queue (events queued at the horizon before
    it run, the rest do not); here a marker takes its place. This loop is the run's
    innermost code, so it saves a method call and an exception frame per event, and a
    member event ``(callback, member, token)`` is one call, with no event object at all.
    """
    if horizon <= env._now:
        raise ValueError(f"until (={horizon}) must be greater than the current simulation time")
    queue = env._queue
    stop = _Stop()
    heappush(queue, (horizon, URGENT, next(env._eid), stop))
    while True:
        env._now, _, _, event = heappop(queue)
        if event.__class__ is tuple:  # a queued call (function, a, b): a member event or recurring work
            event[0](event[1], event[2])
            continue
        if event is stop:
            return
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            raise event._value  # a process failed: as SimPy's step, the error surfaces here


def _before_day_0(days: float) -> float:
    """The day of something that happened ``days`` before day 0: strictly negative, so a start member
    is never counted as a referral, enrollment or placement of the planning horizon."""
    return -days if days > 1e-9 else -1e-9


def _truncated_normal(draw, mean: float, sd: float, low: float, high: float) -> float:
    """Normal(mean, sd) restricted to [low, high] by rejection (falls back to clipping)."""
    for _ in range(100):
        x = mean + sd * draw()
        if low <= x <= high:
            return x
    return min(max(mean, low), high)


def run_replication(scenario: Scenario, replication: int, seed: int | None = None) -> ReplicationRecords:
    """Simulate one replication and return its records."""
    return Program(scenario, replication, seed).run()
