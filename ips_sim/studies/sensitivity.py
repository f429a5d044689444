"""Which assumptions matter: global sensitivity analysis over the assumed parameters.

The parameters marked *assumption* in ``calibration/parameters.csv`` are varied
over the plausible ranges stated, with their reasoning, in
``calibration/assumption_ranges.csv``. Three designs answer three questions:

* **Morris elementary effects** (SALib) screen every ranged assumption: mu* is
  the mean absolute change in an outcome when one assumption moves, scaled to
  a move across its whole range; sigma shows non-linearity and interactions.
* **Sobol indices** (SALib, Saltelli/Jansen estimators) for the few that
  matter: the share of the outcome's variance due to each one alone (S1) and
  with its interactions (ST).
* **One at a time**: each assumption at its low and its high end, the others at
  their defaults -- the tornado plot, and (with a planning question) the
  smallest staffing meeting every target, re-planned at each end.

Every sample point runs the same seed and replication indices (common random
numbers), so an assumption that changes nothing gives exactly the same
numbers and differences between points are the assumption, not noise.
Points are evaluated in work units through an executor (this process, local
processes or Dask, :mod:`ips_sim.runner.executors`) and put back in point order, so
results do not depend on where they ran.
"""

from __future__ import annotations

import csv
import difflib
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ips_sim.analysis.metrics import METRIC_NAMES, METRICS
from ips_sim.config import (
    Scenario,
    ScenarioError,
    calibration_dir,
    defaults_table,
    get_dotted,
)
from ips_sim.runner.resume import Checkpoint
from ips_sim.studies.sweep import check_path, scenario_field_paths, try_updates

RANGE_COLUMNS = ("parameter", "low", "high", "requires", "reasoning")
METHODS = ("morris", "sobol")
MORRIS_LEVELS = 4
CONFIDENCE = 0.95
MAX_POINTS_PER_UNIT = 8
# mu* that replication noise alone gives, in standard errors of a point's mean: two independent
# N(0, SE^2) means differ by 2 SE / sqrt(pi) on average, over a Morris step of 2/3 of the range.
NOISE_MU_STAR = 2 / math.sqrt(math.pi) / (MORRIS_LEVELS / (2 * (MORRIS_LEVELS - 1)))


class SensitivityError(ScenarioError):
    """Invalid sensitivity input; ``messages`` holds one line per problem."""


@dataclass(frozen=True)
class AssumptionRange:
    """One assumed parameter and the plausible range it is varied over."""

    parameter: str
    low: float
    high: float
    requires: str
    reasoning: str
    integer: bool = False

    def value(self, x: float) -> float | int:
        return round(x) if self.integer else float(x)


@dataclass(frozen=True)
class Ranges:
    """The ranged assumptions in use, those skipped for this scenario, and those never varied."""

    varied: list[AssumptionRange]
    inactive: list[tuple[str, str]]      # (parameter, why it has no effect in this scenario)
    not_varied: list[tuple[str, str]]    # (parameter, reasoning)
    unranged: list[str]                  # marked assumption in parameters.csv, no row in the ranges file


def default_ranges_path() -> Path:
    return calibration_dir() / "assumption_ranges.csv"


def assumption_parameters() -> list[str]:
    """Parameters whose source in parameters.csv says they are assumptions."""
    out = []
    for row in defaults_table():
        source = (row.get("source") or "").strip().lower()
        if source.startswith(("assumption", "derived assumption")) and row["parameter"] not in out:
            out.append(row["parameter"])
    return out


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _is_flag(base: Scenario, path: str) -> bool:
    return isinstance(get_dotted(base.model_dump(mode="json"), path), bool)


