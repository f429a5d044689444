"""The sweep file: read and checked (one line per problem naming file, field and value), and the
scenarios of its points.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ips_sim.analysis.metrics import METRIC_NAMES
from ips_sim.config import Scenario, ScenarioError, get_dotted, load_scenario, read_yaml_mapping
from ips_sim.core.echo import clip, shown
from ips_sim.core.hashing import content_hash
from ips_sim.core.names import name_problem, safe_name
from ips_sim.core.version import __version__
from ips_sim.studies.sweep.fields import check_path, grid_values, point_label, try_updates

CONFIDENCE = 0.95
SWEEP_KEYS = ("name", "description", "base", "seed", "replications", "overrides", "grid", "points", "plot")
PLOT_KEYS = ("x", "lines", "metrics")
MAX_POINTS = 10_000      # every point is a whole scenario validated and run: more is never a sweep

class SweepError(ScenarioError):
    """Invalid sweep input or state; ``messages`` holds one line per problem."""

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
        return content_hash(doc)

    def point_hash(self, i: int) -> str:
        return content_hash({"scenario": self.scenarios[i].model_dump(mode="json"), "seed": self.seed,
                      "replications": self.replications})


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
    return read_yaml_mapping(path, "sweep", "a sweep file must be a mapping with base and grid or points",
                             SweepError)


def _check_top_level(raw: dict, path: Path, errors: list[str]) -> tuple[str, str]:
    """Unknown fields, name, description, replications and seed; the sweep's name and description."""
    src = str(path)
    for key in raw:
        if key not in SWEEP_KEYS:
            errors.append(f"{src}: {clip(key, 80)}: {shown(raw[key])}: unknown field "
                          f"(allowed: {', '.join(SWEEP_KEYS)})")
    name = safe_name(path.stem, "sweep")
    if "name" in raw:
        why = name_problem(raw["name"])
        if why:
            errors.append(f"{src}: name: {shown(raw['name'])}: {why}")
        else:
            name = raw["name"]
    description = raw.get("description", "")
    if not isinstance(description, str):
        errors.append(f"{src}: description: {shown(description)}: must be text")
        description = ""
    for key in ("replications", "seed"):
        v = raw.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < (1 if key == "replications" else 0)):
            allowed = "a whole number >= 1" if key == "replications" else "a whole number >= 0"
            errors.append(f"{src}: {key}: {shown(v)}: {allowed}")
    return name, description


def _load_base(raw: dict, path: Path, errors: list[str]) -> Scenario | None:
    """The base scenario named by ``base:`` (relative to the sweep file), or None with the problems in ``errors``."""
    src = str(path)
    if "base" not in raw:
        errors.append(f"{src}: base: (missing): give the path of the base scenario file, relative to this sweep file")
        return None
    if not isinstance(raw["base"], str) or not raw["base"] or "\0" in raw["base"]:
        errors.append(f"{src}: base: {shown(raw['base'])}: give the path of the base scenario file, "
                      "relative to this sweep file")
        return None
    base_path = path.parent / raw["base"]
    if not base_path.is_file():
        errors.append(f"{src}: base: {shown(raw['base'])}: no such scenario file "
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
        errors.append(f"{src}: overrides: {shown(overrides)}: a mapping of dotted field paths to values")
        overrides = {}
    for k in overrides:
        why = check_path(k, varied=False)
        if why:
            errors.append(f"{src}: overrides.{clip(k, 80)}: {shown(overrides[k])}: {why}")
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
        errors.append(f"{src}: {where}: {shown(value)}: {why}")
    return new


def _grid_updates(grid: Any, base: Scenario | None, src: str, errors: list[str]) -> tuple[list[str], list[dict]]:
    """Varied fields and every point's changes of a ``grid:`` (cartesian product), each axis checked."""
    if not isinstance(grid, dict) or not grid:
        errors.append(f"{src}: grid: {shown(grid)}: a mapping of dotted field paths to lists or ranges of values")
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
        errors.append(f"{src}: grid.{clip(k, 80)}: {shown(v)}: {why}")
        return None
    try:
        vals = grid_values(v)
    except ValueError as exc:
        errors.append(f"{src}: grid.{clip(k, 80)}: {shown(v)}: {exc}")
        return None
    if len({json.dumps(x, sort_keys=True) for x in vals}) != len(vals):
        errors.append(f"{src}: grid.{clip(k, 80)}: {shown(v)}: values must be distinct")
        return None
    if base is None:
        return vals
    bad = False
    for x in vals:
        _, problems = try_updates(base, {k: x})
        for loc, value, why in problems:
            bad = True
            bad_value = x if loc == k else value
            errors.append(f"{src}: grid.{k}: {shown(bad_value)}: {why}" + ("" if loc == k else f" ({loc})"))
    return None if bad else vals


def _listed_updates(pts: Any, src: str, errors: list[str]) -> tuple[list[str], list[dict]]:
    """Varied fields (in first-seen order) and every point's changes of a ``points:`` list."""
    fields: list[str] = []
    if not isinstance(pts, list) or not pts:
        errors.append(f"{src}: points: {shown(pts)}: a non-empty list of mappings, "
                      "e.g. [{team.specialists: 2, team.caseload_cap: 20}]")
        return fields, []
    if len(pts) > MAX_POINTS:
        # Refused by count before any point is checked or built.
        raise SweepError(errors + [f"{src}: points: {len(pts):,} points: at most {MAX_POINTS:,} points"])
    for i, p in enumerate(pts):
        if not isinstance(p, dict) or not p:
            errors.append(f"{src}: points[{i}]: {shown(p)}: a mapping of dotted field paths to values")
            continue
        for k in p:
            why = check_path(k)
            if why:
                errors.append(f"{src}: points[{i}].{clip(k, 80)}: {shown(p[k])}: {why}")
            elif k not in fields:
                fields.append(k)
    return fields, ([] if errors else [dict(p) for p in pts])


def _check_plot(plot: Any, fields: list[str], src: str, errors: list[str]) -> dict:
    """The ``plot:`` section (x, lines, metrics), checked against the varied fields and the metric names."""
    if not isinstance(plot, dict):
        errors.append(f"{src}: plot: {shown(plot)}: a mapping with x, lines and metrics")
        return {}
    for k, v in plot.items():
        if k not in PLOT_KEYS:
            errors.append(f"{src}: plot.{clip(k, 80)}: {shown(v)}: unknown field (allowed: {', '.join(PLOT_KEYS)})")
        elif k in ("x", "lines") and fields and (not isinstance(v, str) or v not in fields):
            errors.append(f"{src}: plot.{k}: {shown(v)}: must be one of the varied fields: {', '.join(fields)}")
        elif k == "metrics":
            if not isinstance(v, list) or not v:
                errors.append(f"{src}: plot.metrics: {shown(v)}: a list of metric names")
                continue
            for m in v:
                if not isinstance(m, str) or m not in METRIC_NAMES:
                    errors.append(f"{src}: plot.metrics: {shown(m)}: unknown metric "
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
                errors.append(f"{src}: points[{i}].{loc}: {shown(value)}: {why}")
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
