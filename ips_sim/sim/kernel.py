"""The one place the model reaches into SimPy: its event queue and its run loop.

Most of the model's events are queued calls, plain ``(function, a, b)`` tuples put on
SimPy's own queue in the entries SimPy would make (same time arithmetic, same event
ids), and called as ``function(a, b, now)``: no event object per member event. SimPy
processes (staff turnover) run beside them as usual. :class:`Kernel` makes those
entries and :meth:`Kernel.run_until` runs the queue.

What this relies on inside SimPy (4.1.x, the versions ``pyproject.toml`` allows;
``tests/test_kernel.py`` checks each against SimPy's own code):

- ``Environment._queue`` is a heap of ``(time, priority, event id, event)`` entries,
  ``Environment._eid`` the counter of event ids, ``Environment._now`` the time, set by
  ``step`` from the entry it pops; ``env.timeout(delay)`` pushes
  ``(now + delay, NORMAL, next(eid), timeout)`` and a new process starts with an
  ``(now, URGENT, next(eid), initialize)`` entry;
- ``Environment.step`` pops one entry, runs the event's callbacks, and re-raises a
  failed event's error (``event._ok`` false and no ``_defused`` attribute) as a copy
  whose ``__cause__`` is the original; a callback raising ``StopSimulation`` puts the
  event back with its remaining callbacks at priority -1 and ``run`` returns the
  exception's value;
- ``Environment.run(until=t)`` schedules an urgent event at ``now + (t - now)`` and stops
  when it comes off the queue: events queued at ``t`` before it run, the rest do not.
"""

from __future__ import annotations

import math
from heapq import heappop, heappush

import simpy
from simpy.core import StopSimulation
from simpy.events import NORMAL, URGENT


class _Stop:
    """The marker ``run_until`` puts on the queue where ``env.run(until=...)`` puts its until event."""

    __slots__ = ()


