"""Reading a YAML input file (scenario, sweep, state file, overlay) with errors as one line per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ips_sim.config.fields import ScenarioError
from ips_sim.core.echo import clip
from ips_sim.core.safe_yaml import YAMLInputError, load_yaml_file, load_yaml_text


def yaml_error_line(source: str, exc: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: file, line and column, what is wrong."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unreadable YAML"])[0]
    return f"{source}: {where}: YAML syntax error: {clip(problem, 300)}"


def read_yaml_file(path: str | Path, what: str = "scenario") -> Any:
    """Parse a YAML file with the hardened reader (:mod:`ips_sim.core.safe_yaml`); ScenarioError lists the problems."""
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
