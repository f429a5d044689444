"""The board report: ``report.html`` (one self-contained file) and ``report.md`` from a results folder.

Reads what a command wrote - a run (summary.csv), a sweep (sweep.csv), a plan
(plan.csv), a comparison (comparison.csv + incremental.csv) or a state plan
(allocation.csv) - and renders the jinja2 templates in
``ips_sim/reporting/templates``: the question in one sentence, the answer in one
paragraph, the scenario in plain words, then only the sections the folder has
content for (outcomes and costs, staffing comparison, budget impact, what the
extra spending buys, plots, fidelity, value of information, one-way
sensitivity), the assumptions with their sources, how to reproduce it, and the
reporting checklists (STRESS-DES, CHEERS 2022) as an appendix. Plots are
embedded as base64 data URIs, so the page makes no external requests.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, UndefinedError, select_autoescape
from markupsafe import Markup, escape

from ips_sim.config import defaults_table
from ips_sim.config.prices import cpi_rows, currency_label
from ips_sim.core.errors import EnvironmentFault, UserError
from ips_sim.core.version import __version__
from ips_sim.reporting.benefit_report import benefit_cost_context
from ips_sim.reporting.report_images import plots_in
from ips_sim.reporting.wording import (
    LABELS,
    fmt,
    fmt_ci,
    in_sentence,
    long_date,
    metric_kind,
    option_label,
    parameter_label,
    period_words,
    plain_ids,
    scenario_words,
)

RUN_OUTCOMES = ("ever_employed_rate", "quarterly_working_rate", "employed_members_mean",
                "people_employed_per_year", "mean_wait_days", "prob_wait", "share_gave_up_waiting",
                "enrolled_within_30_days_share", "waitlist_max", "caseload_per_specialist_mean",
                "specialist_utilisation")
RUN_COSTS = ("program_cost_per_year", "cost_per_member_served", "cost_per_placement", "cost_per_employed_month",
             "member_earnings_per_year")


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
    if (folder / "sensitivity.csv").exists() and (folder / "ranges_used.csv").exists():
        return "sensitivity"
    raise UserError([f"{folder}: (folder): no results found: give a folder written by ips-sim run, sweep, plan "
                     "(with --out), compare, state or sensitivity (it holds summary.csv, sweep.csv, plan.csv, "
                     "comparison.csv, allocation.csv or sensitivity.csv)"])




def _manifest(folder: Path) -> dict:
    p = folder / "manifest.json"
    if not p.exists():
        return {}
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def _value_at(sc: dict, path: str):
    node = sc
    for k in path.split("."):
        node = node[k]
    if isinstance(node, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in node.items())
    if isinstance(node, list):
        return ", ".join(map(str, node)) or "none"
    if node is None:
        return "latest year of the price index"
    if isinstance(node, float):
        return f"{node:,.0f}" if abs(node) >= 1000 else f"{node:.4g}"
    return str(node)


def assumptions(scenarios: list[dict]) -> list[dict]:
    """The cost items and the key behavioural defaults, with value (per option where they differ) and source."""
    keep = ("costs.", "team.caseload_cap", "referrals.rate_per_month", "jobs.hourly_wage_mean",
            "jobs.hours_per_week_mean", "turnover.annual_rate", "supervision.supervisor_fte")
    rows = []
    cpi = cpi_rows()
    for r in defaults_table():
        p = r["parameter"]
        if not p.startswith(keep):
            continue
        value = r["value"]
        if scenarios:
            try:
                values = {option_label(sc): _value_at(sc, p) for sc in scenarios}
            except (KeyError, TypeError):
                values = {}
            distinct = set(values.values())
            if len(distinct) == 1:
                value = distinct.pop()
            elif values:
                value = "; ".join(f"{k}: {v}" for k, v in values.items())
        if p == "costs.price_year" and value in ("", "latest year of the price index"):
            value = f"{cpi[-1]['year']} (the latest year of the price index)"
        rows.append({"parameter": parameter_label(p), "value": plain_ids(value), "unit": plain_ids(r["unit"]),
                     "source": plain_ids(r["source"])})
    rows.append({"parameter": "price index", "value": f"CPI-U {cpi[0]['year']}-{cpi[-1]['year']}",
                 "unit": "annual average, 1982-84 = 100", "source": cpi[0]["source"]})
    return rows


def metric_rows(df: pd.DataFrame, names, currency: str, cols=("mean", "ci_low", "ci_high")) -> list[dict]:
    out = []
    for name in names:
        row = df[df.metric == name]
        if row.empty:
            continue
        r = row.iloc[0]
        label = LABELS.get(name, (name.replace("_", " "), ""))[0]
        kind = metric_kind(name)
        out.append({"label": label, "metric": name, "value": fmt(r[cols[0]], kind),
                    "ci": fmt_ci(r[cols[1]], r[cols[2]], kind), "unit": currency if kind == "money" else ""})
    return out


def _fidelity(folder: Path) -> list[dict]:
    p = folder / "fidelity.csv"
    if not p.exists():
        return []
    f = pd.read_csv(p)
    g = f.groupby(["item", "unit"], sort=False).agg(value=("value", "mean"), score=("score", "mean")).reset_index()
    return [{"item": r.item.replace("_", " ").capitalize(),
             "value": fmt(r.value, "share" if str(r.unit).startswith("share") else "number"), "unit": r.unit,
             "score": "" if pd.isna(r.score) else f"{r.score:.1f}"} for r in g.itertuples()]


def _sensitivity(folder: Path) -> tuple[list[dict], list[dict]]:
    """One-way sensitivity (tornado) rows and plots, from the folder or its sensitivity/ subfolder."""
    for d in (folder, folder / "sensitivity"):
        p = d / "sensitivity.csv"
        if p.exists():
            t = pd.read_csv(p)
            rows = []
            for outcome, g in t.groupby("outcome", sort=False):
                kind = metric_kind(outcome)
                label = LABELS.get(outcome, (outcome.replace("_", " "), ""))[0]
                g = g.assign(size=g["swing"].abs()).sort_values("size", ascending=False)
                for r in g.head(8).itertuples():
                    rows.append({"outcome": label, "parameter": parameter_label(r.parameter),
                                 "range": f"{r.low:,.4g} to {r.high:,.4g}", "at_low": fmt(r.at_low, kind),
                                 "at_high": fmt(r.at_high, kind), "swing": fmt(abs(r.swing), kind)})
            return rows, plots_in(d, sorted(x.name for x in d.glob("sensitivity_*.png")))
    return [], []


# --------------------------------------------------------------------------- contexts per kind


def _waiting_sentence(get, v) -> str:
    """What waiting looks like, when people wait (share waiting, giving up, enrolled within 30 days)."""
    wait = get["prob_wait"].mean if "prob_wait" in get else 0.0
    if not wait or wait < 0.05:
        return ""
    text = f" {v('prob_wait', 'share')} of new referrals have to wait for a place"
    if "share_gave_up_waiting" in get and get["share_gave_up_waiting"].mean >= 0.005:
        text += f" and {v('share_gave_up_waiting', 'share')} give up waiting before one opens"
    if "enrolled_within_30_days_share" in get:
        text += f"; {v('enrolled_within_30_days_share', 'share')} are enrolled within 30 days of referral"
    return text + "."


def _run_context(folder: Path, man: dict) -> dict:
    sc = man.get("scenario", {})
    currency = currency_label(sc["costs"]["price_year"]) if sc else "USD"
    s = pd.read_csv(folder / "summary.csv")
    get = {r.metric: r for r in s.itertuples()}

    def v(name, kind="number"):
        return fmt(get[name].mean, kind) if name in get else "n/a"

    label = option_label(sc) if sc else "the scenario"
    usual = sc.get("arm") == "usual_services"
    n = sc.get("team", {}).get("specialists", "?")
    who = "Usual services" if usual else f"With {n} specialist{'s' if n != 1 else ''}"
    answer = (f"{who}, {v('ever_employed_rate', 'share')} of members find a competitive job within 18 months of "
              f"enrolling, about {v('employed_members_mean')} members are working at any one time and "
              f"{v('people_employed_per_year')} people hold a job in a year. A new referral who enrolls waits "
              f"{v('mean_wait_days')} days on average.{_waiting_sentence(get, v)} The program costs "
              f"{v('program_cost_per_year', 'money')} a year ({currency}), {v('cost_per_member_served', 'money')} "
              f"per member served and {v('cost_per_employed_month', 'money')} per month a member worked. "
              f"{period_words(sc)}.")
    budget = []
    if (folder / "budget.csv").exists():
        b = pd.read_csv(folder / "budget.csv")
        for r in b.itertuples():
            year = f"year {int(r.year)}"
            if "begins" in b.columns:
                d0 = pd.Timestamp(r.begins)
                d1 = d0 + pd.DateOffset(months=12) - pd.DateOffset(days=1)
                year = f"{d0.strftime('%b %Y')} to {d1.strftime('%b %Y')}"
            budget.append({"year": year, "cost": fmt(r.service_cost, "money"), "fte": fmt(r.specialist_fte),
                           "served": fmt(r.members_served), "employed": fmt(r.people_employed)})
    start = (sc.get("start") or {}).get("date")
    named = in_sentence(label)
    question = (f"What will {named} deliver from {long_date(start)}, and what will it cost?" if start else
                f"What will {named} deliver, and what will it cost?")
    return {
        "kind": "run",
        "title": f"{label}: what it delivers and what it costs",
        "question": question,
        "answer": answer,
        "outcomes": metric_rows(s, RUN_OUTCOMES, currency),
        "costs": metric_rows(s, RUN_COSTS, currency),
        "budget": budget, "budget_calendar": bool(start),
        "plots": plots_in(folder, ("caseload_waitlist.png", "waitlist_fan.png", "employment.png",
                                   "employed_fan.png", "hours_by_activity.png")),
        "fidelity_plot": plots_in(folder, ("fidelity.png",)),
        "scenario_text": scenario_words(sc), "scenario": sc, "currency": currency,
        "replications": man.get("replications"),
    }


def _sweep_context(folder: Path, man: dict) -> dict:
    sc = man.get("base_scenario", {})
    currency = currency_label(sc["costs"]["price_year"]) if sc else "USD"
    s = pd.read_csv(folder / "sweep.csv")
    fields = [c for c in s.columns if c not in ("point", "metric", "unit", "mean", "ci_low", "ci_high", "std",
                                                "replications")]
    show = [m for m in ("ever_employed_rate", "employed_members_mean", "mean_wait_days", "share_gave_up_waiting",
                        "program_cost_per_year", "cost_per_employed_month") if m in set(s.metric)]
    rows = []
    for _point, g in s.groupby("point", sort=True):
        first = g.iloc[0]
        cells = [str(first[f]) for f in fields]
        for m in show:
            r = g[g.metric == m].iloc[0]
            kind = metric_kind(m)
            cells.append(f"{fmt(r['mean'], kind)} ({fmt_ci(r.ci_low, r.ci_high, kind)})")
        rows.append(cells)
    columns = [parameter_label(f) for f in fields] + [
        LABELS[m][0] + (f" ({currency})" if metric_kind(m) == "money" else "") for m in show]
    varied = " and ".join(parameter_label(f) for f in fields)
    best = ""
    if "cost_per_employed_month" in show:
        cpe = s[s.metric == "cost_per_employed_month"].set_index("point")["mean"]
        p = cpe.idxmin()
        setting = " and ".join(f"{parameter_label(f).lower()} is {s[s.point == p].iloc[0][f]}" for f in fields)
        best = (f" The lowest cost per month a member worked is where {setting} ({fmt(cpe[p], 'money')}, "
                f"{currency}).")
    answer = (f"The table below shows how outcomes and costs change with {varied} over {len(rows)} settings, each "
              f"with {man.get('replications', '?')} replications on the same random numbers.{best}")
    return {
        "kind": "sweep", "title": f"Staffing comparison: {option_label({}, man.get('sweep', folder.name))}",
        "question": f"How do employment, waiting and cost change with {varied}?",
        "answer": answer, "staffing": rows, "staffing_columns": columns,
        "plots": plots_in(folder / "plots", sorted(p.name for p in (folder / "plots").glob("*.png")))
        if (folder / "plots").exists() else [],
        "scenario_text": scenario_words(sc), "scenario": sc, "currency": currency,
        "replications": man.get("replications"),
    }


def _plan_context(folder: Path, man: dict) -> dict:
    from ips_sim.reporting.report_plan import plan_context

    return plan_context(folder, man)


def _state_context(folder: Path, man: dict) -> dict:
    """A state's allocation: which programs get the new posts, the gain with CI, what each budget buys."""
    a = pd.read_csv(folder / "allocation.csv")
    text = (folder / "state.txt").read_text(encoding="utf-8") if (folder / "state.txt").exists() else ""
    lines = [ln for ln in text.splitlines() if ln.startswith("State-wide gain") or ln.startswith("Allocation")]
    budget = man.get("budget", {})
    unit = man.get("objective_unit", "").replace("_", " ")
    columns = ["program", "posts now", "posts added", "posts after", f"gain ({unit})", "95% CI"]
    rows = [[option_label({}, str(r["program"])), str(int(r["posts_now"])), str(int(r["posts_added"])),
             str(int(r["posts_after"])), fmt(r["gain"]), fmt_ci(r["gain_ci_low"], r["gain_ci_high"])]
            for _, r in a.iterrows()]
    added = a[a["posts_added"] > 0]
    answer = " ".join(ln.rstrip(":") + ("." if ln.endswith(":") else "") for ln in lines) or "See the table."
    answer = re.sub(r"\b([a-z]+(?:_[a-z0-9]+)+)\b", lambda m: m.group(1).replace("_", " "), answer)
    amount = " or ".join(f"{v:,.0f} {k}" for k, v in budget.items() if isinstance(v, (int, float))) or "the budget"
    if len(added):
        answer += " New posts go to " + ", ".join(f"{option_label({}, r.program)} (+{int(r.posts_added)})"
                                                  for r in added.itertuples()) + "."
    return {
        "kind": "state", "title": f"State-wide plan: {option_label({}, man.get('state', folder.name))}",
        "question": (f"With {amount} more a year, which programs should get new specialist posts, and what does "
                     f"the state gain ({unit})?"),
        "answer": answer, "staffing": rows, "staffing_columns": columns,
        "plots": plots_in(folder, ["frontier.png", "gains.png"]),
        "scenario_text": (f"{len(a)} programs from the state file; each program is an ordinary scenario, "
                          "evaluated at every staffing level it can take with common random numbers."
                          + _state_draws_text(man)),
        "scenario": {}, "currency": "USD", "replications": man.get("replications"),
    }


