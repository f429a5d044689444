"""Staffing sweeps: one base scenario run over a grid (or list) of field values.

A sweep file (YAML) names a base scenario and the fields to vary by dotted
path::

    name: specialists_by_referrals
    base: ../two_specialists_38_members.yaml   # relative to the sweep file
    replications: 30                            # optional (default: the base's)
    seed: 20261123                              # optional (default: the base's)
    overrides: {simulation.horizon_years: 6}    # optional, applied to every point
    grid:                                       # cartesian product ...
      team.specialists: 1..5
      referrals.rate_per_month: [2, 4, 6, 8]
    # points:                                   # ... or an explicit list
    #   - {team.specialists: 2, team.caseload_cap: 20}
    plot: {x: team.specialists, lines: referrals.rate_per_month, metrics: [mean_wait_days]}

Every point is run with the same seed and replication indices, so each
replication sees the same referrals and member draws at every point (common
random numbers): differences between points are staffing, not noise.

Work units are (point, contiguous chunk of replication indices) and run in
this process, a local process pool or on a Dask cluster
(:mod:`ips_sim.runner.executors`); each point is aggregated in replication order once
all its units are back, so results are byte-identical for any executor.

Output: the sweep works in ``DIR.partial/``; each finished point is written
there as ``points/pNNNN.json`` (temp file, then rename), so an interrupted
sweep continues with ``--resume`` and runs only the missing points. When every
point is done, ``sweep.csv``, ``manifest.json`` and the plots are written and
``DIR.partial`` is renamed to ``DIR``.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import os
import shutil
import sys
import time
import types
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from pydantic import BaseModel, ValidationError

from ips_sim.analysis.metrics import METRIC_NAMES, METRICS, summarise, unit_label
from ips_sim.config import Scenario, ScenarioError, get_dotted, kind_of, load_scenario, read_yaml_file
from ips_sim.config.prices import currency_label
from ips_sim.core.echo import clip, shown
from ips_sim.core.names import name_problem, safe_name
from ips_sim.core.version import __version__
from ips_sim.runner.executors import execute as run_units
from ips_sim.runner.experiment import run_replications
from ips_sim.runner.output import OutputFolder, write_json
from ips_sim.runner.resume import Checkpoint, partial_dir

CONFIDENCE = 0.95
SWEEP_KEYS = ("name", "description", "base", "seed", "replications", "overrides", "grid", "points", "plot")
PLOT_KEYS = ("x", "lines", "metrics")
MAX_POINTS = 10_000      # every point is a whole scenario validated and run: more is never a sweep
MAX_RANGE_VALUES = 10_000
MAX_CHUNK = 50
# Preferred plot axes: staffing on x, demand as lines.
X_PREFERENCE = ("team.specialists", "team.fte_per_specialist", "team.caseload_cap")
LINE_PREFERENCE = ("referrals.rate_per_month", "referrals.cohort_size", "team.caseload_cap",
                   "team.fte_per_specialist")
DEFAULT_PLOT_METRICS = ("mean_wait_days", "ever_employed_rate", "waitlist_mean", "share_gave_up_waiting",
                        "specialist_utilisation", "caseload_per_specialist_mean", "employed_members_mean",
                        "job_search_service_share")
HEATMAP_METRICS = ("mean_wait_days", "ever_employed_rate", "waitlist_mean", "specialist_utilisation")


class SweepError(ScenarioError):
    """Invalid sweep input or state; ``messages`` holds one line per problem."""


# --------------------------------------------------------------------------- fields and values


def _section_model(annotation) -> type[BaseModel] | None:
    """The section model of a field typed ``Section`` or ``Section | None`` (else None: a value field)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(models) == 1 and isinstance(models[0], type) and issubclass(models[0], BaseModel):
            return models[0]
    return None


def scenario_field_paths() -> dict[str, str]:
    """Every scenario field a sweep or plan may vary: dotted path -> type description.

    Sections nest (``start.vacant_posts.count``); a section that may be absent (``start``) is made
    when a point sets one of its fields.
    """
    out = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, f in model.model_fields.items():
            section = _section_model(f.annotation)
            if section is not None:
                walk(section, f"{prefix}{name}.")
            elif prefix or name != "name":
                out[prefix + name] = str(f.annotation)

    walk(Scenario, "")
    return out


# Fields a sweep or plan may not vary, and why.
NOT_VARIED = {
    "simulation.seed": "every point uses the same seed (common random numbers); set seed at the top of the "
                       "sweep file or with --seed",
    "simulation.replications": "every point has the same replications; set replications at the top of the "
                               "sweep file or with --replications",
    "arm": "the arm changes the defaults of many fields; run one sweep per arm (a base scenario per arm)",
    "description": "the description is not a model input",
    "label": "the label is not a model input",
    "start.members_csv": "the members file is read when the scenario is loaded; vary the counts "
                         "(start.waitlist.count, start.job_seekers.count, start.workers.count) instead",
    "start.date": "the calendar date of day 0 sets the months of dated schedules and seasonality; "
                  "run one sweep per start date",
}


