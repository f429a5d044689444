"""Scenario fields: limits shared by the schema, the section base class, dotted field paths."""

from __future__ import annotations

import functools
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
