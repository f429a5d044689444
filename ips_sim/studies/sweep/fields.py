"""What a sweep may vary: scenario fields by dotted path, checked; ranges and lists of values; the
scenario of a point, checked with one line per problem; a point's label.
"""

from __future__ import annotations

import difflib
import json
import math
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from ips_sim.config import Scenario
from ips_sim.core.echo import clip

MAX_RANGE_VALUES = 10_000

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
    hint = f"; did you mean {close[0]}?" if close else " (`ips-sim fields` lists every field)"
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
            return [_number(t) if looks_numeric(t) else t.strip() for t in text.split(",") if t.strip()]
        except ValueError:
            raise ValueError("expected a comma-separated list of values, e.g. 15,20,25") from None
    if looks_numeric(text):
        return [_number(text)]
    raise ValueError("expected FROM..TO, FROM..TO:STEP or a comma-separated list, e.g. 1..6, 2..8:2, 15,20,25")


def looks_numeric(t: str) -> bool:
    """Whether a text reads as a number (as ``parse_range`` reads numbers)."""
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
    return ", ".join(f"{k}={value_label(v)}" for k, v in values.items())


def value_label(v: Any) -> str:
    """A value as a short label (plots, point labels, tables): lists and mappings as JSON, cut at 80 characters."""
    return clip(json.dumps(v) if isinstance(v, (list, dict)) else str(v), 80)


