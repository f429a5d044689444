"""State-wide planning: which programs should get new specialist posts, and what the state gains.

A state file (``scenarios/state/*.yaml``) lists programs -- each an ordinary
scenario, inline or by path, with its own referrals, team, supervision and
costs -- and state-level settings: the budget (posts or dollars a year),
per-program limits, the objective, constraints and targets.

Each program is simulated at its candidate staffing levels (posts now + 0 ..
``max_added_posts``; a new program at 0 or at least ``min_new_team``). Work
units are (program, level, chunk of replications) and run on any executor of
:mod:`ips_sim.runner.executors`; results are put back in replication order, so they
do not depend on the executor or the number of workers. Within a program every
level uses the same seed and replication indices (common random numbers), so a
level's gain over the current staffing is a paired difference. Programs get
seeds of their own (from the state seed and the program name): different
counties are independent, and the state-wide gain's variance is the sum of
the programs'.

Replications are added (doubling, as ``ips-sim plan`` does) where a decision
is too close to call: the weakest post given and the strongest post refused
have gains per unit whose difference is not resolved, or a constraint or
target is straddled by its confidence interval at the level that would decide
it. Allocation is by :mod:`ips_sim.studies.allocation` (exact optimum; greedy marginal
analysis reported next to it).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from scipy import stats

from ips_sim.analysis.metrics import METRIC_NAMES, replication_metrics
from ips_sim.config import DAYS_PER_YEAR, Scenario, ScenarioError, load_scenario, read_yaml_file, scenario_from_dict
from ips_sim.config.prices import currency_label
from ips_sim.core.version import __version__
from ips_sim.economics.costs import money
from ips_sim.runner.executors import execute
from ips_sim.runner.experiment import run_replications
from ips_sim.runner.output import OutputFolder
from ips_sim.runner.resume import Checkpoint, partial_dir
from ips_sim.sim.records import FrozenRecords
from ips_sim.studies.allocation import Allocation, Option, exact, greedy, not_diminishing
from ips_sim.studies.plan import FAILS, MEETS, UNSURE, Target, parse_target
from ips_sim.studies.sweep import check_path, try_updates

# --------------------------------------------------------------------------- objectives

# The state objective is a sum over programs, so each is a count per year of the observation
# window (after warm-up), not a share: a post that lets a program serve more people counts.
OBJECTIVES = {
    "employed_within_18_months": ("people a year",
                                  "members enrolled a year x share with a competitive job within 18 months "
                                  "of enrollment (enrolled / window years x ever_employed_rate)"),
    "employed_months": ("member-months a year", "months worked by members while in the program, a year "
                        "(employed_member_months / window years)"),
    "served_within_30_days": ("people a year", "referrals enrolled within 30 days of referral, a year "
                              "(referrals / window years x enrolled_within_30_days_share)"),
}


def state_outcome(rec: FrozenRecords, scenario: Scenario) -> dict[str, float]:
    """The run metrics of one replication plus the state objectives (counts a year of the window)."""
    out = replication_metrics(rec, scenario)
    years = (rec.horizon - scenario.warmup_days) / DAYS_PER_YEAR
    rate = out["ever_employed_rate"]
    out["employed_within_18_months"] = (out["enrolled"] * rate / years) if out["enrolled"] > 0 else 0.0
    out["employed_months"] = out["employed_member_months"] / years
    share = out["enrolled_within_30_days_share"]
    out["served_within_30_days"] = (out["referrals"] * share / years) if out["referrals"] > 0 else 0.0
    return out


OUTCOME_NAMES = tuple(METRIC_NAMES) + tuple(OBJECTIVES)


def run_state_unit(scenario: Scenario, seed: int, first: int, n: int,
                   names: tuple[str, ...] | None = None) -> list[dict[str, float]]:
    """One work unit: the outcomes ``names`` (default all) of replications ``first .. first+n-1`` of a program."""
    out = run_replications(scenario, n, seed, workers=1, keep_records=False, first=first, outcome=state_outcome)[0]
    return out if names is None else [{k: o[k] for k in names} for o in out]


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
        return _hash(doc)


def _hash(doc: Any) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


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


def _currency(st: "State") -> str:
    return currency_label(st.programs[0].scenario.costs.price_year)


def _show(v: Any) -> str:
    return "{...}" if isinstance(v, dict) and len(repr(v)) > 60 else repr(v)


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
        shown = "(missing)" if err["type"] == "missing" else _show(err.get("input"))
        lines.append(f"{src}: {loc}: {shown}: {msg}")
    return lines


def load_state(path: str | Path, budget: float | None = None, replications: int | None = None,
               max_replications: int | None = None, seed: int | None = None) -> State:
    """Read and validate a state file (and every program's scenario); StateError lists every problem."""
    path = Path(path)
    src = str(path)
    try:
        raw = read_yaml_file(path, "state")
    except ScenarioError as exc:
        raise StateError(exc.messages) from None
    if not isinstance(raw, dict):
        raise StateError([f"{src}: (top level): {_show(raw)}: a state file is a mapping with programs, budget, "
                          "objective ..."])
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
            errors.append(f"{src}: overrides.{k}: {_show(spec.overrides[k])}: {why}")
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
        prog = _resolve_program(src, path.parent, where, ps, spec, state_constraints, state_targets, s, errors)
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
                 confidence=spec.confidence, min_new_team=spec.limits.min_new_team, spec=raw)


