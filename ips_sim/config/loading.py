"""Loading scenario files: validation errors as one line per problem (file, field path, value, what is allowed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ips_sim.config.defaults import default_values, merge_dicts
from ips_sim.config.fields import ScenarioError
from ips_sim.config.schema import Scenario
from ips_sim.config.start_state import read_members_csv
from ips_sim.config.yaml_input import read_yaml_file
from ips_sim.core.echo import clip, shown
from ips_sim.core.names import safe_name

# --------------------------------------------------------------------------- loading


def _allowed_from_error(err: dict) -> str:
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; `ips-sim fields` lists every field)"
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
    data = merge_dicts(default_values(arm=arm if arm in ("ips", "usual_services") else "ips"), raw)
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
            raise ScenarioError([f"{source}: start.members_csv: {shown(sc.start.members_csv)}: give either members_csv "
                                 f"or the counts ({', '.join('start.' + g for g in groups)}), not both"])
        base = Path(source).parent if base_dir is None else Path(base_dir)
        groups = read_members_csv(base / sc.start.members_csv, sc.start.date, f"{source}: start.members_csv")
        data["start"] = {**start, **groups}
        try:
            sc = Scenario.model_validate(data)
        except ValidationError as exc:  # the people the CSV describes, out of the schema's bounds
            raise ScenarioError(_format_errors(f"{source}: start.members_csv {sc.start.members_csv}", exc)) from None
    return sc

def read_yaml_mapping(path: str | Path, what: str, expected: str,
                      error: type[ScenarioError] = ScenarioError) -> dict:
    """A YAML input file (sweep, state file ...) that must be a mapping, read with the hardened reader.

    Raises ``error`` (a kind of ScenarioError) with the reader's lines, or one line saying what
    the file is instead (``expected``: what it must be, e.g. "a sweep file must be a mapping ...").
    """
    try:
        raw = read_yaml_file(path, what)
    except ScenarioError as exc:
        raise error(exc.messages) from None
    if not isinstance(raw, dict):
        raise error([f"{path}: (top level): {kind_of(raw)}: {expected}"])
    return raw


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
