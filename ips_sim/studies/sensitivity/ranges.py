"""The assumption ranges: which parameters are assumptions, their low and high ends
(``calibration/assumption_ranges.csv``), read and checked against the scenario; outcomes checked; SALib's problem.
"""

from __future__ import annotations

import csv
import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ips_sim.analysis.metrics import METRIC_NAMES
from ips_sim.config import (
    Scenario,
    ScenarioError,
    calibration_dir,
    defaults_table,
    get_dotted,
)
from ips_sim.core.echo import shown
from ips_sim.studies.sweep import check_path, scenario_field_paths, try_updates

RANGE_COLUMNS = ("parameter", "low", "high", "requires", "reasoning")
METHODS = ("morris", "sobol")
MORRIS_LEVELS = 4
CONFIDENCE = 0.95
MAX_POINTS_PER_UNIT = 8
# mu* that replication noise alone gives, in standard errors of a point's mean: two independent
# N(0, SE^2) means differ by 2 SE / sqrt(pi) on average, over a Morris step of 2/3 of the range.
NOISE_MU_STAR = 2 / math.sqrt(math.pi) / (MORRIS_LEVELS / (2 * (MORRIS_LEVELS - 1)))


class SensitivityError(ScenarioError):
    """Invalid sensitivity input; ``messages`` holds one line per problem."""


@dataclass(frozen=True)
class AssumptionRange:
    """One assumed parameter and the plausible range it is varied over."""

    parameter: str
    low: float
    high: float
    requires: str
    reasoning: str
    integer: bool = False

    def value(self, x: float) -> float | int:
        return round(x) if self.integer else float(x)


@dataclass(frozen=True)
class Ranges:
    """The ranged assumptions in use, those skipped for this scenario, and those never varied."""

    varied: list[AssumptionRange]
    inactive: list[tuple[str, str]]      # (parameter, why it has no effect in this scenario)
    not_varied: list[tuple[str, str]]    # (parameter, reasoning)
    unranged: list[str]                  # marked assumption in parameters.csv, no row in the ranges file


def default_ranges_path() -> Path:
    return calibration_dir() / "assumption_ranges.csv"


def assumption_parameters() -> list[str]:
    """Parameters whose source in parameters.csv says they are assumptions."""
    out = []
    for row in defaults_table():
        source = (row.get("source") or "").strip().lower()
        if source.startswith(("assumption", "derived assumption")) and row["parameter"] not in out:
            out.append(row["parameter"])
    return out


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _is_flag(base: Scenario, path: str) -> bool:
    return isinstance(get_dotted(base.model_dump(mode="json"), path), bool)


