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

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import UserError

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


class _Section(BaseModel):
    # allow_inf_nan=False: an infinite referral rate would hang the run, an infinite wage poison the tables.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Simulation(_Section):
    horizon_years: float = Field(gt=0, le=100)
    warmup_years: float = Field(ge=0, le=50)
    planning_step_days: float = Field(ge=1, le=31)
    replications: int = Field(ge=1, le=100_000)
    seed: int = Field(ge=0)

    @model_validator(mode="after")
    def _warmup_inside_horizon(self):
        if self.warmup_years >= self.horizon_years:
            raise ValueError(
                f"warmup_years ({self.warmup_years}) must be less than horizon_years ({self.horizon_years})"
            )
        return self


class RatePeriod(_Section):
    from_month: float = Field(ge=0)
    rate_per_month: float = Field(ge=0)


class Referrals(_Section):
    cohort_size: int = Field(ge=0, le=1_000_000)
    rate_per_month: float = Field(ge=0)
    schedule: list[RatePeriod]
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
    hourly_wage_mean: float = Field(ge=0)
    hourly_wage_sd: float = Field(ge=0)
    hourly_wage_min: float = Field(ge=0)

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
    specialist_cost_per_fte_year: float = Field(ge=0)
    supervisor_cost_per_fte_year: float = Field(ge=0)
    price_index: float = Field(gt=0)
    currency: str = Field(min_length=1)


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

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
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
    return yaml.safe_load(text) if text.strip() else None


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
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        for key, value in (doc.get("parameters") or {}).items():
            set_dotted(data, key, value)


def default_values(directory: Path | None = None, arm: str = "ips") -> dict:
    """Nested dict of default values for an arm.

    Layers, later ones winning: the literature table ``parameters.csv``; the
    fitted behavioural parameters ``fitted.yaml``; for the usual-services arm,
    ``usual_services.yaml`` and then its fitted values ``fitted_usual_services.yaml``.
    """
    directory = directory or calibration_dir()
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
        loc = ".".join(str(p) for p in err["loc"])
        value = err.get("input")
        if err["type"] == "missing":
            shown = "(missing)"
        elif isinstance(value, dict) and len(repr(value)) > 80:
            shown = "{...}"
        else:
            shown = repr(value)
        lines.append(f"{source}: {loc or '(top level)'}: {shown}: {_allowed_from_error(err)}")
    return lines


def scenario_from_dict(raw: Any, source: str = "<scenario>", name: str | None = None) -> Scenario:
    """Validate a scenario mapping (as read from YAML) over the defaults."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ScenarioError([f"{source}: (top level): {raw!r}: a scenario must be a mapping of fields"])
    arm = raw.get("arm", "ips")
    data = _merge(default_values(arm=arm if arm in ("ips", "usual_services") else "ips"), raw)
    if name and "name" not in raw:
        data["name"] = name
    data.setdefault("name", "scenario")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format_errors(source, exc)) from None


def yaml_error_line(source: str, exc: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: file, line and column, what is wrong."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{source}: {where}: YAML syntax error: {problem}"


def read_yaml_file(path: str | Path, what: str = "scenario") -> Any:
    """Parse a YAML file; raise ScenarioError with one line if it is missing or unreadable."""
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise ScenarioError([f"{source}: (file): no such file: give the path of a {what} YAML file"])
    if path.is_dir():
        raise ScenarioError([f"{source}: (file): is a folder: give the path of a {what} YAML file"])
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as exc:
        raise ScenarioError([yaml_error_line(source, exc)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{source}: (file): cannot read: {exc}"]) from None


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