def check_path(path: Any, varied: bool = True) -> str | None:
    """Why ``path`` is not a field that can be varied (or, ``varied=False``, set), or None if it is one."""
    paths = scenario_field_paths()
    if not isinstance(path, str):
        return "a field is named by its dotted path, e.g. team.specialists"
    if path in paths:
        return NOT_VARIED.get(path) if varied else None
    sections = {p.split(".")[0] for p in paths if "." in p}
    if path in sections:
        example = next(p for p in paths if p.startswith(path + "."))
        return f"{path} is a section; give one of its fields, e.g. {example}"
    if path == "name":
        return "the scenario name cannot be varied"
    close = difflib.get_close_matches(path, list(paths), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else " (see the scenario reference in README.md)"
    return f"unknown scenario field{hint}"


def _number(text: str) -> int | float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_range(text: str) -> list:
    """Values of ``"a..b"``, ``"a..b:step"`` (ends included, either direction) or ``"a,b,c"``.

    >>> parse_range("1..4")
    [1, 2, 3, 4]
    >>> parse_range("2..8:2")
    [2, 4, 6, 8]
    >>> parse_range("0.5..1:0.25")
    [0.5, 0.75, 1.0]
    >>> parse_range("25,20,15")
    [25, 20, 15]

    Raises ValueError with what is allowed.
    """
    text = str(text).strip()
    if ".." in text:
        span, _, step_text = text.partition(":")
        a_text, _, b_text = span.partition("..")
        try:
            a, b = _number(a_text), _number(b_text)
            step = _number(step_text) if step_text else 1
        except ValueError:
            raise ValueError("expected FROM..TO or FROM..TO:STEP with numbers, e.g. 1..6 or 2..8:2") from None
        if step <= 0 or not all(math.isfinite(x) for x in (a, b, step)):
            raise ValueError("STEP in FROM..TO:STEP must be a positive number")
        n = int(math.floor(abs(b - a) / step + 1e-9)) + 1
        if n > MAX_RANGE_VALUES:
            raise ValueError(f"a range may have at most {MAX_RANGE_VALUES} values")
        sign = 1 if b >= a else -1
        if all(isinstance(x, int) for x in (a, b, step)):
            return [a + sign * k * step for k in range(n)]
        return [round(a + sign * k * step, 10) for k in range(n)]
    if "," in text:
        try:
            return [_number(t) if _looks_numeric(t) else t.strip() for t in text.split(",") if t.strip()]
        except ValueError:
            raise ValueError("expected a comma-separated list of values, e.g. 15,20,25") from None
    if _looks_numeric(text):
        return [_number(text)]
    raise ValueError("expected FROM..TO, FROM..TO:STEP or a comma-separated list, e.g. 1..6, 2..8:2, 15,20,25")


def _looks_numeric(t: str) -> bool:
    try:
        _number(t)
        return True
    except ValueError:
        return False


def grid_values(raw: Any) -> list:
    """Values of one grid entry: a list, a range string, a {from, to, step} mapping or one value."""
    if isinstance(raw, list):
        if not raw:
            raise ValueError("give at least one value")
        return list(raw)
    if isinstance(raw, dict):
        unknown = set(raw) - {"from", "to", "step"}
        if unknown or not {"from", "to"} <= set(raw):
            raise ValueError("a range mapping has keys from, to and optionally step")
        step = raw.get("step", 1)
        return parse_range(f"{raw['from']}..{raw['to']}:{step}")
    if isinstance(raw, str) and (".." in raw or "," in raw):
        return parse_range(raw)
    if raw is None:
        raise ValueError("give a list of values, a range FROM..TO[:STEP] or {from, to, step}")
    return [raw]


def _msg(err: dict) -> str:
    msg = err["msg"]
    return msg[len("Value error, "):] if msg.startswith("Value error, ") else msg


def try_updates(base: Scenario, updates: dict[str, Any]) -> tuple[Scenario | None, list[tuple[str, Any, str]]]:
    """``base.with_updates(updates)`` or the problems as (field path, value, what is allowed)."""
    try:
        return base.with_updates(updates), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            problems.append((loc or "(top level)", err.get("input"), _msg(err)))
        return None, problems


def point_label(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_show(v)}" for k, v in values.items())


def _show(v: Any) -> str:
    return clip(json.dumps(v) if isinstance(v, (list, dict)) else str(v), 80)


def _shown_value(v: Any) -> str:
    return shown(v)


# --------------------------------------------------------------------------- the sweep file


@dataclass
class Sweep:
    """A validated sweep: the resolved base scenario and every point's scenario."""

    name: str
    description: str
    source: str
    base: Scenario
    fields: list[str]
    values: list[dict[str, Any]]            # per point, field -> value (as validated)
    scenarios: list[Scenario]
    seed: int
    replications: int
    spec: dict                               # grid / points as written, for the manifest
    plot: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.values)

    def point_id(self, i: int) -> str:
        return f"p{i:04d}"

    def fingerprint(self, keep_records: bool) -> str:
        doc = {"base": self.base.model_dump(mode="json"), "fields": self.fields, "points": self.values,
               "seed": self.seed, "replications": self.replications, "keep_records": keep_records,
               "ips_sim": __version__}
        return _hash(doc)

    def point_hash(self, i: int) -> str:
        return _hash({"scenario": self.scenarios[i].model_dump(mode="json"), "seed": self.seed,
                      "replications": self.replications})


