"""The kernel (ips_sim/sim/kernel.py) runs the model as SimPy's own ``env.run()`` would.

Expected values come from SimPy itself: the same queued calls wrapped as SimPy
events and run by ``env.run(until=...)`` (``SimPyKernel``) must happen in the same
order, at the same times, with the same records; the entries the kernel makes must
be the ones ``env.timeout`` and ``env.process`` make; a failing process must raise
as ``env.run()`` raises it; and the installed SimPy must be one the package allows.
"""

from __future__ import annotations

import gc
import tomllib
from pathlib import Path

import numpy as np
import pytest
import simpy
from packaging.requirements import Requirement

from ips_sim.config import load_scenario
from ips_sim.sim.kernel import Kernel, SimPyKernel
from ips_sim.sim.model import Program, run_replication
from ips_sim.sim.records import EventKind, Job, Member

ROOT = Path(__file__).resolve().parent.parent

# Every kind of event: today's members (a waitlist, searchers, workers, a vacant post),
# staff turnover (departures, hires), patience on a waitlist kept long by many referrals,
# preparation before job search, discharge without a job, step-down after steady work.
EVERY_KIND = {
    "simulation.horizon_years": 4,
    "referrals.rate_per_month": 9.0,
    "referrals.trend_per_year": 0.0,
    "referrals.patience_mean_days": 60.0,
    "turnover.enabled": True,
    "turnover.annual_rate": 1.0,
    "turnover.hiring_delay_days": 45.0,
    "turnover.caseload_on_departure": "reassign",
    "job_search.preparation_months": 1.0,
    "engagement.discharge_without_job_months": 9.0,
    "follow_along.step_down_enabled": True,
    "follow_along.step_down_after_months": 6.0,
}


def every_kind_scenario():
    return load_scenario(ROOT / "scenarios" / "county_next_24_months.yaml").with_updates(EVERY_KIND)


def tracing(base: type[Kernel]) -> type[Kernel]:
    """``base`` that logs each queued call as it happens: (time, what, member id or None)."""

    class Tracing(base):
        def __init__(self, env):
            super().__init__(env)
            self.trace: list = []
            self.kinds: dict = {}
            push, push_urgent, schedule = self.push, self.push_urgent, self.schedule
            self.push = lambda time, f, a, b: push(time, self.traced(f), a, b)
            self.push_urgent = lambda time, f, a, b: push_urgent(time, self.traced(f), a, b)
            self.schedule = lambda due, f, a, b: schedule(due, self.traced(f), a, b)

        def schedule_kind(self, callbacks):
            self.kinds.update({id(f): EventKind(k).name for k, f in enumerate(callbacks)})
            return lambda due, kind, a, b: self.schedule(due, callbacks[kind], a, b)

        def traced(self, f):
            what = self.kinds.get(id(f), getattr(f, "__name__", "?"))

            def call(a, b, now):
                self.trace.append((now, what, getattr(a, "id", None)))
                f(a, b, now)

            return call

    return Tracing


def run_traced(base: type[Kernel], sc, replication: int):
    p = Program(sc, replication, kernel=tracing(base))
    for s in p.specialists:  # member events the planning step queues from the hazard clocks
        for clock in s.clocks:
            clock.on_due = p.kernel.traced(clock.on_due)
    wf = p.workforce
    depart, hire = wf.depart, wf.hire
    wf.depart = lambda s, t: (p.kernel.trace.append((t, "depart", s.index)), depart(s, t))
    wf.hire = lambda s, t: (p.kernel.trace.append((t, "hire", s.index)), hire(s, t))
    return p.kernel.trace, p.run().freeze()


def same_records(a, b) -> bool:
    arrays = [(a.member[k], b.member[k]) for k in a.member] + [(a.job[k], b.job[k]) for k in a.job]
    arrays += [(a.week, b.week), (a.month, b.month), (a.vacancy, b.vacancy)]
    return all(np.array_equal(x, y, equal_nan=True) for x, y in arrays)


@pytest.mark.parametrize("replication", [0, 1])
def test_event_order_equals_simpy_run(replication):
    sc = every_kind_scenario()
    fast, fast_records = run_traced(Kernel, sc, replication)
    simpy_order, simpy_records = run_traced(SimPyKernel, sc, replication)
    kinds = {what for _, what, _ in fast}
    assert {k.name for k in EventKind} | {"depart", "hire", "_referral", "_planning_step", "_snapshot"} <= kinds
    assert len(fast) > 1000
    assert fast == simpy_order
    assert same_records(fast_records, simpy_records)


