"""The board report: ``report.html`` (one self-contained file) and ``report.md`` from a results folder.

Reads what a command wrote - a run (summary.csv), a sweep (sweep.csv), a plan
(plan.csv) or a comparison (comparison.csv + incremental.csv) - and renders the
jinja2 templates in ``ips_sim/reporting/templates``: the question in one sentence, the
answer in one paragraph, the scenario in plain words, outcomes and costs with
95% CIs, the staffing comparison, the incremental table and plots, fidelity,
assumptions with sources, and how to reproduce it. Plots are embedded as
base64 data URIs, so the page makes no external requests.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from ips_sim.config import defaults_table
from ips_sim.config.prices import cpi_rows, currency_label
from ips_sim.core.errors import UserError
from ips_sim.core.version import __version__

# Plain-language labels of the metrics a board reads (name -> (label, kind)).
LABELS = {
    "ever_employed_rate": ("members with a competitive job within 18 months of enrolling", "share"),
    "quarterly_working_rate": ("members served in a quarter who worked in it", "share"),
    "employed_members_mean": ("members working at any one time", "number"),
    "placements": ("jobs started (whole observation window)", "number"),
    "mean_wait_days": ("days a new referral waits for a place (mean)", "number"),
    "prob_wait": ("referrals who had to wait for a place", "share"),
    "share_gave_up_waiting": ("referrals who gave up waiting", "share"),
    "caseload_per_specialist_mean": ("members per specialist (mean caseload)", "number"),
    "specialist_utilisation": ("specialists' direct hours in use", "share"),
    "program_cost_per_year": ("program cost per year", "money"),
    "cost_per_member_served": ("cost per member served", "money"),
    "cost_per_placement": ("cost per job started", "money"),
    "cost_per_employed_month": ("cost per month a member worked", "money"),
    "member_earnings_per_year": ("members' earnings per year", "money"),
    "cost": ("cost (chosen perspective, discounted)", "money"),
    "service_cost": ("program service cost (discounted)", "money"),
    "people_employed": ("people employed", "number"),
    "employed_months": ("months worked (discounted)", "number"),
    "earnings": ("members' earnings (discounted)", "money"),
}
RUN_OUTCOMES = ("ever_employed_rate", "quarterly_working_rate", "employed_members_mean", "mean_wait_days",
                "prob_wait", "share_gave_up_waiting", "caseload_per_specialist_mean", "specialist_utilisation")
RUN_COSTS = ("program_cost_per_year", "cost_per_member_served", "cost_per_placement", "cost_per_employed_month",
             "member_earnings_per_year")
COMPARE_ROWS = ("cost", "people_employed", "employed_months", "earnings", "ever_employed_rate",
                "mean_wait_days", "cost_per_member_served")
PLOT_TITLES = {
    "cost_effect.png": "Cost and people employed, with the efficient frontier",
    "ceac.png": "How likely each option is the best buy, by what you are willing to pay",
    "ce_plane.png": "Incremental cost against incremental people employed (one point per draw)",
    "budget.png": "Budget per year",
    "caseload_waitlist.png": "Caseload and waiting list over time",
    "employment.png": "Members working over time",
    "hours_by_activity.png": "Where specialists' hours go",
    "fidelity.png": "IPS fidelity items measured in the simulation",
    "frontier.png": "What each state budget buys (state-wide gain against new posts or dollars)",
    "gains.png": "Gain per program from its new posts, with 95% CI",
}


def folder_kind(folder: Path) -> str:
    """run, sweep, plan, comparison or state; UserError naming what a results folder holds otherwise."""
    if (folder / "allocation.csv").exists() and (folder / "frontier.csv").exists():
        return "state"
    if (folder / "comparison.csv").exists() and (folder / "incremental.csv").exists():
        return "comparison"
    if (folder / "sweep.csv").exists():
        return "sweep"
    if (folder / "plan.csv").exists():
        return "plan"
    if (folder / "summary.csv").exists():
        return "run"
    raise UserError([f"{folder}: (folder): no results found: give a folder written by ips-sim run, sweep, plan "
                     "(with --out), compare or state (it holds summary.csv, sweep.csv, plan.csv, comparison.csv "
                     "or allocation.csv)"])


# --------------------------------------------------------------------------- formatting


def fmt(x, kind: str = "number", currency: str = "") -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x):
        return "n/a"
    if kind == "share":
        return f"{100 * x:.0f}%" if abs(x) >= 0.1 else f"{100 * x:.1f}%"
    if kind == "money":
        return f"${x:,.0f}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"


def fmt_ci(lo, hi, kind: str = "number") -> str:
    return f"{fmt(lo, kind)} to {fmt(hi, kind)}"


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _plots(folder: Path, names) -> list[dict]:
    out = []
    for name in names:
        p = folder / name
        if p.exists():
            out.append({"title": PLOT_TITLES.get(name, name.removesuffix(".png").replace("_", " ")),
                        "uri": _data_uri(p), "file": name})
    return out


def _manifest(folder: Path) -> dict:
    p = folder / "manifest.json"
    if not p.exists():
        return {}
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def scenario_words(sc: dict) -> str:
    """A scenario in plain words (from its resolved JSON form)."""
    if not sc:
        return "The folder does not record the scenario."
    t, r, s, c = sc["team"], sc["referrals"], sc["simulation"], sc["costs"]
    arm = "usual vocational services" if sc.get("arm") == "usual_services" else "an IPS supported-employment team"
    who = (f"{r['cohort_size']} people referred together and followed for {12 * s['horizon_years']:g} months"
           if r["cohort_size"] and not r["rate_per_month"] else
           f"about {r['rate_per_month']:g} new referrals a month")
    sup = sc["supervision"]
    span = sup.get("specialists_per_supervisor")
    sup_words = (f"a supervisor ({sup['supervisor_fte']:g} FTE) who also covers other teams ({span} specialists in all)"
                 if span and span > t["specialists"] else f"a supervisor ({sup['supervisor_fte']:g} FTE) for this team")
    turnover = (f"specialists leave at {100 * sc['turnover']['annual_rate']:.0f}% a year and posts stay empty about "
                f"{sc['turnover']['hiring_delay_days']:g} days" if sc["turnover"]["enabled"] else "no staff turnover")
    persp = ("the funder's perspective (service costs only)" if c["perspective"] == "funder" else
             "a wider perspective (offsets: " + ", ".join(c["offsets"]) + ")")
    desc = f" ({sc['description']})" if sc.get("description") else ""
    return (f"{sc['name']}{desc}: {arm} with {t['specialists']} employment specialist(s) "
            f"({t['fte_per_specialist']:g} FTE each, at most {t['caseload_cap']} members each), {sup_words}, "
            f"{who}, {turnover}. The simulation runs {s['horizon_years']:g} years"
            + (f", the first {s['warmup_years']:g} as warm-up (not counted)" if s["warmup_years"] else "")
            + f". Costs are in {currency_label(c['price_year'])} from "
            f"{persp}, discounted at {100 * c['discount_rate']:g}% a year.")


def _value_at(sc: dict, path: str):
    node = sc
    for k in path.split("."):
        node = node[k]
    if isinstance(node, dict):
        return "; ".join(f"{k}: {v}" for k, v in node.items())
    if isinstance(node, list) or node is None:
        return json.dumps(node)
    return f"{node:g}" if isinstance(node, float) else str(node)


def assumptions(scenarios: list[dict]) -> list[dict]:
    """The cost items and the key behavioural defaults, with value (per option where they differ) and source."""
    keep = ("costs.", "team.caseload_cap", "referrals.rate_per_month", "jobs.hourly_wage_mean",
            "jobs.hours_per_week_mean", "turnover.annual_rate", "supervision.supervisor_fte")
    rows = []
    for r in defaults_table():
        p = r["parameter"]
        if not p.startswith(keep):
            continue
        value = r["value"]
        if scenarios:
            try:
                values = {sc.get("name", "?"): _value_at(sc, p) for sc in scenarios}
            except (KeyError, TypeError):
                values = {}
            distinct = set(values.values())
            if len(distinct) == 1:
                value = distinct.pop()
            elif values:
                value = "; ".join(f"{k}: {v}" for k, v in values.items())
        rows.append({"parameter": p, "value": value, "unit": r["unit"], "source": r["source"]})
    cpi = cpi_rows()
    rows.append({"parameter": "price index", "value": f"CPI-U {cpi[0]['year']}-{cpi[-1]['year']}",
                 "unit": "annual average, 1982-84 = 100", "source": cpi[0]["source"] + " (calibration/cpi_u.csv)"})
    return rows


def _table(df: pd.DataFrame, names, currency: str, cols=("mean", "ci_low", "ci_high")) -> list[dict]:
    out = []
    for name in names:
        row = df[df.metric == name]
        if row.empty:
            continue
        r = row.iloc[0]
        label, kind = LABELS.get(name, (name, "number"))
        out.append({"label": label, "metric": name, "value": fmt(r[cols[0]], kind),
                    "ci": fmt_ci(r[cols[1]], r[cols[2]], kind), "unit": currency if kind == "money" else ""})
    return out


def _fidelity(folder: Path) -> list[dict]:
    p = folder / "fidelity.csv"
    if not p.exists():
        return []
    f = pd.read_csv(p)
    g = f.groupby(["item", "unit"], sort=False).agg(value=("value", "mean"), score=("score", "mean")).reset_index()
    return [{"item": r.item.replace("_", " "), "value": fmt(r.value), "unit": r.unit, "score": f"{r.score:.1f}"}
            for r in g.itertuples()]


# --------------------------------------------------------------------------- contexts per kind


def _run_context(folder: Path, man: dict) -> dict:
    sc = man.get("scenario", {})
    currency = currency_label(sc["costs"]["price_year"]) if sc else "USD"
    s = pd.read_csv(folder / "summary.csv")
    get = {r.metric: r for r in s.itertuples()}

    def v(name, kind="number"):
        return fmt(get[name].mean, kind) if name in get else "n/a"

    specialists = sc.get("team", {}).get("specialists", "?")
    answer = (f"With {specialists} specialists, {v('ever_employed_rate', 'share')} of members find a competitive "
              f"job within 18 months of enrolling and about {v('employed_members_mean')} members are working at any "
              f"one time; a new referral waits {v('mean_wait_days')} days on average. The program costs "
              f"{v('program_cost_per_year', 'money')} a year ({currency}), {v('cost_per_member_served', 'money')} "
              f"per member served and {v('cost_per_employed_month', 'money')} per month a member worked.")
    budget = []
    if (folder / "budget.csv").exists():
        b = pd.read_csv(folder / "budget.csv")
        budget = [{"year": f"{int(r.year)} (from {r.begins})" if "begins" in b.columns else int(r.year),
                   "cost": fmt(r.service_cost, "money"), "fte": fmt(r.specialist_fte),
                   "served": fmt(r.members_served), "employed": fmt(r.people_employed)} for r in b.itertuples()]
    return {
        "kind": "run",
        "title": f"What the {sc.get('name', 'scenario')} program delivers and costs",
        "question": f"What will an IPS program with {specialists} specialists deliver, and what will it cost?",
        "answer": answer,
        "outcomes": _table(s, RUN_OUTCOMES, currency),
        "costs": _table(s, RUN_COSTS, currency),
        "staffing": [], "staffing_columns": [],
        "incremental": [], "icers": [],
        "budget": budget,
        "plots": _plots(folder, ("caseload_waitlist.png", "employment.png", "hours_by_activity.png")),
        "fidelity_plot": _plots(folder, ("fidelity.png",)),
        "scenario_text": scenario_words(sc), "scenario": sc, "currency": currency,
        "replications": man.get("replications"),
    }


def _sweep_context(folder: Path, man: dict) -> dict:
    sc = man.get("base_scenario", {})
    currency = currency_label(sc["costs"]["price_year"]) if sc else "USD"
    s = pd.read_csv(folder / "sweep.csv")
    fields = [c for c in s.columns if c not in ("point", "metric", "unit", "mean", "ci_low", "ci_high", "std",
                                                "replications")]
    show = [m for m in ("ever_employed_rate", "employed_members_mean", "mean_wait_days", "program_cost_per_year",
                        "cost_per_employed_month") if m in set(s.metric)]
    rows = []
    for _point, g in s.groupby("point", sort=True):
        first = g.iloc[0]
        cells = [str(first[f]) for f in fields]
        for m in show:
            r = g[g.metric == m].iloc[0]
            kind = LABELS.get(m, (m, "number"))[1]
            cells.append(f"{fmt(r['mean'], kind)} ({fmt_ci(r.ci_low, r.ci_high, kind)})")
        rows.append(cells)
    columns = fields + [LABELS.get(m, (m, ""))[0] + (f" ({currency})" if LABELS.get(m, ("", ""))[1] == "money" else "")
                        for m in show]
    varied = ", ".join(fields)
    best = ""
    if "ever_employed_rate" in show and "cost_per_employed_month" in show:
        cpe = s[s.metric == "cost_per_employed_month"].set_index("point")["mean"]
        p = cpe.idxmin()
        setting = ", ".join(f"{f} = {s[s.point == p].iloc[0][f]}" for f in fields)
        best = f" The lowest cost per month a member worked is at {setting} ({fmt(cpe[p], 'money')} {currency})."
    answer = (f"The table below shows how outcomes and costs change with {varied} over {len(rows)} settings, each "
              f"with {man.get('replications', '?')} replications on the same random numbers.{best}")
    return {
        "kind": "sweep", "title": f"Staffing comparison: {man.get('sweep', folder.name)}",
        "question": f"How do employment, waiting and cost change as {varied} change?",
        "answer": answer, "outcomes": [], "costs": [], "staffing": rows, "staffing_columns": columns,
        "incremental": [], "icers": [], "budget": [],
        "plots": _plots(folder / "plots", sorted(p.name for p in (folder / "plots").glob("*.png")))
        if (folder / "plots").exists() else [],
        "fidelity_plot": [], "scenario_text": scenario_words(sc), "scenario": sc, "currency": currency,
        "replications": man.get("replications"),
    }


def _plan_context(folder: Path, man: dict) -> dict:
    p = pd.read_csv(folder / "plan.csv")
    text = (folder / "plan.txt").read_text(encoding="utf-8") if (folder / "plan.txt").exists() else ""
    answer = text.split("\n\n")[0].strip() or "See the table."
    field = p.columns[0]
    columns = [field, "replications", "target", "mean", "95% CI", "verdict"]
    rows = [[str(r[field]), str(r["replications"]), f"{r['metric']} {r['op']} {r['threshold']:g}", fmt(r["mean"]),
             fmt_ci(r["ci_low"], r["ci_high"]), r["target_verdict"]] for _, r in p.iterrows()]
    targets = ", ".join(sorted({f"{r['metric']} {r['op']} {r['threshold']:g}" for _, r in p.iterrows()}))
    sc = man.get("scenario", {})
    return {
        "kind": "plan", "title": f"Staffing plan: smallest {field} meeting the targets",
        "question": f"What is the smallest {field} that meets {targets} with 95% confidence?",
        "answer": answer, "outcomes": [], "costs": [], "staffing": rows, "staffing_columns": columns,
        "incremental": [], "icers": [], "budget": [], "plots": [], "fidelity_plot": [],
        "scenario_text": scenario_words(sc) if sc else "plan.csv does not record the scenario; see the command below.",
        "scenario": sc, "currency": "USD", "replications": None,
    }


def _state_context(folder: Path, man: dict) -> dict:
    """A state's allocation: which programs get the new posts, the gain with CI, what each budget buys."""
    a = pd.read_csv(folder / "allocation.csv")
    text = (folder / "state.txt").read_text(encoding="utf-8") if (folder / "state.txt").exists() else ""
    lines = [ln for ln in text.splitlines() if ln.startswith("State-wide gain") or ln.startswith("Allocation")]
    budget = man.get("budget", {})
    unit = man.get("objective_unit", "")
    columns = ["program", "posts now", "posts added", "posts after", f"gain ({unit})", "95% CI"]
    rows = [[str(r["program"]), str(int(r["posts_now"])), str(int(r["posts_added"])), str(int(r["posts_after"])),
             fmt(r["gain"]), fmt_ci(r["gain_ci_low"], r["gain_ci_high"])] for _, r in a.iterrows()]
    added = a[a["posts_added"] > 0]
    answer = " ".join(ln.rstrip(":") + ("." if ln.endswith(":") else "") for ln in lines) or "See the table."
    amount = " or ".join(f"{v:,.0f} {k}" for k, v in budget.items() if isinstance(v, (int, float))) or "the budget"
    if len(added):
        answer += " New posts go to " + ", ".join(f"{r.program} (+{int(r.posts_added)})" for r in added.itertuples()) + "."
    return {
        "kind": "state", "title": f"State-wide plan: {man.get('state', folder.name)}",
        "question": (f"With {amount} more a year, which programs should get new specialist posts, and what does "
                     f"the state gain ({unit})?"),
        "answer": answer, "outcomes": [], "costs": [], "staffing": rows, "staffing_columns": columns,
        "incremental": [], "icers": [], "budget": [], "plots": _plots(folder, ["frontier.png", "gains.png"]),
        "fidelity_plot": [],
        "scenario_text": (f"{len(a)} programs from {man.get('state_file', 'the state file')}; each program is an "
                          "ordinary scenario (see the state file), evaluated at every staffing level it can take "
                          "with common random numbers."),
        "scenario": {}, "currency": "USD", "replications": man.get("replications"),
    }


