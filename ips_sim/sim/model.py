"""The SimPy model of one IPS program: referrals to job endings, one replication.

:class:`Program` is one replication, in parts by concern: this module builds it and
runs the work that recurs all run long (referrals bring people in; month-end
snapshots record the state); :mod:`ips_sim.sim.planning` is the planning step (each
specialist's hours shared out, the hazards that follow from the service each member
actually receives); :mod:`ips_sim.sim.members` the member life events (first employer
contact, job start, job end, drop-out, step-down, giving up on the waitlist) at times
from cumulative-hazard clocks (:mod:`ips_sim.sim.hazard`), so staffing changes outcomes
only through hours received; :mod:`ips_sim.sim.start` today's members;
:mod:`ips_sim.sim.workforce` supervision and staff turnover. Events are queued calls
on SimPy's queue, made and run by :mod:`ips_sim.sim.kernel`, the one module that
reaches into SimPy; SimPy processes (staff turnover) run beside them as usual.

Time is in days. Nothing here builds tables: events append to lists, and
:mod:`ips_sim.sim.records` turns them into arrays at the end.
"""

from __future__ import annotations

import math
from collections import deque
from itertools import count

import simpy

from ips_sim.config import DAYS_PER_MONTH, END_REASONS, MONTH_NAMES, Scenario, months_between
from ips_sim.core.streams import Streams
from ips_sim.sim.benefit_choice import BenefitChoice
from ips_sim.sim.hazard import Step
from ips_sim.sim.kernel import Kernel
from ips_sim.sim.members import (
    DROP_OUT,
    EMPLOYED,
    FIRST_CONTACT,
    GONE,
    JOB_ENDED,
    JOB_FOUND,
    SEARCH,
    TOKEN_OF,
    WAITING,
    MemberLife,
)
from ips_sim.sim.planning import PlanningConstants, PlanningStep, shared_memo
from ips_sim.sim.records import EventKind, JobEnd, Member, ReplicationRecords
from ips_sim.sim.staffing import Specialist, caseload_cap, direct_hours_per_week, priority_indices
from ips_sim.sim.start import StartMembers
from ips_sim.sim.tenure import fragile_probability
from ips_sim.sim.workforce import Workforce

__all__ = ["EMPLOYED", "GONE", "SEARCH", "WAITING", "Program", "run_replication"]


