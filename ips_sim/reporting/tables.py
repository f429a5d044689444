"""Result tables, plots and the output folder of a run.

Tables are built once from the replications' arrays and written into a
folder that :mod:`ips_sim.runner.output` promotes into place whole.
"""

from __future__ import annotations

import functools
import gc
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
    docs/reference/outputs.md lists when each such metric appears.
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


def stacked(parts: list[dict]) -> pd.DataFrame:
    """One frame of every replication's columns: what ``pd.concat`` of a frame each gives (the same
    columns, values and types), without a frame per replication (which cost more than the columns).

    ``parts``: per replication, column -> array, list, or one value for all its rows.
    """
    if not parts:
        return pd.concat([])  # pandas' own error for no replications
    rows = [next(len(v) for v in part.values() if not np.isscalar(v)) for part in parts]

    def column(v, n: int) -> np.ndarray:
        if np.isscalar(v):
            return np.full(n, v)
        return np.array(v, dtype=object) if isinstance(v, list) else v

    return pd.DataFrame({name: np.concatenate([column(part[name], n) for part, n in zip(parts, rows)])
                         for name in parts[0]})


def members_table(records: list[FrozenRecords]) -> pd.DataFrame:
    parts = []
    for r in records:
        m = r.member
        reason = _labels(ExitReason, m["exit_reason"])
        parts.append({
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
        })
    return stacked(parts)


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
    parts = []
    for r in records:
        j = r.job
        parts.append({
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
        })
    return stacked(parts)


def month_dates(start_date, n_months: int) -> list[str]:
    """ISO date on which each simulation month begins (month k begins k calendar months after day 0)."""
    return [add_months(start_date, k).isoformat() for k in range(n_months)]