def _state_draws_text(man: dict) -> str:
    """With parameter uncertainty: which programs ran on their own posterior, which on the national draws."""
    if not man.get("parameter_uncertainty"):
        return ""
    own = [p["name"] for p in man.get("programs", []) if (p.get("parameter_draws") or {}).get("kind", "")
           .startswith("the scenario's own")]
    rest = [p["name"] for p in man.get("programs", []) if p["name"] not in own]
    parts = ([f"{', '.join(own)} on {'its' if len(own) == 1 else 'their'} own posterior (parameter_draws)"]
             if own else []) + (
        [f"{', '.join(rest)} on the national calibration draws"] if rest else [])
    return " Parameter uncertainty included: replication i used parameter draw i, " + "; ".join(parts) + "."


def _sensitivity_context(folder: Path, man: dict) -> dict:
    """Which assumptions matter: the one-way swings (tornado) of each outcome; the table is the section."""
    sc = man.get("scenario", {})
    rows, _ = _sensitivity(folder)
    outcomes = list(dict.fromkeys(r["outcome"] for r in rows))
    parts = []
    for o in outcomes:
        top = [r for r in rows if r["outcome"] == o][:3]
        parts.append(f"{o[:1].upper() + o[1:]} moves most with " + "; ".join(
            f"{r['parameter']} ({r['at_low']} at the low end, {r['at_high']} at the high end)" for r in top) + ".")
    label = option_label(sc) if sc else "the scenario"
    return {
        "kind": "sensitivity", "title": f"Which assumptions matter: {label}",
        "question": f"Which assumptions, over their plausible ranges, change {' and '.join(outcomes)} the most?",
        "answer": " ".join(parts) + " Each assumption was set to the low and the high end of its range with the "
                                    "others at the scenario's values, on the same random numbers."
                  + (f" Replication i of every setting used parameter draw i of {used['kind']} ({used['count']} draws)."
                     if (used := man.get("parameter_uncertainty")) else ""),
        "scenario_text": scenario_words(sc), "scenario": sc,
        "currency": currency_label(sc["costs"]["price_year"]) if sc else "USD",
        "replications": man.get("replications_per_point"),
    }


