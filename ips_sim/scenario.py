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
import datetime as dt
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from .echo import clip, shown
from .errors import UserError
from .paths import read_csv_rows
from .paths import (  # noqa: F401  (re-exported: where the defaults live)
    DATA_SUFFIXES, PACKAGE_DATA, calibration_dir, refresh_package_data, repository_calibration_dir,
)
from .prices import years_available
from .names import name_problem, safe_name
from .safe_yaml import YAMLInputError, load_yaml_file, load_yaml_text

DAYS_PER_MONTH = 365.25 / 12
DAYS_PER_YEAR = 365.25
ACTIVITIES = ("intake", "follow_along", "job_search", "job_development")
END_REASONS = ("quit", "fired", "temporary_job_ended", "laid_off")


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
    """One piece of a referral schedule: from a month number (0 = day 0) or a calendar date on."""

    from_month: float | None = Field(default=None, ge=0, le=1200)
    from_date: dt.date | None = None
    rate_per_month: float = Field(ge=0, le=MAX_REFERRALS_PER_MONTH)

    @model_validator(mode="after")
    def _one_start(self):
        if (self.from_month is None) == (self.from_date is None):
            raise ValueError("give either from_month (months after day 0) or from_date (an ISO date), not both")
        return self


MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class Referrals(_Section):
    cohort_size: int = Field(ge=0, le=MAX_COHORT)
    rate_per_month: float = Field(ge=0, le=MAX_REFERRALS_PER_MONTH)
    schedule: list[RatePeriod] = Field(max_length=MAX_SCHEDULE_PERIODS)
    patience_mean_days: float | None = Field(gt=0)
    # Non-homogeneous rate of a fitted history (ips-sim fit-referrals): rate of month k =
    # schedule rate x exp(trend_per_year x months since base_date / 12) x seasonality[calendar month].
    trend_per_year: float = Field(ge=-1, le=1)
    seasonality: dict[Literal[MONTH_NAMES], float] | None
    overdispersion: float = Field(ge=0, le=10)
    base_date: dt.date | None

    @field_validator("seasonality")
    @classmethod
    def _twelve_factors(cls, v):
        if v is None:
            return v
        missing = [m for m in MONTH_NAMES if m not in v]
        if missing:
            raise ValueError(f"give a factor for each of the 12 months (missing: {', '.join(missing)})")
        for k, x in v.items():
            if not (math.isfinite(x) and 0 < x <= 10):
                raise ValueError(f"factor for {k} is {x}; each factor must be > 0 and <= 10")
        return v


# --------------------------------------------------------------------------- start state


class StartWaitlist(_Section):
    """People waiting today; optionally how long each has waited (days)."""

    count: int = Field(ge=0, le=100_000)
    waited_days: list[float] | float | None = None

    @model_validator(mode="after")
    def _per_person(self):
        _check_per_person(self, "waited_days", self.count)
        return self


class StartJobSeekers(_Section):
    """Enrolled members searching today; optionally months since enrollment and whether they have had a job."""

    count: int = Field(ge=0, le=100_000)
    months_since_enrollment: list[float] | float | None = None
    had_job: list[bool] | bool | None = None

    @model_validator(mode="after")
    def _per_person(self):
        _check_per_person(self, "months_since_enrollment", self.count)
        _check_per_person(self, "had_job", self.count)
        return self


class StartWorkers(_Section):
    """Members working today; optionally months in the current job and since enrollment."""

    count: int = Field(ge=0, le=100_000)
    months_in_job: list[float] | float | None = None
    months_since_enrollment: list[float] | float | None = None

    @model_validator(mode="after")
    def _per_person(self):
        _check_per_person(self, "months_in_job", self.count)
        _check_per_person(self, "months_since_enrollment", self.count)
        if self.months_in_job is not None and self.months_since_enrollment is not None:
            jobs = self.months_in_job if isinstance(self.months_in_job, list) else [self.months_in_job] * self.count
            enr = (self.months_since_enrollment if isinstance(self.months_since_enrollment, list)
                   else [self.months_since_enrollment] * self.count)
            if any(j > e for j, e in zip(jobs, enr)):
                raise ValueError("months_in_job cannot exceed months_since_enrollment")
        return self


class StartVacantPosts(_Section):
    """Specialist posts vacant today; optionally the months in post of recent hires in the filled posts."""

    count: int = Field(ge=0, le=1000)
    new_hire_months_in_post: list[float] = []


