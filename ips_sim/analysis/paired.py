"""Paired comparison of two scenarios run with the same seed (common random numbers).

Replication i of the baseline and replication i of the variant draw the same
referrals and the same member draws at referral, so their difference is the
effect of the change plus far less noise than two independent runs. The
interval is the t-interval of the mean paired difference.
"""

from __future__ import annotations

import math

import pandas as pd

from ips_sim.analysis.metrics import metric_label, summarise


def paired_differences(baseline: list[dict[str, float]], variant: list[dict[str, float]]) -> list[dict[str, float]]:
    """Variant minus baseline, replication by replication (same seed: common random numbers).

    >>> paired_differences([{"a": 1.0}, {"a": 2.0}], [{"a": 1.5}, {"a": 2.0}])
    [{'a': 0.5}, {'a': 0.0}]
    """
    out = []
    for b, v in zip(baseline, variant, strict=True):
        out.append({k: v[k] - b[k] for k in v if k in b})
    return out


def verdict(mean: float, low: float, high: float) -> str:
    """higher / lower when the CI of the paired difference excludes 0; same when every pair is equal.

    >>> verdict(0.0, 0.0, 0.0), verdict(2.0, 0.5, 3.5), verdict(-1.0, -2.0, 0.1)
    ('same', 'higher', 'no clear difference')
    """
    if low == high == mean == 0:
        return "same"
    if math.isfinite(low) and math.isfinite(high):
        return "higher" if low > 0 else "lower" if high < 0 else "no clear difference"
    return "not enough data"


def comparison_table(baseline: list[dict[str, float]], variant: list[dict[str, float]],
                     confidence: float = 0.95) -> pd.DataFrame:
    """Per metric: baseline and variant means, the mean paired difference and its CI."""
    base = {r["metric"]: r for r in summarise(baseline, confidence)}
    var = {r["metric"]: r for r in summarise(variant, confidence)}
    rows = []
    for d in summarise(paired_differences(baseline, variant), confidence, bounded=False):
        name = d["metric"]
        lo, hi = d["ci_low"], d["ci_high"]
        rows.append({
            "metric": name, "label": metric_label(name), "unit": d["unit"],
            "baseline": base.get(name, {}).get("mean", math.nan),
            "variant": var.get(name, {}).get("mean", math.nan),
            "difference": d["mean"], "diff_ci_low": lo, "diff_ci_high": hi,
            "variant_is": verdict(d["mean"], lo, hi), "pairs": d["replications"],
        })
    return pd.DataFrame(rows)
