"""Result tables, plots and the output folder of a run.

Tables are built once from the replications' arrays and written into a
folder that :mod:`ips_sim.runner.output` promotes into place whole.
"""

from __future__ import annotations

import functools
import platform
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from ips_sim.analysis.metrics import METRICS, summarise, unit_label
from ips_sim.config import DAYS_PER_MONTH, Scenario, add_months
from ips_sim.config.prices import currency_label
from ips_sim.core.version import __version__
from ips_sim.economics.costs import BUDGET_COLUMNS, with_public_purse
from ips_sim.economics.public_purse import PURSE_COLUMNS
from ips_sim.runner.output import write_json
from ips_sim.sim.records import ExitReason, FrozenRecords, JobEnd

FLOAT_FORMAT = "%.6g"
DEPENDENCIES = ("simpy", "numpy", "pandas", "scipy", "pydantic", "pyyaml", "click", "matplotlib", "statsmodels")


# --------------------------------------------------------------------------- tables


def summary_table(per_replication: list[dict[str, float]], currency: str | None = None) -> pd.DataFrame:
    """summary.csv: one row per metric that applies to the run; money units shown as ``currency`` ("USD 2024").

    A metric with no finite value in any replication (say members affected by a staff
    change when turnover is off) is left out rather than written as an empty row; the
    README lists when each such metric appears.
    """
    rows = [r for r in summarise(per_replication) if r["replications"] > 0]
    df = pd.DataFrame(rows, columns=["metric", "unit", "mean", "std", "ci_low", "ci_high", "replications"])
    if currency:
        df["unit"] = [unit_label(u, currency) for u in df["unit"]]
    return df


def replication_table(per_replication: list[dict[str, float]], first: int = 0) -> pd.DataFrame:
    df = pd.DataFrame(per_replication)
    df.insert(0, "replication", np.arange(first, first + len(df)))
    return df


def members_table(records: list[FrozenRecords]) -> pd.DataFrame:
    frames = []
    for r in records:
        m = r.member
        reason = _labels(ExitReason, m["exit_reason"])
        frames.append(pd.DataFrame({
            "replication": r.replication,
            "member_id": m["member_id"],
            "referral_day": m["referral_day"],
            "enrollment_day": m["enrollment_day"],
            "first_employer_contact_day": m["first_employer_contact_day"],
            "first_job_day": m["first_job_day"],
            "exit_day": m["exit_day"],
            "exit_reason": reason,
            "jobs": m["jobs"],
            "days_employed": m["days_employed"],
            "specialist": m["specialist"],
            "staff_change_day": m.get("staff_change_day", np.full(len(m["member_id"]), np.nan)),
            "benefit": _benefit_labels(m),
            "counselled": m.get("counselled", np.zeros(len(m["member_id"]), bool)),
        }))
    return pd.concat(frames, ignore_index=True)


def _benefit_labels(m: dict) -> np.ndarray:
    from ips_sim.sim.benefit_choice import Benefit
    codes = m.get("benefit_status", np.zeros(len(m["member_id"]), np.int8))
    return np.array([b.label for b in Benefit], dtype=object)[codes.astype(int)]


def _labels(codes: type[ExitReason] | type[JobEnd], values: np.ndarray) -> np.ndarray:
    """Names of enum codes, as written in the tables ("" for still going / still enrolled)."""
    lowest = min(codes)
    names = np.array([codes(c).label for c in range(lowest, max(codes) + 1)], dtype=object)
    return names[values.astype(int) - lowest]


def jobs_table(records: list[FrozenRecords]) -> pd.DataFrame:
    frames = []
    for r in records:
        j = r.job
        frames.append(pd.DataFrame({
            "replication": r.replication,
            "member_id": j["member_id"],
            "job_id": np.arange(len(j["member_id"])),
            "start_day": j["start_day"],
            "end_day": j["end_day"],
            "hours_per_week": j["hours_per_week"],
            "hourly_wage": j["hourly_wage"],
            "preference_match": j["preference_match"],
            "end_reason": _labels(JobEnd, j["end_reason"]),
            "observed_until_day": j["observed_until_day"],
            "hours_capped": j.get("hours_capped", np.zeros(len(j["member_id"]), bool)),
        }))
    return pd.concat(frames, ignore_index=True)


def month_dates(start_date, n_months: int) -> list[str]:
    """ISO date on which each simulation month begins (month k begins k calendar months after day 0)."""
    return [add_months(start_date, k).isoformat() for k in range(n_months)]


