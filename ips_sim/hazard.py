"""Cumulative-hazard clocks: exact event times for hazards that change weekly.

Members of one specialist who face the same risk (finding a job, losing one,
dropping out) share a rate that is constant between planning steps. A clock
integrates that rate, ``level(t) = level(t0) + rate * (t - t0)``. A member who
joins the risk with a standard exponential draw ``E`` and personal multiplier
``m`` has the event when the level has grown by ``E / m``: the member's
threshold. So each planning step costs a few heap pops, not a pass over every
member, and event times are exact for piecewise-constant hazards.
"""

from __future__ import annotations

import heapq
import math


class HazardClock:
    """Integrated hazard of one risk for one specialist's members."""

    __slots__ = ("rate", "level", "t0", "t_end", "limit", "heap", "_seq")

    def __init__(self):
        self.rate = 0.0          # per day, constant until the next planning step
        self.level = 0.0         # integrated hazard at t0
        self.t0 = 0.0
        self.t_end = 0.0         # next planning step: the rate holds until then
        self.limit = -math.inf   # level reached at t_end (-inf when the rate is 0: nothing falls due)
        self.heap: list = []
        self._seq = 0            # tie-breaker so members are never compared

    def level_at(self, t: float) -> float:
        return self.level + self.rate * (t - self.t0)

    def time_of(self, threshold: float) -> float:
        """When the level reaches ``threshold`` at the current rate (inf if never)."""
        if self.rate <= 0.0:
            return math.inf
        return self.t0 + (threshold - self.level) / self.rate

    def set_rate(self, t: float, rate: float, t_end: float) -> None:
        self.level += self.rate * (t - self.t0)
        self.t0 = t
        self.rate = rate
        self.t_end = t_end
        self.limit = self.level + rate * (t_end - t) if rate > 0.0 else -math.inf


    def add(self, t: float, residual: float, member, version: int):
        """Start a member on this risk at time ``t``.

        Returns ``(threshold, due)``: ``due`` is the event time if it falls
        before the next planning step (the caller schedules it; nothing is
        kept here), else None (kept in the heap for a later step).
        """
        threshold = self.level + self.rate * (t - self.t0) + residual
        if self.rate > 0.0:
            due = self.t0 + (threshold - self.level) / self.rate
            if due <= self.t_end:
                return threshold, due
        self._seq += 1
        heapq.heappush(self.heap, (threshold, self._seq, member, version))
        return threshold, None

    def pop_due(self):
        """Remove and yield ``(due_time, member, version)`` for thresholds reached before ``t_end``.

        Stale entries (members who have since moved on) come out too; the
        caller drops those whose ``version`` no longer matches.
        """
        heap = self.heap
        limit = self.limit
        while heap and heap[0][0] <= limit:
            threshold, _, member, version = heapq.heappop(heap)
            yield self.t0 + (threshold - self.level) / self.rate, member, version


def carry_on(clocks, t: float, t_end: float) -> None:
    """Each clock keeps its rate for the step [t, t_end): as ``clock.set_rate(t, clock.rate, t_end)``.

    One call for a specialist's clocks when their rates did not change (the planning step's
    common case), with the same arithmetic, so results do not depend on which path ran.
    """
    for c in clocks:
        rate = c.rate
        c.level = level = c.level + rate * (t - c.t0)
        c.t0 = t
        c.t_end = t_end
        c.limit = level + rate * (t_end - t) if rate > 0.0 else -math.inf


def set_rates(clocks, rates, t: float, t_end: float) -> None:
    """``clock.set_rate(t, rate, t_end)`` for each clock and its rate, in one call."""
    for c, rate in zip(clocks, rates):
        c.level = level = c.level + c.rate * (t - c.t0)
        c.t0 = t
        c.rate = rate
        c.t_end = t_end
        c.limit = level + rate * (t_end - t) if rate > 0.0 else -math.inf