def _check_per_person(section: BaseModel, name: str, count: int, low: float = 0.0) -> None:
    """A per-person field is one value for everyone or a list of ``count`` values, none negative."""
    v = getattr(section, name)
    if v is None or isinstance(v, bool):
        return
    values = v if isinstance(v, list) else [v]
    if isinstance(v, list) and len(v) != count:
        raise ValueError(f"{name} lists {len(v)} values for count {count}: give one value per person or a "
                         f"single value for everyone")
    for x in values:
        if not isinstance(x, bool) and not (math.isfinite(x) and low <= x <= 1200):
            raise ValueError(f"{name} value {x} must be between {low:g} and 1200")


class Start(_Section):
    """The program on day 0 (planning from today). Each of the four groups is a count or a mapping with details."""

    date: dt.date | None = None
    waitlist: StartWaitlist | None = None
    job_seekers: StartJobSeekers | None = None
    workers: StartWorkers | None = None
    vacant_posts: StartVacantPosts | None = None
    members_csv: str | None = Field(default=None, min_length=1)

    @field_validator("waitlist", "job_seekers", "workers", "vacant_posts", mode="before")
    @classmethod
    def _count_or_details(cls, v):
        """A plain count is the same as ``{count: N}``."""
        if v is None or isinstance(v, dict) or isinstance(v, BaseModel):
            return v
        if isinstance(v, int) and not isinstance(v, bool):
            return {"count": v}
        raise ValueError("expected a count (a whole number >= 0) or a mapping such as {count: 12, ...}")

    @model_validator(mode="after")
    def _details(self):
        v = self.vacant_posts
        if isinstance(v, StartVacantPosts):
            for x in v.new_hire_months_in_post:
                if not (math.isfinite(x) and 0 <= x <= 1200):
                    raise ValueError(f"vacant_posts.new_hire_months_in_post value {x} must be between 0 and 1200")
        return self

    def count(self, group: str) -> int:
        """People (or posts) in a group today."""
        v = getattr(self, group)
        return 0 if v is None else v.count

    @property
    def vacant(self) -> int:
        return self.count("vacant_posts")

    @property
    def new_hire_months(self) -> list[float]:
        v = self.vacant_posts
        return list(v.new_hire_months_in_post) if v is not None else []


def months_between(a: dt.date, b: dt.date) -> float:
    """Calendar months from date ``a`` to date ``b`` (whole months between the same day of month are exact)."""
    return 12 * (b.year - a.year) + (b.month - a.month) + (b.day - a.day) / DAYS_PER_MONTH


def add_months(d: dt.date, k: int) -> dt.date:
    """The date ``k`` calendar months after ``d`` (day clipped to the month's length)."""
    y, m = divmod(d.month - 1 + k, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(d.day, day))
        except ValueError:
            continue
    raise ValueError(d)  # pragma: no cover


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
    fragile_share: float = Field(ge=0, le=1)
    fragile_rate_ratio: float = Field(ge=1, le=1000)
    fragile_odds_ratio_short_hours: float = Field(gt=0, le=1000)
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
    support_after_step_down: float = Field(ge=0, le=1)


# Money inputs of the costs section; each carries its own price year in costs.price_years.
COST_MONEY_ITEMS = ("specialist_cost_per_fte_year", "supervisor_cost_per_fte_year", "travel_cost_per_mile",
                    "benefits_counselling_cost_per_new_member", "fixed_cost_per_year", "cost_per_member_month",
                    "hospital_cost_per_member_month", "hourly_wage")
CostItem = Literal["specialist_cost_per_fte_year", "supervisor_cost_per_fte_year", "travel_cost_per_mile",
                   "benefits_counselling_cost_per_new_member", "fixed_cost_per_year", "cost_per_member_month",
                   "hospital_cost_per_member_month", "hourly_wage"]


