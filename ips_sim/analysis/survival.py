"""Kaplan-Meier survival with Greenwood standard errors, for job tenure read from records."""

from __future__ import annotations

import numpy as np


def kaplan_meier(durations, ended) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan-Meier survival at each distinct event time, with Greenwood's standard error.

    Returns (times, S, se). ``ended`` False marks a censored duration.
    """
    d = np.asarray(durations, float)
    e = np.asarray(ended, bool)
    d_sorted = np.sort(d)
    times, deaths = np.unique(d[e], return_counts=True)
    if len(times) == 0:
        return times, np.zeros(0), np.zeros(0)
    at_risk = len(d) - np.searchsorted(d_sorted, times, side="left")  # durations >= each event time
    s = np.cumprod(1.0 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.cumsum(deaths / (at_risk * (at_risk - deaths)))
        se = s * np.sqrt(g)  # undefined once S reaches 0: reported as 0
    return times, s, np.where(np.isfinite(se), se, 0.0)


def km_at(times, s, u) -> np.ndarray:
    """The Kaplan-Meier step function evaluated at ``u`` (1 before the first event)."""
    k = np.searchsorted(times, np.atleast_1d(u), side="right") - 1
    return np.where(k >= 0, s[np.clip(k, 0, None)] if len(s) else 1.0, 1.0)
