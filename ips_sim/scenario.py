"""Scenario files: schema, defaults, loading and validation.

A scenario is a YAML file. Every field is optional: what the file leaves out
comes from the defaults table ``calibration/parameters.csv`` (one row per
field, with its unit and source), overlaid by fitted behavioural parameters in
``calibration/fitted.yaml`` when that file exists. Unknown fields are errors,
so a typo never silently falls back to a default.

Errors are collected, never raised one at a time: :func:`load_scenarios`
returns every problem in every file as one-line messages naming the file, the
field path, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import csv
import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from .echo import clip, shown
from .errors import UserError
from .names import name_problem, safe_name
from .safe_yaml import YAMLInputError, load_yaml_file, load_yaml_text

DAYS_PER_MONTH = 365.25 / 12
DAYS_PER_YEAR = 365.25
ACTIVITIES = ("intake", "follow_along", "job_search", "job_development")
END_REASONS = ("quit", "fired", "temporary_job_ended", "laid_off")


PACKAGE_DATA = Path(__file__).resolve().parent / "data"
DATA_SUFFIXES = (".csv", ".yaml")  # what of calibration/ ships in the package


def calibration_dir() -> Path:
    """Folder holding the defaults table and fitted parameters: the copy shipped in the package.

    ``IPS_SIM_CALIBRATION_DIR`` overrides it (tests, or a site with its own fit). The
    repository's ``calibration/`` is where ``ips-sim calibrate`` writes; ``make data``
    (:func:`refresh_package_data`) copies it into the package, and a test checks the two agree.
    """
    env = os.environ.get("IPS_SIM_CALIBRATION_DIR")
    if env:
        return Path(env)
    return PACKAGE_DATA


def repository_calibration_dir() -> Path:
    """``calibration/`` of the source checkout (where calibration writes), or ./calibration when installed."""
    repo = Path(__file__).resolve().parent.parent / "calibration"
    return repo if repo.is_dir() else Path("calibration")


def refresh_package_data(source: Path | None = None) -> list[str]:
    """Copy the defaults and fit (``*.csv``, ``*.yaml``) from ``calibration/`` into the package; names copied."""
    import shutil

    source = source or repository_calibration_dir()
    PACKAGE_DATA.mkdir(exist_ok=True)
    copied = []
    for path in sorted(source.iterdir()):
        if path.suffix in DATA_SUFFIXES:
            shutil.copyfile(path, PACKAGE_DATA / path.name)
            copied.append(path.name)
    return copied


# Bounds on what the model can do: beyond these a run would not finish (or overflow), so they are refused.
MAX_REFERRALS_PER_MONTH = 10_000    # a typical IPS team receives a few referrals a month; a whole state's
                                    # system is modelled as several programs (ips-sim state), not one
MAX_COHORT = 100_000
MAX_SCHEDULE_PERIODS = 1200         # one rate a month for 100 years
MAX_MONEY = 1_000_000_000                     # per FTE-year or per hour, in any currency and price year; keeps every
                                    # total (x 1,000 specialists x 100 years) far from overflow
MAX_SEED = 2**63 - 1


def _number_types(annotation) -> bool:
    """Whether a field annotation expects a number (int or float, possibly optional)."""
    if annotation in (int, float):
        return True
    return get_origin(annotation) in (Union, UnionType) and any(a in (int, float) for a in get_args(annotation))


@functools.lru_cache(maxsize=None)
def _field_kind(model: type, name: str) -> str:
    field = model.model_fields.get(name)
    if field is None:
        return ""
    ann = field.annotation
    if _number_types(ann):
        return "number"
    if get_origin(ann) is dict and get_args(ann)[1:] == (float,):
        return "mapping of numbers"
    return ""


class _Section(BaseModel):
    # allow_inf_nan=False: an infinite referral rate would hang the run, an infinite wage poison the tables.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, v, info: ValidationInfo):
        """Strict numbers: YAML's true/yes are not the number 1 (a file saying ``specialists: true`` is a mistake)."""
        kind = _field_kind(cls, info.field_name)
        if kind == "number" and isinstance(v, bool):
            raise ValueError("a number is expected, not true/false")
        if kind == "mapping of numbers" and isinstance(v, dict) and any(isinstance(x, bool) for x in v.values()):
            bad = next(k for k, x in v.items() if isinstance(x, bool))
            raise ValueError(f"{clip(bad, 40)}: a number is expected, not true/false")
        return v


