"""The board report of a staffing plan: each level examined, the targets, and what each level costs and buys."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from ips_sim.analysis.metrics import metric_label
from ips_sim.reporting.wording import (
    fmt,
    fmt_ci,
    in_sentence,
    metric_kind,
    option_label,
    parameter_label,
    scenario_words,
)

OPS = {"<=": "at most", ">=": "at least", "<": "below", ">": "above"}


def target_words(metric: str, op: str, threshold: float) -> str:
    kind = metric_kind(metric)
    return f"{metric_label(metric).lower()} {OPS.get(op, op)} {fmt(threshold, kind)}"


def _plain(text: str) -> str:
    """Ids in plan.txt's sentence as words (team.specialists -> specialists, share_gave_up_waiting -> label)."""
    text = re.sub(r"\b([a-z]+\.[a-z_.]+)\b", lambda m: parameter_label(m.group(1)), text)
    return re.sub(r"\b([a-z]+(?:_[a-z0-9]+)+)\b", lambda m: metric_label(m.group(1)).lower(), text)


def _answer(p: pd.DataFrame, field: str, level: str, targets: list, text: str) -> str:
    """The plan's answer in words, from plan.csv: the level that meets every target, with its figures."""
    met = p[p.value_verdict == "meets"]
    values = list(dict.fromkeys(p[field]))
    where = f"{values[0]} to {values[-1]}" if len(values) > 1 else str(values[0])
    noun = level.lower()

    def figures(g):
        out = []
        for m, op, t in targets:
            r = g[(g.metric == m) & (g.op == op) & (g.threshold == t)].iloc[0]
            kind = metric_kind(m)
            out.append(f"{metric_label(m).lower()} {fmt(r['mean'], kind)} (95% CI {fmt_ci(r.ci_low, r.ci_high, kind)}; "
                       f"target {OPS.get(op, op)} {fmt(t, kind)})")
        return "; ".join(out)

    if len(met):
        value = met.iloc[0][field]
        g = met[met[field] == value]
        return (f"{value} {noun} is the first level in {where} that meets every target with 95% confidence, after "
                f"{g.iloc[0]['replications']} replications: {figures(g)}.")
    if not len(p):
        return ""
    last = p[p[field] == values[-1]]
    return (f"No level in {where} meets every target with 95% confidence; at {values[-1]} {noun}: "
            f"{figures(last)}.")


def plan_context(folder: Path, man: dict) -> dict:
    p = pd.read_csv(folder / "plan.csv")
    text = (folder / "plan.txt").read_text(encoding="utf-8") if (folder / "plan.txt").exists() else ""
    answer = _plain(text.split("\n\n")[0].strip()) or "See the table."
    field = p.columns[0]
    level = parameter_label(field)
    sc = man.get("scenario", {})
    currency = man.get("currency", "USD")
    has_costs = "cost_per_year" in p.columns
    targets = list(dict.fromkeys((r["metric"], r["op"], r["threshold"]) for _, r in p.iterrows()))
    columns = [level, "replications"] + [target_words(*t) + " (95% CI)" for t in targets] + ["verdict"]
    if has_costs:
        years = p["budget_years"].iloc[0]
        columns += [f"cost per year ({currency})", "people employed in a year",
                    "cost per additional person employed, against one fewer",
                    f"budget over {years:g} years"]
    rows = []
    for value, g in p.groupby(field, sort=False):
        first = g.iloc[0]
        cells = [str(value), str(first["replications"])]
        for m, op, t in targets:
            r = g[(g.metric == m) & (g.op == op) & (g.threshold == t)].iloc[0]
            kind = metric_kind(m)
            cells.append(f"{fmt(r['mean'], kind)} ({fmt_ci(r.ci_low, r.ci_high, kind)}): {r['target_verdict']}")
        cells.append(first["value_verdict"])
        if has_costs:
            ratio = first["cost_per_additional_person_employed"]
            cells += [fmt(first["cost_per_year"], "money"),
                      fmt(first["people_employed_per_year"]),
                      fmt(ratio, "money") if math.isfinite(ratio) else
                      ("first level examined" if not str(first.get("compared_with", "")) or
                       pd.isna(first.get("compared_with")) else "no more people employed"),
                      fmt(first["budget_over_horizon"], "money")]
        rows.append(cells)
    answer = _answer(p, field, level, targets, text) or answer
    if has_costs:
        costs = p.drop_duplicates(field)
        answer += (" What each level costs: " + "; ".join(
            f"{v} at {fmt(c, 'money')} a year ({fmt(b, 'money')} over {y:g} years)"
            for v, c, b, y in zip(costs[field], costs.cost_per_year, costs.budget_over_horizon, costs.budget_years))
            + f" ({currency}, not discounted).")
    goal = " and ".join(target_words(*t) for t in targets)
    return {
        "kind": "plan", "title": f"Staffing plan: {level.lower()} needed for "
                                 f"{in_sentence(option_label(sc)) if sc else 'the program'}",
        "question": f"How many {level.lower()} are needed so that {goal}, with 95% confidence, and what does each "
                    "level cost?",
        "answer": answer, "staffing": rows, "staffing_columns": columns,
        "staffing_note": ("Each level uses the same random numbers (common random numbers); a level too close to "
                          "call gets more replications. Cost per additional person employed compares each level "
                          "with the level above it in the table (one fewer), on the replications both ran. Costs "
                          "in " + currency + ", not discounted; plan.csv has the 95% CI of each cost."),
        "scenario_text": scenario_words(sc) if sc else "",
        "scenario": sc, "currency": currency, "replications": None,
    }
