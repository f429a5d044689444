"""The board report's public-purse section: a comparison's benefit-cost summary (``benefit_cost.csv``).

Kept apart from ``board_report.py``: it reads one table and gives the rows and sentences
the partial templates ``_benefit_cost.*.j2`` show, beside WSIPP's published IPS result.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

# WSIPP benefit-cost result for IPS for individuals with serious mental illness (program 293;
# 2022 dollars, life-cycle present value per participant; methods Dec 2023): shown beside ours,
# never merged with it (docs/benefits.md explains the differences in method).
WSIPP_IPS = {"taxpayers": 2614, "participants": 6138, "others": 2, "indirect": -471, "benefits": 8283,
             "costs": 951, "net_present_value": 7332, "benefit_cost_ratio": 8.71, "probability": 0.81}

LABELS = {
    "participants": "benefits to participants (extra net income)",
    "taxpayers": "benefits to taxpayers",
    "ssi_saved": "  of which SSI saved",
    "ssdi_saved": "  of which SSDI saved",
    "taxes_gained": "  of which payroll and income tax gained",
    "benefits": "total benefits",
    "costs": "net program cost",
    "net_present_value": "benefits minus costs",
    "public_purse_net": "change in the public purse's whole cost (negative: a saving)",
    "benefit_cost_ratio": "benefit-cost ratio",
    "probability_benefits_exceed_costs": "chance benefits exceed costs",
    "cost_per_qaly": "net program cost per QALY gained",
}


def _fmt(x: float, unit: str) -> str:
    if not math.isfinite(x):
        return "n/a"
    if unit == "probability":
        return f"{100 * x:.0f}%"
    if unit == "ratio":
        return f"{x:.2f}"
    return f"{x:,.0f}"


def benefit_cost_context(folder: Path) -> dict | None:
    """Rows, sentences and WSIPP's figures for the report; None when the folder has no benefit_cost.csv."""
    path = Path(folder) / "benefit_cost.csv"
    if not path.exists():
        return None
    t = pd.read_csv(path)
    options = []
    for (option, comparator), g in t.groupby(["option", "comparator"], sort=False):
        g = g.set_index("quantity")
        rows = []
        for q, label in LABELS.items():
            if q not in g.index:
                continue
            r = g.loc[q]
            ci = (f"{_fmt(r.ci_low, r.unit)} to {_fmt(r.ci_high, r.unit)}"
                  if math.isfinite(r.ci_low) and math.isfinite(r.ci_high) else "")
            rows.append({"label": label, "value": _fmt(r["mean"], r.unit), "ci": ci, "unit": r.unit,
                         "wsipp": _wsipp(q)})
        bcr, p = g.loc["benefit_cost_ratio"], g.loc["probability_benefits_exceed_costs"]
        ci = (f" (95% CI {_fmt(bcr.ci_low, 'ratio')} to {_fmt(bcr.ci_high, 'ratio')})"
              if math.isfinite(bcr.ci_low) else " (its interval is unbounded)")
        saving = g.loc["public_purse_net"]["mean"]
        sentence = (f"Against {comparator}, {option} returns {_fmt(bcr['mean'], 'ratio')} in benefits per dollar of "
                    f"net program cost{ci}, with benefits above costs in {_fmt(p['mean'], 'probability')} of "
                    f"replications ({g.iloc[0].draws}). The public purse's whole cost "
                    f"{'falls' if saving < 0 else 'rises'} by {_fmt(abs(saving), '')} {g.iloc[0].basis}: SSI saved "
                    f"{_fmt(g.loc['ssi_saved']['mean'], '')}, SSDI saved {_fmt(g.loc['ssdi_saved']['mean'], '')}, "
                    f"taxes gained {_fmt(g.loc['taxes_gained']['mean'], '')}.")
        options.append({"option": option, "comparator": comparator, "basis": g.iloc[0].basis, "rows": rows,
                        "sentence": sentence, "currency": next((u for u in g.unit if u.startswith("USD")), "")})
    return {"options": options, "wsipp": WSIPP_IPS}


def _wsipp(q: str) -> str:
    w = WSIPP_IPS
    if q == "benefit_cost_ratio":
        return f"{w['benefit_cost_ratio']:.2f}"
    if q == "probability_benefits_exceed_costs":
        return f"{100 * w['probability']:.0f}%"
    return f"{w[q]:,}" if q in w else ""
