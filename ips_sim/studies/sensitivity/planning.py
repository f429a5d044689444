"""The planning question: re-planning (``plan.plan``) at each end of the assumptions that matter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ips_sim.config import (
    Scenario,
)
from ips_sim.runner.resume import Checkpoint
from ips_sim.studies.sensitivity.analyses import fmt
from ips_sim.studies.sensitivity.ranges import AssumptionRange

# --------------------------------------------------------------------------- the planning question


@dataclass
class PlanSensitivity:
    path: str
    targets: list
    baseline: Any                              # answer at the scenario's values (None: no value meets)
    rows: list[dict]                           # parameter, end, value, answer, change


def plan_sensitivity(base: Scenario, path: str, values: list, targets: list, ranges: Sequence[AssumptionRange],
                     executor, *, replications: int, max_replications: int, seed: int | None = None,
                     confidence: float = 0.95, progress=None, store: Checkpoint | None = None,
                     draws: Sequence[dict] | None = None) -> PlanSensitivity:
    """Re-plan with each assumption at its low and its high end (others at default), same seed (CRN).

    ``draws``: replication i of every re-plan uses parameter draw i (the assumption's end wins)."""
    from ips_sim.studies.plan import plan

    def answer(name, sc, fixed=None):
        saved = store.load(name) if store else None
        if saved is not None:
            return saved
        used = [{k: v for k, v in d.items() if k != fixed} for d in draws] if draws else None
        res = plan(sc, path, values, targets, executor, replications=replications,
                   max_replications=max_replications, confidence=confidence, seed=seed, progress=progress,
                   draws=used)
        got = {"answer": res.answer, "values_examined": len(res.points),
               "replications": sum(p.replications for p in res.points)}
        if store:
            store.save(name, got)
        return got

    base_res = answer("plan-baseline", base)
    rows = []
    for k, r in enumerate(ranges):
        for end, x in (("low", r.low), ("high", r.high)):
            res = answer(f"plan-{k:03d}-{end}", base.with_updates({r.parameter: r.value(x)}), r.parameter)
            rows.append({"parameter": r.parameter, "end": end, "value": r.value(x), "answer": res["answer"],
                         "baseline": base_res["answer"], "change": _change(base_res["answer"], res["answer"]),
                         "values_examined": res["values_examined"], "replications": res["replications"]})
    return PlanSensitivity(path, list(targets), base_res["answer"], rows)


def _change(baseline, answer) -> float | None:
    if isinstance(baseline, (int, float)) and isinstance(answer, (int, float)):
        return answer - baseline
    return None


def plan_sentence(ps: PlanSensitivity, values: list) -> str:
    targets = " and ".join(str(t) for t in ps.targets)
    if ps.baseline is None:
        base = f"At the scenario's values no {ps.path} in {values[0]}..{values[-1]} meets {targets}"
    else:
        base = f"At the scenario's values the smallest {ps.path} meeting {targets} is {ps.baseline}"
    movers: dict[str, dict[str, Any]] = {}
    for row in ps.rows:
        if row["answer"] != ps.baseline:
            movers.setdefault(row["parameter"], {})[row["end"]] = row
    if not movers:
        return base + f"; no assumption, at either end of its range, changes that answer ({len(ps.rows) // 2} tried)."

    def show(row):
        a = row["answer"] if row["answer"] is not None else f"none in {values[0]}..{values[-1]}"
        return f"{a} at {fmt(row['value'])}"

    def size(p):
        ch = [abs(r["change"]) if r["change"] is not None else math.inf for r in movers[p].values()]
        return -max(ch)

    parts = [f"{p} ({', '.join(show(movers[p][e]) for e in ('low', 'high') if e in movers[p])})"
             for p in sorted(movers, key=lambda p: (size(p), p))]
    return (base + "; it changes with " + "; ".join(parts)
            + f"; the other {len(ps.rows) // 2 - len(movers)} assumptions leave it unchanged at both ends.")


def plan_rank(ps: PlanSensitivity) -> list[str]:
    """Parameters that change the answer, largest change first."""
    best: dict[str, float] = {}
    for row in ps.rows:
        if row["answer"] != ps.baseline:
            c = abs(row["change"]) if row["change"] is not None else math.inf
            best[row["parameter"]] = max(best.get(row["parameter"], 0.0), c)
    return sorted(best, key=lambda p: (-best[p], p))