def _compare_context(folder: Path, man: dict) -> dict:
    from ips_sim.reporting.report_compare import compare_context

    return compare_context(folder, man)


DEFAULTS = {"outcomes": [], "costs": [], "staffing": [], "staffing_columns": [], "staffing_note": "",
            "incremental": [], "icers": [], "budget": [], "budget_calendar": False, "budget_impact": [],
            "budget_impact_note": "", "plots": [], "fidelity_plot": [], "basis": "", "scenario_list": [],
            "parameter_uncertainty": False, "cost_uncertainty": [], "evpi": [], "evpi_note": "",
            "scenario_text": ""}


def report_context(folder: Path) -> dict:
    from ips_sim.reporting.checklists import checklists

    folder = Path(folder)
    kind = folder_kind(folder)
    man = _manifest(folder)
    ctx = {"run": _run_context, "sweep": _sweep_context, "plan": _plan_context,
           "comparison": _compare_context, "state": _state_context,
           "sensitivity": _sensitivity_context}[kind](folder, man)
    for k, v in DEFAULTS.items():
        ctx.setdefault(k, v)
    ctx["fidelity"] = _fidelity(folder)
    ctx["benefit_cost"] = benefit_cost_context(folder)  # the public-purse section (benefit_report.py)
    ctx["sensitivity"], ctx["sensitivity_plots"] = _sensitivity(folder)
    scenarios = list(man.get("scenarios", {}).values()) or ([ctx["scenario"]] if ctx.get("scenario") else [])
    ctx["assumptions"] = assumptions(scenarios)
    ctx["reproduce"] = {
        "command": man.get("command", "(not recorded; plan.txt and the folder name say what was run)"),
        "seed": man.get("seed", (ctx.get("scenario") or {}).get("simulation", {}).get("seed", "not recorded")),
        "version": (man.get("versions") or {}).get("ips-sim", __version__),
        "folder": str(folder),
    }
    ctx["checklists"] = checklists(folder, kind, man, ctx)
    return ctx


