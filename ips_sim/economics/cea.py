"""Cost-effectiveness arithmetic: ICERs with dominance, paired differences, Fieller, CEAC, NMB, EVPI.

Pure functions on numbers (no simulation), so each can be checked against
theory or a published worked example.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ips_sim.core.intervals import mean_ci  # noqa: F401 - cea.mean_ci is part of this module's face

ND, ED, D = "ND", "ED", "D"  # non-dominated, extendedly dominated, (strongly) dominated


def calculate_icers(cost, effect, strategies) -> list[dict]:
    """ICER table over mutually exclusive options, with strong and extended dominance.

    The logic of dampack's ``calculate_icers`` (Alarid-Escudero et al., DARTH): sort by
    cost (ties: more effect first); an option is strongly dominated (``D``) if another
    costs no more and achieves at least as much (one of them strictly); among the rest,
    sorted by effect, an option whose ICER exceeds the next option's is extendedly
    dominated (``ED``), repeated until ICERs rise. Returned in dampack's order:
    non-dominated by cost, then ED, then D. Checked against the VA HERC worked example
    (tests/test_econ.py).

    >>> [r["status"] for r in calculate_icers([1, 3], [1, 2], ["a", "b"])]
    ['ND', 'ND']
    """
    items = [{"strategy": s, "cost": float(c), "effect": float(e)} for s, c, e in zip(strategies, cost, effect)]
    order = sorted(items, key=lambda r: (r["cost"], -r["effect"]))
    for r in order:
        r.update(inc_cost=math.nan, inc_effect=math.nan, icer=math.nan, status=ND)
    for r in order:
        if any(o is not r and o["cost"] <= r["cost"] and o["effect"] >= r["effect"]
               and (o["cost"] < r["cost"] or o["effect"] > r["effect"]) for o in order):
            r["status"] = D
    # equal cost and effect: keep the first, the others are dominated
    seen = set()
    for r in order:
        key = (r["cost"], r["effect"])
        if r["status"] == ND and key in seen:
            r["status"] = D
        seen.add(key)
    nd = sorted([r for r in order if r["status"] == ND], key=lambda r: (r["effect"], r["cost"]))
    changed = True
    while changed and len(nd) > 2:
        changed = False
        icers = [(nd[i]["cost"] - nd[i - 1]["cost"]) / (nd[i]["effect"] - nd[i - 1]["effect"])
                 for i in range(1, len(nd))]
        for i in range(len(icers) - 1):
            if icers[i] > icers[i + 1]:
                nd[i + 1]["status"] = ED
                nd.pop(i + 1)
                changed = True
                break
    for i in range(1, len(nd)):
        dc, de = nd[i]["cost"] - nd[i - 1]["cost"], nd[i]["effect"] - nd[i - 1]["effect"]
        nd[i].update(inc_cost=dc, inc_effect=de, icer=dc / de if de else math.nan)
    nd_by_cost = sorted(nd, key=lambda r: r["cost"])
    rest_ed = sorted([r for r in order if r["status"] == ED], key=lambda r: -r["cost"])
    rest_d = sorted([r for r in order if r["status"] == D], key=lambda r: -r["cost"])
    return nd_by_cost + rest_ed + rest_d


def difference_ci(a, b, paired: bool = True, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of a - b with its CI: paired (same replication index, common random numbers) or Welch."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if paired:
        return mean_ci(a - b, confidence)
    # Welch (independent samples): the finite values of each, as mean_ci keeps them; with fewer
    # than 2 values on a side its variance is unknown and so is the interval.
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) == 0 or len(b) == 0:
        return math.nan, math.nan, math.nan
    m = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return m, math.nan, math.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if va + vb > 0 else 1.0
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    return m, m - half, m + half


def fieller_ci(dc, de, confidence: float = 0.95) -> tuple[float, float, float]:
    """Ratio mean(dc) / mean(de) with Fieller's confidence interval from paired replications.

    dc, de: per-replication incremental cost and effect. Returns (ratio, low, high); the
    interval is unbounded (NaN ends) when the effect is not significantly different from 0.
    (Fieller 1954; Willan & O'Brien 1996, Health Econ 5:297.)
    """
    dc, de = np.asarray(dc, float), np.asarray(de, float)
    ok = np.isfinite(dc) & np.isfinite(de)
    dc, de = dc[ok], de[ok]
    n = len(dc)
    if n < 2:
        return math.nan, math.nan, math.nan
    mc, me = dc.mean(), de.mean()
    ratio = mc / me if me != 0 else math.nan
    vc, ve = dc.var(ddof=1) / n, de.var(ddof=1) / n
    cov = np.cov(dc, de, ddof=1)[0, 1] / n
    t2 = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) ** 2
    a = me * me - t2 * ve
    b = mc * me - t2 * cov
    c = mc * mc - t2 * vc
    disc = b * b - a * c
    if a <= 0 or disc < 0:
        return float(ratio), math.nan, math.nan
    root = math.sqrt(disc)
    return float(ratio), float((b - root) / a), float((b + root) / a)


def net_monetary_benefit(cost: np.ndarray, effect: np.ndarray, wtp: float) -> np.ndarray:
    """NMB = wtp x effect - cost (arrays: draws x options)."""
    return wtp * np.asarray(effect, float) - np.asarray(cost, float)


def ceac(cost: np.ndarray, effect: np.ndarray, wtps) -> np.ndarray:
    """Acceptability: for each willingness to pay, the share of draws in which each option has the highest NMB.

    cost, effect: arrays of shape (draws, options). Returns (len(wtps), options).
    """
    out = []
    for w in wtps:
        nmb = net_monetary_benefit(cost, effect, w)
        best = np.argmax(nmb, axis=1)
        out.append(np.bincount(best, minlength=nmb.shape[1]) / nmb.shape[0])
    return np.array(out)


def evpi(cost: np.ndarray, effect: np.ndarray, wtps) -> np.ndarray:
    """Expected value of perfect information per unit: E[max NMB] - max E[NMB], for each willingness to pay."""
    out = []
    for w in wtps:
        nmb = net_monetary_benefit(cost, effect, w)
        out.append(max(0.0, float(nmb.max(axis=1).mean() - nmb.mean(axis=0).max())))  # >= 0 up to rounding
    return np.array(out)
