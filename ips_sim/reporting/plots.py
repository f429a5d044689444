"""PNG plots of a run: waitlist and caseload, employment, specialists' hours, fans, fidelity items.

Each figure is drawn once: its margins are set from the text it carries (title lines, axis labels,
tick labels), measured before drawing (``plot_layout.fit_margins``), instead of ``tight_layout``,
which lays out every tick and label to find them and leaves a layout engine that makes ``savefig``
lay the figure out again. Figures are made without pyplot (no figure manager, nothing to close).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from ips_sim.analysis.fidelity import ITEMS, MEMORY, SCORED, fidelity_summary
from ips_sim.config import Scenario
from ips_sim.core.intervals import t_half_width
from ips_sim.reporting.plot_layout import figure, fit_margins, save
from ips_sim.sim.staffing import team_caseload_cap

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


def _title(ax, text: str, fontsize: float = 10) -> None:
    # y given: the title sits above the axes, and matplotlib need not look for tick labels on top to move it
    ax.set_title(textwrap.fill(text, 80), fontsize=fontsize, y=1.0)


def _finish(fig, ax, scenario: Scenario, title: str, ylabel: str, path: Path) -> None:
    warm = scenario.simulation.warmup_years
    dates = scenario.start_date is not None
    if dates:
        ax.set_xlabel("month end (the run starts from the program as it is today)")
    else:
        if warm > 0:
            ax.axvspan(0, warm, color="0.9", zorder=0, label="warm-up")
        ax.set_xlabel("years since the program opened")
    ax.set_ylabel(ylabel)
    _title(ax, f"{scenario.display_label}: {title}")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fit_margins(fig, ax, dates=dates)
    save(fig, path)


def plot_run(monthly: pd.DataFrame, scenario: Scenario, folder: Path) -> None:
    n = monthly["replication"].nunique()
    caption = f"mean of {n} replications, 95% CI band"

    fig, ax = figure()
    _band(ax, mean_and_ci(monthly, "caseload"), "caseload (enrolled members)", "tab:blue", scenario)
    _band(ax, mean_and_ci(monthly, "waitlist"), "waitlist", "tab:red", scenario)
    cap = team_caseload_cap(scenario)
    ax.axhline(cap, color="tab:blue", ls=":", lw=1, label=f"caseload cap ({cap})")
    _finish(fig, ax, scenario, f"caseload and waitlist ({caption})", "members at month end",
            folder / "caseload_waitlist.png")

    fig, ax = figure()
    _band(ax, mean_and_ci(monthly, "employed"), "members working", "tab:green", scenario)
    _band(ax, mean_and_ci(monthly, "placements"), "jobs started in the month", "tab:orange", scenario)
    _finish(fig, ax, scenario, f"employment ({caption})", "members / jobs", folder / "employment.png")

    fig, ax = figure()
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
    dates = "date" in trajectory.columns
    for col, label, color, name in (("waitlist", "people waiting", "tab:red", "waitlist_fan.png"),
                                    ("employed", "members working", "tab:green", "employed_fan.png")):
        fig, ax = figure()
        ax.fill_between(x, trajectory[f"{col}_p10"], trajectory[f"{col}_p90"], color=color, alpha=0.2, lw=0,
                        label="10th-90th percentile of replications", step=None)
        ax.plot(x, trajectory[f"{col}_p50"], color=color, lw=1, ls="--", label="median")
        ax.plot(x, trajectory[f"{col}_mean"], color=color, lw=2, label="mean")
        warm = scenario.simulation.warmup_years * 12
        if warm > 0 and not dates:
            ax.axvspan(0, warm, color="0.9", zorder=0, label="warm-up")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{label} at month end")
        ax.set_ylim(bottom=0)
        _title(ax, f"{scenario.display_label}: {label} ({n} replications)")
        ax.legend(fontsize=8, loc="best")
        ax.grid(alpha=0.3)
        fit_margins(fig, ax, dates=dates)
        save(fig, folder / name)


def plot_fidelity(table: pd.DataFrame, scenario: Scenario, folder: Path) -> None:
    """fidelity.png: mean item score over replications with 95% CI (anchors from memory marked *)."""
    summ = fidelity_summary(table)
    summ = summ[summ["item"].isin(SCORED)]
    provenance = {i.name: i.anchors for i in ITEMS}
    labels = [n.replace("_", " ").capitalize() + (" *" if provenance[n] == MEMORY else "") for n in summ["item"]]
    mean = summ["score_mean"].to_numpy()
    err = np.vstack([mean - summ["score_ci_low"].to_numpy(), summ["score_ci_high"].to_numpy() - mean])
    err = np.nan_to_num(err)
    fig, ax = figure()
    y = np.arange(len(labels))
    ax.barh(y, mean, xerr=err, color="tab:purple", alpha=0.8, capsize=3)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 5.2)
    ax.axvline(5, color="0.5", ls=":", lw=1)
    n = table["replication"].nunique()
    ax.set_xlabel("IPS fidelity item score (1-5)")
    # Centred on the figure, not on the axes the item names push to the right (its second line is long).
    lines = (f"{scenario.display_label}: fidelity items from operations",
             f"mean of {n} replications, 95% CI; * lower anchors assumed (scale text not checked)")
    title = fig.suptitle("\n".join(textwrap.fill(line, 90) for line in lines), fontsize=9)
    ax.grid(alpha=0.3, axis="x")
    fit_margins(fig, ax, ytick_size=8, suptitle=title)
    save(fig, folder / "fidelity.png")
