"""Confidence intervals of a mean over replications: one t-based interval used everywhere.

Replications are independent and identically distributed, so the mean of n of
them has a Student-t interval with n - 1 degrees of freedom. Non-finite values
(a metric that did not apply in a replication) are left out before counting n.

>>> round(t_half_width(1.0, 4), 4)   # t(0.975, 3) / 2
1.5912
>>> mean_ci([1.0, 2.0, 3.0, float("nan")])[0]
2.0
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def t_half_width(sd, n, confidence: float = 0.95):
    """Half-width of the t interval for a mean: t(1/2 + confidence/2, n - 1) * sd / sqrt(n).

    Works on numbers or arrays; NaN where n < 2.
    """
    n_arr = np.asarray(n, dtype=float)
    dof = np.maximum(n_arr - 1, 1)
    half = stats.t.ppf(0.5 + confidence / 2, dof) * np.asarray(sd, dtype=float) / np.sqrt(np.maximum(n_arr, 1))
    half = np.where(n_arr >= 2, half, np.nan)
    return float(half) if np.ndim(half) == 0 else half


def mean_ci(x, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the finite values of ``x``; the interval is NaN with fewer than 2 values."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    half = t_half_width(float(x.std(ddof=1)), len(x), confidence)
    return mean, mean - half, mean + half
