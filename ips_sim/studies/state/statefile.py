"""The state file: its schema (budget, limits, programs, objective, constraints, targets), loading and
checking it with one line per problem, and the programs it resolves to (each an ordinary scenario).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ips_sim.config import Scenario, ScenarioError, load_scenario, read_yaml_mapping, scenario_from_dict
from ips_sim.config.prices import currency_label
from ips_sim.core.echo import shown
from ips_sim.core.hashing import content_hash
from ips_sim.core.version import __version__
from ips_sim.economics.costs import money
from ips_sim.studies.plan import Target, parse_target
from ips_sim.studies.state.objectives import OBJECTIVES
from ips_sim.studies.sweep import check_path, try_updates

# --------------------------------------------------------------------------- the state file


class StateError(ScenarioError):
    """Invalid state file or state run; ``messages`` holds one line per problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"


class Budget(_Strict):
    """Specialist posts, or dollars a year (in the programs' cost currency and price year)."""

    posts: int | None = Field(default=None, ge=0, le=10_000, strict=True)
    dollars: float | None = Field(default=None, ge=0, le=1e12)

    @field_validator("dollars", mode="before")
    @classmethod
    def _no_bool(cls, v):
        if isinstance(v, bool):
            raise ValueError("must be a number, not true/false")
        return v

    @model_validator(mode="after")
    def _one(self):
        if (self.posts is None) == (self.dollars is None):
            raise ValueError("give exactly one of posts or dollars")
        return self

    @property
    def unit(self) -> str:
        return "posts" if self.posts is not None else "dollars"

    @property
    def amount(self) -> float:
        return float(self.posts if self.posts is not None else self.dollars)


class Limits(_Strict):
    max_added_posts: int = Field(default=4, ge=0, le=50, strict=True)
    min_new_team: int = Field(default=2, ge=1, le=50, strict=True)