class Costs(_Section):
    """Cost items (see ips_sim/costs.py), their price years, the perspective and discounting."""

    price_year: int | None = Field(ge=1900, le=2200)
    price_years: dict[CostItem, int]
    specialist_cost_per_fte_year: float = Field(ge=0, le=MAX_MONEY)
    supervisor_cost_per_fte_year: float = Field(ge=0, le=MAX_MONEY)
    supervisor_fringe_rate: float = Field(ge=0, le=3)
    overhead_rate: float = Field(ge=0, le=3)
    travel_miles_per_community_hour: float = Field(ge=0, le=100)
    travel_cost_per_mile: float = Field(ge=0, le=100)
    hire_cost_share_of_specialist_year: float = Field(ge=0, le=5)
    benefits_counselling_cost_per_new_member: float = Field(ge=0, le=MAX_MONEY)
    fixed_cost_per_year: float = Field(ge=0, le=MAX_MONEY)
    cost_per_member_month: float = Field(ge=0, le=MAX_MONEY)
    discount_rate: float = Field(ge=0, le=0.5)
    perspective: Literal["funder", "wider"]
    offsets: list[Literal["earnings", "hospital"]]
    hospital_cost_per_member_month: float = Field(ge=0, le=MAX_MONEY)

    @model_validator(mode="after")
    def _years_and_offsets(self):
        lo, hi = years_available()
        if self.price_year is not None and not lo <= self.price_year <= hi:
            raise ValueError(f"price_year {self.price_year} is outside the CPI-U table ({lo}-{hi}); "
                             "null reports in the latest year")
        missing = [k for k in COST_MONEY_ITEMS if k not in self.price_years]
        if missing:
            raise ValueError(f"price_years needs a year for {', '.join(missing)}")
        bad = {k: y for k, y in self.price_years.items() if not lo <= y <= hi}
        if bad:
            raise ValueError(f"price_years {bad} outside the CPI-U table ({lo}-{hi})")
        if len(set(self.offsets)) != len(self.offsets):
            raise ValueError("offsets lists an offset twice")
        if self.offsets and self.perspective != "wider":
            raise ValueError("offsets count only in the wider perspective: set perspective: wider or offsets: []")
        if self.perspective == "wider" and not self.offsets:
            raise ValueError("the wider perspective needs offsets (earnings, hospital); "
                             "benefit payments are not offered: the MHTS found no difference")
        return self


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
    start: Start | None = None

    @model_validator(mode="after")
    def _calendar(self):
        """Dated schedules and seasonality need start.date; schedules in increasing order; posts fit the team."""
        ref = self.referrals
        date = self.start.date if self.start is not None else None
        dated = [k for k, p in enumerate(ref.schedule) if p.from_date is not None]
        if dated and date is None:
            raise ValueError(f"referrals.schedule[{dated[0]}].from_date needs start.date (the calendar date of day 0)")
        if ref.seasonality is not None and date is None:
            raise ValueError("referrals.seasonality needs start.date (the calendar month of day 0)")
        if ref.base_date is not None and date is None:
            raise ValueError("referrals.base_date needs start.date (the calendar date of day 0)")
        months = [m for m, _ in self.schedule_months()]
        if months != sorted(months):
            raise ValueError("referrals.schedule periods must be in increasing order of from_month / from_date")
        for k, m in enumerate(months):
            if m < 0:
                raise ValueError(f"referrals.schedule[{k}].from_date {ref.schedule[k].from_date} is before start.date "
                                 f"{date}")
        # Keep the rate finite over the horizon (a steep trend over a long horizon would explode).
        top = max([ref.rate_per_month] + [r for _, r in self.schedule_months()])
        seasonal = max(ref.seasonality.values()) if ref.seasonality else 1.0
        offset = months_between(ref.base_date, date) if ref.base_date is not None else 0.0
        growth = max(ref.trend_per_year * (offset / 12.0 + y) for y in (0.0, self.simulation.horizon_years))
        if top * seasonal * math.exp(min(growth, 50.0)) > 100_000:
            raise ValueError("referrals.trend_per_year: the referral rate would exceed 100000 a month within the "
                             "horizon; use a smaller trend or a shorter horizon")
        if self.start is not None:
            vacant, hires = self.start.vacant, len(self.start.new_hire_months)
            if vacant + hires > self.team.specialists:
                raise ValueError(f"start.vacant_posts: {vacant} vacant and {hires} new hires in a team of "
                                 f"{self.team.specialists} posts: at most team.specialists in all")
        return self

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

    @property
    def start_date(self) -> dt.date | None:
        """Calendar date of day 0 (``start.date``), or None."""
        return self.start.date if self.start is not None else None

    def schedule_months(self) -> list[tuple[float, float]]:
        """The referral schedule as (from month, rate per month), dates turned into months after start.date."""
        out = []
        for p in self.referrals.schedule:
            m = p.from_month if p.from_month is not None else months_between(self.start_date, p.from_date)
            out.append((m, p.rate_per_month))
        return out

    @property
    def mode(self) -> str:
        """Which question a run answers: planning from today's state, or the long run from empty."""
        if self.start is not None:
            extra = f" after a {self.simulation.warmup_years:g}-year warm-up" if self.simulation.warmup_years else ""
            when = f" on {self.start_date.isoformat()}" if self.start_date else ""
            return f"planning from the start state{when}{extra}: metrics cover the {self.simulation.horizon_years:g}-year horizon"
        return (f"long run: the program opens empty and metrics cover the years after a "
                f"{self.simulation.warmup_years:g}-year warm-up (steady state)")

    def warnings(self) -> list[str]:
        """One line per referral-rate change inside the warm-up: the results never see it."""
        warm = self.simulation.warmup_years * 12.0
        out = []
        for k, (m, rate) in enumerate(self.schedule_months()):
            if 0 < m < warm:
                name = "from_month" if self.referrals.schedule[k].from_month is not None else "from_date"
                out.append(f"warning: referrals.schedule[{k}].{name}: the referral rate changes to {rate:g} a month "
                           f"in month {m:g}, inside the {warm:g}-month warm-up: metrics only see the rate after it "
                           f"(set simulation.warmup_years, or plan from today with a start: section)")
        if warm > 0 and (self.referrals.trend_per_year != 0 or self.referrals.seasonality is not None):
            out.append(f"warning: referrals.trend_per_year/seasonality: the referral rate changes every month, "
                       f"also inside the {warm:g}-month warm-up that metrics do not see")
        return out

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
        if node.get(k) is None:  # a section not given (or absent: ``start: null``) is made
            node[k] = {}
        node = node[k]
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


