"""Fitting one arm: Nelder-Mead on the transformed free parameters, every evaluation saved for resuming."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from scipy import optimize

from ips_sim.studies.calibration.simulator import FREE, Simulator, start_values, target_quantity, updates_for
from ips_sim.studies.calibration.targets import Target

# --------------------------------------------------------------------------- fitting


@dataclass
class ArmFit:
    arm: str
    values: dict[str, float]
    updates: dict[str, float]
    loss: float
    evaluations: int
    success: bool
    message: str
    history: list = field(default_factory=list)


# A target's range (its published CI, or the range its source allows) says what fits; the squared distance
# from the published value, in the range's sd, says how to trade inside the ranges. Where the published
# values pull against each other (the 28-RCT control mean and de Winter et al.'s long-trial control arm
# cannot both be met at their point values, see docs/calibration.md), the plain sum of squares settles
# outside a range; a steep extra cost for leaving the range keeps the fit inside every range it can meet.
# The range is shrunk by RANGE_MARGIN of its half-width so that a fit just inside it on the fit's own
# replications is not just outside it on fresh ones (Monte Carlo noise).
# A target with role `bound` (the same published figure read another way, e.g. one trial at the weighted
# follow-up) adds only that extra cost: inside its range it costs nothing, so the figure is not counted twice.
RANGE_PENALTY = 25.0
RANGE_MARGIN = 0.15


def _loss(targets: list[Target], sims: dict[str, float]) -> float:
    """Sum of squared standardized distances from the `fit` targets, plus RANGE_PENALTY times the squared
    standardized distance outside each target's (margin-shrunk) range, `bound` targets included."""
    total = 0.0
    for t in targets:
        v = sims[t.target]
        if not math.isfinite(v):
            return 1e6
        half = (t.high - t.low) / 2
        lo, hi = t.low + RANGE_MARGIN * half, t.high - RANGE_MARGIN * half
        outside = max(0.0, lo - v, v - hi) / t.sd
        total += (0.0 if t.role == "bound" else ((v - t.value) / t.sd) ** 2) + RANGE_PENALTY * outside ** 2
    return total


def _unit_name(*what) -> str:
    """A saved evaluation's name: a hash of what it evaluated (arm, point, fixed updates)."""
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:24]


def _remembered(checkpoint, name: str, evaluate: Callable[[], Any]) -> Any:
    """``evaluate()``, or its value saved in ``checkpoint`` by an interrupted calibration (JSON: exact floats)."""
    if checkpoint is not None:
        saved = checkpoint.load(name)
        if saved is not None:
            return saved
    value = evaluate()
    if checkpoint is not None:
        checkpoint.save(name, value)
    return value


def fit_arm(sim: Simulator, arm: str, targets: list[Target], budget: int, ips_updates: dict | None = None,
            log: Callable[[str], None] | None = None, checkpoint=None) -> ArmFit:
    """Nelder-Mead on the transformed free parameters of one arm (deterministic: fixed seed and replications).

    ``checkpoint`` (a :class:`resume.Checkpoint`, JSON): each evaluation is saved; the search is
    deterministic, so a resumed calibration takes the same steps and finds them there.
    """
    free = FREE[arm]
    base = sim.base[arm]
    x0 = np.array([fp.to_x(v) for fp, v in zip(free, start_values(arm, base).values())])
    if arm == "usual_services":
        x0 = np.array([fp.to_x(max(v, 0.0)) for fp, v in zip(free, start_values(arm, base).values())])
    simplex = [x0] + [x0 + np.eye(len(free))[k] * free[k].step for k in range(len(free))]
    history = []
    cache: dict[tuple, float] = {}
    ips_rows_fixed = sim.arm("ips", ips_updates) if arm == "usual_services" else None

    def evaluate(values: dict, pen: float) -> float:
        if arm == "ips":
            upd = updates_for("ips", values, base)
            rows_i, rows_u = sim.arm("ips", upd), None
        else:
            upd = updates_for("usual_services", values, base)
            rows_i, rows_u = ips_rows_fixed, sim.arm("usual_services", ips_updates, upd)
        pc: dict = {}
        ipsu = upd if arm == "ips" else ips_updates
        sims = {t.target: target_quantity(sim, t, rows_i, rows_u, ipsu, pc) for t in targets}
        return _loss(targets, sims) + pen

    def objective(x):
        key = tuple(np.round(x, 12))
        if key in cache:
            return cache[key]
        values = {fp.name: fp.from_x(xi) for fp, xi in zip(free, x)}
        pen = sum(fp.penalty(xi) for fp, xi in zip(free, x))
        name = _unit_name("fit", arm, [float(k) for k in key], ips_updates or {})
        val = _remembered(checkpoint, name, lambda: evaluate(values, pen))
        cache[key] = val
        history.append({**values, "loss": val})
        if log:
            log(f"  {arm} eval {len(history):3d}: " + ", ".join(f"{k}={v:.4g}" for k, v in values.items())
                + f" loss={val:.4f}")
        return val

    res = optimize.minimize(objective, x0, method="Nelder-Mead",
                            options={"maxfev": budget, "initial_simplex": np.array(simplex),
                                     "xatol": 0.01, "fatol": 0.01})
    best = min(history, key=lambda h: h["loss"])  # the best point evaluated (NM may stop mid-step)
    values = {fp.name: best[fp.name] for fp in free}
    return ArmFit(arm, values, updates_for(arm, values, base), float(best["loss"]), len(history),
                  bool(res.success), str(res.message), history)

