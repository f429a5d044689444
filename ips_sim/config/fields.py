"""Scenario fields: limits shared by the schema, the section base class, dotted field paths."""

from __future__ import annotations

from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from ips_sim.core.echo import clip
from ips_sim.core.errors import UserError

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


def _options(annotation) -> list:
    """The alternatives of a (possibly optional or union) annotation."""
    if get_origin(annotation) in (Union, UnionType):
        return [o for a in get_args(annotation) for o in _options(a)]
    return [annotation]


def bool_for_number(annotation, value, where: str = "") -> str | None:
    """Where in ``value`` a true/false stands where ``annotation`` expects a number ("" for the value itself,
    " item 3" for a list's third, " jan" for a mapping value), or None. Nested the same way at every depth, so
    booleans are refused inside lists and mappings as in single numeric fields."""
    options = _options(annotation)
    if isinstance(value, bool):
        return where if any(o in (int, float) for o in options) and bool not in options else None
    if isinstance(value, (list, tuple)):
        for o in options:
            args = get_args(o)
            if get_origin(o) not in (list, tuple) or not args:
                continue
            for k, item in enumerate(value):
                if get_origin(o) is list or (len(args) == 2 and args[1] is Ellipsis):
                    inner = args[0]
                elif k < len(args):
                    inner = args[k]
                else:
                    continue
                found = bool_for_number(inner, item, f"{where} item {k + 1}")
                if found is not None:
                    return found
    if isinstance(value, dict):
        for o in options:
            if get_origin(o) is dict and len(get_args(o)) == 2:
                for key, item in value.items():
                    found = bool_for_number(get_args(o)[1], item, f"{where} {clip(key, 40)}")
                    if found is not None:
                        return found
    return None


class _Section(BaseModel):
    # allow_inf_nan=False: an infinite referral rate would hang the run, an infinite wage poison the tables.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, v, info: ValidationInfo):
        """Strict numbers: YAML's true/yes are not the number 1 (a file saying ``specialists: true`` is a
        mistake), in a single field, a list (``waited_days: [true, 3]``) or a mapping alike."""
        field = cls.model_fields.get(info.field_name)
        where = bool_for_number(field.annotation, v) if field is not None else None
        if where is not None:
            at = f"{where.strip()}: " if where else ""
            raise ValueError(f"{at}a number is expected, not true/false")
        return v

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


class ScenarioError(UserError):
    """Invalid scenario input; ``messages`` holds one line per problem."""