def _hash(doc: Any) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def load_sweep(path: str | Path, replications: int | None = None, seed: int | None = None) -> Sweep:
    """Read and validate a sweep file; raise SweepError with every problem, one line each."""
    path = Path(path)
    src = str(path)
    raw = _read_sweep_file(path)
    errors: list[str] = []
    name, description = _check_top_level(raw, path, errors)
    base = _load_base(raw, path, errors)
    has_grid, has_points = "grid" in raw, "points" in raw
    if has_grid == has_points:
        errors.append(f"{src}: grid: {'(both grid and points)' if has_grid else '(missing)'}: "
                      "give exactly one of grid (a cartesian product) or points (an explicit list)")
    base = _apply_overrides(raw, base, src, errors, replications, seed)
    fields: list[str] = []
    point_updates: list[dict[str, Any]] = []
    spec: dict = {}
    if has_grid and not has_points:
        spec = {"grid": raw["grid"]}
        fields, point_updates = _grid_updates(raw["grid"], base, src, errors)
    elif has_points and not has_grid:
        spec = {"points": raw["points"]}
        fields, point_updates = _listed_updates(raw["points"], src, errors)
    plot = _check_plot(raw.get("plot") or {}, fields, src, errors)
    if errors:
        raise SweepError(errors)
    scenarios, values = _point_scenarios(base, fields, point_updates, has_points, src)
    return Sweep(name=name, description=description, source=src, base=base, fields=fields, values=values,
                 scenarios=scenarios, seed=base.simulation.seed, replications=base.simulation.replications,
                 spec=spec, plot=plot)


def _read_sweep_file(path: Path) -> dict:
    """The sweep file as a mapping (one line for a file that cannot be read or is not a mapping)."""
    try:
        raw = read_yaml_file(path, "sweep")
    except ScenarioError as exc:
        raise SweepError(exc.messages) from None
    if not isinstance(raw, dict):
        raise SweepError([f"{path}: (top level): {kind_of(raw)}: a sweep file must be a mapping with base and grid "
                          "or points"])
    return raw


def _check_top_level(raw: dict, path: Path, errors: list[str]) -> tuple[str, str]:
    """Unknown fields, name, description, replications and seed; the sweep's name and description."""
    src = str(path)
    for key in raw:
        if key not in SWEEP_KEYS:
            errors.append(f"{src}: {clip(key, 80)}: {_shown_value(raw[key])}: unknown field "
                          f"(allowed: {', '.join(SWEEP_KEYS)})")
    name = safe_name(path.stem, "sweep")
    if "name" in raw:
        why = name_problem(raw["name"])
        if why:
            errors.append(f"{src}: name: {_shown_value(raw['name'])}: {why}")
        else:
            name = raw["name"]
    description = raw.get("description", "")
    if not isinstance(description, str):
        errors.append(f"{src}: description: {_shown_value(description)}: must be text")
        description = ""
    for key in ("replications", "seed"):
        v = raw.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < (1 if key == "replications" else 0)):
            allowed = "a whole number >= 1" if key == "replications" else "a whole number >= 0"
            errors.append(f"{src}: {key}: {_shown_value(v)}: {allowed}")
    return name, description


def _load_base(raw: dict, path: Path, errors: list[str]) -> Scenario | None:
    """The base scenario named by ``base:`` (relative to the sweep file), or None with the problems in ``errors``."""
    src = str(path)
    if "base" not in raw:
        errors.append(f"{src}: base: (missing): give the path of the base scenario file, relative to this sweep file")
        return None
    if not isinstance(raw["base"], str) or not raw["base"] or "\0" in raw["base"]:
        errors.append(f"{src}: base: {_shown_value(raw['base'])}: give the path of the base scenario file, "
                      "relative to this sweep file")
        return None
    base_path = path.parent / raw["base"]
    if not base_path.is_file():
        errors.append(f"{src}: base: {_shown_value(raw['base'])}: no such scenario file "
                      f"({clip(base_path, 200)}); the path is relative to the sweep file")
        return None
    try:
        return load_scenario(base_path)
    except ScenarioError as exc:
        errors.extend(exc.messages)
        return None


