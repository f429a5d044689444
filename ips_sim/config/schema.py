"""The scenario schema: one pydantic model per section, and the resolved :class:`Scenario`."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ips_sim.config.calendar import MONTH_NAMES, months_between
from ips_sim.config.fields import (
    ACTIVITIES,
    DAYS_PER_YEAR,
    MAX_COHORT,
    MAX_MONEY,
    MAX_REFERRALS_PER_MONTH,
    MAX_SCHEDULE_PERIODS,
    MAX_SEED,
    _Section,
    set_dotted,
)
from ips_sim.config.prices import years_available
from ips_sim.config.start_state import Start
from ips_sim.core.names import name_problem, readable


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

class VacancyPeriod(_Section):
    """A known vacancy: specialist post ``post`` (1 = the first) is vacant from one month to another."""

    post: int = Field(ge=1, le=1000)
    from_month: float = Field(ge=0, le=1200)
    to_month: float = Field(gt=0, le=1200)

    @model_validator(mode="after")
    def _order(self):
        if self.to_month <= self.from_month:
            raise ValueError(f"to_month ({self.to_month:g}) must be after from_month ({self.from_month:g})")
        return self


class Team(_Section):
    specialists: int = Field(ge=1, le=1000)
    caseload_cap: int = Field(ge=1, le=1000)
    fte_per_specialist: float = Field(ge=0.05, le=1.0)
    # A known staffing history (ips-sim fit-program: quarters with posts vacant): each period the post
    # has no hours and takes nobody new, then a new hire fills it and ramps up (turnover's mechanism).
    vacancies: list[VacancyPeriod] = Field(max_length=MAX_SCHEDULE_PERIODS)

    @model_validator(mode="after")
    def _posts(self):
        for k, v in enumerate(self.vacancies):
            if v.post > self.specialists:
                raise ValueError(f"vacancies[{k}].post {v.post} is not one of the {self.specialists} posts")
        for a, b in zip(sorted(self.vacancies, key=lambda v: (v.post, v.from_month)),
                        sorted(self.vacancies, key=lambda v: (v.post, v.from_month))[1:]):
            if a.post == b.post and b.from_month < a.to_month:
                raise ValueError(f"vacancies of post {a.post} overlap (months {a.from_month:g}-{a.to_month:g} and "
                                 f"{b.from_month:g}-{b.to_month:g})")
        return self


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
    preparation_cv: float = Field(ge=0, le=5)
    first_contact_mean_days: float = Field(gt=0, le=3650)
    job_rate_own_per_month: float = Field(ge=0, le=10)
    job_rate_search_per_month: float = Field(ge=0, le=10)
    job_rate_development_per_month: float = Field(ge=0, le=10)
    contacts_per_searcher_week_full_effect: float = Field(gt=0, le=100)
    dose_exponent: float = Field(gt=0, le=10)
    heterogeneity_cv: float = Field(ge=0, le=5)
    first_search_shape: float = Field(ge=1, le=50)
    next_job_rate_ratio: float = Field(gt=0, le=50)


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
    """Cost items (see ips_sim/economics/costs.py), their price years, the perspective and discounting."""

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
    perspective: Literal["funder", "wider", "government"]
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
        if self.offsets and self.perspective == "funder":
            raise ValueError("offsets count only in the wider or government perspective: set perspective: wider "
                             "or offsets: []")
        if self.perspective == "government" and "earnings" in self.offsets:
            raise ValueError("the government perspective counts taxes on earnings, not the earnings: offsets may "
                             "list hospital only")
        if self.perspective == "wider" and not self.offsets:
            raise ValueError("the wider perspective needs offsets (earnings, hospital); benefit payments and "
                             "taxes are in the government perspective (perspective: government)")
        return self


class Benefits(_Section):
    """Members' disability benefits, the rules' year, benefits counselling and how members choose hours.

    Money amounts are in dollars of ``rules_year`` (the year of the SSA and IRS figures used,
    ``calibration/benefit_rules.csv``) and converted to ``costs.price_year`` with CPI-U.
    """

    rules_year: int = Field(ge=2024, le=2026)
    share_ssdi: float = Field(ge=0, le=1)
    share_ssi: float = Field(ge=0, le=1)
    share_both: float = Field(ge=0, le=1)
    ssdi_monthly_benefit: float = Field(ge=0, le=10_000)
    concurrent_ssdi_monthly_benefit: float = Field(ge=0, le=10_000)
    counselling_provider: Literal["counsellor", "specialist", "none"]
    counselling_hours_per_beneficiary: float = Field(ge=0, le=100)
    counsellor_cost_per_hour: float = Field(ge=0, le=1_000)
    uncounselled_cap_probability: float = Field(ge=0, le=1)
    counselled_cap_probability: float = Field(ge=0, le=1)
    employer_payroll_tax: bool
    utility_gain_employed: float = Field(ge=0, le=1)
    medicaid_1619b_threshold: float = Field(ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _shares(self):
        lo, hi = years_available()
        if not lo <= self.rules_year <= hi:
            raise ValueError(f"rules_year {self.rules_year}: its dollars are converted with the CPI-U table "
                             f"({lo}-{hi}); use a year in both that table and calibration/benefit_rules.csv")
        total = self.share_ssdi + self.share_ssi + self.share_both
        if total > 1 + 1e-9:
            raise ValueError(f"share_ssdi + share_ssi + share_both is {total:g}; at most 1 (the rest receive neither)")
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
    label: str = Field("", max_length=200)
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
    benefits: Benefits
    supervision: Supervision
    turnover: Turnover
    start: Start | None = None
    # A program's own parameter uncertainty (ips-sim fit-program's posterior.csv, the format of
    # calibration/draws.csv), relative to the scenario file: --parameter-uncertainty draws from it.
    parameter_draws: str | None = Field(default=None, min_length=1, max_length=1000)

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
            if self.start.vacant and self.team.vacancies:
                raise ValueError("team.vacancies and start.vacant_posts both given: describe vacant posts one way")
            vacant, hires = self.start.vacant, len(self.start.new_hire_months)
            if vacant + hires > self.team.specialists:
                raise ValueError(f"start.vacant_posts: {vacant} vacant and {hires} new hires in a team of "
                                 f"{self.team.specialists} posts: at most team.specialists in all")
        if self.team.vacancies and self.turnover.enabled:
            # A known staffing history: random turnover would add vacancies the history does not have.
            raise ValueError("team.vacancies needs turnover.enabled: false")
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

    @property
    def display_label(self) -> str:
        """What titles, tables, plots and reports call this scenario: ``label``, else the name in words."""
        return self.label.strip() or readable(self.name)

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