def _step_month_shares(start: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each planning step's month and the share of its days in that month and the ones after.

    Returns (``first``, ``shares``): step i starting on day ``start[i]`` has ``shares[j][i]`` of its
    days in simulation month ``first[i] + j``. A step may be longer than a month
    (``planning_step_days`` up to 31 > 30.44), so it may touch three months.
    """
    starts = np.unique(start)
    step = float(np.diff(starts)[0]) if len(starts) > 1 else DAYS_PER_MONTH
    first = (start // DAYS_PER_MONTH).astype(int)
    share = np.clip(((first + 1) * DAYS_PER_MONTH - start) / step, 0.0, 1.0)  # days left in its first month
    shares, rest = [share], 1.0 - share
    while np.any(rest > 0.0):
        share = np.minimum(rest, DAYS_PER_MONTH / step)  # a whole month, or what is left of the step
        shares.append(share)
        rest = rest - share
    return first, shares


def _counts(days: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(days[np.isfinite(days)], bins=edges)[0]`` in a few array steps (months [a, b), the last
    one closed; days outside the edges and missing days not counted): a tenth of the time per call."""
    days = days[(days >= edges[0]) & (days <= edges[-1])]  # NaN compares false
    idx = np.minimum(np.searchsorted(edges, days, side="right") - 1, len(edges) - 2)
    return np.bincount(idx, minlength=len(edges) - 1)


def monthly_table(records: list[FrozenRecords], start_date=None) -> pd.DataFrame:
    """Per replication and month: flows counted from the records, stocks from month-end snapshots.

    With ``start_date`` (scenario ``start.date``) a ``date`` column gives the calendar month.
    ``wait_days_referred``: mean days from referral to enrollment of the people referred in the
    month who have enrolled by the horizon (empty if none did).
    """
    parts = []
    for r in records:
        mo = r.months()
        n_months = len(mo["day"])
        edges = np.arange(n_months + 1) * DAYS_PER_MONTH

        def per_month(days, edges=edges):
            return _counts(days, edges)

        ref, enr = r.member["referral_day"], r.member["enrollment_day"]
        got = np.isfinite(enr) & (ref >= 0)
        n_ref = _counts(ref[got], edges)
        total_wait = np.histogram(ref[got], bins=edges, weights=(enr - ref)[got])[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            wait = np.where(n_ref > 0, total_wait / np.maximum(n_ref, 1), np.nan)

        # A planning step can straddle month ends: split its hours by its days in each month.
        w = r.weeks()
        first, shares = _step_month_shares(w["day"])
        hours = {}
        for name in ("hours_available", "hours_intake", "hours_follow_along", "hours_job_search",
                     "hours_job_development", "employer_contacts"):
            x = w[name]
            total = np.zeros(n_months + len(shares))
            for j, share in enumerate(shares):
                total += np.bincount(first + j, weights=x * share, minlength=len(total))[: len(total)]
            hours[name] = total[:n_months]
        dates = {"date": month_dates(start_date, n_months)} if start_date is not None else {}
        parts.append({
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
        })
    return stacked(parts)


def budget_table(records: list[FrozenRecords], scenario: Scenario) -> pd.DataFrame:
    """Budget view: per observation year, mean over replications of cost items, FTE, members, employment.

    Money columns are in the scenario's output price year (``currency`` column), not discounted;
    ``discount_factor`` is the year's factor at ``costs.discount_rate``.
    """
    frame = stacked([with_public_purse(r, scenario) for r in records if r is not None])
    df = frame.groupby("year", as_index=False).mean()[list(BUDGET_COLUMNS) + list(PURSE_COLUMNS)]
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


def write_csv(df: pd.DataFrame, path) -> None:
    """Write ``df`` as ``df.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\\n")`` writes it.

    The same text, about twice as fast: each column is formatted in one pass (the run's largest
    tables, members, jobs and monthly, are a third of ``ips-sim run``'s time), then the rows are
    joined. Columns of other kinds than float, integer, bool or text go through pandas.
    (pyarrow's CSV writer was measured too: it cannot write floats as ``%.6g``, and with the
    floats formatted first it is slower than this join; see ``benchmarks/bench_tables.py``.)
    """
    text = csv_text(df)
    if hasattr(path, "write"):  # an open text file or buffer
        path.write(text)
        return
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


_QUOTE_IF = frozenset(',"\n')


def _field(text: str) -> str:
    """A text field as the csv module writes it (QUOTE_MINIMAL, line terminator "\\n"): quoted if it holds a
    comma, a quote or a newline. (Whether a carriage return is quoted differs between Python versions:
    text holding one goes through pandas.)"""
    return '"' + text.replace('"', '""') + '"' if not _QUOTE_IF.isdisjoint(text) else text


def _number_texts(n: int) -> np.ndarray:
    """The texts of 0 .. n - 1 (at least), an object array indexed by the number (grown as needed)."""
    global _number_text
    if len(_number_text) < n:
        _number_text = np.array([str(i) for i in range(max(n, 2 * len(_number_text)))], dtype=object)
    return _number_text


_number_text = np.array([], dtype=object)


def _column_text(column: pd.Series) -> list[str] | None:
    """The column's fields as ``to_csv`` writes them, or None for a kind of column left to pandas."""
    a = column.to_numpy()
    kind = a.dtype.kind
    if kind == "f" and a.dtype == np.float64:
        fmt = FLOAT_FORMAT
        return ["" if v != v else fmt % v for v in a.tolist()]  # NaN: empty
    if kind in "iu":
        if len(a) and 0 <= a.min() and a.max() < len(a):  # ids, months, counts: each number's text made once
            return _number_texts(int(a.max()) + 1)[a].tolist()
        return [str(v) for v in a.tolist()]
    if kind == "b":
        return ["True" if v else "False" for v in a.tolist()]
    if kind == "O":
        # Text columns hold a few distinct labels (exit reasons, job ends ...): each is quoted once.
        # Missing values (None, NaN) are written empty, as pandas writes them.
        codes, labels = pd.factorize(a, use_na_sentinel=True)
        labels = labels.tolist()
        if not all(isinstance(v, str) and "\r" not in v for v in labels):
            return None
        fields = np.array([_field(v) for v in labels] + [""], dtype=object)  # code -1 (missing): the last
        return fields[codes].tolist()
    return None


def csv_text(df: pd.DataFrame) -> str:
    """The text ``df.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\\n")`` returns."""
    columns = [_column_text(df[c]) for c in df.columns]
    if len(df.columns) < 2 or not df.columns.is_unique or any(c is None for c in columns) \
            or any(not isinstance(c, str) for c in df.columns):
        return df.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    header = ",".join(_field(c) for c in df.columns) + "\n"
    return header + "".join([",".join(row) + "\n" for row in zip(*columns)])


def write_run(folder: Path, scenario: Scenario, per_replication, records, manifest_doc: dict,
              plots: bool = True) -> None:
    """Write summary, per-replication, monthly, members, jobs and fidelity tables, manifest and plots.

    The cyclic garbage collector is paused while writing: the tables' millions of short-lived field
    strings set off collections that traverse every replication's records (a tenth of the writing,
    measured); reference counting frees the strings, and the few cycles (figures) wait for the next
    collection after the pause.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        _write_run(folder, scenario, per_replication, records, manifest_doc, plots)
    finally:
        if paused:
            gc.enable()


def _write_run(folder: Path, scenario: Scenario, per_replication, records, manifest_doc: dict,
               plots: bool) -> None:
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
        # One member-month row per member of one replication: a table to follow members month by month
        # (the first replication kept); every replication's public purse is in budget.csv. For all of them it
        # was the largest table of a run by far, doubling the time `run` takes.
        from ips_sim.reporting.benefit_tables import member_income_table
        write_csv(member_income_table(records[:1], scenario), folder / "member_income.csv")
        from ips_sim.analysis.fidelity import fidelity_table
        fidelity = fidelity_table(records, scenario)
        write_csv(fidelity, folder / "fidelity.csv")
        if plots:
            from ips_sim.reporting.plots import plot_fans, plot_fidelity, plot_run
            plot_run(monthly, scenario, folder)
            plot_fans(trajectory, scenario, folder)
            plot_fidelity(fidelity, scenario, folder)
    write_json(folder / "manifest.json", manifest_doc)


def metric_units() -> dict[str, str]:
    return {m.name: m.unit for m in METRICS}