def _targets(src: str, where: str, texts: list[str], errors: list[str]) -> tuple[Target, ...]:
    out = []
    for k, t in enumerate(texts):
        try:
            out.append(parse_target(t))
        except ValueError as exc:
            errors.append(f"{src}: {where}[{k}]: {t!r}: {exc}")
    return tuple(out)


def _resolve_program(src, folder: Path, where, ps: ProgramSpec, spec: StateFile, state_constraints,
                     state_targets, seed, errors) -> Program | None:
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
                    errors.append(f"{src}: {scope}.{k}: {_show(v)}: {why}")
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
        errors.append(f"{src}: {where}: {loc}: {_show(value)}: {why}")
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
            errors.append(f"{src}: {where}: with {level} specialists: {loc}: {_show(value)}: {why} "
                          f"(lower max_added_posts or change the program's supervision)")
        if problems:
            return None
    if len(errors) > n_err:
        return None
    return Program(name=ps.name, source=source, scenario=sc, posts_now=posts_now, new=ps.new, levels=levels,
                   post_cost=post_cost_per_year(sc), seed=program_seed(seed, ps.name),
                   constraints=constraints, targets=targets)


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


def unit_key(scenario: Scenario, seed: int, first: int, n: int, names: tuple[str, ...] | None = None) -> str:
    """The name a work unit is saved under: a hash of what it runs, so a unit is reused only for the same work."""
    return _hash({"scenario": scenario.model_dump(mode="json"), "seed": seed, "first": first, "n": n,
                  "names": names, "ips_sim": __version__})


@dataclass
class Evaluation:
    state: State
    results: list[ProgramResults]
    rounds: list[dict]                  # what each round of added replications was for
    units_run: int = 0
    units_cached: int = 0


def evaluate(state: State, executor, cache: Checkpoint | None = None, progress: Callable[[int], None] | None = None,
             on_round: Callable[[str], None] | None = None) -> Evaluation:
    """Simulate every program at every level; add replications where a decision is too close to call."""
    results = [ProgramResults(p) for p in state.programs]
    ev = Evaluation(state, results, [])
    want = {i: state.replications for i in range(len(results))}
    _fill(ev, want, executor, cache, progress)
    for _ in range(64):
        more = close_calls(ev)
        grow = {}
        for i in more:
            have = results[i].replications
            if have < state.max_replications:
                grow[i] = min(2 * have, state.max_replications)
        if not grow:
            break
        ev.rounds.append({"programs": {state.programs[i].name: {"replications": grow[i], "why": more[i]}
                                       for i in sorted(grow)}})
        if on_round:
            on_round(", ".join(f"{state.programs[i].name} -> {grow[i]} ({more[i]})" for i in sorted(grow)))
        want.update(grow)
        _fill(ev, want, executor, cache, progress)
    return ev


