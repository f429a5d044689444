"""Evaluating sample points: work units of points on any executor (same seed and replication indices at
every point: common random numbers), saved in a checkpoint; ``ishigami_unit`` replaces the model in tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ips_sim.config import (
    Scenario,
)
from ips_sim.runner.resume import Checkpoint
from ips_sim.studies.sensitivity.ranges import MAX_POINTS_PER_UNIT

# --------------------------------------------------------------------------- evaluating points


def model_unit(base: Scenario, seed: int, replications: int, outcomes: tuple[str, ...],
               points: list[dict[str, Any]], draws: tuple[dict, ...] | None = None) -> list[list[float]]:
    """One work unit: mean of each outcome over replications 0..n-1 at each point (same seed: CRN).

    Each point's row is the outcome means followed by their standard errors over replications. With
    ``draws`` (parameter uncertainty), replication i uses draw i (cycled) at every point, the point's
    own values winning over the draw's: common random numbers and common parameters across points.
    """
    from ips_sim.runner.experiment import cycled_draws, run_replications

    out = []
    for updates in points:
        sc = base.with_updates(updates) if updates else base
        per_rep, _ = run_replications(sc, replications, seed, workers=1, keep_records=False,
                                      scenario_for=cycled_draws(base, draws, updates) if draws else None)
        cols = [[m[o] for m in per_rep] for o in outcomes]
        out.append([_mean(c) for c in cols] + [_se(c) for c in cols])
    return out


def ishigami_unit(a: float, b: float, points: list[dict[str, Any]]) -> list[list[float]]:
    """A work unit with the model replaced by the Ishigami function (known Sobol indices; tests).

    f = sin x1 + a sin^2 x2 + b x3^4 sin x1, x_i in [-pi, pi]; missing inputs are 0.
    """
    out = []
    for p in points:
        x1, x2, x3 = (float(p.get(k, 0.0)) for k in ("x1", "x2", "x3"))
        out.append([math.sin(x1) + a * math.sin(x2) ** 2 + b * x3 ** 4 * math.sin(x1)])
    return out


def _se(xs: list[float]) -> float:
    arr = np.asarray(xs, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.std(ddof=1) / math.sqrt(arr.size)) if arr.size > 1 else float("nan")


def _mean(xs: list[float]) -> float:
    arr = np.asarray(xs, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float("nan")


def evaluate(executor, unit: Callable, args: tuple, points: list[dict[str, Any]],
             per_unit: int | None = None, progress: Callable[[int], None] | None = None,
             store: Checkpoint | None = None, stage: str = "points") -> np.ndarray:
    """Outcomes of every point, ``unit(*args, points_chunk)`` per chunk, back in point order.

    ``unit`` is a module-level function (so it can be sent to worker processes);
    it returns one list of outcome values per point of its chunk. With a
    ``store``, chunks already saved are not run again and each new one is saved.
    """
    if not points:
        return np.zeros((0, 0))
    size = per_unit or max(1, min(MAX_POINTS_PER_UNIT, math.ceil(len(points) / max(1, executor.capacity * 4))))
    got: dict[int, list] = {}
    starts = []
    for s in range(0, len(points), size):
        saved = store.load(f"{stage}-{s:06d}-{size}") if store else None
        if saved is not None:
            got[s] = saved
            if progress:
                progress(len(saved))
        else:
            starts.append(s)
    window = max(2, executor.capacity * 2)
    in_flight: dict = {}
    it = iter(starts)
    exhausted = False
    try:
        while True:
            while not exhausted and len(in_flight) < window:
                s = next(it, None)
                if s is None:
                    exhausted = True
                    break
                in_flight[executor.submit(unit, *args, points[s:s + size])] = s
            if not in_flight:
                break
            done, _ = executor.wait_first(list(in_flight))
            for fut in done:
                s = in_flight.pop(fut)
                got[s] = fut.result()
                if store:
                    store.save(f"{stage}-{s:06d}-{size}", got[s])
                if progress:
                    progress(len(got[s]))
    except BaseException:
        executor.close(cancel=True)
        raise
    return np.asarray([row for s in sorted(got) for row in got[s]], dtype=float)