def _compare_context(folder: Path, man: dict) -> dict:
    comp = pd.read_csv(folder / "comparison.csv")
    inc = pd.read_csv(folder / "incremental.csv")
    icers = pd.read_csv(folder / "icers.csv") if (folder / "icers.csv").exists() else pd.DataFrame()
    currency = man.get("currency", "USD")
    basis = man.get("basis", "")
    comparator = man.get("comparator", "")
    options = man.get("options", list(dict.fromkeys(comp.option)))
    scenarios = man.get("scenarios", {})
    # One row per measure, one column per option: reads down a page even with many options.
    columns = ["measure"] + list(options)
    rows = []
    for m in COMPARE_ROWS:
        label, kind = LABELS[m]
        if m == "people_employed" and basis == "per participant":
            label, kind = "participants employed", "share"
        cells = [label + (f" ({currency})" if kind == "money" else "")]
        for o in options:
            g = comp[(comp.option == o) & (comp.metric == m)]
            cells.append("n/a" if g.empty else
                         f"{fmt(g.iloc[0]['mean'], kind)} ({fmt_ci(g.iloc[0].ci_low, g.iloc[0].ci_high, kind)})")
        rows.append(cells)
    inc_rows = []
    for r in inc.itertuples():
        kind = "money" if str(r.unit).startswith("USD") else "number"
        inc_rows.append({"option": r.option, "comparator": r.comparator, "quantity": r.quantity,
                         "value": fmt(r.mean, kind), "ci": fmt_ci(r.ci_low, r.ci_high, kind)
                         if math.isfinite(r.ci_low) else "not bounded (effect not significant)",
                         "unit": r.unit, "method": r.ci_method})
    icer_rows = []
    if not icers.empty:
        for r in icers[icers.effect_measure == "people_employed"].itertuples():
            icer_rows.append({"option": r.strategy, "cost": fmt(r.cost, "money"), "effect": fmt(r.effect),
                              "inc_cost": fmt(r.inc_cost, "money"), "inc_effect": fmt(r.inc_effect),
                              "icer": fmt(r.icer, "money"),
                              "status": {"ND": "on the frontier", "ED": "extendedly dominated",
                                         "D": "dominated"}[r.status]})
    sentences = []
    for o in options:
        if o == comparator:
            continue
        g = inc[inc.option == o].set_index("quantity")
        dc, de = g.loc["incremental cost"], g.loc["incremental people employed"]
        ratio = g.loc["cost per additional person employed"]
        people = "percentage points more participants employed" if basis == "per participant" else \
            "more people employed a year"
        de_txt = fmt(100 * de["mean"]) if basis == "per participant" else fmt(de["mean"])
        ci_txt = (f"95% CI {fmt(ratio.ci_low, 'money')} to {fmt(ratio.ci_high, 'money')}"
                  if math.isfinite(ratio.ci_low) else "its CI is unbounded")
        sentences.append(f"{o} costs {fmt(dc['mean'], 'money')} more {basis} than {comparator} and gives "
                         f"{de_txt} {people}: {fmt(ratio['mean'], 'money')} per additional person employed ({ci_txt}).")
    frontier = [r["option"] for r in icer_rows if r["status"] == "on the frontier"]
    off = [f"{r['option']} ({r['status']})" for r in icer_rows if r["status"] != "on the frontier"]
    answer = " ".join(sentences) + (f" Worth considering at some price (the efficient frontier): {', '.join(frontier)}."
                                    if frontier else "")
    if off:
        answer += f" Never the best buy: {', '.join(off)}."
    answer += f" All costs in {currency}, discounted, {basis}."
    sc0 = scenarios.get(comparator) or (next(iter(scenarios.values())) if scenarios else {})
    return {
        "kind": "comparison", "title": "Economic evaluation: " + " vs ".join(options),
        "question": f"What do {', '.join(o for o in options if o != comparator)} cost and buy compared with "
                    f"{comparator}, in {currency}?",
        "answer": answer, "outcomes": [], "costs": [], "staffing": rows, "staffing_columns": columns,
        "incremental": inc_rows, "icers": icer_rows, "budget": [],
        "plots": _plots(folder, ("cost_effect.png", "ceac.png", "ce_plane.png", "budget.png")),
        "fidelity_plot": [],
        "scenario_text": scenario_words(sc0) if len(scenarios) < 2 else "",
        "scenario_list": [scenario_words(s) for s in scenarios.values()] if len(scenarios) > 1 else [],
        "scenario": sc0, "currency": currency, "replications": man.get("replications"),
        "basis": basis, "parameter_uncertainty": man.get("parameter_uncertainty", False),
        "cost_uncertainty": man.get("cost_uncertainty", []),
    }


