"""The board report of a comparison: options against usual services, the frontier, budget impact and EVPI."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ips_sim.reporting.report_images import plots_in
from ips_sim.reporting.wording import LABELS, fmt, fmt_ci, option_label, parameter_label, scenario_words

COMPARE_ROWS = ("cost", "people_employed", "employed_months", "earnings", "ever_employed_rate",
                "mean_wait_days", "prob_wait", "cost_per_member_served")
STATUS = {"ND": "on the frontier", "ED": "extendedly dominated", "D": "dominated"}
QUANTITY = {"incremental cost": "extra cost", "incremental people employed": "extra people employed",
            "incremental employed months": "extra months worked", "incremental earnings": "extra earnings",
            "cost per additional person employed": "cost per additional person employed",
            "cost per additional employed month": "cost per additional month worked"}


def _ratio_ci(r) -> str:
    return (fmt_ci(r.ci_low, r.ci_high, "money") if math.isfinite(r.ci_low)
            else "not bounded (the effect is not significant)")


def _budget_impact(folder: Path, labels: dict, comparator: str, currency: str, basis: str, comp: pd.DataFrame,
                   calendar: bool) -> tuple[list[dict], str]:
    p = folder / "budget_impact.csv"
    if not p.exists():
        return [], ""
    t = pd.read_csv(p, dtype={"year": str, "begins": str}, keep_default_na=False, na_values=[""])
    rows = []
    for r in t.itertuples():
        total = r.year == "total"
        if total:
            year = f"total, {r.begins}"
        elif calendar and isinstance(r.begins, str) and r.begins:
            d0 = pd.Timestamp(r.begins)
            year = f"{d0.strftime('%b %Y')} to {(d0 + pd.DateOffset(months=12, days=-1)).strftime('%b %Y')}"
        else:
            year = f"year {r.year}"
        rows.append({"option": labels.get(r.option, option_label({}, r.option)), "year": year, "total": total,
                     "cost": fmt(r.cost, "money"),
                     "diff": "" if r.option == comparator else fmt(r.cost_vs_comparator, "money"),
                     "cumulative": "" if r.option == comparator else fmt(r.cumulative_vs_comparator, "money"),
                     "served": "" if total else fmt(r.members_served),
                     "employed": "" if total else fmt(r.people_employed),
                     "discounted": fmt(r.cost_discounted, "money")})
    n_years = int(t[t.year != "total"].groupby("option").size().max())
    tie = ""
    observed = (pd.read_csv(folder / "budget.csv").groupby("option").size().max()
                if (folder / "budget.csv").exists() else -1)
    if basis == "per program-year":
        if observed == n_years:
            tie = (f" Over the {n_years} years the discounted totals equal {n_years} times the discounted service "
                   "cost per program-year of the comparison table.")
    note = (f"The payer's (funder's) service cost of each option per year, in {currency}, not discounted (what the "
            f"budget holder pays each year), with the difference from {labels.get(comparator, comparator)} (the "
            f"current service) and its running total; the last column discounts each year for reference."
            f"{tie} Members served and people employed are those of each year (a person served in two years "
            "counts in both). Years are " + ("calendar years from the start date" if calendar else
                                             "years of the program after warm-up") + ".")
    return rows, note


def _evpi(folder: Path, currency: str, basis: str) -> tuple[list[dict], str]:
    p = folder / "evpi.csv"
    if not p.exists():
        return [], ""
    e = pd.read_csv(p)
    e = e[e.effect_measure == "people_employed"]
    if e.empty:
        return [], ""
    top = e.loc[e.evpi.idxmax()]
    picks = sorted({int(i) for i in (0, len(e) // 5, 2 * len(e) // 5, e.evpi.idxmax() - e.index[0], 3 * len(e) // 5,
                                     len(e) - 1)})
    rows = [{"wtp": fmt(e.iloc[i].wtp, "money"), "evpi": fmt(e.iloc[i].evpi, "money")} for i in picks]
    note = (f"The expected value of perfect information: what removing all uncertainty in the drawn parameters would "
            f"be worth, {basis}, in {currency}. It peaks at {fmt(top.evpi, 'money')} when the payer values an "
            f"additional person employed at {fmt(top.wtp, 'money')}, where the choice is most uncertain; if that "
            "sum is small next to the cost of further research, decide on current evidence.")
    return rows, note


def compare_context(folder: Path, man: dict) -> dict:
    comp = pd.read_csv(folder / "comparison.csv")
    inc = pd.read_csv(folder / "incremental.csv")
    icers = pd.read_csv(folder / "icers.csv") if (folder / "icers.csv").exists() else pd.DataFrame()
    currency = man.get("currency", "USD")
    basis = man.get("basis", "")
    comparator = man.get("comparator", "")
    options = man.get("options", list(dict.fromkeys(comp.option)))
    scenarios = man.get("scenarios", {})
    labels = {o: option_label(scenarios.get(o), o) for o in options}
    base = labels.get(comparator, comparator)
    per = "per participant" if basis == "per participant" else "a year"
    # One row per measure, one column per option: reads down a page even with many options.
    columns = ["measure"] + [labels[o] for o in options]
    rows = []
    for m in COMPARE_ROWS:
        label, kind = LABELS[m]
        if m == "cost":
            label = "cost " + ("per participant" if basis == "per participant" else "per year") + ", discounted"
        if m == "people_employed":
            label, kind = (("participants employed", "share") if basis == "per participant"
                           else ("people employed in a year", "number"))
        if m == "prob_wait" and comp[comp.metric == m].empty:
            continue
        cells = [label + (f" ({currency})" if kind == "money" else "")]
        for o in options:
            g = comp[(comp.option == o) & (comp.metric == m)]
            cells.append("n/a" if g.empty else
                         f"{fmt(g.iloc[0]['mean'], kind)} ({fmt_ci(g.iloc[0].ci_low, g.iloc[0].ci_high, kind)})")
        rows.append(cells)
    inc_rows = []
    for r in inc.itertuples():
        kind = "money" if str(r.unit).startswith("USD") else (
            "share" if str(r.unit).startswith("share") else "number")
        inc_rows.append({"option": labels.get(r.option, r.option), "comparator": labels.get(r.comparator, r.comparator),
                         "quantity": QUANTITY.get(r.quantity, r.quantity), "value": fmt(r.mean, kind),
                         "ci": fmt_ci(r.ci_low, r.ci_high, kind) if math.isfinite(r.ci_low)
                         else "not bounded (the effect is not significant)",
                         "unit": "" if kind == "share" else r.unit})
    icer_rows = []
    if not icers.empty:
        for r in icers[icers.effect_measure == "people_employed"].itertuples():
            icer_rows.append({"option": labels.get(r.strategy, r.strategy), "cost": fmt(r.cost, "money"),
                              "effect": fmt(r.effect), "inc_cost": fmt(r.inc_cost, "money"),
                              "inc_effect": fmt(r.inc_effect), "icer": fmt(r.icer, "money"),
                              "status": STATUS[r.status]})
    sentences = []
    for o in options:
        if o == comparator:
            continue
        g = inc[inc.option == o].set_index("quantity")
        dc, de = g.loc["incremental cost"], g.loc["incremental people employed"]
        ratio = g.loc["cost per additional person employed"]
        people = ("percentage points more participants employed" if basis == "per participant" else
                  "more people employed in a year")
        de_txt = fmt(100 * de["mean"]) if basis == "per participant" else fmt(de["mean"])
        sentences.append(f"{labels[o]} costs {fmt(dc['mean'], 'money')} more {per} than {base} and gives {de_txt} "
                         f"{people}: {fmt(ratio['mean'], 'money')} per additional person employed against {base} "
                         f"(95% CI {_ratio_ci(ratio)}).")
    frontier = [r for r in icer_rows if r["status"] == "on the frontier"]
    steps = [f"{r['option']} {r['icer']}" for r in frontier[1:] if r["icer"] != "n/a"]
    answer = " ".join(sentences)
    if frontier:
        answer += (" Worth considering at some price (the efficient frontier): "
                   + ", ".join(r["option"] for r in frontier) + ".")
    if len(steps) > 1:
        answer += (" Each step along the frontier, against the next cheaper option on it, costs per additional "
                   "person employed: " + "; ".join(steps) + ".")
    off = [f"{r['option']} ({r['status']})" for r in icer_rows if r["status"] != "on the frontier"]
    if off:
        answer += f" Never the best buy: {', '.join(off)}."
    answer += f" All costs in {currency}, discounted, {basis}."
    sc0 = scenarios.get(comparator) or (next(iter(scenarios.values())) if scenarios else {})
    calendar = bool((sc0.get("start") or {}).get("date"))
    bia, bia_note = _budget_impact(folder, labels, comparator, currency, basis, comp, calendar)
    evpi, evpi_note = _evpi(folder, currency, basis)
    others = [labels[o] for o in options if o != comparator]
    return {
        "kind": "comparison", "title": "Economic evaluation: " + ", ".join(others) + " against " + base,
        "question": f"What do {', '.join(others)} cost and buy compared with {base}, in {currency}?",
        "answer": answer, "staffing": rows, "staffing_columns": columns,
        "staffing_note": f"Mean (95% CI), costs and effects {basis}.",
        "incremental": inc_rows, "icers": icer_rows,
        "budget_impact": bia, "budget_impact_note": bia_note, "evpi": evpi, "evpi_note": evpi_note,
        "plots": plots_in(folder, ("cost_effect.png", "ceac.png", "ce_plane.png", "budget.png")),
        "scenario_text": scenario_words(sc0) if len(scenarios) < 2 else "",
        "scenario_list": [scenario_words(scenarios[o]) for o in options if o in scenarios]
        if len(scenarios) > 1 else [],
        "scenario": sc0, "currency": currency, "replications": man.get("replications"),
        "basis": basis, "parameter_uncertainty": man.get("parameter_uncertainty", False),
        "cost_uncertainty": [{"label": parameter_label(u["field"]), "source": u["source"]}
                             for u in man.get("cost_uncertainty", [])],
    }