def _apply_overrides(raw: dict, base: Scenario | None, src: str, errors: list[str], replications: int | None,
                     seed: int | None) -> Scenario | None:
    """The base with ``overrides:`` and the sweep's seed and replications (options win over the file) applied."""
    overrides = raw.get("overrides") or {}
    if not isinstance(overrides, dict):
        errors.append(f"{src}: overrides: {_shown_value(overrides)}: a mapping of dotted field paths to values")
        overrides = {}
    for k in overrides:
        why = check_path(k, varied=False)
        if why:
            errors.append(f"{src}: overrides.{clip(k, 80)}: {_shown_value(overrides[k])}: {why}")
    if base is None or errors:
        return base
    fixed = dict(overrides)
    s = seed if seed is not None else raw.get("seed")
    n_reps = replications if replications is not None else raw.get("replications")
    if s is not None:
        fixed["simulation.seed"] = s
    if n_reps is not None:
        fixed["simulation.replications"] = n_reps
    new, problems = try_updates(base, fixed)
    for loc, value, why in problems:
        where = f"overrides.{loc}" if loc in overrides else loc
        errors.append(f"{src}: {where}: {_shown_value(value)}: {why}")
    return new


def _grid_updates(grid: Any, base: Scenario | None, src: str, errors: list[str]) -> tuple[list[str], list[dict]]:
    """Varied fields and every point's changes of a ``grid:`` (cartesian product), each axis checked."""
    if not isinstance(grid, dict) or not grid:
        errors.append(f"{src}: grid: {_shown_value(grid)}: a mapping of dotted field paths to lists or ranges of values")
        return [], []
    # Count the points before validating or building any of them.
    sizes = [len(v) if isinstance(v, list) else 1 for v in grid.values()]
    if math.prod(sizes) > MAX_POINTS:
        raise SweepError(errors + [f"{src}: grid: {math.prod(sizes):,} points: at most {MAX_POINTS:,} points"])
    axes = []
    for k, v in grid.items():
        vals = _grid_axis(k, v, base, src, errors)
        if vals is not None:
            axes.append((k, vals))
    if errors:
        return [], []
    fields = [k for k, _ in axes]
    total = math.prod(len(v) for _, v in axes)
    if total > MAX_POINTS:
        errors.append(f"{src}: grid: {total} points: at most {MAX_POINTS} points")
        return fields, []
    return fields, [dict(zip(fields, combo)) for combo in itertools.product(*(v for _, v in axes))]


def _grid_axis(k: Any, v: Any, base: Scenario | None, src: str, errors: list[str]) -> list | None:
    """The values of grid field ``k``, each valid on the base, or None with the problems in ``errors``."""
    why = check_path(k)
    if why:
        errors.append(f"{src}: grid.{clip(k, 80)}: {_shown_value(v)}: {why}")
        return None
    try:
        vals = grid_values(v)
    except ValueError as exc:
        errors.append(f"{src}: grid.{clip(k, 80)}: {_shown_value(v)}: {exc}")
        return None
    if len({json.dumps(x, sort_keys=True) for x in vals}) != len(vals):
        errors.append(f"{src}: grid.{clip(k, 80)}: {_shown_value(v)}: values must be distinct")
        return None
    if base is None:
        return vals
    bad = False
    for x in vals:
        _, problems = try_updates(base, {k: x})
        for loc, value, why in problems:
            bad = True
            shown = x if loc == k else value
            errors.append(f"{src}: grid.{k}: {_shown_value(shown)}: {why}" + ("" if loc == k else f" ({loc})"))
    return None if bad else vals


def _listed_updates(pts: Any, src: str, errors: list[str]) -> tuple[list[str], list[dict]]:
    """Varied fields (in first-seen order) and every point's changes of a ``points:`` list."""
    fields: list[str] = []
    if not isinstance(pts, list) or not pts:
        errors.append(f"{src}: points: {_shown_value(pts)}: a non-empty list of mappings, "
                      "e.g. [{team.specialists: 2, team.caseload_cap: 20}]")
        return fields, []
    if len(pts) > MAX_POINTS:
        # Refused by count before any point is checked or built.
        raise SweepError(errors + [f"{src}: points: {len(pts):,} points: at most {MAX_POINTS:,} points"])
    for i, p in enumerate(pts):
        if not isinstance(p, dict) or not p:
            errors.append(f"{src}: points[{i}]: {_shown_value(p)}: a mapping of dotted field paths to values")
            continue
        for k in p:
            why = check_path(k)
            if why:
                errors.append(f"{src}: points[{i}].{clip(k, 80)}: {_shown_value(p[k])}: {why}")
            elif k not in fields:
                fields.append(k)
    return fields, ([] if errors else [dict(p) for p in pts])


def _check_plot(plot: Any, fields: list[str], src: str, errors: list[str]) -> dict:
    """The ``plot:`` section (x, lines, metrics), checked against the varied fields and the metric names."""
    if not isinstance(plot, dict):
        errors.append(f"{src}: plot: {_shown_value(plot)}: a mapping with x, lines and metrics")
        return {}
    for k, v in plot.items():
        if k not in PLOT_KEYS:
            errors.append(f"{src}: plot.{clip(k, 80)}: {_shown_value(v)}: unknown field (allowed: {', '.join(PLOT_KEYS)})")
        elif k in ("x", "lines") and fields and (not isinstance(v, str) or v not in fields):
            errors.append(f"{src}: plot.{k}: {_shown_value(v)}: must be one of the varied fields: {', '.join(fields)}")
        elif k == "metrics":
            if not isinstance(v, list) or not v:
                errors.append(f"{src}: plot.metrics: {_shown_value(v)}: a list of metric names")
                continue
            for m in v:
                if not isinstance(m, str) or m not in METRIC_NAMES:
                    errors.append(f"{src}: plot.metrics: {_shown_value(m)}: unknown metric "
                                  f"(allowed: {', '.join(METRIC_NAMES)})")
    return plot


