"""The analyses: SALib Morris screening, Sobol indices (S1, ST) for the top few, one-at-a-time low/high
ends; ranking, and the sentences that say what matters.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ips_sim.analysis.metrics import METRICS
from ips_sim.config import (
    Scenario,
    get_dotted,
)
from ips_sim.core.echo import shown
from ips_sim.runner.resume import Checkpoint
from ips_sim.studies.sensitivity.points import evaluate, model_unit
from ips_sim.studies.sensitivity.ranges import (
    CONFIDENCE,
    MORRIS_LEVELS,
    NOISE_MU_STAR,
    AssumptionRange,
    Ranges,
    SensitivityError,
    point_updates,
    salib_problem,
)

# --------------------------------------------------------------------------- the analyses


@dataclass
class OutcomeResult:
    """Indices of one outcome: one row per parameter (Morris, Sobol where run, one at a time)."""

    outcome: str
    rows: list[dict]
    sentence: str = ""


@dataclass
class SensitivityResult:
    method: str
    outcomes: list[str]
    ranges: Ranges
    trajectories: int
    sobol_samples: int
    sobol_parameters: list[str]
    replications: int
    seed: int
    default_values: dict[str, float]            # outcome -> value at the scenario's own settings
    noise_se: dict[str, float]                  # outcome -> replication standard error of a point's mean
    per_outcome: dict[str, OutcomeResult] = field(default_factory=dict)
    points_run: int = 0


def morris_design(ranges: Sequence[AssumptionRange], trajectories: int, seed: int) -> np.ndarray:
    from SALib.sample import morris as morris_sample

    return morris_sample.sample(salib_problem(ranges), trajectories, num_levels=MORRIS_LEVELS, seed=seed)


def morris_indices(ranges: Sequence[AssumptionRange], X: np.ndarray, Y: np.ndarray, seed: int) -> dict:
    """SALib Morris analysis of one outcome: mu, mu*, sigma, mu* confidence half-width per parameter.

    Elementary effects are per unit of the normalised range, i.e. the change in
    the outcome for a move across a parameter's whole range.
    """
    from SALib.analyze import morris as morris_analyze

    return morris_analyze.analyze(salib_problem(ranges), X, Y, num_levels=MORRIS_LEVELS,
                                  conf_level=CONFIDENCE, print_to_console=False, seed=seed)


def sobol_design(ranges: Sequence[AssumptionRange], samples: int, seed: int) -> np.ndarray:
    from SALib.sample import sobol as sobol_sample

    return sobol_sample.sample(salib_problem(ranges), samples, calc_second_order=False, scramble=True, seed=seed)


def sobol_indices(ranges: Sequence[AssumptionRange], Y: np.ndarray, seed: int) -> dict:
    """SALib Sobol analysis of one outcome: S1, ST and their confidence half-widths (bootstrap)."""
    from SALib.analyze import sobol as sobol_analyze

    return sobol_analyze.analyze(salib_problem(ranges), Y, calc_second_order=False, conf_level=CONFIDENCE,
                                 print_to_console=False, seed=seed)


def oat_points(ranges: Sequence[AssumptionRange]) -> list[dict[str, Any]]:
    """The scenario itself, then each parameter at its low and its high end (others at default)."""
    pts: list[dict[str, Any]] = [{}]
    for r in ranges:
        pts += [{r.parameter: r.value(r.low)}, {r.parameter: r.value(r.high)}]
    return pts


def run_sensitivity(base: Scenario, outcomes: Sequence[str], ranges: Ranges, executor, *, method: str = "morris",
                    trajectories: int = 10, sobol_samples: int = 64, sobol_top: int = 4, replications: int = 10,
                    seed: int | None = None, unit: Callable = model_unit, unit_args: tuple | None = None,
                    per_unit: int | None = None, progress: Callable[[int], None] | None = None,
                    store: Checkpoint | None = None, draws: Sequence[dict] | None = None) -> SensitivityResult:
    """Morris screening (and Sobol for the ``sobol_top`` with the largest mu*) plus one-at-a-time ends.

    ``unit``/``unit_args`` evaluate points (default: the model, ``replications``
    replications per point with ``seed``); tests pass a closed-form function instead.
    ``draws`` (parameter uncertainty): replication i of every point uses parameter draw i
    (the point's own values win), so each point's mean and noise include the parameters' spread.
    """
    seed = base.simulation.seed if seed is None else seed
    outcomes = list(outcomes)
    varied = ranges.varied
    args = unit_args if unit_args is not None else (base, seed, replications, tuple(outcomes))
    if draws and unit is model_unit:
        unit = functools.partial(model_unit, draws=tuple(draws))
    sample_seed = seed % (2**32)

    # One at a time: the scenario itself and each end (tornado), plus the replication noise at the default.
    oat = oat_points(varied)
    Y_oat = evaluate(executor, unit, args, oat, per_unit, progress, store, "oat")
    default_values = {o: float(Y_oat[0, j]) for j, o in enumerate(outcomes)}
    # Units that report standard errors (the model) put them after the means.
    has_se = Y_oat.shape[1] == 2 * len(outcomes)
    noise_se = {o: float(Y_oat[0, len(outcomes) + j]) if has_se else 0.0 for j, o in enumerate(outcomes)}

    data = base.model_dump(mode="json")
    defaults = {}
    for r in varied:
        try:
            defaults[r.parameter] = get_dotted(data, r.parameter)
        except (KeyError, AttributeError):
            defaults[r.parameter] = None  # not a scenario field (a test function's input)
    X = morris_design(varied, trajectories, sample_seed)
    Y = evaluate(executor, unit, args, point_updates(varied, X), per_unit, progress, store, "morris")
    points_run = len(oat) + len(X)
    res = SensitivityResult(method, outcomes, ranges, trajectories, sobol_samples, [], replications, seed,
                            default_values, noise_se, {}, 0)
    for j, o in enumerate(outcomes):
        y = Y[:, j]
        if not np.all(np.isfinite(y)):
            raise SensitivityError([(f"--outcome: {shown(o)}: undefined (NaN) at {int((~np.isfinite(y)).sum())} "
                                    "sample points (no member reached it); choose another outcome")])
        m = morris_indices(varied, X, y, sample_seed)
        rows = []
        for i, r in enumerate(varied):
            lo, hi = float(Y_oat[1 + 2 * i, j]), float(Y_oat[2 + 2 * i, j])
            rows.append({"outcome": o, "parameter": r.parameter, "low": r.low, "high": r.high,
                         "default": defaults[r.parameter],
                         "mu_star": float(m["mu_star"][i]), "mu_star_conf": float(m["mu_star_conf"][i]),
                         "mu": float(m["mu"][i]), "sigma": float(m["sigma"][i]),
                         "at_low": lo, "at_high": hi, "swing": abs(hi - lo),
                         "noise_floor": NOISE_MU_STAR * noise_se[o],
                         "above_noise": bool(m["mu_star"][i] - m["mu_star_conf"][i] > NOISE_MU_STAR * noise_se[o])})
        res.per_outcome[o] = OutcomeResult(o, rows)

    if method == "sobol":
        # The few that matter: the largest mu* over all outcomes (each outcome scaled by its largest mu*).
        score = {r.parameter: 0.0 for r in varied}
        for o in outcomes:
            top = max((row["mu_star"] for row in res.per_outcome[o].rows), default=0.0) or 1.0
            for row in res.per_outcome[o].rows:
                score[row["parameter"]] = max(score[row["parameter"]], row["mu_star"] / top)
        chosen = sorted(varied, key=lambda r: (-score[r.parameter], r.parameter))[:max(1, sobol_top)]
        chosen = [r for r in varied if r in chosen]  # keep the file's order
        res.sobol_parameters = [r.parameter for r in chosen]
        Xs = sobol_design(chosen, sobol_samples, sample_seed)
        Ys = evaluate(executor, unit, args, point_updates(chosen, Xs), per_unit, progress, store,
                      "sobol")
        points_run += len(Xs)
        for j, o in enumerate(outcomes):
            s = sobol_indices(chosen, Ys[:, j], sample_seed)
            by = {r.parameter: i for i, r in enumerate(chosen)}
            for row in res.per_outcome[o].rows:
                i = by.get(row["parameter"])
                for key in ("S1", "S1_conf", "ST", "ST_conf"):
                    row[key] = float(s[key][i]) if i is not None else float("nan")
    res.points_run = points_run
    for o in outcomes:
        res.per_outcome[o].rows = ranked(res.per_outcome[o].rows)
        res.per_outcome[o].sentence = outcome_sentence(res, o)
    return res


def ranked(rows: list[dict]) -> list[dict]:
    """Rows by Morris mu* (the screening covers every parameter), largest first; rank 1 = most important.

    Sobol indices, where run, are reported beside mu*: they split the variance
    among the few screened in, and do not re-rank the rest.
    """
    out = sorted(rows, key=lambda r: (-r["mu_star"], r["parameter"]))
    for k, r in enumerate(out, start=1):
        r["rank"] = k
    return out


def fmt(x: float) -> str:
    """A number for sentences and tables: 3 significant figures, thousands separated, n/a if missing."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def outcome_unit(outcome: str) -> str:
    return {m.name: m.unit for m in METRICS}.get(outcome, "")


def negligible(row: dict, top: float) -> bool:
    """An effect below 2% of the largest mu*, or not clearly above what replication noise alone gives."""
    return row["mu_star"] <= 0.02 * top or not row.get("above_noise", True)


def outcome_sentence(res: SensitivityResult, outcome: str) -> str:
    """One sentence naming the assumptions that change ``outcome`` most."""
    rows = res.per_outcome[outcome].rows
    unit = outcome_unit(outcome)
    top_mu = max((r["mu_star"] for r in rows), default=0.0)
    if top_mu <= 0:
        return f"{outcome}: none of the {len(rows)} ranged assumptions changes it."
    lead = [r for r in rows if not negligible(r, top_mu)][:3]
    if not lead:
        r = rows[0]
        return (f"{outcome}: no assumption moves it clearly beyond replication noise (largest mu* "
                f"{fmt(r['mu_star'])} {unit}, {r['parameter']}; noise alone gives about {fmt(r['noise_floor'])}); "
                "add replications per point to tell.")
    parts = []
    for r in lead:
        parts.append(f"{r['parameter']} ({fmt(r['low'])} to {fmt(r['high'])} moves it from {fmt(r['at_low'])} "
                     f"to {fmt(r['at_high'])} {unit}; mu* {fmt(r['mu_star'])}"
                     + (f", ST {fmt(r['ST'])}" if math.isfinite(r.get("ST", float("nan"))) else "") + ")")
    quiet = sum(1 for r in rows if negligible(r, top_mu))
    tail = (f"; {quiet} of {len(rows)} barely move it (mu* under 2% of the largest, or not clearly above "
            f"replication noise)") if quiet else ""
    return (f"{outcome} ({fmt(res.default_values[outcome])} {unit} at the scenario's values) changes most with "
            + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + tail + ".")


def table_rows(res: SensitivityResult) -> list[dict]:
    """The ranked table: one row per outcome and parameter."""
    cols = ["outcome", "rank", "parameter", "low", "high", "default", "at_low", "at_high", "swing",
            "mu_star", "mu_star_conf", "mu", "sigma", "noise_floor", "above_noise"]
    if res.method == "sobol":
        cols += ["S1", "S1_conf", "ST", "ST_conf"]
    return [{c: r.get(c) for c in cols} for o in res.outcomes for r in res.per_outcome[o].rows]
