"""Cumulative-hazard clocks: exact event times for hazards that change weekly.

Members of one specialist who face the same risk (finding a job, losing one,
dropping out) share a rate that is constant between planning steps. A clock
integrates that rate: ``level(t) = base + rate * (t - t_base)``, where
``t_base`` is when the rate last changed. A member who joins the risk with a
standard exponential draw ``E`` and personal multiplier ``m`` has the event
when the level has grown by ``E / m``: the member's threshold. So a planning
step costs a few comparisons, not a pass over every member, and event times
are exact for piecewise-constant hazards.

The clock keeps the time its lowest threshold falls due at the current rate
(``due_top``), so the planning step sees at one comparison whether anything
falls due before the next step; a rate that did not change costs nothing. The
thresholds reached within a step go onto the event queue through the kernel
(:meth:`ips_sim.sim.kernel.Kernel.queue_due`), which owns the queue's entries.
"""

from __future__ import annotations

import math
from heapq import heappush


class Step:
    """The planning step in force, shared by a program's clocks: rates hold until ``end``."""

    __slots__ = ("end",)

    def __init__(self, end: float = 0.0):
        self.end = end


class HazardClock:
    """Integrated hazard of one risk for one specialist's members."""

    __slots__ = ("_seq", "base", "due_top", "heap", "on_due", "rate", "step", "t_base", "version_of")

    def __init__(self, step: Step | None = None, on_due=None, version_of=None):
        self.rate = 0.0          # per day, constant until changed at a planning step
        self.base = 0.0          # integrated hazard at t_base
        self.t_base = 0.0        # when the rate last changed
        self.step = Step() if step is None else step
        self.heap: list = []
        self.due_top = math.inf  # when the lowest threshold in the heap falls due at this rate
        self._seq = 0            # tie-breaker so members are never compared
        # What a reached threshold becomes (kernel.queue_due): the event (on_due, member, version),
        # due if version_of(member) still equals the version the member joined with.
        self.on_due = on_due
        self.version_of = version_of

    def level_at(self, t: float) -> float:
        return self.base + self.rate * (t - self.t_base)

    def time_of(self, threshold: float) -> float:
        """When the level reaches ``threshold`` at the current rate (inf if never)."""
        if self.rate <= 0.0:
            return math.inf
        return self.t_base + (threshold - self.base) / self.rate

    def set_rate(self, t: float, rate: float, t_end: float | None = None) -> None:
        """The rate from ``t`` on; ``t_end`` (if given) is when the planning step in force ends."""
        if t_end is not None:
            self.step.end = t_end
        if rate != self.rate:
            self.base += self.rate * (t - self.t_base)
            self.t_base = t
            self.rate = rate
            self._top_due()

    def _top_due(self) -> None:
        heap = self.heap
        self.due_top = (self.t_base + (heap[0][0] - self.base) / self.rate
                        if heap and self.rate > 0.0 else math.inf)

    def add(self, t: float, residual: float, member, version: int):
        """Start a member on this risk at time ``t``.

        Returns ``(threshold, due)``: ``due`` is the event time if it falls
        before the planning step ends (the caller schedules it; nothing is
        kept here), else None (kept in the heap for a later step).
        """
        rate = self.rate
        threshold = self.base + rate * (t - self.t_base) + residual
        self._seq += 1
        if rate > 0.0:
            due = self.t_base + (threshold - self.base) / rate
            if due <= self.step.end:
                return threshold, due
            heappush(self.heap, (threshold, self._seq, member, version))
            if due < self.due_top:
                self.due_top = due
        else:
            heappush(self.heap, (threshold, self._seq, member, version))
        return threshold, None


def set_rates(clocks, rates, t: float) -> None:
    """``clock.set_rate(t, rate)`` for each clock and its rate, in one call (unchanged rates cost nothing)."""
    for c, rate in zip(clocks, rates):
        old = c.rate
        if rate != old:
            c.base = base = c.base + old * (t - c.t_base)
            c.t_base = t
            c.rate = rate
            heap = c.heap
            c.due_top = t + (heap[0][0] - base) / rate if heap and rate > 0.0 else math.inf