def _fill(ev: Evaluation, want: dict[int, int], executor, cache, progress) -> None:
    """Run the missing replications so program i has ``want[i]`` at every level."""
    state = ev.state
    units = []
    for i, target in want.items():
        res = ev.results[i]
        p = res.program
        for level in p.levels:
            if level == 0:
                continue
            have = len(res.outcomes.get(level, []))
            res.outcomes.setdefault(level, [])
            if have >= target:
                continue
            sc = p.scenario_at(level)
            names = state.outcome_names
            # Fixed chunks of the state's chunk size, aligned at multiples of it, so the same units
            # come back on resume whatever the executor or the number of workers.
            first = have
            while first < target:
                n = min(state.chunk - first % state.chunk, target - first)
                units.append(((i, level, first), (sc, p.seed, first, n, names)))
                first += n
    got: dict[tuple, list] = {}
    todo = []
    for key, args in units:
        ck = unit_key(*args) if cache else None
        hit = cache.load(ck) if cache else None
        if isinstance(hit, list) and len(hit) == args[3]:
            got[key] = hit
            ev.units_cached += 1
            if progress:
                progress(len(hit))
        else:
            todo.append((key, args, ck))

    def on_result(key, outcomes):
        got[key] = outcomes
        ev.units_run += 1
        if cache:
            cache.save(keys[key], outcomes)
        if progress:
            progress(len(outcomes))

    keys = {key: ck for key, _, ck in todo}
    execute(executor, run_state_unit, [(key, args) for key, args, _ in todo], on_result)
    for (i, level, first) in sorted(got):
        outs = ev.results[i].outcomes[level]
        if len(outs) != first:  # pragma: no cover - units are contiguous by construction
            raise RuntimeError(f"replications of {ev.results[i].program.name} at {level} out of order")
        outs.extend(got[(i, level, first)])


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