class Simulation(_Section):
    horizon_years: float = Field(gt=0, le=100)
    warmup_years: float = Field(ge=0, le=50)
    planning_step_days: float = Field(ge=1, le=31)
    replications: int = Field(ge=1, le=100_000)
    seed: int = Field(ge=0, le=MAX_SEED)

    @model_validator(mode="after")
    def _warmup_inside_horizon(self):
        if self.warmup_years >= self.horizon_years:
            raise ValueError(
                f"warmup_years ({self.warmup_years}) must be less than horizon_years ({self.horizon_years})"
            )
        return self


class RatePeriod(_Section):
    from_month: float = Field(ge=0, le=1200)
    rate_per_month: float = Field(ge=0, le=MAX_REFERRALS_PER_MONTH)


class Referrals(_Section):
    cohort_size: int = Field(ge=0, le=MAX_COHORT)
    rate_per_month: float = Field(ge=0, le=MAX_REFERRALS_PER_MONTH)
    schedule: list[RatePeriod] = Field(max_length=MAX_SCHEDULE_PERIODS)
    patience_mean_days: float | None = Field(gt=0)

    @field_validator("schedule")
    @classmethod
    def _sorted(cls, v):
        months = [p.from_month for p in v]
        if months != sorted(months):
            raise ValueError("schedule periods must be in increasing from_month order")
        return v


class Team(_Section):
    specialists: int = Field(ge=1, le=1000)
    caseload_cap: int = Field(ge=1, le=1000)
    fte_per_specialist: float = Field(ge=0.05, le=1.0)


class TimeUse(_Section):
    paid_hours_per_week: float = Field(gt=0, le=80)
    meeting_hours_per_week: float = Field(ge=0, le=40)
    documentation_share: float = Field(ge=0, le=0.9)
    travel_share: float = Field(ge=0, le=0.9)
    allocation_policy: Literal["priority", "proportional"]
    priority_order: list[Literal["intake", "follow_along", "job_search", "job_development"]]

    @field_validator("priority_order")
    @classmethod
    def _all_once(cls, v):
        if sorted(v) != sorted(ACTIVITIES):
            raise ValueError(f"must list each of {', '.join(ACTIVITIES)} exactly once")
        return v

    @model_validator(mode="after")
    def _shares(self):
        if self.documentation_share + self.travel_share >= 1:
            raise ValueError("documentation_share + travel_share must be below 1")
        return self


class Service(_Section):
    intake_hours: float = Field(ge=0, le=100)
    job_search_hours_per_member_week: float = Field(ge=0, le=40)
    follow_along_hours_per_member_week_first_month: float = Field(ge=0, le=40)
    follow_along_hours_per_member_week: float = Field(ge=0, le=40)
    first_month_days: float = Field(ge=1, le=365)
    job_development_hours_per_week: float = Field(ge=0, le=40)
    job_development_hours_per_contact: float = Field(gt=0, le=40)


class Engagement(_Section):
    early_months: float = Field(ge=0, le=120)
    discharge_without_job_months: float | None = Field(gt=0, le=240)
    disengage_rate_early_per_month: float = Field(ge=0, le=10)
    disengage_rate_per_month: float = Field(ge=0, le=10)
    disengage_rate_employed_per_month: float = Field(ge=0, le=10)
    shortfall_effect: float = Field(ge=0, le=100)


class JobSearch(_Section):
    preparation_months: float = Field(ge=0, le=120)
    first_contact_mean_days: float = Field(gt=0, le=3650)
    job_rate_own_per_month: float = Field(ge=0, le=10)
    job_rate_search_per_month: float = Field(ge=0, le=10)
    job_rate_development_per_month: float = Field(ge=0, le=10)
    contacts_per_searcher_week_full_effect: float = Field(gt=0, le=100)
    dose_exponent: float = Field(gt=0, le=10)
    heterogeneity_cv: float = Field(ge=0, le=5)


