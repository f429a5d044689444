"""The scenario field reference, generated from the schema (``ips-sim fields``, the documentation site)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import UnionType
from typing import Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel

from ips_sim.config.defaults import default_values, defaults_table
from ips_sim.config.fields import get_dotted
from ips_sim.config.schema import Scenario
from ips_sim.config.start_state import Start


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
    out = [FieldInfo(path=k, default=d, unit="", allowed=_allowed(Scenario, k), source="the scenario file", note=n)
           for k, (d, n) in TOP_FIELDS.items()]
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


# Top-level fields: what the scenario is called and which arm it is (not model inputs but the arm).
TOP_FIELDS = {
    "name": ("the file name", "the scenario's id: its output folder and the key in CSV files"),
    "label": ('""', "what titles, tables, plots and reports call the scenario; empty: the name in words "
                    "(usual_services -> Usual services)"),
    "description": ('""', "a sentence shown with the scenario in reports"),
    "arm": ("ips", "ips or usual_services: the usual-services arm takes its defaults from "
                   "calibration/usual_services.yaml"),
}

# The optional start: section has no defaults; what each field means (the field reference).
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
    """The scenario field reference as a Markdown table (the documentation site shows it by section)."""
    lines = ["| field | default | unit | allowed | source | note |", "|---|---|---|---|---|---|"]
    for f in field_reference():
        cells = [f"`{f.path}`", f"`{f.default}`", f.unit, f.allowed, f.source, f.note]
        lines.append("| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"
