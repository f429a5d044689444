"""A benefit-cost summary as WSIPP reports one: benefits, costs, net present value, ratio, chance benefits win.

From paired replications of an option and its comparator (common random numbers; with
parameter uncertainty each replication carries a parameter draw, so the spread is a Monte
Carlo over parameters as WSIPP's is). Per replication i, all discounted, per participant or
per program-year:

* costs = the program's extra cost to government: service cost + outside benefits counselling;
* participants = extra net income (earnings + SSI + SSDI - employee payroll tax - income tax);
* taxpayers = SSI and SSDI saved + extra payroll and income tax - extra hospital cost (when
  costed), i.e. the change in the public purse's cost beyond the program itself, sign reversed;
* benefits = participants + taxpayers; net present value = benefits - costs.

The ratio is mean benefits over mean costs (Fieller's interval); the chance that benefits
exceed costs is the share of replications with a positive net present value.
"""

from __future__ import annotations

import math

import numpy as np

from ips_sim.economics import cea

QUANTITIES = (
    ("participants", "benefits to participants: extra net income (earnings + benefits - taxes)"),
    ("taxpayers", "benefits to taxpayers: SSI and SSDI saved + extra taxes - extra hospital cost"),
    ("ssi_saved", "of which SSI saved"),
    ("ssdi_saved", "of which SSDI saved"),
    ("taxes_gained", "of which payroll and income tax gained"),
    ("benefits", "total benefits (participants + taxpayers)"),
    ("costs", "net program cost to government (service cost + outside benefits counselling)"),
    ("net_present_value", "benefits minus costs"),
    ("public_purse_net", "change in the public purse's whole cost (program included; negative: a saving)"),
)


def paired_flows(option: dict[str, np.ndarray], comparator: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per replication: the WSIPP-style flows of ``option`` against ``comparator`` (dicts of outcome arrays)."""
    def d(name):
        return np.asarray(option[name], float) - np.asarray(comparator[name], float)

    costs = d("service_cost") + d("counselling_outside")
    taxpayers = -(d("public_purse_cost") - costs)
    participants = d("net_income")
    return {
        "participants": participants,
        "taxpayers": taxpayers,
        "ssi_saved": -d("ssi_paid"),
        "ssdi_saved": -d("ssdi_paid"),
        "taxes_gained": d("taxes_paid"),
        "benefits": participants + taxpayers,
        "costs": costs,
        "net_present_value": participants + taxpayers - costs,
        "public_purse_net": d("public_purse_cost"),
        "qalys": d("qalys"),
    }


def summary(flows: dict[str, np.ndarray], confidence: float = 0.95) -> list[dict]:
    """Mean and CI of each flow, the ratio with Fieller's interval, P(benefits > costs), cost per QALY."""
    out = []
    for q, words in QUANTITIES:
        m, lo, hi = cea.mean_ci(flows[q], confidence)
        out.append({"quantity": q, "description": words, "mean": m, "ci_low": lo, "ci_high": hi,
                    "ci_method": "paired replications (t)"})
    r, lo, hi = cea.fieller_ci(flows["benefits"], flows["costs"], confidence)
    out.append({"quantity": "benefit_cost_ratio", "description": "total benefits per dollar of net program cost",
                "mean": r, "ci_low": lo, "ci_high": hi,
                "ci_method": "Fieller, paired replications" + ("" if math.isfinite(lo) else
                                                              " (unbounded: costs not significantly above 0)")})
    npv = flows["net_present_value"]
    ok = np.isfinite(npv)
    p = float((npv[ok] > 0).mean()) if ok.any() else math.nan
    out.append({"quantity": "probability_benefits_exceed_costs", "description":
                "share of replications (parameter draws with --parameter-uncertainty) with benefits above costs",
                "mean": p, "ci_low": math.nan, "ci_high": math.nan, "ci_method": "share of replications"})
    r, lo, hi = cea.fieller_ci(flows["costs"], flows["qalys"], confidence)
    out.append({"quantity": "cost_per_qaly", "description": "net program cost per QALY gained "
                "(utility gain of work is an assumption: benefits.utility_gain_employed)",
                "mean": r, "ci_low": lo, "ci_high": hi,
                "ci_method": "Fieller, paired replications" + ("" if math.isfinite(lo) else
                                                              " (unbounded: QALY gain not significant)")})
    return out