def scenario_from_dict(raw: Any, source: str = "<scenario>", name: str | None = None,
                       base_dir: str | Path | None = None) -> Scenario:
    """Validate a scenario mapping (as read from YAML) over the defaults.

    ``base_dir``: where a ``start.members_csv`` path is relative to (default: the folder of ``source``).
    """
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
    start = raw.get("start")
    if start is not None:
        # Planning from today: metrics cover the horizon from day 0 unless the file asks for a warm-up.
        sim = raw.get("simulation")
        if not (isinstance(sim, dict) and "warmup_years" in sim) and isinstance(data.get("simulation"), dict):
            data["simulation"]["warmup_years"] = 0.0
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format_errors(source, exc)) from None
    if sc.start is not None and sc.start.members_csv is not None and isinstance(start, dict):
        groups = [g for g in ("waitlist", "job_seekers", "workers") if start.get(g) is not None]
        if groups:
            raise ScenarioError([f"{source}: start.members_csv: {sc.start.members_csv!r}: give either members_csv "
                                 f"or the counts ({', '.join('start.' + g for g in groups)}), not both"])
        base = Path(source).parent if base_dir is None else Path(base_dir)
        groups = read_members_csv(base / sc.start.members_csv, sc.start.date, f"{source}: start.members_csv")
        data["start"] = {**start, **groups}
        sc = Scenario.model_validate(data)
    return sc


START_PHASES = ("waiting", "job_seeker", "worker")
_CSV_COLUMNS = ("phase", "referral_date", "enrollment_date", "job_start_date", "had_job")
_TRUE, _FALSE = ("yes", "true", "1", "y"), ("no", "false", "0", "n", "")