def breakable(text) -> Markup:
    """HTML-escaped text with line-break opportunities after dots, slashes and underscores (long names)."""
    return Markup(re.sub(r"([._/])", r"\1<wbr>", str(escape(text))))


def _env() -> Environment:
    env = Environment(loader=PackageLoader("ips_sim.reporting", "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"], default_for_string=False),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["breakable"] = breakable
    return env


def render(folder: Path, ctx: dict | None = None) -> tuple[str, str]:
    """(report.html, report.md) of a results folder."""
    ctx = ctx or report_context(folder)
    env = _env()
    html = env.get_template("report.html.j2").render(**ctx)
    md_env = Environment(loader=PackageLoader("ips_sim.reporting", "templates"), undefined=StrictUndefined,
                         autoescape=False, trim_blocks=True, lstrip_blocks=True)
    md = md_env.get_template("report.md.j2").render(**ctx)
    return html, md


REPORT_FILES = ("report.html", "report.md")
SOURCE_TABLES = {"run": "summary.csv", "sweep": "sweep.csv", "plan": "plan.csv", "comparison": "comparison.csv",
                 "state": "allocation.csv", "sensitivity": "sensitivity.csv"}


def write_report(folder: Path) -> list[Path]:
    """Write report.html, report.md and the two reporting checklists into the results folder (each replaced whole).

    Holds the folder's lock (no command may be writing it) and never replaces a file of those
    names that ips-sim did not write (listed in the folder's stamp).
    """
    from ips_sim.reporting.checklists import checklist_markdown
    from ips_sim.runner.output import folder_lock, read_stamp, resolved

    folder = Path(folder)
    with folder_lock(resolved(folder), lambda why: UserError([f"{folder}: (folder): {why}"])):
        stamp = read_stamp(folder)
        ours = set(stamp["files"]) if stamp else set()
        for name in REPORT_FILES:
            if (folder / name).exists() and name not in ours:
                raise UserError([f"{folder / name}: (file): was not written by ips-sim; it is never replaced: "
                                 "move or rename it and run ips-sim report again"])
        kind = folder_kind(folder)
        table = SOURCE_TABLES.get(kind, "manifest.json")  # a kind added later: at least its stamp
        if table not in ours:
            raise UserError([f"{folder / table}: (file): not written by ips-sim (the folder's manifest.json does not "
                             "list it): give a folder written by ips-sim run, sweep, plan, compare, state or sensitivity"])
        try:
            ctx = report_context(folder)
            html, md = render(folder, ctx)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError, LookupError, UndefinedError) as exc:
            # pandas' empty-data and parser errors are ValueErrors; a missing column is a KeyError
            raise UserError([f"{folder / table}: (file): not a table ips-sim wrote, or empty "
                             f"({type(exc).__name__}: {str(exc)[:80]}): give a folder written by ips-sim"]) from None
        files = [("report.html", html), ("report.md", md)]
        files += [(c["file"], checklist_markdown(c)) for c in ctx["checklists"]]
        for name, _ in files[2:]:
            if (folder / name).exists() and name not in ours:
                raise UserError([f"{folder / name}: (file): was not written by ips-sim; it is never replaced: "
                                 "move or rename it and run ips-sim report again"])
        out = []
        for name, text in files:
            path = folder / name
            tmp = folder / f".{name}.tmp-{os.getpid()}"
            try:
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, path)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise EnvironmentFault([f"{path}: (file): cannot write: {exc.strerror}: free space or fix "
                                        "permissions and run ips-sim report again"]) from None
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