def load_ranges(path: str | Path, base: Scenario) -> Ranges:
    """Read and check the ranges file against the scenario; SensitivityError lists every problem.

    Rows with an empty low and high are assumptions deliberately not varied
    (the reasoning says why). A row whose ``requires`` flag is off in the
    scenario (e.g. ``turnover.enabled``) cannot change anything there and is
    set aside as inactive.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            rows = list(reader)
    except FileNotFoundError:
        raise SensitivityError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SensitivityError([f"{path}: cannot read: {exc}"]) from None
    missing = [c for c in RANGE_COLUMNS if c not in header]
    if missing:
        raise SensitivityError([(f"{path}: header: missing column(s) {', '.join(missing)}; "
                                f"expected {','.join(RANGE_COLUMNS)}")])
    fields = scenario_field_paths()
    data = base.model_dump(mode="json")
    errors: list[str] = []
    varied, inactive, not_varied, seen = [], [], [], set()
    for k, row in enumerate(rows, start=2):  # row 1 is the header
        where = f"{path}: row {k}"
        name = (row.get("parameter") or "").strip()
        why = check_path(name, varied=False)
        if why:
            errors.append(f"{where}, parameter: {name!r}: {why}")
            continue
        if name in seen:
            errors.append(f"{where}, parameter: {name!r}: listed twice; give one row per parameter")
            continue
        seen.add(name)
        low_text, high_text = (row.get("low") or "").strip(), (row.get("high") or "").strip()
        reasoning = (row.get("reasoning") or "").strip()
        if not low_text and not high_text:
            not_varied.append((name, reasoning))
            continue
        low, high = _number(low_text), _number(high_text)
        bad = False
        for col, text, x in (("low", low_text, low), ("high", high_text, high)):
            if x is None:
                errors.append(f"{where}, {col}: {text!r}: expected a finite number")
                bad = True
        if bad:
            continue
        if low >= high:
            errors.append(f"{where}, low: {low:g}: low must be below high ({high:g})")
            continue
        if not reasoning:
            errors.append(f"{where}, reasoning: empty: say why the range is plausible")
            continue
        current = get_dotted(data, name)
        if isinstance(current, bool) or not (current is None or isinstance(current, (int, float))):
            errors.append(f"{where}, parameter: {name!r}: is not a number in the scenario ({current!r}); "
                          "only numeric fields can be ranged")
            continue
        integer = "int" in fields[name] and "float" not in fields[name]
        problems = []
        for x in (low, high):
            _, probs = try_updates(base, {name: round(x) if integer else x})
            problems += probs
        if problems:
            loc, value, msg = problems[0]
            errors.append(f"{where}, low/high: {value!r}: not allowed for {loc}: {msg}")
            continue
        if current is not None and not (low <= current <= high):
            errors.append(f"{where}, low/high: [{low:g}, {high:g}]: the scenario's value {current:g} "
                          "must lie inside the range")
            continue
        requires = (row.get("requires") or "").strip()
        if requires:
            why = check_path(requires, varied=False)
            if why or not _is_flag(base, requires):
                errors.append(f"{where}, requires: {requires!r}: expected a true/false scenario field "
                              "such as turnover.enabled")
                continue
        ar = AssumptionRange(name, low, high, requires, reasoning, integer)
        if requires and not get_dotted(data, requires):
            inactive.append((name, f"{requires} is false in this scenario"))
        elif current is None:
            inactive.append((name, "null (switched off) in this scenario"))
        else:
            varied.append(ar)
    if errors:
        raise SensitivityError(errors)
    listed = seen
    unranged = [p for p in assumption_parameters() if p not in listed]
    return Ranges(varied, inactive, not_varied, unranged)


def select(ranges: Ranges, names: Sequence[str], source: str = "--parameter") -> Ranges:
    """Keep only the named ranged parameters (``--parameter``); unknown names are errors."""
    if not names:
        return ranges
    by_name = {r.parameter: r for r in ranges.varied}
    off = dict(ranges.inactive)
    errors = []
    for n in names:
        if n not in by_name:
            why = f"has no effect here ({off[n]})" if n in off else "has no range in the ranges file"
            errors.append(f"{source}: {n!r}: {why}; ranged: {', '.join(by_name)}")
    if errors:
        raise SensitivityError(errors)
    return Ranges([by_name[n] for n in dict.fromkeys(names)], ranges.inactive, ranges.not_varied, ranges.unranged)


def check_outcomes(outcomes: Sequence[str]) -> list[str]:
    """One error line per unknown outcome name."""
    out = []
    for o in outcomes:
        if o not in METRIC_NAMES:
            close = difflib.get_close_matches(o, METRIC_NAMES, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]}? " if close else ""
            out.append(f"--outcome: {o!r}: unknown metric; {hint}allowed: {', '.join(METRIC_NAMES)}")
    return out


def salib_problem(ranges: Sequence[AssumptionRange]) -> dict:
    return {"num_vars": len(ranges), "names": [r.parameter for r in ranges],
            "bounds": [[r.low, r.high] for r in ranges]}


def point_updates(ranges: Sequence[AssumptionRange], X: np.ndarray) -> list[dict[str, Any]]:
    """Rows of a SALib sample as dotted-path updates of the scenario."""
    return [{r.parameter: r.value(x) for r, x in zip(ranges, row)} for row in np.asarray(X)]


# --------------------------------------------------------------------------- evaluating points


def model_unit(base: Scenario, seed: int, replications: int, outcomes: tuple[str, ...],
               points: list[dict[str, Any]]) -> list[list[float]]:
    """One work unit: mean of each outcome over replications 0..n-1 at each point (same seed: CRN).

    Each point's row is the outcome means followed by their standard errors over replications.
    """
    from ips_sim.runner.experiment import run_replications

    out = []
    for updates in points:
        sc = base.with_updates(updates) if updates else base
        per_rep, _ = run_replications(sc, replications, seed, workers=1, keep_records=False)
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
                    store: Checkpoint | None = None) -> SensitivityResult:
    """Morris screening (and Sobol for the ``sobol_top`` with the largest mu*) plus one-at-a-time ends.

    ``unit``/``unit_args`` evaluate points (default: the model, ``replications``
    replications per point with ``seed``); tests pass a closed-form function instead.
    """
    seed = base.simulation.seed if seed is None else seed
    outcomes = list(outcomes)
    varied = ranges.varied
    args = unit_args if unit_args is not None else (base, seed, replications, tuple(outcomes))
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
            raise SensitivityError([(f"--outcome: {o!r}: undefined (NaN) at {int((~np.isfinite(y)).sum())} "
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


def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _unit(outcome: str) -> str:
    return {m.name: m.unit for m in METRICS}.get(outcome, "")


def negligible(row: dict, top: float) -> bool:
    """An effect below 2% of the largest mu*, or not clearly above what replication noise alone gives."""
    return row["mu_star"] <= 0.02 * top or not row.get("above_noise", True)


def outcome_sentence(res: SensitivityResult, outcome: str) -> str:
    """One sentence naming the assumptions that change ``outcome`` most."""
    rows = res.per_outcome[outcome].rows
    unit = _unit(outcome)
    top_mu = max((r["mu_star"] for r in rows), default=0.0)
    if top_mu <= 0:
        return f"{outcome}: none of the {len(rows)} ranged assumptions changes it."
    lead = [r for r in rows if not negligible(r, top_mu)][:3]
    if not lead:
        r = rows[0]
        return (f"{outcome}: no assumption moves it clearly beyond replication noise (largest mu* "
                f"{_fmt(r['mu_star'])} {unit}, {r['parameter']}; noise alone gives about {_fmt(r['noise_floor'])}); "
                "add replications per point to tell.")
    parts = []
    for r in lead:
        parts.append(f"{r['parameter']} ({_fmt(r['low'])} to {_fmt(r['high'])} moves it from {_fmt(r['at_low'])} "
                     f"to {_fmt(r['at_high'])} {unit}; mu* {_fmt(r['mu_star'])}"
                     + (f", ST {_fmt(r['ST'])}" if math.isfinite(r.get("ST", float("nan"))) else "") + ")")
    quiet = sum(1 for r in rows if negligible(r, top_mu))
    tail = (f"; {quiet} of {len(rows)} barely move it (mu* under 2% of the largest, or not clearly above "
            f"replication noise)") if quiet else ""
    return (f"{outcome} ({_fmt(res.default_values[outcome])} {unit} at the scenario's values) changes most with "
            + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + tail + ".")


def table_rows(res: SensitivityResult) -> list[dict]:
    """The ranked table: one row per outcome and parameter."""
    cols = ["outcome", "rank", "parameter", "low", "high", "default", "at_low", "at_high", "swing",
            "mu_star", "mu_star_conf", "mu", "sigma", "noise_floor", "above_noise"]
    if res.method == "sobol":
        cols += ["S1", "S1_conf", "ST", "ST_conf"]
    return [{c: r.get(c) for c in cols} for o in res.outcomes for r in res.per_outcome[o].rows]


# --------------------------------------------------------------------------- the planning question


@dataclass
class PlanSensitivity:
    path: str
    targets: list
    baseline: Any                              # answer at the scenario's values (None: no value meets)
    rows: list[dict]                           # parameter, end, value, answer, change


def plan_sensitivity(base: Scenario, path: str, values: list, targets: list, ranges: Sequence[AssumptionRange],
                     executor, *, replications: int, max_replications: int, seed: int | None = None,
                     confidence: float = 0.95, progress=None, store: Checkpoint | None = None) -> PlanSensitivity:
    """Re-plan with each assumption at its low and its high end (others at default), same seed (CRN)."""
    from ips_sim.studies.plan import plan

    def answer(name, sc):
        saved = store.load(name) if store else None
        if saved is not None:
            return saved
        res = plan(sc, path, values, targets, executor, replications=replications,
                   max_replications=max_replications, confidence=confidence, seed=seed, progress=progress)
        got = {"answer": res.answer, "values_examined": len(res.points),
               "replications": sum(p.replications for p in res.points)}
        if store:
            store.save(name, got)
        return got

    base_res = answer("plan-baseline", base)
    rows = []
    for k, r in enumerate(ranges):
        for end, x in (("low", r.low), ("high", r.high)):
            res = answer(f"plan-{k:03d}-{end}", base.with_updates({r.parameter: r.value(x)}))
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
        return f"{a} at {_fmt(row['value'])}"

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


# --------------------------------------------------------------------------- plots and files


def _short(path: str) -> str:
    return path.split(".", 1)[-1]


def plot_outcome(res: SensitivityResult, outcome: str, folder: Path) -> Path:
    """Tornado (each assumption at its low and high end) beside Morris mu*-sigma (and Sobol bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = res.per_outcome[outcome].rows
    unit = _unit(outcome)
    base = res.default_values[outcome]
    n_panels = 3 if res.method == "sobol" else 2
    height = max(4.5, 0.38 * len(rows) + 2.2)
    fig, axes = plt.subplots(1, n_panels, figsize=(5.6 * n_panels + 3, height), layout="constrained",
                             gridspec_kw={"width_ratios": [1.2, 1, 0.9][:n_panels]})
    ax = axes[0]
    order = sorted(rows, key=lambda r: (r["swing"], -r["rank"]))
    ys = np.arange(len(order))
    for y, r in zip(ys, order):
        # Low end above, high end below, so neither hides the other when both move the same way.
        ax.barh(y + 0.19, r["at_low"] - base, color="#4c72b0", height=0.36)
        ax.barh(y - 0.19, r["at_high"] - base, color="#dd8452", height=0.36)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(ys, [f"{_short(r['parameter'])}  [{_fmt(r['low'])}, {_fmt(r['high'])}]" for r in order],
                  fontsize=9)
    ax.set_xlabel(f"change in {outcome} ({unit}) from {_fmt(base)}")
    ax.set_title("One at a time: low end (blue) and high end (orange)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)

    ax = axes[1]
    mu = np.array([r["mu_star"] for r in rows])
    sd = np.array([r["sigma"] for r in rows])
    conf = np.array([r["mu_star_conf"] for r in rows])
    ax.errorbar(mu, sd, xerr=conf, fmt="o", color="#4c72b0", ecolor="#9fb4d9", capsize=2, ms=5)
    top = max(float(mu.max()), float(sd.max()), 1e-12) * 1.15
    ax.plot([0, top], [0, top], ls="--", color="grey", lw=0.8)
    ax.text(top * 0.97, top * 0.9, "sigma = mu*", ha="right", va="top", fontsize=8, color="grey")
    labelled = sorted(rows, key=lambda r: -r["mu_star"])[:6]
    for r in labelled:
        ax.annotate(_short(r["parameter"]), (r["mu_star"], r["sigma"]), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel(f"mu* (mean |elementary effect| over the range, {unit})")
    ax.set_ylabel(f"sigma ({unit})")
    ax.set_title(f"Morris screening ({res.trajectories} trajectories): far right matters;\n"
                 "above the line: non-linear or interacting", fontsize=10)
    ax.grid(alpha=0.3)

    if res.method == "sobol":
        ax = axes[2]
        srows = [r for r in rows if math.isfinite(r.get("ST", float("nan")))]
        y = np.arange(len(srows))[::-1]
        ax.barh(y + 0.18, [r["ST"] for r in srows], height=0.36, xerr=[r["ST_conf"] for r in srows],
                color="#dd8452", label="ST (with interactions)", capsize=2)
        ax.barh(y - 0.18, [r["S1"] for r in srows], height=0.36, xerr=[r["S1_conf"] for r in srows],
                color="#4c72b0", label="S1 (alone)", capsize=2)
        ax.set_yticks(y, ["\n".join(textwrap.wrap(_short(r["parameter"]).replace("_", " "), 16)) for r in srows],
                      fontsize=9)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel("share of the outcome's variance")
        ax.set_title(f"Sobol indices of the top {len(srows)} by mu* ({res.sobol_samples} base samples):\n"
                     "shares of the variance they cause, others at defaults", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="x", alpha=0.3)

    fig.suptitle(f"{outcome}: which assumptions matter ({res.replications} replications per point, "
                 f"common random numbers)", fontsize=12)
    path = folder / f"sensitivity_{outcome}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_plan(ps: PlanSensitivity, values: list, folder: Path) -> Path | None:
    """The recommended staffing at each assumption's low and high end; those that move it on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numeric = [v for v in values if isinstance(v, (int, float))]
    if not ps.rows or len(numeric) != len(values):
        return None
    none_at = max(numeric) + 1  # where "no value meets the targets" is drawn
    moved = plan_rank(ps)  # largest change first
    others = [p for p in dict.fromkeys(r["parameter"] for r in ps.rows) if p not in moved]
    params = moved + others
    ends = {(r["parameter"], r["end"]): r for r in ps.rows}
    fig, ax = plt.subplots(figsize=(9.5, max(3.5, 0.36 * len(params) + 1.9)))
    ys = np.arange(len(params))[::-1]
    base = ps.baseline if ps.baseline is not None else none_at
    for y, p in zip(ys, params):
        for end, dy, colour in (("low", 0.14, "#4c72b0"), ("high", -0.14, "#dd8452")):
            row = ends.get((p, end))
            if row is None:
                continue
            a = row["answer"] if row["answer"] is not None else none_at
            ax.plot([base, a], [y + dy, y + dy], color="#bbbbbb", lw=1)
            ax.plot(a, y + dy, "o", color=colour, ms=7)
    ax.axvline(base, color="black", lw=1, ls="--")
    labels = []
    for p in params:
        lo, hi = ends.get((p, "low")), ends.get((p, "high"))
        rng = f"  [{_fmt(lo['value'])}, {_fmt(hi['value'])}]" if lo and hi else ""
        labels.append(_short(p) + rng)
    ax.set_yticks(ys, labels, fontsize=9)
    ticks = sorted(numeric)
    ax.set_xticks(ticks + [none_at], [str(t) for t in ticks] + ["none"])
    ax.set_xlim(min(ticks) - 0.5, none_at + 0.5)
    ax.set_xlabel(f"{ps.path} recommended (dashed: at the scenario's values)")
    ax.set_title("Smallest staffing meeting " + " and ".join(str(t) for t in ps.targets)
                 + "\nwith each assumption at its low (blue, upper) or high (orange, lower) end", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = folder / "plan_sensitivity.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_sensitivity(folder: Path, res: SensitivityResult, ps: PlanSensitivity | None, text: list[str],
                      manifest_doc: dict, plots: bool = True, plan_values: list | None = None) -> None:
    """sensitivity.csv, ranges_used.csv, plan_sensitivity.csv, sensitivity.txt, manifest.json and the plots."""
    import json

    import pandas as pd

    from ips_sim.reporting.tables import write_csv

    write_csv(pd.DataFrame(table_rows(res)), folder / "sensitivity.csv")
    used = [{"parameter": r.parameter, "low": r.low, "high": r.high, "status": "varied", "reasoning": r.reasoning}
            for r in res.ranges.varied]
    used += [{"parameter": p, "low": None, "high": None, "status": "inactive: " + why, "reasoning": ""}
             for p, why in res.ranges.inactive]
    used += [{"parameter": p, "low": None, "high": None, "status": "not varied", "reasoning": why}
             for p, why in res.ranges.not_varied]
    write_csv(pd.DataFrame(used), folder / "ranges_used.csv")
    if ps is not None:
        write_csv(pd.DataFrame(ps.rows), folder / "plan_sensitivity.csv")
    (folder / "sensitivity.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
    with open(folder / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(manifest_doc, f, indent=2, sort_keys=True, default=str)
    if plots:
        for o in res.outcomes:
            plot_outcome(res, o, folder)
        if ps is not None:
            plot_plan(ps, plan_values or [], folder)


def summary_lines(res: SensitivityResult, ps: PlanSensitivity | None, plan_values: list | None) -> list[str]:
    """What the command prints: one sentence per outcome, the top of each table, the planning answer."""
    lines = []
    for o in res.outcomes:
        lines.append(res.per_outcome[o].sentence)
    lines.append("")
    sob = res.method == "sobol"
    for o in res.outcomes:
        lines.append(f"{o} ({_unit(o)}): rank, parameter, value at low / high end, mu* [+-conf], sigma"
                     + (", S1, ST" if sob else ""))
        for r in res.per_outcome[o].rows[:5]:
            extra = ""
            if sob and math.isfinite(r.get("ST", float("nan"))):
                extra = f"  S1 {r['S1']:.2f}  ST {r['ST']:.2f}"
            lines.append(f"  {r['rank']:>2}  {r['parameter']:<48} {_fmt(r['at_low']):>8} / {_fmt(r['at_high']):<8}"
                         f"  mu* {_fmt(r['mu_star'])} [+-{_fmt(r['mu_star_conf'])}]  sigma {_fmt(r['sigma'])}{extra}")
        lines.append("")
    if ps is not None:
        lines.append(plan_sentence(ps, plan_values))
        lines.append("")
    if res.ranges.inactive:
        lines.append("Not varied (no effect in this scenario): "
                     + ", ".join(f"{p} ({why})" for p, why in res.ranges.inactive))
    if res.ranges.unranged:
        lines.append("Marked assumption in parameters.csv but missing from the ranges file: "
                     + ", ".join(res.ranges.unranged))
    lines.append(f"{len(res.ranges.varied)} assumptions over their ranges, {res.points_run} points x "
                 f"{res.replications} replications, seed {res.seed} (common random numbers at every point)")
    return lines