class Jobs(_Section):
    preference_match_probability: float = Field(ge=0, le=1)
    end_rate_per_month: float = Field(ge=0, le=10)
    match_tenure_ratio: float = Field(ge=1, le=100)
    follow_along_shortfall_effect: float = Field(ge=0, le=100)
    end_reason_shares: dict[Literal["quit", "fired", "temporary_job_ended", "laid_off"], float]
    hours_per_week_mean: float = Field(gt=0, le=80)
    hours_per_week_sd: float = Field(ge=0, le=80)
    hours_per_week_min: float = Field(ge=0, le=80)
    hours_per_week_max: float = Field(gt=0, le=80)
    hourly_wage_mean: float = Field(ge=0, le=MAX_MONEY)
    hourly_wage_sd: float = Field(ge=0, le=MAX_MONEY)
    hourly_wage_min: float = Field(ge=0, le=MAX_MONEY)

    @field_validator("end_reason_shares")
    @classmethod
    def _shares_sum_to_one(cls, v):
        for k, x in v.items():
            if not 0 <= x <= 1:
                raise ValueError(f"share for {k} is {x}; each share must be in [0, 1]")
        if not math.isclose(sum(v.values()), 1.0, abs_tol=1e-6):
            raise ValueError(f"shares must add up to 1 (they add up to {sum(v.values()):g})")
        return v

    @model_validator(mode="after")
    def _hours_range(self):
        if self.hours_per_week_min >= self.hours_per_week_max:
            raise ValueError("hours_per_week_min must be below hours_per_week_max")
        return self


class FollowAlong(_Section):
    step_down_enabled: bool
    step_down_after_months: float = Field(ge=0.5, le=240)


class Costs(_Section):
    specialist_cost_per_fte_year: float = Field(ge=0, le=MAX_MONEY)
    supervisor_cost_per_fte_year: float = Field(ge=0, le=MAX_MONEY)
    price_index: float = Field(gt=0, le=1000)
    currency: str = Field(min_length=1, max_length=12, pattern=r"^[^\x00-\x1f\x7f]+$")


class Supervision(_Section):
    """The IPS supervisor: hours available to supervise, and how they change specialists' practice."""

    enabled: bool
    supervisor_fte: float = Field(ge=0, le=5)
    specialists_per_supervisor: int | None = Field(ge=1, le=1000)
    paid_hours_per_week: float = Field(gt=0, le=80)
    own_duties_hours_per_week: float = Field(ge=0, le=80)
    hours_per_specialist_week: float = Field(ge=0, le=40)
    hours_per_new_hire_week: float = Field(ge=0, le=40)
    practice_effect: float = Field(ge=0, le=1)


class Turnover(_Section):
    """Specialists leaving, vacant posts and new hires ramping up."""

    enabled: bool
    annual_rate: float = Field(ge=0, le=20)
    hiring_delay_days: float = Field(ge=0, le=3650)
    ramp_up_months: float = Field(ge=0, le=60)
    new_hire_effectiveness: float = Field(ge=0, le=1)
    ramp_supervision_effect: float = Field(ge=0, le=1)
    caseload_on_departure: Literal["reassign", "hold"]


