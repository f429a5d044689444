"""The program on day 0 (``start:``): its schema, and the members CSV that may describe it person by person."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator

from ips_sim.config.fields import DAYS_PER_MONTH, ScenarioError, _Section
from ips_sim.core.echo import shown
from ips_sim.core.paths import not_this_csv, read_csv_rows

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
        if not isinstance(x, bool) and not (math.isfinite(x) and low <= x <= MAX_PERSON_MONTHS):
            raise ValueError(f"{name} value {x} must be between {low:g} and {MAX_PERSON_MONTHS}")


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

START_PHASES = ("waiting", "job_seeker", "worker")
_CSV_COLUMNS = ("phase", "referral_date", "enrollment_date", "job_start_date", "had_job")
_TRUE, _FALSE = ("yes", "true", "1", "y"), ("no", "false", "0", "n", "")
MAX_WAITED_DAYS = 1200     # the per-person bounds of the start groups (see _check_per_person)
MAX_PERSON_MONTHS = 1200
MAX_ROW_ERRORS = 20        # problems listed per file; the rest counted


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
    foreign = not_this_csv(src, rows, _CSV_COLUMNS, "a members CSV")
    if foreign:
        raise ScenarioError([foreign])
    header = [h.strip() for h in rows[0]]
    errors = []
    for k, h in enumerate(header):
        if h not in _CSV_COLUMNS:
            errors.append(f"{src}: row 1, column {k + 1}: {shown(h)}: unknown column; allowed: {', '.join(_CSV_COLUMNS)}")
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
            errors.append(f"{src}: row {row}, column {name}: {shown(text)}: expected an ISO date (YYYY-MM-DD)")
            return None
        if d > start_date:
            errors.append(f"{src}: row {row}, column {name}: {shown(text)}: after start.date {start_date}: dates "
                          f"describe the program up to day 0")
            return None
        longest = MAX_WAITED_DAYS if name == "referral_date" else MAX_PERSON_MONTHS * DAYS_PER_MONTH
        if (start_date - d).days > longest:
            limit = (f"{MAX_WAITED_DAYS} days of waiting" if name == "referral_date"
                     else f"{MAX_PERSON_MONTHS} months")
            errors.append(f"{src}: row {row}, column {name}: {shown(text)}: more than {limit} before start.date "
                          f"{start_date}, the most the model takes: check the year")
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
            errors.append(f"{src}: row {row}, column phase: {shown(phase)}: allowed: {', '.join(START_PHASES)}")
            continue
        ref = date_of(cells, "referral_date", row, False)
        enr = date_of(cells, "enrollment_date", row, phase != "waiting")
        job = date_of(cells, "job_start_date", row, phase == "worker")
        k = col.get("had_job")
        had = cells[k].strip().lower() if k is not None and k < len(cells) else ""
        if had not in _TRUE + _FALSE:
            errors.append(f"{src}: row {row}, column had_job: {shown(had)}: allowed: yes, no (or empty)")
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
        raise ScenarioError(errors[:MAX_ROW_ERRORS] + ([f"{src}: ... and {len(errors) - MAX_ROW_ERRORS} more "
                                                        "problems"] if len(errors) > MAX_ROW_ERRORS else []))
    return {
        "waitlist": {"count": len(waited), "waited_days": waited},
        "job_seekers": {"count": len(seekers_m), "months_since_enrollment": seekers_m, "had_job": seekers_job},
        "workers": {"count": len(workers_job), "months_in_job": workers_job, "months_since_enrollment": workers_enr},
    }