def report_context(folder: Path) -> dict:
    folder = Path(folder)
    kind = folder_kind(folder)
    man = _manifest(folder)
    ctx = {"run": _run_context, "sweep": _sweep_context, "plan": _plan_context,
           "comparison": _compare_context, "state": _state_context}[kind](folder, man)
    ctx.setdefault("basis", "")
    ctx.setdefault("scenario_list", [])
    ctx.setdefault("parameter_uncertainty", False)
    ctx.setdefault("cost_uncertainty", [])
    ctx["fidelity"] = _fidelity(folder)
    scenarios = list(man.get("scenarios", {}).values()) or ([ctx["scenario"]] if ctx.get("scenario") else [])
    ctx["assumptions"] = assumptions(scenarios)
    ctx["reproduce"] = {
        "command": man.get("command", "(not recorded; plan.txt / the folder name say what was run)"),
        "seed": man.get("seed", (ctx.get("scenario") or {}).get("simulation", {}).get("seed", "not recorded")),
        "version": (man.get("versions") or {}).get("ips-sim", __version__),
        "folder": str(folder),
    }
    return ctx


def breakable(text) -> Markup:
    """HTML-escaped text with line-break opportunities after dots and underscores (long field names)."""
    return Markup(re.sub(r"([._])", r"\1<wbr>", str(escape(text))))