class Program(MemberLife, PlanningStep, StartMembers):
    """One replication of an IPS program under a scenario.

    ``kernel``: how events are queued and run (:class:`ips_sim.sim.kernel.Kernel`; the
    tests pass :class:`ips_sim.sim.kernel.SimPyKernel` to run the same events with SimPy's
    own loop).
    """

    def __init__(self, scenario: Scenario, replication: int, seed: int | None = None, kernel: type[Kernel] = Kernel):
        self.sc = scenario
        self.env = simpy.Environment()
        self.kernel = kernel(self.env)
        self._push = self.kernel.push
        seed = scenario.simulation.seed if seed is None else seed
        streams = Streams(seed, replication)
        # One stream per random process (see streams.py); names never change meaning.
        self.draw_arrival = streams.exponential("referral_arrivals")
        self.draw_patience = streams.exponential("waitlist_patience")
        self.draw_drop_out = streams.exponential("disengagement")
        self.draw_contact = streams.exponential("first_employer_contact")
        self.draw_find = streams.exponential("job_finding")
        self.draw_frailty = streams.gamma_mean_one("member_employability", scenario.job_search.heterogeneity_cv)
        # Preparation time varies between people (gamma, mean preparation_months) and the first
        # search's threshold is gamma with shape first_search_shape (1: exponential): both drawn at
        # referral on their own streams, only when they matter, so other draws never shift.
        jsr = scenario.job_search
        self.draw_prep = (streams.gamma_mean_one("preparation_time", jsr.preparation_cv)
                          if jsr.preparation_months > 0 and jsr.preparation_cv > 0 else None)
        self.draw_first_find = (streams.gamma_mean_one("first_search_threshold", jsr.first_search_shape ** -0.5)
                                if jsr.first_search_shape != 1 else None)
        # A later job is found at next_job_rate_ratio times the member's first-job rate (its threshold
        # scaled by the inverse: 1.0 multiplies exactly, so the default changes no draw).
        self.next_job_scale = 1.0 / jsr.next_job_rate_ratio
        self.draw_job_end = streams.exponential("job_ending")
        self.draw_match = streams.uniform("job_preference_match")
        self.draw_hours = streams.normal("job_hours")
        self.draw_wage = streams.normal("job_wage")
        self.draw_reason = streams.uniform("job_end_reason")
        self.draw_job_class = streams.uniform("job_class")
        self.benefits = BenefitChoice(scenario, streams)

        cap = caseload_cap(scenario)
        self.step_in_force = Step()  # every hazard clock's rates hold until step_in_force.end
        self.specialists = [Specialist(i, cap, step=self.step_in_force) for i in range(scenario.team.specialists)]
        self.waitlist: deque[Member] = deque()
        self.n_waiting = 0
        self.rec = ReplicationRecords(replication)
        # Tokens 1, 2, ...: a member event must still match its member's token to happen.
        self._next_token = count(1).__next__
        self._handler = self.handlers()  # what each kind of member event does
        self._on_event = tuple(self._event_handler(k) for k in EventKind)  # a member event's callback, by kind
        self._schedule = self.kernel.schedule_kind(self._on_event)  # (due, kind, member, token)
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
        self.k = PlanningConstants(scenario, self.week_factor)
        planning_key = (self.k.key(), self.policy, self.order)
        for s in self.specialists:
            s.hours = self.hours_per_step
            s.memo = shared_memo((planning_key, s.index))
        start = scenario.start
        vacant = start.vacant if start is not None else 0
        new_hires = start.new_hire_months if start is not None else []

        # Supervision and staff turnover (workforce.py), with the posts as they are today
        # (start: vacant posts, new hires ramping up); then today's members.
        self.workforce = Workforce(self, scenario, streams, vacant, new_hires)
        if start is not None:
            self._start_members(streams)

        # Referrals, the planning step and month-end snapshots recur all run long: each is a
        # queued call (like member events) that does the work and queues the next one, instead
        # of a generator process and a new Timeout every time. Each starts as SimPy starts a
        # process (urgent, now), so the order of events is the same.
        for first in (self._referrals_start, self._planning_step, self._queue_next_snapshot):
            self.kernel.start(first)
        self.workforce.start()

    # ------------------------------------------------------------------ running

    def run(self) -> ReplicationRecords:
        horizon = self.sc.horizon_days
        self.kernel.run_until(horizon)
        months = self.rec.months
        if abs(horizon - (len(months) + 1) * DAYS_PER_MONTH) < 1e-6:
            # A horizon of whole months: the run stops just before any event at the horizon,
            # which is the month-end snapshot's convention, so the last month end is the state now.
            self._snapshot_row(horizon)
        self.rec.close(horizon, self.specialists)
        return self.rec

    def release(self) -> None:
        """Let the run's objects go as soon as its records are dropped, without a garbage-collector pass.

        Members wait on their specialists' clocks and the program's callbacks refer back to it:
        reference cycles that only Python's cyclic garbage collector frees, after traversing them
        a few times (about a tenth of a replication's time). Cut here, reference counting frees
        everything once the records go. The program can neither run nor be inspected afterwards.
        """
        for s in self.specialists:
            s.first_months.clear()
            for clock in s.clocks:
                clock.heap.clear()
                clock.on_due = None
        self.kernel.release()
        self.__dict__.clear()

    # ------------------------------------------------------------------ recurring work

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

    def _referrals_start(self, _a, _b, now: float) -> None:
        """Day 0: a trial-style cohort is referred together; then the first referral is queued."""
        for _ in range(self.sc.referrals.cohort_size):
            self._refer(0.0)
        self._queue_next_referral(now)

    def _referral(self, _a, _b, now: float) -> None:
        self._refer(now)
        self._queue_next_referral(now)

    def _queue_next_referral(self, now: float) -> None:
        """Poisson referrals with a piecewise-constant rate (exact, by cumulative hazard)."""
        pieces = self.rate_schedule
        need = self.draw_arrival()
        t = now
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
        self._push(now + (t - now), self._referral, None, None)

    def _snapshot(self, _a, _b, now: float) -> None:
        """Month-end counts, kept independently of the member records (checked against them in tests)."""
        self._snapshot_row(now)
        self._queue_next_snapshot(None, None, now)

    def _queue_next_snapshot(self, _a, _b, now: float) -> None:
        # Urgent: the state just before any event at the month end itself (say a day-0
        # cohort discharged exactly N months later); such events count in the next month,
        # as the monthly flows do (bins [start, end)), whatever order they were scheduled in.
        self.kernel.push_urgent(now + DAYS_PER_MONTH, self._snapshot, None, None)

    def _snapshot_row(self, t: float) -> None:
        caseload = employed = 0
        for s in self.specialists:
            caseload += s.n_caseload
            employed += s.n_employed
        self.rec.months.append((t, self.n_waiting, caseload, employed))


def run_replication(scenario: Scenario, replication: int, seed: int | None = None) -> ReplicationRecords:
    """Simulate one replication and return its records."""
    program = Program(scenario, replication, seed)
    records = program.run()
    program.release()
    return records