def _point_scenarios(base: Scenario, fields: list[str], point_updates: list[dict], has_points: bool,
                     src: str) -> tuple[list[Scenario], list[dict]]:
    """Every point's scenario, validated whole (fields can constrain each other, e.g. warm-up < horizon),
    and its varied values as validated; distinct points only."""
    errors: list[str] = []
    scenarios, values = [], []
    seen = {}
    for i, upd in enumerate(point_updates):
        sc, problems = try_updates(base, upd)
        where = f"points[{i}]" if has_points else "grid point"
        for loc, value, why in problems:
            if has_points and loc in upd:
                errors.append(f"{src}: points[{i}].{loc}: {_shown_value(value)}: {why}")
            elif has_points:
                errors.append(f"{src}: points[{i}].{loc}: {point_label(upd)}: {why}")
            else:
                errors.append(f"{src}: grid ({loc}): {point_label(upd)}: {why}")
        if sc is None:
            continue
        dump = sc.model_dump(mode="json")
        vals = {k: get_dotted(dump, k) for k in fields}
        key = json.dumps(vals, sort_keys=True)
        if key in seen:
            errors.append(f"{src}: {where}: {point_label(vals)}: same point as "
                          f"{'points[%d]' % seen[key] if has_points else 'another'}; each point must be distinct")
            continue
        seen[key] = i
        scenarios.append(sc)
        values.append(vals)
    if errors:
        raise SweepError(errors)
    return scenarios, values


# --------------------------------------------------------------------------- running units


def run_unit(scenario: Scenario, seed: int, first: int, n: int, keep_records: bool):
    """One work unit: replications ``first .. first+n-1`` of a scenario (metrics, records)."""
    return run_replications(scenario, n, seed, workers=1, keep_records=keep_records, first=first)


def chunk_size(replications: int, n_points: int, capacity: int) -> int:
    """Replications per work unit: enough units to keep every worker busy, none too long."""
    total = replications * n_points
    size = math.ceil(total / max(1, capacity * 8))
    return max(1, min(size, MAX_CHUNK, replications))


def execute(executor, units: Iterable[tuple[Any, tuple]], on_result: Callable[[Any, Any], None],
            window: int | None = None) -> None:
    """Run :func:`run_unit` for each ``(key, args)`` (see :func:`ips_sim.runner.executors.execute`)."""
    run_units(executor, run_unit, units, on_result, window)


# --------------------------------------------------------------------------- the working folder


def _point_metrics(doc: Any, sweep: Sweep, i: int) -> list[dict[str, float]] | None:
    """Per-replication metrics of a saved point, or None if it is not a complete point of this sweep."""
    try:
        if doc.get("point_hash") != sweep.point_hash(i) or doc.get("replications") != sweep.replications:
            return None
        cols = doc["metrics"]
        n = sweep.replications
        if doc.get("replication_indices") != [0, n - 1] or any(len(v) != n for v in cols.values()):
            return None
        names = list(cols)
        return [{k: float(cols[k][r]) for k in names} for r in range(n)]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _point_doc(sweep: Sweep, i: int, metrics: list[dict[str, float]]) -> dict:
    names = list(metrics[0])
    return {
        "point": sweep.point_id(i),
        "index": i,
        "values": sweep.values[i],
        "seed": sweep.seed,
        "replications": sweep.replications,
        "replication_indices": [0, sweep.replications - 1],
        "point_hash": sweep.point_hash(i),
        "summary": summarise(metrics, CONFIDENCE),
        "metrics": {k: [m[k] for m in metrics] for k in names},
    }


def _write_records(folder: Path, records: list) -> None:
    """Per-member, per-job and monthly tables of a point (``--keep-records``), written whole or not at all."""
    from ips_sim.reporting.tables import jobs_table, members_table, monthly_table, write_csv
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    write_csv(monthly_table(records), tmp / "monthly.csv")
    write_csv(members_table(records), tmp / "members.csv")
    write_csv(jobs_table(records), tmp / "jobs.csv")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepRun:
    out: Path
    points: int
    ran: int           # points run now (the rest were finished before, with --resume)
    replications: int
    wall_seconds: float
    already_complete: bool = False


def sweep_manifest(sweep: Sweep, keep_records: bool, **extra) -> dict:
    from ips_sim.reporting.tables import versions
    v = versions()
    try:
        from importlib import metadata
        for dist in ("dask", "distributed"):
            v[dist] = metadata.version(dist)
    except Exception:  # noqa: BLE001 - dask is optional
        pass
    return {
        "sweep": sweep.name,
        "description": sweep.description,
        "sweep_file": sweep.source,
        "base_scenario": sweep.base.model_dump(mode="json"),
        "varied_fields": sweep.fields,
        **sweep.spec,
        "points": [{"point": sweep.point_id(i), **v_} for i, v_ in enumerate(sweep.values)],
        "seed": sweep.seed,
        "replications": sweep.replications,
        "confidence": CONFIDENCE,
        "common_random_numbers": "every point uses the same seed and replication indices 0..replications-1",
        "keep_records": keep_records,
        "fingerprint": sweep.fingerprint(keep_records),
        "versions": v,
        **extra,
    }