def test_queue_entries_are_simpys():
    """schedule() makes the entry env.timeout() makes; start() the one env.process() makes."""
    env = simpy.Environment()
    env.run(until=3.7)  # a time where now + (due - now) need not equal due
    env._queue.clear()
    kernel = Kernel(env)
    for due in (3.7, 4.1, 10.0 / 3.0, 1e6 + 0.1):
        kernel.schedule(due, print, None, None)
        env.timeout(max(due - env.now, 0.0))
        (t_k, p_k, e_k, call), (t_s, p_s, e_s, timeout) = sorted(env._queue, key=lambda entry: entry[2])[-2:]
        assert (t_k, p_k, e_k + 1) == (t_s, p_s, e_s)
        assert call == (print, None, None) and isinstance(timeout, simpy.Timeout)
        env._queue.clear()

    def process():
        yield env.timeout(1.0)

    kernel.start(print)
    env.process(process())
    (t_k, p_k, e_k, _), (t_s, p_s, e_s, _) = sorted(env._queue, key=lambda entry: entry[2])
    assert (t_k, p_k, e_k + 1) == (t_s, p_s, e_s)


def test_run_until_stops_where_simpy_stops():
    """Events at the horizon queued before the run started happen; ones queued at it during the run do not."""
    log = {}
    for base in (Kernel, SimPyKernel):
        env = simpy.Environment()
        kernel = base(env)
        seen = log[base] = []

        def at(name, when, kernel=kernel, seen=seen):
            kernel.push(when, lambda a, b, now, seen=seen: seen.append((now, a)), name, None)

        at("before", 5.0)
        at("at horizon, queued first", 10.0)
        kernel.push(7.0, lambda a, b, now: at("at horizon, queued during the run", 10.0), None, None)
        kernel.run_until(10.0)
        assert env.now == 10.0
    assert log[Kernel] == log[SimPyKernel] == [(5.0, "before")]


@pytest.mark.parametrize("base", [Kernel, SimPyKernel])
def test_failing_turnover_process_raises_as_simpy_does(base):
    """A staff turnover process that fails stops the run with a copy of its error caused by the original."""
    sc = every_kind_scenario()
    p = Program(sc, 0, kernel=base)

    def hire(s, t):
        raise RuntimeError("no one to hire", s.index)

    p.workforce.hire = hire
    with pytest.raises(RuntimeError) as caught:
        p.run()
    err = caught.value
    assert err.args[0] == "no one to hire"
    assert isinstance(err.__cause__, RuntimeError) and err.__cause__ is not err
    assert err.__cause__.args == err.args


def test_failure_matches_plain_simpy():
    """The kernel's error for a failed process is the one SimPy's own run raises (type, args, cause)."""
    raised = []
    for run in ("kernel", "simpy"):
        env = simpy.Environment()

        def fails(env=env):
            yield env.timeout(2.0)
            raise KeyError("post 3")

        env.process(fails())
        with pytest.raises(KeyError) as caught:
            Kernel(env).run_until(5.0) if run == "kernel" else env.run(until=5.0)
        raised.append((type(caught.value), caught.value.args, type(caught.value.__cause__),
                       caught.value.__cause__.args, env.now))
    assert raised[0] == raised[1]


def test_installed_simpy_is_one_the_package_allows():
    """The kernel relies on SimPy internals: pyproject bounds SimPy to the versions tested here."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    req = next(Requirement(d) for d in deps if Requirement(d).name == "simpy")
    assert req.specifier.contains(simpy.__version__)
    assert any(s.operator == "<" for s in req.specifier), "SimPy needs an upper bound (the kernel reads its internals)"


def test_a_replication_leaves_no_member_or_job_to_the_garbage_collector():
    """Once its records are dropped, a replication's members and jobs are freed by reference counting.

    (Members on specialists' clocks and callbacks bound to the program are reference cycles; left in
    place, only the cyclic collector frees them, which cost about a tenth of a replication's time.)
    """
    sc = every_kind_scenario()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        rec = run_replication(sc, 0)
        assert len(rec.members) > 50 and len(rec.jobs) > 20
        del rec
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, (Member, Job))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert left == []
