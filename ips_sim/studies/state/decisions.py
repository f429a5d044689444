"""The plan: the allocation of new posts (exact optimum, greedy next to it), its frontier and the
reverse question (what budget a gain needs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ips_sim.studies.allocation import Allocation, Option, exact, greedy, not_diminishing
from ips_sim.studies.state.evidence import (
    Estimate,
    Evaluation,
    first_meeting,
    marginal_pair,
    objective_values,
    options_of,
    step_values,
    sum_estimates,
    unit_cost_fn,
)
from ips_sim.studies.state.statefile import State, currency_of

# --------------------------------------------------------------------------- the plan


@dataclass
class StateResult:
    evaluation: Evaluation
    allocation: Allocation | None
    levels: list[list[int]]
    options: list[list[Option]]
    greedy: Allocation | None
    greedy_steps: list
    not_diminishing: list
    notes: list[str]
    constraints_dropped: bool
    program_gains: list[Estimate]
    total_gain: Estimate
    total_now: Estimate
    frontier: list[dict]
    needed: list[dict]                   # reverse question, per program
    needed_total: float | None           # posts (or dollars) to meet every target; None if some cannot


def gain_estimate(ev: Evaluation, i: int, level: int) -> Estimate:
    res = ev.results[i]
    p = res.program
    w = ev.state.weights
    return Estimate.of(objective_values(res, level, w) - objective_values(res, p.levels[0], w), ev.state.confidence)


def decide(ev: Evaluation) -> StateResult:
    """Allocation for the budget, greedy next to it, the frontier 0..budget and the reverse question."""
    st = ev.state
    ucost = unit_cost_fn(st)
    budget = st.budget.amount
    notes: list[str] = []
    options, levels, cnotes = options_of(ev, ucost)
    notes += cnotes
    dropped = False
    alloc = exact(options, budget)
    if alloc is None:
        need = sum(o[0].cost for o in options)
        notes.append(f"the budget ({amount_text(budget, st)}) cannot meet every constraint: the constraints alone need "
                     f"{amount_text(need, st)}; allocating without them")
        options, levels, _ = options_of(ev, ucost, use_constraints=False)
        alloc = exact(options, budget)
        dropped = True
    g_alloc, g_steps = greedy(options, budget)
    nd, within_noise = [], 0
    for x in not_diminishing(options):
        # Only a rise larger than its confidence interval counts: noisy estimates of flat gains
        # rise and fall by chance. The difference of the two steps is paired (same replications).
        lv = levels[x.program]
        a, b, c = lv[x.option - 2] if x.option >= 2 else None, lv[x.option - 1], lv[x.option]
        unit = ucost(st.programs[x.program])
        later = step_values(ev, x.program, b, c, unit * (c - b))
        earlier = (step_values(ev, x.program, a, b, unit * (b - a)) if a is not None
                   else step_values(ev, x.program, st.programs[x.program].levels[0], b,
                                     unit * max(1, b - st.programs[x.program].levels[0])))
        d = Estimate.of(later - earlier, st.confidence)
        if math.isfinite(d.low) and d.low > 0:
            nd.append(x)
            p = st.programs[x.program]
            notes.append(f"gains do not diminish at {p.name}: the step to {c} posts buys {x.per_unit:.3g} per "
                         f"{unit_word(st)}, more than the step before ({x.per_unit_before:.3g}; difference "
                         f"{d.mean:.3g} [{d.low:.3g}, {d.high:.3g}]); greedy marginal analysis is not guaranteed "
                         "optimal there, and the allocation is the exact optimum")
        else:
            within_noise += 1
    if within_noise:
        notes.append(f"{within_noise} step(s) buy slightly more than the step before, within their confidence "
                     "intervals (noise, not a rising return)")
    if g_alloc.choice != alloc.choice:
        diff = []
        for i, (kg, ko) in enumerate(zip(g_alloc.choice, alloc.choice)):
            if kg != ko:
                diff.append(f"{st.programs[i].name} {levels[i][kg] - levels[i][ko]:+d}")
        notes.append(f"greedy marginal analysis (gain per {unit_word(st)}) would differ ({', '.join(diff)} "
                     f"against the optimum) and gain {g_alloc.gain:.4g} against the optimum's {alloc.gain:.4g}")
    pair = None if dropped else marginal_pair(ev)
    if pair is not None and math.isfinite(pair[2].low) and pair[2].low <= 0 <= pair[2].high:
        a, b, d = pair
        notes.append(f"the weakest post given ({st.programs[a].name}) and the strongest refused "
                     f"({st.programs[b].name}) are too close to call after {ev.results[a].replications} and "
                     f"{ev.results[b].replications} replications (difference {d.mean:.3g} [{d.low:.3g}, {d.high:.3g}] "
                     f"per {unit_word(st)}): either choice buys about the same")
    gains = [gain_estimate(ev, i, levels[i][k]) for i, k in enumerate(alloc.choice)]
    total = sum_estimates(gains, st.confidence)
    now = sum_estimates([Estimate.of(objective_values(r, r.program.levels[0], st.weights), st.confidence)
                         for r in ev.results], st.confidence)
    frontier = []
    step = 1.0 if st.budget.unit == "posts" else min(p.post_cost for p in st.programs)
    budgets = [k * step for k in range(int(math.floor(budget / step + 1e-9)) + 1)]
    if st.budget.unit == "dollars" and budgets[-1] < budget - 1e-6:
        budgets.append(budget)
    free_options, free_levels, _ = options_of(ev, ucost, use_constraints=False)
    for b in budgets:
        a = exact(options, b)
        free = exact(free_options, b)
        # Unconstrained, every program can stay as it is, so there is always an allocation.
        free_gain = sum(gain_estimate(ev, i, free_levels[i][k]).mean for i, k in enumerate(free.choice))
        if a is None:
            frontier.append({"budget": b, "feasible": False, "free_gain": free_gain})
            continue
        es = [gain_estimate(ev, i, levels[i][k]) for i, k in enumerate(a.choice)]
        tot = sum_estimates(es, st.confidence)
        frontier.append({"budget": b, "feasible": True, "cost": a.cost, "gain": tot, "choice": a.choice,
                         "free_gain": free_gain})
    needed, needed_total = reverse_question(ev, ucost)
    return StateResult(ev, alloc, levels, options, g_alloc, g_steps, nd, notes, dropped, gains, total, now,
                       frontier, needed, needed_total)


def reverse_question(ev: Evaluation, ucost) -> tuple[list[dict], float | None]:
    """Per program, the fewest posts meeting its constraints and targets with confidence; their sum."""
    st = ev.state
    rows, total, ok = [], 0.0, True
    for res in ev.results:
        p = res.program
        goals = tuple(p.constraints) + tuple(t for t in p.targets if str(t) not in {str(c) for c in p.constraints})
        level, verdicts = first_meeting(res, goals, st.confidence)
        row = {"program": p.name, "posts_now": p.posts_now, "targets": "; ".join(str(t) for t in goals)}
        if level is None:
            ok = False
            row.update(posts_needed=None, posts_added=None, cost_added=None,
                       verdict=f"not met within {p.levels[-1]} posts")
        else:
            added = level - p.posts_now
            row.update(posts_needed=level, posts_added=added, cost_added=added * ucost(p), verdict="met")
            total += added * ucost(p)
        row["verdict_by_posts"] = "; ".join(f"{lv_}: {verdicts[lv_]}" for lv_ in p.levels if lv_ in verdicts)
        rows.append(row)
    return rows, (total if ok else None)


def unit_word(st: State) -> str:
    return "post" if st.budget.unit == "posts" else "dollar"


def amount_text(x: float, st: State) -> str:
    if st.budget.unit == "posts":
        return f"{x:g} post{'s' if x != 1 else ''}"
    cur = currency_of(st)
    return f"{x:,.0f} {cur} a year"
