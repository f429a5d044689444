"""Budgeted allocation of new posts across programs: greedy marginal analysis and exact search.

Each program offers a few options (posts added, what they cost, the gain
they buy). Greedy marginal analysis gives the next post (or dollar) to the
program whose next step buys the most per post (per dollar); it is optimal
when every program's gains diminish (each step buys no more per unit than
the one before) and the steps cost the same. When gains do not diminish --
a new program that needs a team of two before it does any good, a program
whose waitlist only clears with the third post -- greedy can be fooled, so
the allocation itself is the exact optimum (a multiple-choice knapsack,
solved by merging Pareto fronts of (cost, gain)), and greedy is reported
next to it with the steps where gains do not diminish.

Pure numbers in, numbers out: no simulation here, so the algorithms are
tested on hand-built gains.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

EPS = 1e-9


@dataclass(frozen=True)
class Option:
    """One staffing option of a program: posts added, their cost (posts or dollars) and the gain."""

    added: int
    cost: float
    gain: float


@dataclass(frozen=True)
class Allocation:
    choice: tuple[int, ...]      # per program, the index of the chosen option
    cost: float
    gain: float


def _total(options: list[list[Option]], choice: tuple[int, ...]) -> Allocation:
    cost = sum(options[p][k].cost for p, k in enumerate(choice))
    gain = sum(options[p][k].gain for p, k in enumerate(choice))
    return Allocation(tuple(choice), cost, gain)


def _check(options: list[list[Option]]) -> None:
    for p, opts in enumerate(options):
        if not opts:
            raise ValueError(f"program {p} has no options")
        costs = [o.cost for o in opts]
        if costs != sorted(costs) or len(set(costs)) != len(costs):
            raise ValueError(f"program {p}: options must be in strictly increasing cost order")


def _better(a: Allocation, b: Allocation | None) -> bool:
    """Is ``a`` preferred to ``b``: more gain; at equal gain, less cost; then fewer posts to earlier programs."""
    if b is None:
        return True
    if a.gain > b.gain + EPS:
        return True
    if a.gain < b.gain - EPS:
        return False
    if a.cost < b.cost - EPS:
        return True
    if a.cost > b.cost + EPS:
        return False
    return a.choice < b.choice


def exhaustive(options: list[list[Option]], budget: float) -> Allocation | None:
    """Best allocation by trying every combination (small cases only); None if nothing fits."""
    _check(options)
    best = None
    for choice in itertools.product(*(range(len(o)) for o in options)):
        a = _total(options, choice)
        if a.cost <= budget + EPS and _better(a, best):
            best = a
    return best


def exact(options: list[list[Option]], budget: float) -> Allocation | None:
    """Best allocation within ``budget`` (same preference as :func:`exhaustive`); None if nothing fits.

    Programs are added one at a time; after each, only allocations not
    dominated in (cost, gain) are kept, so the work grows with the number of
    distinct costs (at most budget + 1 for whole posts), not with the number
    of combinations.
    """
    _check(options)
    front: list[Allocation] = [Allocation((), 0.0, 0.0)]
    for opts in options:
        merged: list[Allocation] = []
        for a in front:
            for k, o in enumerate(opts):
                c = a.cost + o.cost
                if c <= budget + EPS:
                    merged.append(Allocation(a.choice + (k,), c, a.gain + o.gain))
        if not merged:
            return None
        front = _pareto(merged)
    best = None
    for a in front:
        if _better(a, best):
            best = a
    return best


def _pareto(allocs: list[Allocation]) -> list[Allocation]:
    """Allocations not beaten by one costing no more that gains at least as much (ties: keep the preferred)."""
    ordered = sorted(allocs, key=lambda a: (a.cost, -a.gain, a.choice))
    out: list[Allocation] = []
    for a in ordered:
        if out and a.gain <= out[-1].gain + EPS:
            # Costs at least as much and gains no more than the last kept one. Keep it only if it
            # ties exactly on gain and cost and is preferred (deterministic tie-break).
            last = out[-1]
            if abs(a.gain - last.gain) <= EPS and abs(a.cost - last.cost) <= EPS and a.choice < last.choice:
                out[-1] = a
            continue
        out.append(a)
    return out


@dataclass(frozen=True)
class Step:
    """One greedy step: program ``program`` moves from option ``before`` to ``after``."""

    program: int
    before: int
    after: int
    cost: float
    gain: float

    @property
    def per_unit(self) -> float:
        return self.gain / self.cost if self.cost > 0 else float("inf")


def greedy(options: list[list[Option]], budget: float) -> tuple[Allocation, list[Step]]:
    """Marginal analysis: repeatedly take the affordable next step with the largest gain per unit of cost.

    Starts from each program's first option (which must fit the budget);
    stops when no affordable step gains anything. Ties go to the earlier
    program. Returns the allocation and the steps in the order taken.
    """
    _check(options)
    choice = [0] * len(options)
    spent = sum(o[0].cost for o in options)
    if spent > budget + EPS:
        raise ValueError(f"the programs' first options cost {spent:g}, more than the budget {budget:g}")
    steps: list[Step] = []
    while True:
        best: Step | None = None
        for p, opts in enumerate(options):
            k = choice[p]
            if k + 1 >= len(opts):
                continue
            s = Step(p, k, k + 1, opts[k + 1].cost - opts[k].cost, opts[k + 1].gain - opts[k].gain)
            if spent + s.cost > budget + EPS or s.gain <= EPS:
                continue
            if best is None or s.per_unit > best.per_unit + EPS:
                best = s
        if best is None:
            break
        choice[best.program] = best.after
        spent += best.cost
        steps.append(best)
    return _total(options, tuple(choice)), steps


@dataclass(frozen=True)
class NotDiminishing:
    """A step that buys more per unit than the step before it in the same program."""

    program: int
    option: int          # the option the step leads to
    per_unit_before: float
    per_unit: float


def not_diminishing(options: list[list[Option]]) -> list[NotDiminishing]:
    """Steps whose gain per unit of cost is larger than the previous step's (where greedy can be fooled)."""
    out = []
    for p, opts in enumerate(options):
        prev = None
        for k in range(1, len(opts)):
            dc = opts[k].cost - opts[k - 1].cost
            per = (opts[k].gain - opts[k - 1].gain) / dc
            if prev is not None and per > prev + EPS * max(1.0, abs(prev)):
                out.append(NotDiminishing(p, k, prev, per))
            prev = per
    return out