def monthly_table(records: list[FrozenRecords], start_date=None) -> pd.DataFrame:
    """Per replication and month: flows counted from the records, stocks from month-end snapshots.

    With ``start_date`` (scenario ``start.date``) a ``date`` column gives the calendar month.
    ``wait_days_referred``: mean days from referral to enrollment of the people referred in the
    month who have enrolled by the horizon (empty if none did).
    """
    frames = []
    for r in records:
        mo = r.months()
        n_months = len(mo["day"])
        edges = np.arange(n_months + 1) * DAYS_PER_MONTH

        def per_month(days, edges=edges):
            days = days[np.isfinite(days)]
            return np.histogram(days, bins=edges)[0]

        ref, enr = r.member["referral_day"], r.member["enrollment_day"]
        got = np.isfinite(enr) & (ref >= 0)
        n_ref = np.histogram(ref[got], bins=edges)[0]
        total_wait = np.histogram(ref[got], bins=edges, weights=(enr - ref)[got])[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            wait = np.where(n_ref > 0, total_wait / np.maximum(n_ref, 1), np.nan)

        # A planning step can straddle a month end: split its hours by days in each month.
        w = r.weeks()
        start = w["day"]
        step = np.diff(np.unique(start))[0] if len(np.unique(start)) > 1 else DAYS_PER_MONTH
        first = (start // DAYS_PER_MONTH).astype(int)
        share_first = np.clip(((first + 1) * DAYS_PER_MONTH - start) / step, 0.0, 1.0)
        hours = {}
        for name in ("hours_available", "hours_intake", "hours_follow_along", "hours_job_search",
                     "hours_job_development", "employer_contacts"):
            x = w[name]
            total = np.bincount(first, weights=x * share_first, minlength=n_months + 1)
            total += np.bincount(first + 1, weights=x * (1.0 - share_first), minlength=n_months + 2)[: len(total)]
            hours[name] = total[:n_months]
        dates = {"date": month_dates(start_date, n_months)} if start_date is not None else {}
        frames.append(pd.DataFrame({
            "replication": r.replication,
            "month": np.arange(1, n_months + 1),
            **dates,
            "day": mo["day"],
            "referrals": per_month(r.member["referral_day"]),
            "enrollments": per_month(r.member["enrollment_day"]),
            "waitlist": mo["waitlist"].astype(int),
            "caseload": mo["caseload"].astype(int),
            "employed": mo["employed"].astype(int),
            "placements": per_month(r.job["start_day"]),
            "job_endings": per_month(r.job["end_day"]),
            "exits": per_month(r.member["exit_day"]),
            "wait_days_referred": wait,
            **hours,
        }))
    return pd.concat(frames, ignore_index=True)


def budget_table(records: list[FrozenRecords], scenario: Scenario) -> pd.DataFrame:
    """Budget view: per observation year, mean over replications of cost items, FTE, members, employment.

    Money columns are in the scenario's output price year (``currency`` column), not discounted;
    ``discount_factor`` is the year's factor at ``costs.discount_rate``.
    """
    frames = [pd.DataFrame(with_public_purse(r, scenario)) for r in records if r is not None]
    df = pd.concat(frames).groupby("year", as_index=False).mean()[list(BUDGET_COLUMNS) + list(PURSE_COLUMNS)]
    df["year"] = df["year"].astype(int)
    df.insert(1, "currency", currency_label(scenario.costs.price_year))
    if scenario.start_date is not None:  # calendar dates: the day each program year begins
        warm = round(12 * scenario.simulation.warmup_years)
        df.insert(1, "begins", [add_months(scenario.start_date, warm + 12 * (y - 1)).isoformat() for y in df["year"]])
    return df


TRAJECTORY_COLUMNS = ("waitlist", "caseload", "employed", "placements", "wait_days_referred", "hours_intake",
                      "hours_follow_along", "hours_job_search", "hours_job_development")


def trajectory_table(monthly: pd.DataFrame) -> pd.DataFrame:
    """Per month across replications: mean and 10th, 50th and 90th percentiles of each trajectory column.

    Percentiles are of the replications' values (the spread a planner should expect in one
    realisation of the future), not confidence intervals of the mean.
    """
    keys = ["month", "date"] if "date" in monthly.columns else ["month"]
    g = monthly.groupby(keys, sort=True)
    out = g.size().rename("replications").reset_index()
    for col in TRAJECTORY_COLUMNS:
        x = g[col]
        out[f"{col}_mean"] = x.mean().to_numpy()
        for q in (10, 50, 90):
            out[f"{col}_p{q}"] = x.quantile(q / 100.0).to_numpy()
    return out


# --------------------------------------------------------------------------- manifest


def versions() -> dict[str, str]:
    """Versions of ips-sim, Python and the dependencies (looked up once per process: ~0.1 s each time)."""
    return dict(_versions())


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    out = {"ips-sim": __version__, "python": platform.python_version()}
    for dist in DEPENDENCIES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def manifest(scenario: Scenario, seed: int, replications: int, wall_seconds: float, **extra) -> dict:
    return {
        "scenario": scenario.model_dump(mode="json"),
        "seed": seed,
        "replications": replications,
        "versions": versions(),
        "wall_time_seconds": round(wall_seconds, 3),
        "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]),
        "mode": scenario.mode,
        "warnings": scenario.warnings(),
        **extra,
    }


# --------------------------------------------------------------------------- writing


def write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_run(folder: Path, scenario: Scenario, per_replication, records, manifest_doc: dict,
              plots: bool = True) -> None:
    """Write summary, per-replication, monthly, members, jobs and fidelity tables, manifest and plots."""
    write_csv(summary_table(per_replication, currency_label(scenario.costs.price_year)), folder / "summary.csv")
    write_csv(replication_table(per_replication), folder / "replications.csv")
    records = [r for r in records if r is not None]  # replications whose records were kept
    if records:
        write_csv(budget_table(records, scenario), folder / "budget.csv")
        monthly = monthly_table(records, scenario.start_date)
        write_csv(monthly, folder / "monthly.csv")
        trajectory = trajectory_table(monthly)
        write_csv(trajectory, folder / "trajectory.csv")
        write_csv(members_table(records), folder / "members.csv")
        write_csv(jobs_table(records), folder / "jobs.csv")
        from ips_sim.reporting.benefit_tables import member_income_table
        write_csv(member_income_table(records, scenario), folder / "member_income.csv")
        from ips_sim.analysis.fidelity import fidelity_table, plot_fidelity
        fidelity = fidelity_table(records, scenario)
        write_csv(fidelity, folder / "fidelity.csv")
        if plots:
            from ips_sim.reporting.plots import plot_run
            plot_run(monthly, scenario, folder)
            from ips_sim.reporting.plots import plot_fans
            plot_fans(trajectory, scenario, folder)
            plot_fidelity(fidelity, scenario, folder)
    write_json(folder / "manifest.json", manifest_doc)


def metric_units() -> dict[str, str]:
    return {m.name: m.unit for m in METRICS}
