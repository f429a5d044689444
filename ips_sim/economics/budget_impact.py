"""Budget impact: the payer's cost of each option year by year, with the people it serves and employs.

Follows the ISPOR good-practice report on budget impact analysis (Sullivan et al.
2014, Value Health 17(1):5-14): the budget holder's perspective, year-by-year
totals for each option and their difference from the current service (the
comparator), over a short horizon (1-5 years), not discounted (the budget holder
pays the actual amount each year). The discounted cost is given beside it so the
table ties to the discounted totals of the cost-effectiveness analysis.
"""

from __future__ import annotations

import pandas as pd

BIA_YEARS = 5  # the budget holder's horizon: ISPOR recommends 1-5 years

COLUMNS = ("option", "label", "year", "begins", "cost", "cost_vs_comparator", "cumulative_vs_comparator",
           "members_served", "people_employed", "discount_factor", "cost_discounted")


def budget_impact(budgets: list[pd.DataFrame], names: list[str], labels: list[str], comparator: int,
                  begins: list[str] | None = None, years: int = BIA_YEARS) -> pd.DataFrame:
    """Per option and year (the first ``years``), then a ``total`` row per option over those years.

    ``budgets``: per option, the mean budget rows per observation year (``costs.budget``):
    ``service_cost`` (the payer's cost, not discounted), ``members_served``, ``people_employed``
    and ``discount_factor``. ``begins``: calendar date each year begins, when the options start today.
    """
    base = budgets[comparator].set_index("year")
    rows = []
    for name, label, b in zip(names, labels, budgets):
        b = b.sort_values("year").head(years)
        cumulative = 0.0
        for r in b.itertuples():
            diff = float(r.service_cost - base.loc[r.year, "service_cost"]) if r.year in base.index else float("nan")
            cumulative += diff
            rows.append({"option": name, "label": label, "year": str(int(r.year)),
                         "begins": begins[int(r.year) - 1] if begins and int(r.year) <= len(begins) else "",
                         "cost": float(r.service_cost), "cost_vs_comparator": diff,
                         "cumulative_vs_comparator": cumulative, "members_served": float(r.members_served),
                         "people_employed": float(r.people_employed), "discount_factor": float(r.discount_factor),
                         "cost_discounted": float(r.service_cost * r.discount_factor)})
        n = len(b)
        mine = [x for x in rows if x["option"] == name and x["year"] != "total"]
        rows.append({"option": name, "label": label, "year": "total", "begins": f"{n} years",
                     "cost": sum(x["cost"] for x in mine),
                     "cost_vs_comparator": sum(x["cost_vs_comparator"] for x in mine),
                     "cumulative_vs_comparator": cumulative,
                     "members_served": float("nan"),  # people served in several years would be counted twice
                     "people_employed": float("nan"),
                     "discount_factor": float("nan"),
                     "cost_discounted": sum(x["cost_discounted"] for x in mine)})
    return pd.DataFrame(rows, columns=list(COLUMNS))
