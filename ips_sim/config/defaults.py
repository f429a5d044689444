"""Layered defaults: ``parameters.csv`` < ``fitted.yaml`` < the arm's files < the scenario file."""

from __future__ import annotations

import copy
import csv
import functools
from pathlib import Path
from typing import Any

from ips_sim.config.fields import set_dotted
from ips_sim.config.yaml_input import read_yaml_file
from ips_sim.core.paths import (
    calibration_dir,
)
from ips_sim.core.safe_yaml import load_yaml_text

# --------------------------------------------------------------------------- defaults


def parse_value(text: str) -> Any:
    return load_yaml_text(text, "parameters.csv") if text.strip() else None


def defaults_table(directory: Path | None = None) -> list[dict[str, str]]:
    """Rows of ``parameters.csv``: parameter, value, unit, source, note."""
    path = (directory or calibration_dir()) / "parameters.csv"
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))

def overlay_file(data: dict, path: Path) -> None:
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
        set_dotted(data, row["parameter"], parse_value(row["value"]))
    overlay_file(data, directory / "fitted.yaml")
    if arm == "usual_services":
        overlay_file(data, directory / "usual_services.yaml")
        overlay_file(data, directory / "fitted_usual_services.yaml")
    return data


def merge_dicts(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "end_reason_shares":
            out[k] = merge_dicts(out[k], v)
        else:
            out[k] = v
    return out