class Scenario(_Section):
    """A fully resolved scenario: every field present and valid."""

    name: str
    description: str = Field("", max_length=10_000)
    arm: Literal["ips", "usual_services"] = "ips"
    simulation: Simulation
    referrals: Referrals
    team: Team
    time_use: TimeUse
    service: Service
    engagement: Engagement
    job_search: JobSearch
    jobs: Jobs
    follow_along: FollowAlong
    costs: Costs
    supervision: Supervision
    turnover: Turnover

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v):
        why = name_problem(v)
        if why:
            raise ValueError(why)
        return v

    @model_validator(mode="after")
    def _supervisor_covers_team(self):
        n = self.supervision.specialists_per_supervisor
        if n is not None and n < self.team.specialists:
            raise ValueError(
                f"supervision.specialists_per_supervisor ({n}) must be at least team.specialists "
                f"({self.team.specialists}): the supervisor supervises this program's specialists too"
            )
        return self

    # Derived quantities used by the model, kept here so the model reads them once.
    @property
    def horizon_days(self) -> float:
        return self.simulation.horizon_years * DAYS_PER_YEAR

    @property
    def warmup_days(self) -> float:
        return self.simulation.warmup_years * DAYS_PER_YEAR

    def with_updates(self, updates: dict[str, Any]) -> "Scenario":
        """A copy with dotted-path fields replaced, validated again."""
        data = self.model_dump(mode="json")
        for path, value in updates.items():
            set_dotted(data, path, value)
        return Scenario.model_validate(data)


# --------------------------------------------------------------------------- defaults


def _parse_value(text: str) -> Any:
    return load_yaml_text(text, "parameters.csv") if text.strip() else None


def defaults_table(directory: Path | None = None) -> list[dict[str, str]]:
    """Rows of ``parameters.csv``: parameter, value, unit, source, note."""
    path = (directory or calibration_dir()) / "parameters.csv"
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def set_dotted(data: dict, path: str, value: Any) -> None:
    """Set ``data['a']['b'] = value`` for path ``a.b``, creating sections."""
    keys = path.split(".")
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise KeyError(path)
    node[keys[-1]] = value


def get_dotted(data: Any, path: str) -> Any:
    for k in path.split("."):
        data = data[k] if isinstance(data, dict) else getattr(data, k)
    return data


def _overlay_file(data: dict, path: Path) -> None:
    """Apply ``parameters: {dotted.path: value}`` from a YAML file, if it exists."""
    if path.exists():
        doc = read_yaml_file(path, "calibration overlay") or {}
        for key, value in (doc.get("parameters") or {}).items():
            set_dotted(data, key, value)


def default_values(directory: Path | None = None, arm: str = "ips") -> dict:
    """Nested dict of default values for an arm.

    Layers, later ones winning: the literature table ``parameters.csv``; the
    fitted behavioural parameters ``fitted.yaml``; for the usual-services arm,
    ``usual_services.yaml`` and then its fitted values ``fitted_usual_services.yaml``.
    """
    directory = Path(directory or calibration_dir())
    files = ("parameters.csv", "fitted.yaml", "usual_services.yaml", "fitted_usual_services.yaml")
    stamps = []
    for name in files:  # the cache is keyed on the files' sizes and times: an edited file is read again
        try:
            st = (directory / name).stat()
            stamps.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            stamps.append((name, None, None))
    return copy.deepcopy(_default_values(directory, arm, tuple(stamps)))


@functools.lru_cache(maxsize=16)
def _default_values(directory: Path, arm: str, stamps: tuple) -> dict:
    data: dict = {}
    for row in defaults_table(directory):
        set_dotted(data, row["parameter"], _parse_value(row["value"]))
    _overlay_file(data, directory / "fitted.yaml")
    if arm == "usual_services":
        _overlay_file(data, directory / "usual_services.yaml")
        _overlay_file(data, directory / "fitted_usual_services.yaml")
    return data


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "end_reason_shares":
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


# --------------------------------------------------------------------------- loading


class ScenarioError(UserError):
    """Invalid scenario input; ``messages`` holds one line per problem."""


def _allowed_from_error(err: dict) -> str:
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; see the scenario reference in README.md)"
    if err["type"] == "missing":
        return "field is required"
    return msg