def read_members_csv(path: Path, start_date: dt.date | None, field: str) -> dict:
    """Today's members from a CSV (one row per person) as the start groups; ScenarioError lists every problem.

    Columns: ``phase`` (waiting, job_seeker, worker), ``referral_date`` (waiting: optional),
    ``enrollment_date`` (job seekers and workers), ``job_start_date`` (workers), ``had_job``
    (job seekers: yes/no, optional). Dates are ISO (YYYY-MM-DD), on or before start.date.
    """
    src = str(path)
    if start_date is None:
        raise ScenarioError([f"{field}: {src}: the members' dates need start.date (the calendar date of day 0)"])
    rows = read_csv_rows(path, f"{field} must name a CSV file (path relative to the scenario file)", ScenarioError,
                         skip_blank=False)
    if not rows:
        raise ScenarioError([f"{src}: (file): empty: expected a header with columns {', '.join(_CSV_COLUMNS)}"])
    header = [h.strip() for h in rows[0]]
    errors = []
    for k, h in enumerate(header):
        if h not in _CSV_COLUMNS:
            errors.append(f"{src}: row 1, column {k + 1}: {h!r}: unknown column; allowed: {', '.join(_CSV_COLUMNS)}")
    if "phase" not in header:
        errors.append(f"{src}: row 1: (header): missing column 'phase'")
    if errors:
        raise ScenarioError(errors)
    col = {h: k for k, h in enumerate(header)}
    waited, seekers_m, seekers_job, workers_job, workers_enr = [], [], [], [], []

    def date_of(cells, name, row, required):
        k = col.get(name)
        text = cells[k].strip() if k is not None and k < len(cells) else ""
        if not text:
            if required:
                errors.append(f"{src}: row {row}, column {name}: (empty): required for this phase: an ISO date "
                              f"(YYYY-MM-DD) on or before start.date {start_date}")
            return None
        try:
            d = dt.date.fromisoformat(text)
        except ValueError:
            errors.append(f"{src}: row {row}, column {name}: {text!r}: expected an ISO date (YYYY-MM-DD)")
            return None
        if d > start_date:
            errors.append(f"{src}: row {row}, column {name}: {text!r}: after start.date {start_date}: dates "
                          f"describe the program up to day 0")
            return None
        return d

    for row, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            errors.append(f"{src}: row {row}: {len(cells)} cells for {len(header)} columns")
            continue
        phase = cells[col["phase"]].strip() if col["phase"] < len(cells) else ""
        if phase not in START_PHASES:
            errors.append(f"{src}: row {row}, column phase: {phase!r}: allowed: {', '.join(START_PHASES)}")
            continue
        ref = date_of(cells, "referral_date", row, False)
        enr = date_of(cells, "enrollment_date", row, phase != "waiting")
        job = date_of(cells, "job_start_date", row, phase == "worker")
        k = col.get("had_job")
        had = cells[k].strip().lower() if k is not None and k < len(cells) else ""
        if had not in _TRUE + _FALSE:
            errors.append(f"{src}: row {row}, column had_job: {had!r}: allowed: yes, no (or empty)")
        if phase == "waiting":
            for name, d in (("enrollment_date", enr), ("job_start_date", job)):
                if d is not None:
                    errors.append(f"{src}: row {row}, column {name}: {d}: a person waiting has no {name}")
            waited.append(0.0 if ref is None else float((start_date - ref).days))
        elif phase == "job_seeker":
            if job is not None:
                errors.append(f"{src}: row {row}, column job_start_date: {job}: a job seeker has no current job "
                              f"(use phase worker)")
            if enr is not None:
                seekers_m.append((start_date - enr).days / DAYS_PER_MONTH)
                seekers_job.append(had in _TRUE)
        else:
            if enr is not None and job is not None:
                if job < enr:
                    errors.append(f"{src}: row {row}, column job_start_date: {job}: before enrollment_date {enr}")
                    continue
                workers_job.append((start_date - job).days / DAYS_PER_MONTH)
                workers_enr.append((start_date - enr).days / DAYS_PER_MONTH)
        if ref is not None and enr is not None and ref > enr:
            errors.append(f"{src}: row {row}, column enrollment_date: {enr}: before referral_date {ref}")
    if errors:
        raise ScenarioError(errors)
    return {
        "waitlist": {"count": len(waited), "waited_days": waited},
        "job_seekers": {"count": len(seekers_m), "months_since_enrollment": seekers_m, "had_job": seekers_job},
        "workers": {"count": len(workers_job), "months_in_job": workers_job, "months_since_enrollment": workers_enr},
    }


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
    if origin in (Union, UnionType):
        inner = [a for a in args if a is not type(None)]
        return " or ".join(_type_text(a) for a in inner) + (" or null" if type(None) in args else "")
    if ann is dt.date:
        return "ISO date (YYYY-MM-DD)"
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
    for name, (unit, note) in START_FIELDS.items():
        allowed = _allowed(Start, name)
        if name in ("waitlist", "job_seekers", "workers", "vacant_posts"):
            allowed = "count (integer >= 0) or " + allowed
        out.append(FieldInfo(path=f"start.{name}", default="null", unit=unit, allowed=allowed,
                             source="the program's own records (optional section)", note=note))
    return out


# The optional start: section has no defaults; what each field means (README field reference).
START_FIELDS = {
    "date": ("ISO date", "calendar date of day 0: results on calendar months; needed by from_date schedules, "
             "seasonality and members_csv"),
    "waitlist": ("people", "people waiting today: a count, or {count, waited_days: one value or a list per person}"),
    "job_seekers": ("people", "enrolled members searching today: a count, or {count, months_since_enrollment, "
                    "had_job} (one value or a list per person)"),
    "workers": ("people", "members working today: a count, or {count, months_in_job, months_since_enrollment}"),
    "vacant_posts": ("posts", "specialist posts vacant today (filled after turnover.hiring_delay_days on average): "
                     "a count, or {count, new_hire_months_in_post: [months of each recent hire in a filled post]}"),
    "members_csv": ("path", "instead of the counts: CSV of today's members (phase, referral_date, enrollment_date, "
                    "job_start_date, had_job), path relative to the scenario file"),
}


def reference_markdown() -> str:
    """The scenario field reference as a Markdown table (the README embeds it)."""
    lines = ["| field | default | unit | allowed | source | note |", "|---|---|---|---|---|---|"]
    for f in field_reference():
        cells = [f"`{f.path}`", f"`{f.default}`", f.unit, f.allowed, f.source, f.note]
        lines.append("| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"
