"""PNG plots of a run: waitlist and caseload, employment, specialists' hours."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from ips_sim.config import Scenario  # noqa: E402
from ips_sim.core.intervals import t_half_width
from ips_sim.sim.staffing import team_caseload_cap  # noqa: E402

ACTIVITY_COLUMNS = (
    ("hours_intake", "intake"),
    ("hours_follow_along", "follow-along"),
    ("hours_job_search", "job search"),
    ("hours_job_development", "job development"),
)


def mean_and_ci(monthly: pd.DataFrame, column: str, confidence: float = 0.95) -> pd.DataFrame:
    """Per month: mean over replications and the t-based confidence band."""
    g = monthly.groupby("month")[column]
    mean, sd, n = g.mean(), g.std(ddof=1), g.count()
    half = t_half_width(sd.fillna(0).to_numpy(), n.to_numpy(), confidence)
    return pd.DataFrame({"mean": mean, "low": mean - half, "high": mean + half})


def _x(months, scenario: Scenario):
    """x values of simulation months 1, 2, ... (month ends): calendar dates from start.date, else years."""
    months = pd.Index(months).to_numpy()
    if scenario.start_date is not None:
        start = pd.Timestamp(scenario.start_date)
        return pd.DatetimeIndex([start + pd.DateOffset(months=int(m)) for m in months]).to_numpy()
    return months / 12.0


def _band(ax, band: pd.DataFrame, label: str, color: str, scenario: Scenario) -> None:
    x = _x(band.index, scenario)
    ax.plot(x, band["mean"], color=color, label=label, lw=1.5)
    ax.fill_between(x, band["low"], band["high"], color=color, alpha=0.25, lw=0)


def _finish(fig, ax, scenario: Scenario, title: str, ylabel: str, path: Path) -> None:
    warm = scenario.simulation.warmup_years
    if scenario.start_date is not None:
        ax.set_xlabel("month end (the run starts from the program as it is today)")
        fig.autofmt_xdate()
    else:
        if warm > 0:
            ax.axvspan(0, warm, color="0.9", zorder=0, label="warm-up")
        ax.set_xlabel("years since the program opened")
    ax.set_ylabel(ylabel)
    ax.set_title(textwrap.fill(f"{scenario.display_label}: {title}", 80), fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_run(monthly: pd.DataFrame, scenario: Scenario, folder: Path) -> None:
    n = monthly["replication"].nunique()
    caption = f"mean of {n} replications, 95% CI band"

    fig, ax = plt.subplots(figsize=(7, 4))
    _band(ax, mean_and_ci(monthly, "caseload"), "caseload (enrolled members)", "tab:blue", scenario)
    _band(ax, mean_and_ci(monthly, "waitlist"), "waitlist", "tab:red", scenario)
    cap = team_caseload_cap(scenario)
    ax.axhline(cap, color="tab:blue", ls=":", lw=1, label=f"caseload cap ({cap})")
    _finish(fig, ax, scenario, f"caseload and waitlist ({caption})", "members at month end",
            folder / "caseload_waitlist.png")

    fig, ax = plt.subplots(figsize=(7, 4))
    _band(ax, mean_and_ci(monthly, "employed"), "members working", "tab:green", scenario)
    _band(ax, mean_and_ci(monthly, "placements"), "jobs started in the month", "tab:orange", scenario)
    _finish(fig, ax, scenario, f"employment ({caption})", "members / jobs", folder / "employment.png")

    fig, ax = plt.subplots(figsize=(7, 4))
    means = monthly.groupby("month")[[c for c, _ in ACTIVITY_COLUMNS] + ["hours_available"]].mean()
    years = _x(means.index, scenario)
    ax.stackplot(years, *[means[c].to_numpy() for c, _ in ACTIVITY_COLUMNS],
                 labels=[label for _, label in ACTIVITY_COLUMNS], alpha=0.85)
    ax.plot(years, means["hours_available"], color="black", lw=1, label="hours available")
    _finish(fig, ax, scenario, f"team hours by activity (mean of {n} replications)", "hours per month",
            folder / "hours_by_activity.png")


def _months_axis(trajectory: pd.DataFrame):
    """x values of the month-end stocks (calendar dates when the run has start.date, else months) and the label."""
    if "date" in trajectory.columns:
        return (pd.to_datetime(trajectory["date"]) + pd.DateOffset(months=1)).to_numpy(), "month end"
    return trajectory["month"].to_numpy(), "months since day 0 (month ends)"


def plot_fans(trajectory: pd.DataFrame, scenario: Scenario, folder: Path) -> None:
    """Fan charts of the waitlist and of members working: mean, median and the 10-90th percentile band."""
    x, xlabel = _months_axis(trajectory)
    n = int(trajectory["replications"].max())
    for col, label, color, name in (("waitlist", "people waiting", "tab:red", "waitlist_fan.png"),
                                    ("employed", "members working", "tab:green", "employed_fan.png")):
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.fill_between(x, trajectory[f"{col}_p10"], trajectory[f"{col}_p90"], color=color, alpha=0.2, lw=0,
                        label="10th-90th percentile of replications", step=None)
        ax.plot(x, trajectory[f"{col}_p50"], color=color, lw=1, ls="--", label="median")
        ax.plot(x, trajectory[f"{col}_mean"], color=color, lw=2, label="mean")
        warm = scenario.simulation.warmup_years * 12
        if warm > 0 and "date" not in trajectory.columns:
            ax.axvspan(0, warm, color="0.9", zorder=0, label="warm-up")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{label} at month end")
        ax.set_ylim(bottom=0)
        ax.set_title(textwrap.fill(f"{scenario.display_label}: {label} ({n} replications)", 80), fontsize=10)
        ax.legend(fontsize=8, loc="best")
        ax.grid(alpha=0.3)
        if "date" in trajectory.columns:
            fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