def _format_errors(source: str, exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(clip(p, 80) for p in err["loc"])
        value = err.get("input")
        text = "(missing)" if err["type"] == "missing" else shown(value)
        lines.append(f"{source}: {loc or '(top level)'}: {text}: {clip(_allowed_from_error(err), 300)}")
    return lines


def kind_of(value: Any) -> str:
    """What a value is, in words, for errors that must not echo it (a whole file read as text)."""
    if isinstance(value, str):
        return f"text ({len(value):,} characters)"
    if isinstance(value, list):
        return f"a list ({len(value):,} items)"
    return {bool: "true/false", int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def scenario_from_dict(raw: Any, source: str = "<scenario>", name: str | None = None) -> Scenario:
    """Validate a scenario mapping (as read from YAML) over the defaults."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ScenarioError([f"{source}: (top level): {kind_of(raw)}: a scenario must be a mapping of fields "
                             "(field: value lines)"])
    arm = raw.get("arm", "ips")
    data = _merge(default_values(arm=arm if arm in ("ips", "usual_services") else "ips"), raw)
    if name and "name" not in raw:
        data["name"] = safe_name(name)
    data.setdefault("name", "scenario")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format_errors(source, exc)) from None


def yaml_error_line(source: str, exc: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: file, line and column, what is wrong."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unreadable YAML"])[0]
    return f"{source}: {where}: YAML syntax error: {clip(problem, 300)}"


def read_yaml_file(path: str | Path, what: str = "scenario") -> Any:
    """Parse a YAML file with the hardened reader (:mod:`ips_sim.safe_yaml`); ScenarioError lists the problems."""
    try:
        return load_yaml_file(path, what)
    except YAMLInputError as exc:
        raise ScenarioError(exc.messages) from None


def read_yaml_text(text: str, source: str) -> Any:
    """Parse YAML text (e.g. typed into the app) with the hardened reader; ScenarioError lists the problems."""
    try:
        return load_yaml_text(text, source)
    except YAMLInputError as exc:
        raise ScenarioError(exc.messages) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file; raise ScenarioError with every problem."""
    path = Path(path)
    return scenario_from_dict(read_yaml_file(path), str(path), name=path.stem)


def load_scenarios(paths) -> tuple[list[Scenario], list[str]]:
    """Load many files; return the valid scenarios and every error line of every file."""
    scenarios, errors = [], []
    for p in paths:
        try:
            scenarios.append(load_scenario(p))
        except ScenarioError as exc:
            errors.extend(exc.messages)
    return scenarios, errors


@dataclass(frozen=True)
class FieldInfo:
    """One row of the scenario reference: what a planner needs to fill a field."""

    path: str
    default: str
    unit: str
    allowed: str
    source: str
    note: str


def _type_text(ann) -> str:
    origin, args = get_origin(ann), get_args(ann)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (Union, UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return _type_text(inner[0]) + " or null"
    if origin is list:
        return "list of " + _type_text(args[0]) if args else "list"
    if origin is dict:
        return "mapping of " + _type_text(args[0]) + " to number"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "{" + ", ".join(ann.model_fields) + "}"
    return {"float": "number", "int": "integer", "bool": "true/false", "str": "text"}.get(
        getattr(ann, "__name__", ""), str(ann))


def _allowed(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    parts = []
    for m in field.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None:
                parts.append(f"{sym} {v}")
    text = _type_text(field.annotation)
    return f"{text} {' and '.join(parts)}".strip()


def field_reference() -> list[FieldInfo]:
    """Every scenario field with default, unit, allowed range and source."""
    rows = {r["parameter"]: r for r in defaults_table()}
    defaults = default_values()
    out = []
    for section, field in Scenario.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for name in model.model_fields:
            path = f"{section}.{name}"
            row = rows.get(path, {})
            out.append(FieldInfo(
                path=path,
                default=yaml.safe_dump(get_dotted(defaults, path), default_flow_style=True).strip().removesuffix("..."
                ).strip(),
                unit=row.get("unit", ""),
                allowed=_allowed(model, name),
                source=row.get("source", ""),
                note=row.get("note", ""),
            ))
    return out


def reference_markdown() -> str:
    """The scenario field reference as a Markdown table (the README embeds it)."""
    lines = ["| field | default | unit | allowed | source | note |", "|---|---|---|---|---|---|"]
    for f in field_reference():
        cells = [f"`{f.path}`", f"`{f.default}`", f.unit, f.allowed, f.source, f.note]
        lines.append("| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"