class ProgramSpec(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    scenario: str | dict[str, Any]
    overrides: dict[str, Any] = Field(default_factory=dict)
    new: bool = False
    max_added_posts: int | None = Field(default=None, ge=0, le=50, strict=True)
    constraints: list[str] | None = None
    targets: list[str] | None = None


class StateFile(_Strict):
    name: str = Field(default="state", min_length=1, max_length=64, pattern=NAME_PATTERN)
    description: str = ""
    budget: Budget | None = None
    objective: str | dict[str, float] = "employed_within_18_months"
    constraints: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    overrides: dict[str, Any] = Field(default_factory=dict)
    replications: int = Field(default=20, ge=2, le=100_000, strict=True)
    max_replications: int | None = Field(default=None, ge=2, le=1_000_000, strict=True)
    chunk: int = Field(default=10, ge=1, le=1000, strict=True)
    seed: int = Field(default=20261124, ge=0, strict=True)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    programs: list[ProgramSpec] = Field(min_length=1, max_length=10_000)

    @field_validator("objective")
    @classmethod
    def _objective(cls, v):
        allowed = ", ".join(OBJECTIVES)
        if isinstance(v, str):
            if v not in OBJECTIVES:
                raise ValueError(f"unknown objective; allowed: {allowed}, or a mapping of them to weights")
            return v
        if not v:
            raise ValueError(f"give at least one of {allowed} with a weight")
        for k, w in v.items():
            if k not in OBJECTIVES:
                raise ValueError(f"unknown objective {k}; allowed: {allowed}")
            if isinstance(w, bool) or not math.isfinite(w) or w <= 0:
                raise ValueError(f"weight of {k} must be a positive number")
        return v

    @model_validator(mode="after")
    def _reps(self):
        if self.max_replications is not None and self.max_replications < self.replications:
            raise ValueError(f"max_replications ({self.max_replications}) must be at least replications "
                             f"({self.replications})")
        return self


# --------------------------------------------------------------------------- resolved programs


@dataclass(frozen=True)
class Program:
    """A program of the state, resolved: its scenario at each candidate level, limits, targets."""

    name: str
    source: str                      # the scenario file, or "inline"
    scenario: Scenario               # at the current staffing (new program: at min_new_team)
    posts_now: int
    new: bool
    levels: tuple[int, ...]          # candidate total posts, ascending; levels[0] = posts_now
    post_cost: float                 # a year, of one added post
    seed: int
    constraints: tuple[Target, ...]
    targets: tuple[Target, ...]
    draws: tuple[dict, ...] | None = None   # parameter uncertainty: replication i uses draws[i % len]
    draws_used: dict | None = None           # their source, kind and count (for the manifest)

    def scenario_at(self, level: int) -> Scenario:
        return self.scenario.with_updates({"team.specialists": level})

    @property
    def max_added(self) -> int:
        return self.levels[-1] - self.posts_now


@dataclass(frozen=True)
class State:
    name: str
    description: str
    source: str
    budget: Budget | None
    weights: dict[str, float]
    programs: tuple[Program, ...]
    replications: int
    max_replications: int
    chunk: int
    seed: int
    confidence: float
    min_new_team: int
    spec: dict                       # the state file as read (for the manifest)
    parameter_uncertainty: bool = False

    @property
    def outcome_names(self) -> tuple[str, ...]:
        """The outcomes a run needs (objective, constraint and target metrics): all a work unit sends back."""
        used = set(self.weights) | {t.metric for p in self.programs for t in (*p.constraints, *p.targets)}
        return tuple(sorted(used))

    @property
    def objective_text(self) -> str:
        if len(self.weights) == 1 and next(iter(self.weights.values())) == 1.0:
            return next(iter(self.weights))
        return " + ".join(f"{w:g} x {k}" for k, w in self.weights.items())

    @property
    def objective_unit(self) -> str:
        units = {OBJECTIVES[k][0] for k in self.weights}
        return units.pop() if len(units) == 1 else "weighted units a year"

    def fingerprint(self) -> str:
        doc = {"programs": [(p.name, p.scenario.model_dump(mode="json"), p.levels, p.seed, p.post_cost,
                             [str(t) for t in p.constraints], [str(t) for t in p.targets]) for p in self.programs],
               "weights": self.weights, "replications": self.replications, "max": self.max_replications,
               "chunk": self.chunk, "seed": self.seed, "confidence": self.confidence,
               "budget": self.budget.model_dump() if self.budget else None, "ips_sim": __version__}
        if self.parameter_uncertainty:
            doc["draws"] = [content_hash(list(p.draws or ())) for p in self.programs]
        return content_hash(doc)


def program_seed(state_seed: int, name: str) -> int:
    """A program's own seed: from the state seed and its name (programs are independent of each other)."""
    ss = np.random.SeedSequence([state_seed, zlib.crc32(name.encode())])
    return int(ss.generate_state(1, np.uint32)[0])


def post_cost_per_year(scenario: Scenario) -> float:
    """What one more filled specialist post costs a year, in the output price year (costs.price_year).

    The post's salary at the team's FTE per specialist with the program's overhead rate, as
    :func:`ips_sim.economics.costs.budget` charges a filled post; supervision is the supervisor
    arrangement the scenario already pays for.
    """
    c = scenario.costs
    return money(scenario, "specialist_cost_per_fte_year") * scenario.team.fte_per_specialist * (1.0 + c.overhead_rate)


def currency_of(st: "State") -> str:
    return currency_label(st.programs[0].scenario.costs.price_year)


def _pyd_errors(src: str, exc: ValidationError, prefix: str = "") -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        # Programs are a list: show programs[3].name rather than programs.3.name.
        parts = []
        for p in err["loc"]:
            if isinstance(p, int):
                parts[-1] = f"{parts[-1]}[{p}]" if parts else f"[{p}]"
            else:
                parts.append(str(p))
        loc = prefix + ".".join(parts) if parts else (prefix.rstrip(".") or "(top level)")
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (see the format at the top of scenarios/state/example_state.yaml)"
        value = "(missing)" if err["type"] == "missing" else shown(err.get("input"))
        lines.append(f"{src}: {loc}: {value}: {msg}")
    return lines


def load_state(path: str | Path, budget: float | None = None, replications: int | None = None,
               max_replications: int | None = None, seed: int | None = None,
               parameter_uncertainty: bool = False) -> State:
    """Read and validate a state file (and every program's scenario); StateError lists every problem.

    ``parameter_uncertainty``: each program's replication i uses parameter draw i of its scenario's own
    posterior (``parameter_draws``) or, without one, of the national calibration draws (as ``run`` does)."""
    path = Path(path)
    src = str(path)
    raw = read_yaml_mapping(path, "state", "a state file is a mapping with programs, budget, objective ...",
                            StateError)
    try:
        spec = StateFile.model_validate(raw)
    except ValidationError as exc:
        raise StateError(_pyd_errors(src, exc)) from None

    errors: list[str] = []
    bud = spec.budget
    if budget is not None:
        if not math.isfinite(budget) or budget < 0:
            errors.append(f"--budget: {budget!r}: must be a number >= 0")
        else:
            unit = bud.unit if bud else "posts"
            if unit == "posts" and budget != int(budget):
                errors.append(f"--budget: {budget!r}: the state's budget is in whole posts")
            else:
                bud = Budget(posts=int(budget)) if unit == "posts" else Budget(dollars=float(budget))
    n = replications if replications is not None else spec.replications
    top = max_replications if max_replications is not None else (spec.max_replications or 8 * n)
    if top < n:
        errors.append(f"--max-replications: {top}: must be at least the replications ({n})")
    s = seed if seed is not None else spec.seed

    for k in spec.overrides:
        why = check_path(k, varied=False)
        if why:
            errors.append(f"{src}: overrides.{k}: {shown(spec.overrides[k])}: {why}")
    if "team.specialists" in spec.overrides:
        errors.append(f"{src}: overrides.team.specialists: {spec.overrides['team.specialists']!r}: "
                      "set each program's team in its scenario; the state varies it")
    state_constraints = _targets(src, "constraints", spec.constraints, errors)
    state_targets = _targets(src, "targets", spec.targets, errors)

    seen: dict[str, int] = {}
    programs: list[Program] = []
    for i, ps in enumerate(spec.programs):
        where = f"programs[{i}]"
        if ps.name in seen:
            errors.append(f"{src}: {where}.name: {ps.name!r}: duplicate program name (also programs[{seen[ps.name]}]); "
                          "each program needs its own name")
            continue
        seen[ps.name] = i
        prog = _resolve_program(src, path.parent, where, ps, spec, state_constraints, state_targets, s, errors,
                                parameter_uncertainty)
        if prog is not None:
            programs.append(prog)
    if bud is None and not errors:
        errors.append(f"{src}: budget: (missing): give budget: {{posts: N}} or {{dollars: N}} in the file, "
                      "or --budget N")
    if errors:
        raise StateError(errors)
    weights = {spec.objective: 1.0} if isinstance(spec.objective, str) else dict(spec.objective)
    return State(name=spec.name, description=spec.description, source=src, budget=bud, weights=weights,
                 programs=tuple(programs), replications=n, max_replications=top, chunk=spec.chunk, seed=s,
                 confidence=spec.confidence, min_new_team=spec.limits.min_new_team, spec=raw,
                 parameter_uncertainty=parameter_uncertainty)


def _targets(src: str, where: str, texts: list[str], errors: list[str]) -> tuple[Target, ...]:
    out = []
    for k, t in enumerate(texts):
        try:
            out.append(parse_target(t))
        except ValueError as exc:
            errors.append(f"{src}: {where}[{k}]: {t!r}: {exc}")
    return tuple(out)


def _resolve_program(src, folder: Path, where, ps: ProgramSpec, spec: StateFile, state_constraints,
                     state_targets, seed, errors, parameter_uncertainty=False) -> Program | None:
    n_err = len(errors)
    if isinstance(ps.scenario, str):
        sc_path = folder / ps.scenario
        if not sc_path.is_file():
            errors.append(f"{src}: {where}.scenario: {ps.scenario!r}: no such scenario file ({sc_path}); "
                          "the path is relative to the state file")
            return None
        try:
            base = load_scenario(sc_path)
        except ScenarioError as exc:
            errors.extend(exc.messages)
            return None
        source = str(sc_path)
    else:
        try:
            base = scenario_from_dict(ps.scenario, f"{src}: {where}.scenario", name=ps.name)
        except ScenarioError as exc:
            errors.extend(exc.messages)
            return None
        source = "inline"
    updates = {"name": ps.name}
    for scope, ov in (("overrides", spec.overrides), (f"{where}.overrides", ps.overrides)):
        for k, v in ov.items():
            if scope != "overrides":
                why = check_path(k, varied=False)
                if why:
                    errors.append(f"{src}: {scope}.{k}: {shown(v)}: {why}")
                    continue
            updates[k] = v
    if len(errors) > n_err:
        return None
    constraints = state_constraints if ps.constraints is None else _targets(src, f"{where}.constraints",
                                                                            ps.constraints, errors)
    targets = state_targets if ps.targets is None else _targets(src, f"{where}.targets", ps.targets, errors)
    min_team = spec.limits.min_new_team
    max_added = spec.limits.max_added_posts if ps.max_added_posts is None else ps.max_added_posts
    if ps.new:
        updates["team.specialists"] = min_team
        posts_now = 0
        if max_added < min_team:
            errors.append(f"{src}: {where}.max_added_posts: {max_added}: a new program needs at least "
                          f"limits.min_new_team ({min_team}) posts; raise it or drop the program")
            return None
        levels = (0,) + tuple(range(min_team, max_added + 1))
    else:
        posts_now = None
        levels = ()
    sc, problems = try_updates(base, updates)
    for loc, value, why in problems:
        errors.append(f"{src}: {where}: {loc}: {shown(value)}: {why}")
    if sc is None:
        return None
    if not ps.new:
        posts_now = sc.team.specialists
        levels = tuple(range(posts_now, posts_now + max_added + 1))
    for level in levels:
        if level == 0:
            continue
        _, problems = try_updates(sc, {"team.specialists": level})
        for loc, value, why in problems:
            errors.append(f"{src}: {where}: with {level} specialists: {loc}: {shown(value)}: {why} "
                          f"(lower max_added_posts or change the program's supervision)")
        if problems:
            return None
    draws = used = None
    if parameter_uncertainty:
        draws, used = _program_draws(src, where, ps, sc, source, set(updates), errors)
    if len(errors) > n_err:
        return None
    return Program(name=ps.name, source=source, scenario=sc, posts_now=posts_now, new=ps.new, levels=levels,
                   post_cost=post_cost_per_year(sc), seed=program_seed(seed, ps.name),
                   constraints=constraints, targets=targets, draws=draws, draws_used=used)


def _program_draws(src, where, ps: ProgramSpec, sc: Scenario, source: str, overridden: set[str], errors):
    """A program's parameter draws: its scenario's own posterior, else the national draws (as ``run``);
    the state file's overrides and the staffing the state varies win over every draw."""
    from ips_sim.core.errors import UserError
    from ips_sim.studies.calibration import scenario_draws

    inline = source == "inline"
    try:
        draws, used = scenario_draws(sc, src if inline else source, raw=ps.scenario if inline else None,
                                     keep=overridden | {"team.specialists"})
    except UserError as exc:
        errors.extend(m.replace(f"{src}: parameter_draws:", f"{src}: {where}.scenario.parameter_draws:")
                      if inline else m for m in exc.messages)
        return None, None
    return tuple(draws), used
