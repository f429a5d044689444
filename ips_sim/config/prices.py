"""Price years: the US CPI-U table, conversion between years, and the currency label.

Every money input in a scenario carries its own price year (``costs.price_years``);
outputs are converted to ``costs.price_year`` (default: the latest year in the
table) with the ratio of annual-average CPI-U indexes, and labelled "USD <year>".
The table is ``calibration/cpi_u.csv`` (BLS series CUUR0000SA0, annual averages,
with what was verified per year). 2025 is left out: its annual average covers
11 months (October 2025 was not collected during the lapse in appropriations).
"""

from __future__ import annotations

import csv
import os
from functools import lru_cache
from pathlib import Path

from ips_sim.core.paths import CALIBRATION_ENV, calibration_dir


@lru_cache(maxsize=8)
def _table(path: str) -> dict[int, float]:
    with open(path, newline="", encoding="utf-8") as f:
        return {int(r["year"]): float(r["index"]) for r in csv.DictReader(f)}


def cpi_table(directory: Path | None = None) -> dict[int, float]:
    """Year -> CPI-U annual average (1982-84 = 100)."""
    return dict(_cpi(directory))


def _cpi(directory: Path | None = None) -> dict[int, float]:
    """The table itself (not a copy: callers only read it), for lookups in every replication's costs."""
    if directory is None:
        return _default_table(os.environ.get(CALIBRATION_ENV))
    return _table(str(directory / "cpi_u.csv"))


@lru_cache(maxsize=8)
def _default_table(calibration_env: str | None) -> dict[int, float]:
    # keyed on the environment variable that moves the calibration folder (paths.calibration_dir)
    return _table(str(calibration_dir() / "cpi_u.csv"))


def cpi_rows(directory: Path | None = None) -> list[dict[str, str]]:
    """The table with its source and verification notes (for reports)."""
    with open((directory or calibration_dir()) / "cpi_u.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def latest_year() -> int:
    return max(_cpi())


def years_available() -> tuple[int, int]:
    t = cpi_table()
    return min(t), max(t)


def index(year: int) -> float:
    """CPI-U annual average of ``year``; ValueError naming the years available otherwise."""
    t = _cpi()
    if year not in t:
        lo, hi = min(t), max(t)
        raise ValueError(f"no CPI-U index for {year}: the price table covers {lo}-{hi}")
    return t[year]


def convert(amount: float, from_year: int, to_year: int) -> float:
    """``amount`` in ``from_year`` dollars expressed in ``to_year`` dollars.

    >>> round(convert(44082, 2004, 2024))  # Latimer et al. 2004 specialist cost in 2024 dollars
    73203
    """
    return amount * index(to_year) / index(from_year)


def output_year(price_year: int | None) -> int:
    """The year outputs are reported in: the scenario's ``costs.price_year`` or the latest in the table."""
    return latest_year() if price_year is None else int(price_year)


def currency_label(price_year: int | None) -> str:
    """For example ``"USD 2024"``."""
    return f"USD {output_year(price_year)}"