class Kernel:
    """Queued calls on a SimPy environment's queue, and the loop that runs them with its events.

    Queue entries are made only through the functions below (bound once, so the event
    loop's callers pay one call and no attribute lookups):

    - ``push(time, f, a, b)``: ``f(a, b, now)`` at exactly ``time`` (normal priority);
    - ``push_urgent(time, f, a, b)``: the same, before normal events at that time;
    - ``schedule(due, f, a, b)``: at ``due``, or now if that has passed, as
      ``env.timeout(due - now)`` computes the time;
    - ``schedule_kind(callbacks)``: a ``schedule(due, kind, a, b)`` calling ``callbacks[kind]``;
    - ``queue_due(clock, end, now)``: a hazard clock's member events due by ``end``.
    """

    def __init__(self, env: simpy.Environment):
        self.env = env
        queue, eid = env._queue, env._eid

        def push(time: float, f, a, b) -> None:
            heappush(queue, (time, NORMAL, next(eid), (f, a, b)))

        def push_urgent(time: float, f, a, b) -> None:
            heappush(queue, (time, URGENT, next(eid), (f, a, b)))

        def schedule(due: float, f, a, b) -> None:
            now = env._now
            delay = due - now
            heappush(queue, (now + (delay if delay > 0.0 else 0.0), NORMAL, next(eid), (f, a, b)))

        def queue_due(clock, end: float, now: float) -> None:
            """Move the thresholds of a hazard clock reached by ``end`` onto the queue (the planning step's hot path).

            Each current member of ``clock`` (:class:`ips_sim.sim.hazard.HazardClock`:
            ``version_of(member) == version``) gets the queued call ``(on_due, member, version)``
            at the exact time its threshold is reached at the rate in force, ``now + delay`` as
            ``env.timeout(delay)`` computes it. Stale entries (members who moved on) are dropped,
            and so are stale entries left at the top afterwards (else the next step would come
            back for nothing but them: a job found leaves a drop-out entry behind). Only called
            when ``clock.due_top <= end``, so the rate is positive. Here rather than in the
            clock so that the entries are pushed inline: a call per event costs ~5% of a run.
            """
            heap, version_of, on_due = clock.heap, clock.version_of, clock.on_due
            base, t_base, rate = clock.base, clock.t_base, clock.rate
            due = clock.due_top
            while due <= end:
                _, _, member, version = heappop(heap)
                if version_of(member) == version:
                    delay = due - now
                    heappush(queue, (now + (delay if delay > 0.0 else 0.0), NORMAL, next(eid), (on_due, member, version)))
                while heap and version_of(heap[0][2]) != heap[0][3]:
                    heappop(heap)
                if not heap:
                    due = math.inf
                    break
                due = t_base + (heap[0][0] - base) / rate
            clock.due_top = due

        self.push, self.push_urgent, self.schedule, self.queue_due = push, push_urgent, schedule, queue_due

    def schedule_kind(self, callbacks: tuple):
        """``schedule(due, kind, a, b)``: ``callbacks[kind](a, b, now)`` at ``due`` (now if passed)."""
        env = self.env
        queue, eid = env._queue, env._eid

        def schedule(due: float, kind: int, a, b) -> None:
            now = env._now
            delay = due - now
            heappush(queue, (now + (delay if delay > 0.0 else 0.0), NORMAL, next(eid), (callbacks[kind], a, b)))

        return schedule

    def start(self, f) -> None:
        """``f(None, None, now)`` now, queued as SimPy queues a new process's start (urgent)."""
        self.push_urgent(self.env._now, f, None, None)

    def release(self) -> None:
        """Empty the queue (what is left at the horizon): its entries refer back to the program."""
        self.env._queue.clear()

    def run_until(self, horizon: float):
        """What ``env.run(until=horizon)`` does, with SimPy's ``step`` written into the loop.

        The same order and the same stopping point, with a marker in place of the until
        event. This loop is the run's innermost code: it saves a method call per event, and
        a queued call is one call, with no event object at all. SimPy events (processes)
        run as ``step`` runs them, failures and ``StopSimulation`` included.
        """
        env = self.env
        if horizon <= env._now:
            raise ValueError(f"until (={horizon}) must be greater than the current simulation time")
        queue = env._queue
        stop = _Stop()
        now = env._now
        heappush(queue, (now + (horizon - now), URGENT, next(env._eid), stop))
        try:
            while True:
                now, _, _, event = heappop(queue)
                env._now = now
                if event.__class__ is tuple:  # a queued call (function, a, b)
                    event[0](event[1], event[2], now)
                    continue
                if event is stop:
                    return None
                callbacks, event.callbacks = event.callbacks, None
                try:
                    for callback in callbacks:
                        callback(event)
                except StopSimulation:
                    event.callbacks = callbacks[callbacks.index(callback) + 1:]
                    heappush(queue, (now, -1, next(env._eid), event))
                    raise
                if not event._ok and not hasattr(event, "_defused"):
                    # A process failed: as SimPy's step, a copy of the error with the original as its cause.
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
        except StopSimulation as exc:
            return exc.args[0]


class SimPyKernel(Kernel):
    """The same queued calls as SimPy events, run by ``env.run()`` itself: the reference for tests.

    Each call becomes an already-triggered event in the same queue entry (same time,
    priority and event id), so SimPy's own loop must run everything in the order
    :meth:`Kernel.run_until` does. Slow; never used by the model's commands.
    """

    def __init__(self, env: simpy.Environment):
        super().__init__(env)
        queue, eid = env._queue, env._eid

        def event_of(f, a, b):
            ev = simpy.Event(env)
            ev._ok, ev._value = True, None
            ev.callbacks.append(lambda _ev: f(a, b, env._now))
            return ev

        def push(time: float, f, a, b) -> None:
            heappush(queue, (time, NORMAL, next(eid), event_of(f, a, b)))

        def push_urgent(time: float, f, a, b) -> None:
            heappush(queue, (time, URGENT, next(eid), event_of(f, a, b)))

        def schedule(due: float, f, a, b) -> None:
            now = env._now
            delay = due - now
            heappush(queue, (now + (delay if delay > 0.0 else 0.0), NORMAL, next(eid), event_of(f, a, b)))

        fast_queue_due = self.queue_due

        def queue_due(clock, end: float, now: float) -> None:
            fast_queue_due(clock, end, now)  # the same entries, then each call made an event in place
            for i, (time, priority, event_id, item) in enumerate(queue):
                if item.__class__ is tuple:
                    queue[i] = (time, priority, event_id, event_of(*item))

        self.push, self.push_urgent, self.schedule, self.queue_due = push, push_urgent, schedule, queue_due

    def schedule_kind(self, callbacks: tuple):
        schedule = self.schedule
        return lambda due, kind, a, b: schedule(due, callbacks[kind], a, b)

    def run_until(self, horizon: float):
        return self.env.run(until=horizon)
