"""The hours budget: per specialist and week, hours demanded by each activity against hours available.

Built from the planning-step records the model keeps anyway (records.WEEK_COLUMNS:
hours available, hours demanded and received by intake, follow-along, job search and
job development). Hours are per week (a planning step of other length is rescaled).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ips_sim.sim.records import FrozenRecords

ACTIVITIES = (("intake", "intake"), ("follow_along", "follow-along"), ("job_search", "job search"),
              ("job_development", "job development"))


def weekly_hours(records: list[FrozenRecords]) -> pd.DataFrame:
    """One row per replication, planning step and specialist: available, demanded and received hours per week.

    >>> from ips_sim.ui.api import load
    >>> from ips_sim.sim.model import run_replication
    >>> sc = load({"simulation": {"horizon_years": 1, "warmup_years": 0}})
    >>> w = weekly_hours([run_replication(sc, 0, 1).freeze()])
    >>> bool((w["got_job_search"] <= w["demand_job_search"] + 1e-9).all())
    True
    """
    frames = []
    for r in records:
        col = r.weeks()
        days = np.unique(col["day"])
        step = float(np.diff(days)[0]) if len(days) > 1 else 7.0
        per_week = 7.0 / step
        df = pd.DataFrame({"replication": r.replication, "day": col["day"], "week": (col["day"] // 7).astype(int),
                           "specialist": col["specialist"].astype(int) + 1,
                           "available": col["hours_available"] * per_week})
        for key, _ in ACTIVITIES:
            df[f"demand_{key}"] = col[f"demand_{key}"] * per_week
            df[f"got_{key}"] = col[f"hours_{key}"] * per_week
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def budget_long(weekly: pd.DataFrame, from_day: float = 0.0, to_day: float = np.inf,
                priority: tuple[str, ...] = ("intake", "follow_along", "job_development", "job_search"),
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean over replications per specialist and week, in long form for a stacked chart.

    Returns (stack, available): ``stack`` has per specialist, week and activity the hours
    received and the hours demanded but not received ("short"), with ``order`` for stacking:
    the received parts in ``priority`` order (they stay under the hours available), then the
    short parts (the demand above it); ``available`` the hours available per specialist and week.
    """
    w = weekly[(weekly["day"] >= from_day) & (weekly["day"] < to_day)]
    cols = ["available"] + [f"{p}_{k}" for k, _ in ACTIVITIES for p in ("demand", "got")]
    mean = w.groupby(["specialist", "week"])[cols].mean().reset_index()
    rows = []
    rank = {key: priority.index(key) if key in priority else len(priority) for key, _ in ACTIVITIES}
    for key, label in ACTIVITIES:
        got = mean[f"got_{key}"]
        short = (mean[f"demand_{key}"] - got).clip(lower=0.0)
        for part, hours, k in (("received", got, rank[key]), ("short", short, len(ACTIVITIES) + rank[key])):
            rows.append(pd.DataFrame({"specialist": mean["specialist"], "week": mean["week"], "activity": label,
                                      "part": part, "band": f"{label}: {part}", "order": k, "hours": hours}))
    stack = pd.concat(rows, ignore_index=True)
    return stack, mean[["specialist", "week", "available"]]


def shortfall_by_activity(weekly: pd.DataFrame, from_day: float = 0.0) -> pd.DataFrame:
    """Per activity: hours demanded and received per specialist-week after ``from_day``, and the share received."""
    w = weekly[weekly["day"] >= from_day]
    rows = []
    for key, label in ACTIVITIES:
        demand, got = w[f"demand_{key}"].sum(), w[f"got_{key}"].sum()
        rows.append({"activity": label, "demanded_per_week": demand / max(len(w), 1),
                     "received_per_week": got / max(len(w), 1),
                     "share_received": got / demand if demand > 0 else np.nan})
    return pd.DataFrame(rows)