def _env() -> Environment:
    env = Environment(loader=PackageLoader("ips_sim.reporting", "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"], default_for_string=False),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["breakable"] = breakable
    return env


def render(folder: Path) -> tuple[str, str]:
    """(report.html, report.md) of a results folder."""
    ctx = report_context(folder)
    env = _env()
    html = env.get_template("report.html.j2").render(**ctx)
    md_env = Environment(loader=PackageLoader("ips_sim.reporting", "templates"), undefined=StrictUndefined, autoescape=False,
                         trim_blocks=True, lstrip_blocks=True)
    md = md_env.get_template("report.md.j2").render(**ctx)
    return html, md


def write_report(folder: Path) -> list[Path]:
    """Write report.html and report.md into the results folder (each file replaced whole)."""
    folder = Path(folder)
    html, md = render(folder)
    out = []
    for name, text in (("report.html", html), ("report.md", md)):
        path = folder / name
        tmp = folder / f".{name}.tmp-{os.getpid()}"
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise UserError([f"{path}: (file): cannot write: {exc.strerror}"]) from None
        out.append(path)
    _add_to_stamp(folder, [p.name for p in out])
    return out


def _add_to_stamp(folder: Path, names: list[str]) -> None:
    """List the report files in the folder's output stamp, so the folder stays ips-sim's own."""
    from ips_sim.runner.output import MANIFEST, read_stamp, write_json

    stamp = read_stamp(folder)
    if not stamp or "files" not in stamp:
        return
    with open(folder / MANIFEST, encoding="utf-8") as f:
        doc = json.load(f)
    doc["output"]["files"] = sorted(set(doc["output"]["files"]) | set(names))
    write_json(folder / MANIFEST, doc)
