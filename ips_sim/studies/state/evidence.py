"""What the simulations say: estimates of each program's outcomes at each staffing level, and the
decisions they support (the first level meeting targets, allocation options, calls too close to make).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import stats

from ips_sim.studies.allocation import Option, exact
from ips_sim.studies.plan import FAILS, MEETS, UNSURE, Target
from ips_sim.studies.state.statefile import Program, State

# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Estimate:
    """Mean, standard error, replications and t-interval of per-replication values."""

    mean: float
    se: float
    n: int
    low: float
    high: float

    @staticmethod
    def of(values: np.ndarray, confidence: float) -> "Estimate":
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        n = len(v)
        if n == 0:
            return Estimate(math.nan, math.nan, 0, math.nan, math.nan)
        mean = float(v.mean())
        if n < 2:
            return Estimate(mean, math.nan, n, math.nan, math.nan)
        se = float(v.std(ddof=1) / math.sqrt(n))
        h = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
        return Estimate(mean, se, n, mean - h, mean + h)


def sum_estimates(parts: list[Estimate], confidence: float) -> Estimate:
    """Sum of independent estimates; t-interval with Welch-Satterthwaite degrees of freedom."""
    parts = [p for p in parts if p.n > 0]
    if not parts:
        return Estimate(0.0, 0.0, 0, 0.0, 0.0)
    mean = sum(p.mean for p in parts)
    var_parts = [p.se ** 2 for p in parts if math.isfinite(p.se)]
    var = sum(var_parts)
    if var <= 0:
        return Estimate(mean, 0.0, min(p.n for p in parts), mean, mean)
    den = sum((p.se ** 4) / (p.n - 1) for p in parts if math.isfinite(p.se) and p.n > 1 and p.se > 0)
    df = var ** 2 / den if den > 0 else 1e9
    h = float(stats.t.ppf(0.5 + confidence / 2, df)) * math.sqrt(var)
    return Estimate(mean, math.sqrt(var), min(p.n for p in parts), mean - h, mean + h)


@dataclass
class ProgramResults:
    """Per-replication outcomes of a program at each level (replication order)."""

    program: Program
    outcomes: dict[int, list[dict[str, float]]] = field(default_factory=dict)   # level -> replications

    @property
    def replications(self) -> int:
        return min(len(v) for v in self.outcomes.values())

    def values(self, level: int, name: str) -> np.ndarray:
        if level == 0:
            return np.zeros(self.replications)
        return np.array([o[name] for o in self.outcomes[level][: self.replications]], dtype=float)


def objective_values(res: ProgramResults, level: int, weights: dict[str, float]) -> np.ndarray:
    out = np.zeros(res.replications)
    for k, w in weights.items():
        out = out + w * res.values(level, k)
    return out


@dataclass
class Evaluation:
    state: State
    results: list[ProgramResults]
    rounds: list[dict]                  # what each round of added replications was for
    units_run: int = 0
    units_cached: int = 0

# --------------------------------------------------------------------------- decisions


def first_meeting(res: ProgramResults, targets: tuple[Target, ...], confidence: float,
                  closed_ok: bool = False) -> tuple[int | None, dict]:
    """The smallest level meeting every target with confidence, and each level's verdict (as ``plan``).

    Level 0 is a new program not opened: it meets constraints (``closed_ok``: a program that does not
    run has no wait), never targets.
    """
    verdicts = {}
    answer = None
    for level in res.program.levels:
        if level == 0:
            ok = closed_ok or not targets
            verdicts[level] = MEETS if ok else FAILS
            if ok and answer is None:
                answer = level
            continue
        vs = []
        for t in targets:
            e = Estimate.of(res.values(level, t.metric), confidence)
            vs.append(t.verdict(e.mean, e.low, e.high))
        v = FAILS if FAILS in vs else MEETS if all(x == MEETS for x in vs) else UNSURE
        verdicts[level] = v
        if v == MEETS and answer is None:
            answer = level
    return answer, verdicts


def _first_undecided(res: ProgramResults, targets, confidence) -> bool:
    """Is the level that would decide these targets too close to call (the first that does not fail)?"""
    if not targets:
        return False
    _, verdicts = first_meeting(res, targets, confidence)
    for level in res.program.levels:
        if level == 0:
            continue
        if verdicts[level] == UNSURE:
            return True
        if verdicts[level] == MEETS:
            return False
    return False


def options_of(ev: Evaluation, unit_cost: Callable[[Program], float], use_constraints: bool = True,
               cap: float | None = None) -> tuple[list[list[Option]], list[list[int]], list[str]]:
    """Allocation options per program (levels allowed by its constraints), their levels, and notes."""
    st = ev.state
    options, levels, notes = [], [], []
    for res in ev.results:
        p = res.program
        base = objective_values(res, p.levels[0], st.weights)
        allowed = list(p.levels)
        if use_constraints and p.constraints:
            lowest, _ = first_meeting(res, p.constraints, st.confidence, closed_ok=True)
            if lowest is None:
                notes.append(f"{p.name}: no staffing within its limit ({p.levels[-1]} posts) meets "
                             f"{', '.join(str(t) for t in p.constraints)} with confidence; its constraint is dropped")
            else:
                allowed = [lv for lv in p.levels if lv >= lowest]
        opts, lv_used = [], []
        for lv in allowed:
            added = lv - p.posts_now
            cost = added * unit_cost(p)
            if cap is not None and cost > cap + 1e-9 and lv != allowed[0]:
                continue
            gain = float(np.mean(objective_values(res, lv, st.weights) - base))
            opts.append(Option(added, cost, gain))
            lv_used.append(lv)
        options.append(opts)
        levels.append(lv_used)
    return options, levels, notes


def unit_cost_fn(state: State) -> Callable[[Program], float]:
    if state.budget is not None and state.budget.unit == "dollars":
        return lambda p: p.post_cost
    return lambda p: 1.0


def step_values(ev: Evaluation, i: int, lv_from: int, lv_to: int, unit: float) -> np.ndarray:
    res = ev.results[i]
    w = ev.state.weights
    return (objective_values(res, lv_to, w) - objective_values(res, lv_from, w)) / unit


def close_calls(ev: Evaluation) -> dict[int, str]:
    """Programs needing more replications, and why: the marginal decision or a target too close to call."""
    st = ev.state
    out: dict[int, str] = {}
    for i, res in enumerate(ev.results):
        if _first_undecided(res, res.program.constraints, st.confidence):
            out[i] = "constraint too close to call"
        elif _first_undecided(res, res.program.targets, st.confidence):
            out[i] = "target too close to call"
    pair = marginal_pair(ev)
    if pair is not None:
        a, b, d = pair
        if math.isfinite(d.low) and d.low <= 0 <= d.high:
            why = "marginal post too close to call"
            out.setdefault(a, why)
            out.setdefault(b, why)
    return out


def marginal_pair(ev: Evaluation) -> tuple[int, int, Estimate] | None:
    """The program of the weakest step given, of the strongest step refused, and their difference per unit."""
    st = ev.state
    if st.budget is None:
        return None
    ucost = unit_cost_fn(st)
    options, levels, _ = options_of(ev, ucost)
    alloc = exact(options, st.budget.amount)
    if alloc is None:
        return None
    # The weakest step taken and the strongest step refused, per unit of cost.
    taken, refused = [], []
    for i, k in enumerate(alloc.choice):
        lv = levels[i]
        unit = ucost(ev.results[i].program)
        if k > 0:
            v = step_values(ev, i, lv[k - 1], lv[k], unit * (lv[k] - lv[k - 1]))
            taken.append((float(v.mean()), i, v))
        if k + 1 < len(lv):
            v = step_values(ev, i, lv[k], lv[k + 1], unit * (lv[k + 1] - lv[k]))
            refused.append((float(v.mean()), i, v))
    if not taken or not refused:
        return None
    _, a, va = min(taken, key=lambda t: (t[0], t[1]))
    _, b, vb = max(refused, key=lambda t: (t[0], -t[1]))
    if a == b:
        d = Estimate.of(va - vb, st.confidence)
    else:
        d = sum_estimates([Estimate.of(va, st.confidence), Estimate.of(-vb, st.confidence)], st.confidence)
    return a, b, d
