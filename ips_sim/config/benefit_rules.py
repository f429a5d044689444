"""SSA work-incentive and US tax figures by year (``calibration/benefit_rules.csv``, each row sourced).

The table holds the published figures of one year each (substantial gainful activity,
the trial work month, the SSI federal benefit rate and exclusions, payroll and income
tax); :func:`rules` gives them as one frozen record for a year. The arithmetic that uses
them lives in ``ips_sim/economics/benefits.py``; the simulation reads only the
earnings limits (``sga_monthly``) for the hours a member chooses.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from ips_sim.core.paths import calibration_dir

FILE = "benefit_rules.csv"


@dataclass(frozen=True)
class Rules:
    """One year's figures (dollars of that year)."""

    year: int
    sga_monthly: float
    twp_month_earnings: float
    ssi_federal_benefit_rate: float
    ssi_general_exclusion: float
    ssi_earned_exclusion: float
    ssi_earned_share_counted: float
    twp_months: int
    twp_window_months: int
    epe_months: int
    grace_months: int
    payroll_oasdi_rate: float
    payroll_hi_rate: float
    oasdi_wage_base: float
    standard_deduction_single: float
    bracket_10_top_single: float
    bracket_12_top_single: float
    eitc_max_no_children: float
    eitc_rate_no_children: float
    eitc_phase_out_start_single: float
    ss_taxable_base_single: float
    ss_taxable_adjusted_base_single: float


_INTS = {"year", "twp_months", "twp_window_months", "epe_months", "grace_months"}


def rule_rows(directory: Path | None = None) -> list[dict[str, str]]:
    """The table with sources (for reports and docs)."""
    with open((directory or calibration_dir()) / FILE, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=8)
def _by_year(path: str) -> dict[int, Rules]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    years: dict[int, dict] = {}
    for r in rows:
        years.setdefault(int(r["year"]), {"year": int(r["year"])})[r["rule"]] = float(r["value"])
    names = [f.name for f in fields(Rules)]
    out = {}
    for y, d in years.items():
        if all(n in d for n in names):  # a year with every figure
            out[y] = Rules(**{n: (int(d[n]) if n in _INTS else d[n]) for n in names})
    return out


def _table() -> dict[int, Rules]:
    return _by_year(str(calibration_dir() / FILE))


def rule_years() -> list[int]:
    """Years with every figure in the table."""
    return sorted(_table())


def rules(year: int) -> Rules:
    """The figures of ``year`` (a KeyError names the years available)."""
    t = _table()
    if year not in t:
        raise KeyError(f"no benefit rules for {year}: the table has {', '.join(map(str, sorted(t)))}")
    return t[year]