def load_ranges(path: str | Path, base: Scenario) -> Ranges:
    """Read and check the ranges file against the scenario; SensitivityError lists every problem.

    Rows with an empty low and high are assumptions deliberately not varied
    (the reasoning says why). A row whose ``requires`` flag is off in the
    scenario (e.g. ``turnover.enabled``) cannot change anything there and is
    set aside as inactive.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            rows = list(reader)
    except FileNotFoundError:
        raise SensitivityError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SensitivityError([f"{path}: cannot read: {exc}"]) from None
    missing = [c for c in RANGE_COLUMNS if c not in header]
    if missing:
        raise SensitivityError([(f"{path}: header: missing column(s) {', '.join(missing)}; "
                                f"expected {','.join(RANGE_COLUMNS)}")])
    fields = scenario_field_paths()
    data = base.model_dump(mode="json")
    errors: list[str] = []
    varied, inactive, not_varied, seen = [], [], [], set()
    for k, row in enumerate(rows, start=2):  # row 1 is the header
        where = f"{path}: row {k}"
        name = (row.get("parameter") or "").strip()
        why = check_path(name, varied=False)
        if why:
            errors.append(f"{where}, parameter: {shown(name)}: {why}")
            continue
        if name in seen:
            errors.append(f"{where}, parameter: {shown(name)}: listed twice; give one row per parameter")
            continue
        seen.add(name)
        low_text, high_text = (row.get("low") or "").strip(), (row.get("high") or "").strip()
        reasoning = (row.get("reasoning") or "").strip()
        if not low_text and not high_text:
            not_varied.append((name, reasoning))
            continue
        low, high = _number(low_text), _number(high_text)
        bad = False
        for col, text, x in (("low", low_text, low), ("high", high_text, high)):
            if x is None:
                errors.append(f"{where}, {col}: {shown(text)}: expected a finite number")
                bad = True
        if bad:
            continue
        if low >= high:
            errors.append(f"{where}, low: {low:g}: low must be below high ({high:g})")
            continue
        if not reasoning:
            errors.append(f"{where}, reasoning: empty: say why the range is plausible")
            continue
        current = get_dotted(data, name)
        if isinstance(current, bool) or not (current is None or isinstance(current, (int, float))):
            errors.append(f"{where}, parameter: {shown(name)}: is not a number in the scenario ({shown(current)}); "
                          "only numeric fields can be ranged")
            continue
        integer = "int" in fields[name] and "float" not in fields[name]
        problems = []
        for x in (low, high):
            _, probs = try_updates(base, {name: round(x) if integer else x})
            problems += probs
        if problems:
            loc, value, msg = problems[0]
            errors.append(f"{where}, low/high: {shown(value)}: not allowed for {loc}: {msg}")
            continue
        if current is not None and not (low <= current <= high):
            errors.append(f"{where}, low/high: [{low:g}, {high:g}]: the scenario's value {current:g} "
                          "must lie inside the range")
            continue
        requires = (row.get("requires") or "").strip()
        if requires:
            why = check_path(requires, varied=False)
            if why or not _is_flag(base, requires):
                errors.append(f"{where}, requires: {shown(requires)}: expected a true/false scenario field "
                              "such as turnover.enabled")
                continue
        ar = AssumptionRange(name, low, high, requires, reasoning, integer)
        if requires and not get_dotted(data, requires):
            inactive.append((name, f"{requires} is false in this scenario"))
        elif current is None:
            inactive.append((name, "null (switched off) in this scenario"))
        else:
            varied.append(ar)
    if errors:
        raise SensitivityError(errors)
    listed = seen
    unranged = [p for p in assumption_parameters() if p not in listed]
    return Ranges(varied, inactive, not_varied, unranged)


def select(ranges: Ranges, names: Sequence[str], source: str = "--parameter") -> Ranges:
    """Keep only the named ranged parameters (``--parameter``); unknown names are errors."""
    if not names:
        return ranges
    by_name = {r.parameter: r for r in ranges.varied}
    off = dict(ranges.inactive)
    errors = []
    for n in names:
        if n not in by_name:
            why = f"has no effect here ({off[n]})" if n in off else "has no range in the ranges file"
            errors.append(f"{source}: {shown(n)}: {why}; ranged: {', '.join(by_name)}")
    if errors:
        raise SensitivityError(errors)
    return Ranges([by_name[n] for n in dict.fromkeys(names)], ranges.inactive, ranges.not_varied, ranges.unranged)


def check_outcomes(outcomes: Sequence[str]) -> list[str]:
    """One error line per unknown outcome name."""
    out = []
    for o in outcomes:
        if o not in METRIC_NAMES:
            close = difflib.get_close_matches(o, METRIC_NAMES, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]}? " if close else ""
            out.append(f"--outcome: {shown(o)}: unknown metric; {hint}allowed: {', '.join(METRIC_NAMES)}")
    return out


def salib_problem(ranges: Sequence[AssumptionRange]) -> dict:
    return {"num_vars": len(ranges), "names": [r.parameter for r in ranges],
            "bounds": [[r.low, r.high] for r in ranges]}


def point_updates(ranges: Sequence[AssumptionRange], X: np.ndarray) -> list[dict[str, Any]]:
    """Rows of a SALib sample as dotted-path updates of the scenario."""
    return [{r.parameter: r.value(x) for r, x in zip(ranges, row)} for row in np.asarray(X)]