def _step_values(ev: Evaluation, i: int, lv_from: int, lv_to: int, unit: float) -> np.ndarray:
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
            v = _step_values(ev, i, lv[k - 1], lv[k], unit * (lv[k] - lv[k - 1]))
            taken.append((float(v.mean()), i, v))
        if k + 1 < len(lv):
            v = _step_values(ev, i, lv[k], lv[k + 1], unit * (lv[k + 1] - lv[k]))
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
        notes.append(f"the budget ({_amount(budget, st)}) cannot meet every constraint: the constraints alone need "
                     f"{_amount(need, st)}; allocating without them")
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
        later = _step_values(ev, x.program, b, c, unit * (c - b))
        earlier = (_step_values(ev, x.program, a, b, unit * (b - a)) if a is not None
                   else _step_values(ev, x.program, st.programs[x.program].levels[0], b,
                                     unit * max(1, b - st.programs[x.program].levels[0])))
        d = Estimate.of(later - earlier, st.confidence)
        if math.isfinite(d.low) and d.low > 0:
            nd.append(x)
            p = st.programs[x.program]
            notes.append(f"gains do not diminish at {p.name}: the step to {c} posts buys {x.per_unit:.3g} per "
                         f"{_unit_word(st)}, more than the step before ({x.per_unit_before:.3g}; difference "
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
        notes.append(f"greedy marginal analysis (gain per {_unit_word(st)}) would differ ({', '.join(diff)} "
                     f"against the optimum) and gain {g_alloc.gain:.4g} against the optimum's {alloc.gain:.4g}")
    pair = None if dropped else marginal_pair(ev)
    if pair is not None and math.isfinite(pair[2].low) and pair[2].low <= 0 <= pair[2].high:
        a, b, d = pair
        notes.append(f"the weakest post given ({st.programs[a].name}) and the strongest refused "
                     f"({st.programs[b].name}) are too close to call after {ev.results[a].replications} and "
                     f"{ev.results[b].replications} replications (difference {d.mean:.3g} [{d.low:.3g}, {d.high:.3g}] "
                     f"per {_unit_word(st)}): either choice buys about the same")
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


def _unit_word(st: State) -> str:
    return "post" if st.budget.unit == "posts" else "dollar"


def _amount(x: float, st: State) -> str:
    if st.budget.unit == "posts":
        return f"{x:g} post{'s' if x != 1 else ''}"
    cur = _currency(st)
    return f"{x:,.0f} {cur} a year"


# --------------------------------------------------------------------------- tables, text, plots


def allocation_rows(r: StateResult) -> list[dict]:
    st = r.evaluation.state
    rows = []
    ucost = unit_cost_fn(st)
    for i, res in enumerate(r.evaluation.results):
        p = res.program
        k = r.allocation.choice[i]
        lv = r.levels[i][k]
        g = r.program_gains[i]
        now = Estimate.of(objective_values(res, p.levels[0], st.weights), st.confidence)
        prev = r.levels[i][k - 1] if k > 0 else p.levels[0]
        last = (Estimate.of(_step_values(r.evaluation, i, prev, lv, lv - prev), st.confidence).mean
                if lv > prev else math.nan)
        rows.append({
            "program": p.name, "new_program": p.new, "posts_now": p.posts_now, "posts_added": lv - p.posts_now,
            "posts_for_constraints": r.levels[i][0] - p.posts_now,
            "posts_after": lv, "max_posts": p.levels[-1], "at_limit": lv == p.levels[-1] and lv > p.posts_now,
            "cost_added_per_year": (lv - p.posts_now) * p.post_cost,
            "objective_now": now.mean, "gain": g.mean, "gain_ci_low": g.low, "gain_ci_high": g.high,
            "gain_per_added_post_last": last, "replications": res.replications,
            "unit_cost": ucost(p),
        })
    return rows


def candidate_rows(ev: Evaluation) -> list[dict]:
    """Every program at every level: objective, gain over now, marginal gain, constraint metrics."""
    st = ev.state
    rows = []
    metrics = sorted({t.metric for p in st.programs for t in (*p.constraints, *p.targets)})
    for i, res in enumerate(ev.results):
        p = res.program
        prev = None
        for lv in p.levels:
            obj = Estimate.of(objective_values(res, lv, st.weights), st.confidence)
            g = gain_estimate(ev, i, lv)
            row = {"program": p.name, "posts": lv, "posts_added": lv - p.posts_now, "replications": res.replications,
                   "objective": obj.mean, "objective_ci_low": obj.low, "objective_ci_high": obj.high,
                   "gain": g.mean, "gain_ci_low": g.low, "gain_ci_high": g.high}
            if prev is None:
                row.update(marginal_gain=math.nan, marginal_ci_low=math.nan, marginal_ci_high=math.nan)
            else:
                m = Estimate.of(_step_values(ev, i, prev, lv, 1.0), st.confidence)
                row.update(marginal_gain=m.mean, marginal_ci_low=m.low, marginal_ci_high=m.high)
            for name in metrics:
                e = Estimate.of(res.values(lv, name), st.confidence) if lv else Estimate(math.nan, 0, 0, math.nan,
                                                                                        math.nan)
                row[name] = e.mean
                row[f"{name}_ci_low"] = e.low
                row[f"{name}_ci_high"] = e.high
            rows.append(row)
            prev = lv
    return rows


def frontier_rows(r: StateResult) -> list[dict]:
    st = r.evaluation.state
    rows = []
    for f in r.frontier:
        if not f["feasible"]:
            rows.append({"budget": f["budget"], "spent": math.nan, "objective": math.nan, "gain": math.nan,
                         "gain_ci_low": math.nan, "gain_ci_high": math.nan,
                         "gain_without_constraints": f["free_gain"],
                         "allocation": "infeasible: the constraints need more"})
            continue
        g = f["gain"]
        alloc = "; ".join(f"{st.programs[i].name} +{r.levels[i][k] - st.programs[i].posts_now}"
                          for i, k in enumerate(f["choice"]) if r.levels[i][k] != st.programs[i].posts_now)
        rows.append({"budget": f["budget"], "spent": f["cost"], "objective": r.total_now.mean + g.mean,
                     "gain": g.mean, "gain_ci_low": g.low, "gain_ci_high": g.high,
                     "gain_without_constraints": f["free_gain"], "allocation": alloc or "(none)"})
    return rows


def summary_lines(r: StateResult) -> list[str]:
    st = r.evaluation.state
    ev = r.evaluation
    conf = f"{st.confidence:.0%}".replace(".0%", "%")
    unit = st.objective_unit
    lines = [f"State {st.name}: {len(st.programs)} programs, budget {_amount(st.budget.amount, st)}, "
             f"objective {st.objective_text} ({unit})"]
    spent = r.allocation.cost
    lines.append(f"Allocation (exact optimum; spends {_amount(spent, st)}):")
    rows = allocation_rows(r)
    width = max(len(x["program"]) for x in rows)
    for x in rows:
        if x["posts_added"] == 0:
            continue
        lim = " (at its limit)" if x["at_limit"] else ""
        lines.append(f"  {x['program']:<{width}}  {x['posts_now']} -> {x['posts_after']} posts  "
                     f"gain {x['gain']:.2f} [{x['gain_ci_low']:.2f}, {x['gain_ci_high']:.2f}]{lim}")
    untouched = [x["program"] for x in rows if x["posts_added"] == 0]
    if untouched:
        lines.append(f"  no new posts: {', '.join(untouched)}")
    t, now = r.total_gain, r.total_now
    rel = f" (+{t.mean / now.mean:.1%})" if now.mean > 0 else ""
    lines.append(f"State-wide gain: {t.mean:.2f} {unit} [{conf} CI {t.low:.2f}, {t.high:.2f}] on "
                 f"{now.mean:.2f} now{rel}")
    g = r.greedy
    if g is not None and g.choice == r.allocation.choice:
        lines.append("Greedy marginal analysis (gain per " + _unit_word(st) + ") gives the same allocation.")
    lines += [f"Note: {n}" for n in r.notes]
    reverse = reverse_sentence(r)
    if reverse:
        lines.append(reverse)
    reps = [res.replications for res in ev.results]
    lines.append(f"Replications per level: {min(reps)}..{max(reps)} (started at {st.replications}, up to "
                 f"{st.max_replications} where too close to call)")
    return lines


def reverse_sentence(r: StateResult) -> str | None:
    """The answer to the reverse question in a sentence (None when no program has targets)."""
    st = r.evaluation.state
    if not any(x["targets"] for x in r.needed):
        return None
    if r.needed_total is None:
        missing = [x["program"] for x in r.needed if x["posts_needed"] is None]
        rest = sum(x["cost_added"] for x in r.needed if x["cost_added"] is not None)
        return (f"Smallest budget meeting every program's targets: none within the programs' limits "
                f"({', '.join(missing)} cannot meet them; the others need {_amount(rest, st)})")
    targets = sorted({x["targets"] for x in r.needed})
    return (f"Smallest budget meeting every program's targets: {_amount(r.needed_total, st)} "
            f"(targets: {' | '.join(targets)})")


def report_markdown(r: StateResult, plots: bool = True) -> str:
    """The state's section for a report (``ips-sim report`` reads results folders by manifest kind)."""
    st = r.evaluation.state
    conf = f"{st.confidence:.0%}".replace(".0%", "%")
    t, now = r.total_gain, r.total_now
    lines = [f"## State-wide allocation: {st.name}", ""]
    if st.description:
        lines += [st.description, ""]
    lines += [f"{len(st.programs)} programs; budget {_amount(st.budget.amount, st)}; objective "
              f"{st.objective_text} ({st.objective_unit}); constraints and targets are met only when the "
              f"{conf} confidence interval is on the right side.", "",
              f"**State-wide gain: {t.mean:.2f} {st.objective_unit} ({conf} CI {t.low:.2f} to {t.high:.2f})** "
              f"on {now.mean:.2f} now.", "",
              "| program | posts now | posts added | gain | " + conf + " CI |", "|---|---:|---:|---:|---|"]
    for x in allocation_rows(r):
        lines.append(f"| {x['program']}{' (new)' if x['new_program'] else ''} | {x['posts_now']} | "
                     f"{x['posts_added']} | {x['gain']:.2f} | {x['gain_ci_low']:.2f} to {x['gain_ci_high']:.2f} |")
    lines.append("")
    lines += [f"- {n}" for n in r.notes]
    reverse = reverse_sentence(r)
    if reverse:
        lines.append(f"- {reverse}; see targets.csv")
    if plots:
        lines += ["", "![What each budget buys](frontier.png)", "", "![Gain per program](gains.png)"]
    return "\n".join(lines) + "\n"


def plot_state(r: StateResult, folder: Path) -> list[Path]:
    """frontier.png (state-wide gain against budget) and gains.png (gain per program, with CI)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st = r.evaluation.state
    conf = f"{st.confidence:.0%}".replace(".0%", "%")
    out = []
    all_rows = frontier_rows(r)
    fr = [f for f in all_rows if not f["allocation"].startswith("infeasible")]
    x = np.array([f["budget"] for f in fr], dtype=float)
    scale, xlabel = 1.0, "budget (new posts)"
    if st.budget.unit == "dollars":
        scale, xlabel = 1000.0, f"budget ({_currency(st)} thousand a year)"
    y = np.array([f["gain"] for f in fr])
    lo = np.array([f["gain_ci_low"] for f in fr])
    hi = np.array([f["gain_ci_high"] for f in fr])
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ax.fill_between(x / scale, lo, hi, alpha=0.25, color="tab:blue", label=f"{conf} CI")
    ax.plot(x / scale, y, "o-", color="tab:blue", label="best allocation at each budget")
    has_constraints = any(p.constraints for p in st.programs)
    if has_constraints:
        xf = np.array([f["budget"] for f in all_rows], dtype=float)
        ax.plot(xf / scale, [f["gain_without_constraints"] for f in all_rows], "--", color="0.45",
                label="without the constraints")
        infeasible = [f["budget"] for f in all_rows if f["allocation"].startswith("infeasible")]
        if infeasible:
            ax.axvspan(-0.5 if st.budget.unit == "posts" else 0, max(infeasible) / scale + 0.5 *
                       (1 if st.budget.unit == "posts" else 0), color="0.9", zorder=0)
            ax.text(max(infeasible) / scale / 2, 0.02, "constraints\nnot affordable", transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=8, color="0.35")
    if st.budget.unit == "posts":
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(-0.5, st.budget.amount + 0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"state-wide gain ({st.objective_unit})")
    ax.set_title(f"{st.name}: what each budget buys\n({st.objective_text})", fontsize=11)
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(lo)) if len(lo) else 0.0))
    ax.legend(loc="lower right")
    fig.tight_layout()
    path = folder / "frontier.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    out.append(path)

    rows = allocation_rows(r)
    order = sorted(range(len(rows)), key=lambda k: (rows[k]["gain"], rows[k]["program"]))
    names = [rows[k]["program"] for k in order]
    g = np.array([rows[k]["gain"] for k in order])
    err = np.array([[rows[k]["gain"] - rows[k]["gain_ci_low"], rows[k]["gain_ci_high"] - rows[k]["gain"]]
                    for k in order]).T
    err = np.nan_to_num(err)
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(rows) + 1.6))
    colors = ["tab:green" if rows[k]["posts_added"] > 0 else "0.75" for k in order]
    ax.barh(range(len(rows)), g, xerr=err, color=colors, capsize=3)
    # Where no post goes: what the program's next option would have bought (grey), to show why.
    for pos, k in enumerate(order):
        p = st.programs[k]
        if rows[k]["posts_added"] == 0 and len(p.levels) > 1:
            nxt = gain_estimate(r.evaluation, k, p.levels[1])
            ax.barh(pos, nxt.mean, color="0.85", edgecolor="0.6", hatch="//", height=0.5)
            rows[k]["_next"] = (p.levels[1] - p.posts_now, nxt.mean)
    for pos, k in enumerate(order):
        rw = rows[k]
        label = f"+{rw['posts_added']} ({rw['posts_now']}->{rw['posts_after']})" if rw["posts_added"] else "+0"
        if "_next" in rw:
            label += f" (+{rw['_next'][0]} would buy {rw['_next'][1]:.1f})"
        if rw["posts_for_constraints"]:
            label += f", {rw['posts_for_constraints']} for the constraints"
        x_text = max(rw["gain_ci_high"], rw["gain"], 0) if math.isfinite(rw["gain_ci_high"]) else max(rw["gain"], 0)
        if "_next" in rw:
            x_text = max(x_text, rw["_next"][1])
        ax.text(x_text, pos, "  " + label, va="center", fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(names, fontsize=9)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"gain from the posts added ({st.objective_unit}), {conf} CI")
    ax.set_title(f"{st.name}: where {_amount(st.budget.amount, st)} go\n(hatched grey: what the next option "
                 "would buy where no post goes)", fontsize=10)
    ax.margins(x=0.18)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = folder / "gains.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    out.append(path)
    return out


# --------------------------------------------------------------------------- the run and its folder


def state_manifest(r: StateResult, wall: float, executor_text: str) -> dict:
    from ips_sim.reporting.tables import versions
    st = r.evaluation.state
    t = r.total_gain
    return {
        "kind": "state",
        "state": st.name,
        "description": st.description,
        "state_file": st.source,
        "budget": st.budget.model_dump(),
        "objective": st.weights,
        "objective_unit": st.objective_unit,
        "confidence": st.confidence,
        "seed": st.seed,
        "replications": st.replications,
        "max_replications": st.max_replications,
        "chunk": st.chunk,
        "programs": [{"name": p.name, "source": p.source, "seed": p.seed, "posts_now": p.posts_now, "new": p.new,
                      "levels": list(p.levels), "post_cost_per_year": p.post_cost,
                      "constraints": [str(c) for c in p.constraints], "targets": [str(c) for c in p.targets],
                      "scenario": p.scenario.model_dump(mode="json")} for p in st.programs],
        "common_random_numbers": "within a program, every level uses the program's seed and replication indices "
                                 "0..n-1; programs have their own seeds (independent)",
        "state_gain": {"mean": t.mean, "ci_low": t.low, "ci_high": t.high},
        "state_objective_now": r.total_now.mean,
        "greedy_equals_optimum": r.greedy is not None and r.greedy.choice == r.allocation.choice,
        "not_diminishing": len(r.not_diminishing),
        "constraints_dropped": r.constraints_dropped,
        "smallest_budget_meeting_targets": r.needed_total,
        "added_replications": r.evaluation.rounds,
        "notes": r.notes,
        "fingerprint": st.fingerprint(),
        "versions": versions(),
        "executor": executor_text,
        "units_run": r.evaluation.units_run,
        "units_reused": r.evaluation.units_cached,
        "wall_time_seconds": round(wall, 3),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
    }


def write_state(folder: Path, r: StateResult, manifest_doc: dict, plots: bool = True) -> None:
    """allocation.csv, frontier.csv, candidates.csv, targets.csv, state.txt, report.md, manifest.json, plots."""
    import pandas as pd

    from ips_sim.reporting.tables import write_csv

    write_csv(pd.DataFrame(allocation_rows(r)), folder / "allocation.csv")
    write_csv(pd.DataFrame(frontier_rows(r)), folder / "frontier.csv")
    write_csv(pd.DataFrame(candidate_rows(r.evaluation)), folder / "candidates.csv")
    write_csv(pd.DataFrame(r.needed), folder / "targets.csv")
    (folder / "state.txt").write_text("\n".join(summary_lines(r)) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(report_markdown(r, plots), encoding="utf-8")
    with open(folder / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(_clean(manifest_doc), f, indent=2, sort_keys=True)
        f.write("\n")
    if plots:
        plot_state(r, folder)


def _clean(x):
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, (np.floating,)):
        return _clean(float(x))
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


@dataclass
class StateRun:
    result: StateResult
    out: Path
    wall_seconds: float


def run_state(state: State, out: str | Path, executor, *, resume: bool = False, plots: bool = True,
              progress: Callable[[int], None] | None = None, on_round: Callable[[str], None] | None = None) -> StateRun:
    """Evaluate, decide and write the state's folder; finished units are kept in ``out.partial`` for --resume."""
    out = Path(out)
    work = partial_dir(out)
    started = time.perf_counter()
    fp = state.fingerprint()
    cache = Checkpoint(work, {"fingerprint": fp}, what="state run", error=StateError,
                       settings="state file, budget, seed or replications").open(resume)
    ev = evaluate(state, executor, cache, progress, on_round)
    result = decide(ev)
    wall = time.perf_counter() - started
    doc = state_manifest(result, wall, getattr(executor, "description", ""))
    # The command checked the folder (and holds its lock) before any work; replace only ips-sim's own.
    with OutputFolder(out, {"fingerprint": fp}, kind="state", overwrite=True).write() as tmp:
        write_state(tmp, result, doc, plots)
    cache.discard()
    return StateRun(result, out, wall)