def _already_complete(out: Path, fingerprint: str) -> bool:
    """``out`` holds the finished results of this very sweep."""
    try:
        with open(out / "manifest.json", encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(old, dict) and old.get("fingerprint") == fingerprint and (out / "sweep.csv").exists()


def run_sweep(sweep: Sweep, out: str | Path, executor, *, resume: bool = False, keep_records: bool = False,
              progress: Callable[[int], None] | None = None, plots: bool = True,
              chunk: int | None = None, on_start: Callable[[int, int], None] | None = None) -> SweepRun:
    """Run the missing points of ``sweep`` (each saved in ``out.partial`` as it finishes); write ``out`` at the end.

    ``on_start(points_to_run, replications_to_run)`` is called once the work is known.
    """
    out = Path(out)
    fingerprint = sweep.fingerprint(keep_records)
    started = time.perf_counter()
    if resume and not partial_dir(out).exists() and _already_complete(out, fingerprint):
        return SweepRun(out, len(sweep), 0, sweep.replications, 0.0, already_complete=True)
    store = Checkpoint(partial_dir(out), {"fingerprint": fingerprint}, units="points", what="sweep",
                       settings="base scenario, grid, seed, replications, --keep-records or ips-sim version",
                       error=SweepError).open(resume)
    pending = [i for i in range(len(sweep)) if _point_metrics(store.load(sweep.point_id(i)), sweep, i) is None]
    if on_start:
        on_start(len(pending), len(pending) * sweep.replications)
    if pending:
        _run_points(sweep, pending, store, executor, keep_records, progress, chunk)

    # Every point is done: read them back one at a time (the same floats whether run now
    # or before a resume; only one point's replications in memory).
    def per_point():
        for i in range(len(sweep)):
            mets = _point_metrics(store.load(sweep.point_id(i)), sweep, i)
            if mets is None:  # pragma: no cover - would be a bug above
                raise RuntimeError(f"point {sweep.point_id(i)} is missing after the run")
            yield mets

    table = sweep_table(sweep, per_point())
    from ips_sim.reporting.tables import write_csv
    folder = OutputFolder(out, {"fingerprint": fingerprint}, kind="sweep", overwrite=True)
    with folder.write() as tmp:
        store.hand_over(tmp / "points")
        write_csv(table, tmp / "sweep.csv")
        if plots:
            plot_sweep(table, sweep, tmp / "plots")
        wall = time.perf_counter() - started
        write_json(tmp / "manifest.json", sweep_manifest(
            sweep, keep_records, status="complete", wall_time_seconds=round(wall, 3),
            points_run_in_last_session=len(pending), executor=getattr(executor, "description", ""),
            command=" ".join([Path(sys.argv[0]).name] + sys.argv[1:])))
    store.discard()
    return SweepRun(out, len(sweep), len(pending), sweep.replications, wall)


def _run_points(sweep: Sweep, pending: list[int], store: Checkpoint, executor, keep_records: bool,
                progress: Callable[[int], None] | None, chunk: int | None) -> None:
    """Run the ``pending`` points in units of replications; save each point once all its units are back."""
    n = sweep.replications
    size = chunk or chunk_size(n, len(pending), executor.capacity)
    parts = [(first, min(size, n - first)) for first in range(0, n, size)]
    collected: dict[int, dict[int, tuple]] = {}

    def units():
        for i in pending:
            for first, k in parts:
                yield (i, first), (sweep.scenarios[i], sweep.seed, first, k, keep_records)

    def on_result(key, result):
        i, first = key
        metrics, records = result
        got = collected.setdefault(i, {})
        got[first] = (metrics, records)
        if progress:
            progress(len(metrics))
        if len(got) == len(parts):
            del collected[i]
            ordered = [got[f] for f, _ in parts]
            per_rep = [m for mets, _ in ordered for m in mets]
            if keep_records:  # before the point itself: a saved point always has its tables
                _write_records(store.units / sweep.point_id(i), [r for _, recs in ordered for r in recs])
            store.save(sweep.point_id(i), _point_doc(sweep, i, per_rep))

    execute(executor, units(), on_result)


def sweep_table(sweep: Sweep, per_point: Iterable[list[dict[str, float]]]):
    """One row per point and metric: point, varied values, metric, unit, mean, CI, sd, replications."""
    import pandas as pd
    rows = []
    for i, mets in enumerate(per_point):
        vals = {k: (_show(v) if isinstance(v, (list, dict)) else v) for k, v in sweep.values[i].items()}
        for r in summarise(mets, CONFIDENCE):
            rows.append({"point": sweep.point_id(i), **vals, "metric": r["metric"],
                         "unit": unit_label(r["unit"], currency_label(sweep.base.costs.price_year)),
                         "mean": r["mean"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "std": r["std"],
                         "replications": r["replications"]})
    cols = ["point", *sweep.fields, "metric", "unit", "mean", "ci_low", "ci_high", "std", "replications"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- plots


def plot_axes(sweep: Sweep) -> tuple[str | None, str | None, list[str]]:
    """x field, line field and facet fields chosen from the varied fields (staffing on x, demand as lines)."""
    varying = [k for k in sweep.fields if len({json.dumps(v[k], sort_keys=True) for v in sweep.values}) > 1]
    numeric = [k for k in varying if all(_is_number(v[k]) for v in sweep.values)]
    x = sweep.plot.get("x")
    if x is None:
        x = next((k for k in X_PREFERENCE if k in numeric), None) or (numeric or varying or [None])[0]
    rest = [k for k in varying if k != x]
    lines = sweep.plot.get("lines")
    if lines is None and rest:
        lines = next((k for k in LINE_PREFERENCE if k in rest), None) or rest[0]
    facets = [k for k in rest if k != lines]
    return x, lines, facets


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def plot_sweep(table, sweep: Sweep, folder: Path) -> list[Path]:
    """Metric vs x with CI bands (one line per value of the line field), heatmaps for two-way grids."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x, lines, facets = plot_axes(sweep)
    if x is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    metrics = list(sweep.plot.get("metrics") or DEFAULT_PLOT_METRICS)
    currency = currency_label(sweep.base.costs.price_year)
    info = {m.name: replace(m, unit=unit_label(m.unit, currency)) for m in METRICS}  # money -> "USD 2024"
    written = []

    def key(v):
        return _show(v)

    facet_keys = sorted({tuple(key(v[f]) for f in facets) for v in sweep.values}, key=_natural) if facets else [()]
    if len(facet_keys) > 12:
        facet_keys = facet_keys[:12]
    ncols = min(3, len(facet_keys))
    nrows = math.ceil(len(facet_keys) / ncols)
    x_vals = _ordered([v[x] for v in sweep.values])
    x_numeric = all(_is_number(v) for v in x_vals)
    xpos = {key(v): (v if x_numeric else j) for j, v in enumerate(x_vals)}
    line_vals = _ordered([v[lines] for v in sweep.values]) if lines else [None]
    caption = (f"{sweep.name}: mean over {sweep.replications} replications (seed {sweep.seed}, common random "
               f"numbers); bands: {CONFIDENCE:.0%} confidence intervals")

    def facet_rows(metric, fk):
        sub = table[table["metric"] == metric]
        if facets:
            mask = np.ones(len(sub), dtype=bool)
            for f, fv in zip(facets, fk):
                mask &= sub[f].map(lambda v: key(v)).to_numpy() == fv
            sub = sub[mask]
        return sub

    cmap = plt.get_cmap("viridis")
    for metric in metrics:
        if metric not in set(table["metric"]):
            continue
        width = max(7.0, 5.2 * ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, 3.8 * nrows + 0.8), squeeze=False, sharey=True)
        for ax, fk in zip(axes.flat, facet_keys):
            sub = facet_rows(metric, fk)
            for j, lv in enumerate(line_vals):
                part = sub if lv is None else sub[sub[lines].map(key) == key(lv)]
                if part.empty:
                    continue
                xs = np.array([xpos[key(v)] for v in part[x]], dtype=float)
                order = np.argsort(xs)
                color = cmap(j / max(1, len(line_vals) - 1)) if len(line_vals) > 1 else "C0"
                ax.plot(xs[order], part["mean"].to_numpy()[order], marker="o", color=color,
                        label=None if lv is None else f"{_short(lines)} = {_show(lv)}")
                ax.fill_between(xs[order], part["ci_low"].to_numpy()[order], part["ci_high"].to_numpy()[order],
                                color=color, alpha=0.2, linewidth=0)
            ax.set_xlabel(x)
            if not x_numeric:
                ax.set_xticks(range(len(x_vals)), [_show(v) for v in x_vals])
            elif all(isinstance(v, int) for v in x_vals):
                ax.set_xticks(x_vals)
            if facets:
                ax.set_title(", ".join(f"{_short(f)}={fv}" for f, fv in zip(facets, fk)), fontsize=9)
            ax.grid(alpha=0.3)
        for ax in axes.flat[len(facet_keys):]:
            ax.set_visible(False)
        m = info.get(metric)
        for ax in axes[:, 0]:
            ax.set_ylabel(f"{metric} ({m.unit})" if m else metric)
        if lines:
            axes.flat[0].legend(fontsize=8)
        _titles(fig, width, f"{metric}: {m.description}" if m else metric, caption)
        path = folder / f"{metric}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    # Heatmaps of two-way grids: x across, line field down, mean in each cell.
    if lines:
        for metric in (sweep.plot.get("metrics") or HEATMAP_METRICS):
            if metric not in set(table["metric"]):
                continue
            width = max(7.0, 5.2 * ncols)
            fig, axes = plt.subplots(nrows, ncols, figsize=(width, 4.2 * nrows + 0.8), squeeze=False)
            drawn = False
            allm = table.loc[table["metric"] == metric, "mean"].to_numpy(dtype=float)
            allm = allm[np.isfinite(allm)]
            vmin, vmax = (float(allm.min()), float(allm.max())) if len(allm) else (0.0, 1.0)
            for ax, fk in zip(axes.flat, facet_keys):
                sub = facet_rows(metric, fk)
                grid = np.full((len(line_vals), len(x_vals)), np.nan)
                filled = np.zeros_like(grid, dtype=bool)
                xi = {key(v): j for j, v in enumerate(x_vals)}
                li = {key(v): j for j, v in enumerate(line_vals)}
                for _, r in sub.iterrows():
                    a, b = li[key(r[lines])], xi[key(r[x])]
                    grid[a, b] = r["mean"]
                    filled[a, b] = True
                if not filled.all():
                    ax.set_visible(False)
                    continue
                drawn = True
                im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", vmin=vmin, vmax=vmax)
                ax.set_xticks(range(len(x_vals)), [_show(v) for v in x_vals])
                ax.set_yticks(range(len(line_vals)), [_show(v) for v in line_vals])
                ax.set_xlabel(x)
                ax.set_ylabel(lines)
                mid = (vmin + vmax) / 2
                for a in range(grid.shape[0]):
                    for b in range(grid.shape[1]):
                        val = grid[a, b]
                        ax.text(b, a, _cell(val), ha="center", va="center",
                                fontsize=8, color="white" if np.isfinite(val) and val < mid else "black")
                fig.colorbar(im, ax=ax, shrink=0.85)
                if facets:
                    ax.set_title(", ".join(f"{_short(f)}={fv}" for f, fv in zip(facets, fk)), fontsize=9)
            for ax in axes.flat[len(facet_keys):]:
                ax.set_visible(False)
            if drawn:
                m = info.get(metric)
                _titles(fig, width, f"{metric} ({m.unit}): {m.description}" if m else metric,
                        f"{sweep.name}: each cell is the mean over {sweep.replications} replications "
                        f"(seed {sweep.seed}, common random numbers)")
                path = folder / f"heatmap_{metric}.png"
                fig.savefig(path, dpi=110)
                written.append(path)
            plt.close(fig)
    return written


def _titles(fig, width: float, title: str, caption: str) -> None:
    import textwrap
    chars = int(width * 11)
    fig.suptitle("\n".join(textwrap.wrap(title, chars)), fontsize=10)
    cap = "\n".join(textwrap.wrap(caption, int(width * 16)))
    fig.text(0.01, 0.005, cap, fontsize=7, color="0.35", va="bottom")
    lines = cap.count("\n") + 1
    fig.tight_layout(rect=(0, 0.02 + 0.03 * lines / fig.get_figheight() * 4, 1, 1))


def _cell(val: float) -> str:
    """A heatmap cell: three significant digits, no exponents."""
    if not math.isfinite(val):
        return "n/a"
    if abs(val) >= 100:
        return f"{val:.0f}"
    if abs(val) < 0.01:
        return "0" if val == 0 else f"{val:.1e}" if abs(val) < 1e-3 else f"{val:.3f}"
    return f"{val:.3g}"


def _short(path: str) -> str:
    return path.split(".")[-1]


def _ordered(vals: list) -> list:
    """Distinct values, numbers ascending, others in first-seen order."""
    seen, out = set(), []
    for v in vals:
        k = _show(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    if all(_is_number(v) for v in out):
        out.sort()
    return out


def _natural(t: tuple) -> tuple:
    return tuple((0, float(s), "") if _looks_numeric(s) else (1, 0.0, s) for s in t)


def glance(sweep: Sweep, csv_path: Path, metric: str | None = None) -> list[str]:
    """Terminal view of one metric's means: x across, line field down (sweeps of one or two fields)."""
    import pandas as pd
    x, lines, facets = plot_axes(sweep)
    if x is None or facets or not csv_path.exists():
        return []
    metric = metric or (sweep.plot.get("metrics") or ["mean_wait_days"])[0]
    table = pd.read_csv(csv_path)
    sub = table[table["metric"] == metric]
    if sub.empty:
        return []
    unit = sub["unit"].iloc[0]
    x_vals = _ordered(list(sub[x]))
    rows = _ordered(list(sub[lines])) if lines else [None]
    head = [lines or "", *[str(v) for v in x_vals]]
    body = []
    for lv in rows:
        part = sub if lv is None else sub[sub[lines] == lv]
        means = {str(v): m for v, m in zip(part[x], part["mean"])}
        body.append([str(lv) if lv is not None else "", *[_cell(means.get(str(v), math.nan)) for v in x_vals]])
    widths = [max(len(r[k]) for r in [head, *body]) for k in range(len(head))]
    out = ["", f"{metric} ({unit}), mean over {sweep.replications} replications; columns: {x}"]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in [head, *body]]
    return out
