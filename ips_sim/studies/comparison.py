"""Economic comparison of options: paired replications, incremental analysis, ICERs, acceptability.

Every option runs the same replication indices with the same seed, so replication
i of every option shares its random numbers (common random numbers): differences
are taken replication by replication (paired), which removes most of the noise
the options share. Costs and effects are per participant for cohort (trial-style)
options and per program-year for running programs (``costs.unit_label``).

With parameter uncertainty, replication i of every option uses parameter draw i
(the calibration draws of behavioural parameters, ``calibration/draws.csv``) and
cost draw i (``COST_UNCERTAINTY``), so the spread of incremental cost and effect
across replications carries both; the acceptability curve, net monetary benefit
and EVPI are computed over those draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ips_sim.analysis.metrics import METRICS, replication_metrics
from ips_sim.config import Scenario
from ips_sim.config.prices import currency_label
from ips_sim.core.streams import stream_seed
from ips_sim.economics import benefit_cost, cea
from ips_sim.economics.budget_impact import budget_impact
from ips_sim.economics.costs import ECONOMIC_OUTCOMES, economic_outcomes, is_cohort, unit_label, with_public_purse
from ips_sim.runner.experiment import run_replications
from ips_sim.sim.records import FrozenRecords

# Cost inputs varied in a probabilistic analysis: (field, low factor, high factor, source).
# Uniform on [low x value, high x value] of each option's own value; one draw per replication,
# shared by all options.
COST_UNCERTAINTY = (
    ("costs.specialist_cost_per_fte_year", 37_339 / 44_082, 49_603 / 44_082,
     "range of direct cost per specialist across the 7 programs of Latimer et al. 2004 ($37,339-$49,603)"),
    ("costs.cost_per_member_month", 0.5, 1.5,
     "assumption: the usual-services cost per member-month is itself an assumption; +/- 50%"),
    # Benefit inputs of the public purse (appended: the draws above keep their values).
    ("benefits.ssdi_monthly_benefit", 900 / 1547, 1700 / 1547,
     "assumption range of the SSDI amount ($900-$1,700; calibration/assumption_ranges.csv)"),
    ("benefits.concurrent_ssdi_monthly_benefit", 0.5, 1.5,
     "assumption range of a concurrent beneficiary's SSDI ($300-$900)"),
    ("benefits.counsellor_cost_per_hour", 0.6, 1.8, "assumption range of a counselling hour ($30-$90)"),
)
EFFECTS = (("people_employed", "additional person employed"), ("employed_months", "additional employed month"))
COMPARISON_METRICS = tuple(n for n, _, _ in ECONOMIC_OUTCOMES) + (
    "ever_employed_rate", "quarterly_working_rate", "employed_members_mean", "placements", "mean_wait_days",
    "prob_wait", "caseload_per_specialist_mean", "specialist_utilisation", "program_cost_per_year",
    "cost_per_employed_month")


def comparison_outcomes(rec: FrozenRecords, scenario: Scenario) -> dict:
    """Run metrics, economic outcomes and the budget rows of one replication."""
    out = dict(replication_metrics(rec, scenario))
    rows = with_public_purse(rec, scenario)
    out.update(economic_outcomes(rec, scenario, rows))
    out["_budget"] = rows
    return out


@dataclass
class Comparison:
    options: list[Scenario]
    comparator: int
    rows: list[list[dict]]                 # option -> replication -> outcomes
    budgets: list[pd.DataFrame]            # option -> mean budget per year
    seed: int
    replications: int
    parameter_uncertainty: bool
    basis: str
    currency: str
    cost_draws: list[dict] = field(default_factory=list)

    def values(self, k: int, name: str) -> np.ndarray:
        return np.array([r.get(name, math.nan) for r in self.rows[k]], float)

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.options]

    @property
    def labels(self) -> list[str]:
        """What people call the options (``label``, else the name in words)."""
        return [o.display_label for o in self.options]


def pick_comparator(options: list[Scenario], comparator: int | None) -> int:
    """The comparator: as given, else the first option with ``arm: usual_services``, else the first."""
    if comparator is not None:
        return comparator
    for k, o in enumerate(options):
        if o.arm == "usual_services":
            return k
    return 0


def check_options(options: list[Scenario]) -> list[str]:
    """Problems that make options incomparable (one line each)."""
    errs = []
    names = [o.name for o in options]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        errs.append(f"options: {', '.join(dup)}: two options have the same name: give each scenario its own name")
    kinds = {is_cohort(o) for o in options}
    if len(kinds) > 1:
        errs.append("options: mixed cohorts and running programs: compare cohorts with cohorts (per participant) "
                    "or programs with programs (per program-year)")
    years = {currency_label(o.costs.price_year) for o in options}
    if len(years) > 1:
        errs.append(f"options: costs.price_year differs ({', '.join(sorted(years))}): set the same price year")
    persp = {(o.costs.perspective, tuple(sorted(o.costs.offsets))) for o in options}
    if len(persp) > 1:
        errs.append("options: costs.perspective or costs.offsets differ: compare options in one perspective")
    return errs


def cost_draw(seed: int, i: int) -> dict[str, float]:
    """Multipliers of the cost inputs for replication i (shared by all options)."""
    rng = np.random.default_rng(stream_seed(seed, i, "cost_parameters"))
    u = rng.random(len(COST_UNCERTAINTY))
    return {p: lo + (hi - lo) * x for (p, lo, hi, _), x in zip(COST_UNCERTAINTY, u)}


def _with_cost_draw(sc: Scenario, mult: dict[str, float]) -> Scenario:
    from ips_sim.config import get_dotted
    return sc.with_updates({p: get_dotted(sc, p) * m for p, m in mult.items()})


def run_comparison(options: list[Scenario], comparator: int | None = None, replications: int | None = None,
                   seed: int | None = None, workers: int = 1, draws: list[list[dict]] | None = None,
                   progress=None, executor=None) -> Comparison:
    """Run every option on the same replication indices and seed (paired replications).

    ``draws``: optional per-option lists of behavioural parameter updates (draw i for replication i,
    cycled); given, the cost inputs are drawn too (``COST_UNCERTAINTY``).
    """
    comp = pick_comparator(options, comparator)
    n = replications or options[comp].simulation.replications
    seed = options[comp].simulation.seed if seed is None else seed
    rows, budgets, cost_draws = [], [], []
    if draws is not None:
        cost_draws = [cost_draw(seed, i) for i in range(n)]
    for k, sc in enumerate(options):
        scenario_for = None
        if draws is not None:
            per = [_with_cost_draw(sc.with_updates(draws[k][i % len(draws[k])] if draws[k] else {}), cost_draws[i])
                   for i in range(n)]
            scenario_for = per.__getitem__
        res, _ = run_replications(sc, n, seed, workers, keep_records=False, progress=progress,
                                  scenario_for=scenario_for, outcome=comparison_outcomes, executor=executor)
        frames = [pd.DataFrame(r.pop("_budget")) for r in res]
        budgets.append(pd.concat(frames).groupby("year", as_index=False).mean())
        rows.append(res)
    return Comparison(options, comp, rows, budgets, seed, n, draws is not None, unit_label(options[comp]),
                      currency_label(options[comp].costs.price_year), cost_draws)


# --------------------------------------------------------------------------- tables


def _unit(name: str, currency: str, basis: str = "") -> str:
    if name == "people_employed" and basis == "per participant":
        return "share of participants"
    units = {m.name: m.unit for m in METRICS}
    units.update({n: u for n, u, _ in ECONOMIC_OUTCOMES})
    u = units.get(name, "")
    return currency if u == "money" else u


def comparison_table(c: Comparison) -> pd.DataFrame:
    """Per option and metric: mean and 95% CI over replications."""
    out = []
    for k, name in enumerate(c.names):
        for metric in COMPARISON_METRICS:
            m, lo, hi = cea.mean_ci(c.values(k, metric))
            basis = ("per member served" if metric == "cost_per_member_served" else
                     c.basis if metric in {n for n, _, _ in ECONOMIC_OUTCOMES} else "run metric")
            out.append({"option": name, "metric": metric, "unit": _unit(metric, c.currency, c.basis), "basis": basis,
                        "mean": m, "ci_low": lo, "ci_high": hi, "replications": c.replications})
    return pd.DataFrame(out)


def incremental_table(c: Comparison) -> pd.DataFrame:
    """Each option against the comparator: paired differences and cost per additional outcome (Fieller)."""
    out = []
    base = c.comparator
    for k, name in enumerate(c.names):
        if k == base:
            continue
        diffs = {q: c.values(k, q) - c.values(base, q)
                 for q in ("cost", "people_employed", "employed_months", "earnings")}
        for q, label in (("cost", "incremental cost"), ("people_employed", "incremental people employed"),
                         ("employed_months", "incremental employed months"), ("earnings", "incremental earnings")):
            m, lo, hi = cea.mean_ci(diffs[q])
            out.append({"option": name, "comparator": c.names[base], "basis": c.basis, "quantity": label,
                        "unit": _unit(q, c.currency, c.basis), "mean": m, "ci_low": lo, "ci_high": hi,
                        "ci_method": "paired replications (t)"})
        for q, label in EFFECTS:
            r, lo, hi = cea.fieller_ci(diffs["cost"], diffs[q])
            out.append({"option": name, "comparator": c.names[base], "basis": c.basis,
                        "quantity": f"cost per {label}", "unit": c.currency, "mean": r, "ci_low": lo, "ci_high": hi,
                        "ci_method": "Fieller, paired replications" + ("" if math.isfinite(lo) else
                                                                      " (unbounded: effect not significant)")})
    return pd.DataFrame(out)


def icer_table(c: Comparison) -> pd.DataFrame:
    """ICERs over all options on mean cost and mean effect, with dominance, for each effect measure."""
    frames = []
    for q, label in EFFECTS:
        cost = [np.nanmean(c.values(k, "cost")) for k in range(len(c.names))]
        eff = [np.nanmean(c.values(k, q)) for k in range(len(c.names))]
        t = pd.DataFrame(cea.calculate_icers(cost, eff, c.names))
        t.insert(0, "effect_measure", q)
        t["icer_unit"] = f"{c.currency} per {label}"
        t["basis"] = c.basis
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def wtp_grid(c: Comparison, effect: str) -> np.ndarray:
    """Willingness-to-pay values from 0 to well past the largest finite ICER."""
    t = icer_table(c)
    icers = t.loc[(t.effect_measure == effect) & np.isfinite(t.icer), "icer"].abs()
    top = 2.5 * float(icers.max()) if len(icers) else 2.5 * max(1.0, float(np.nanmean(c.values(0, "cost"))))
    return np.linspace(0.0, top, 101)


def uncertainty_tables(c: Comparison) -> dict[str, pd.DataFrame]:
    """CEAC, NMB and EVPI over the replications (parameter draws), per effect measure."""
    cost = np.column_stack([c.values(k, "cost") for k in range(len(c.names))])
    out_ceac, out_evpi = [], []
    for q, label in EFFECTS:
        eff = np.column_stack([c.values(k, q) for k in range(len(c.names))])
        ok = np.isfinite(cost).all(axis=1) & np.isfinite(eff).all(axis=1)
        grid = wtp_grid(c, q)
        acc = cea.ceac(cost[ok], eff[ok], grid)
        ev = cea.evpi(cost[ok], eff[ok], grid)
        for w, row, e in zip(grid, acc, ev):
            for k, name in enumerate(c.names):
                nmb = cea.net_monetary_benefit(cost[ok, k], eff[ok, k], w)
                out_ceac.append({"effect_measure": q, "wtp": w, "wtp_unit": f"{c.currency} per {label}",
                                 "option": name, "probability_cost_effective": row[k],
                                 "nmb_mean": float(nmb.mean()), "nmb_unit": f"{c.currency} {c.basis}"})
            out_evpi.append({"effect_measure": q, "wtp": w, "wtp_unit": f"{c.currency} per {label}",
                             "evpi": e, "evpi_unit": f"{c.currency} {c.basis}"})
    return {"ceac": pd.DataFrame(out_ceac), "evpi": pd.DataFrame(out_evpi)}


def budget_impact_table(c: Comparison) -> pd.DataFrame:
    """budget_impact.csv: the payer's cost by year for 5 years per option, against the comparator (ISPOR)."""
    from ips_sim.config import add_months

    sc = c.options[c.comparator]
    begins = None
    if sc.start_date is not None:
        warm = round(12 * sc.simulation.warmup_years)
        n = max(len(b) for b in c.budgets)
        begins = [add_months(sc.start_date, warm + 12 * k).isoformat() for k in range(n)]
    return budget_impact(c.budgets, c.names, c.labels, c.comparator, begins)


def benefit_cost_table(c: Comparison) -> pd.DataFrame:
    """Each option against the comparator as WSIPP reports a program (``economics/benefit_cost.py``)."""
    out = []
    names = ("service_cost", "counselling_outside", "public_purse_cost", "net_income", "ssi_paid", "ssdi_paid",
             "taxes_paid", "qalys")
    base = {q: c.values(c.comparator, q) for q in names}
    for k, name in enumerate(c.names):
        if k == c.comparator:
            continue
        flows = benefit_cost.paired_flows({q: c.values(k, q) for q in names}, base)
        for row in benefit_cost.summary(flows):
            unit = ("probability" if row["quantity"].startswith("probability") else
                    "ratio" if row["quantity"].endswith("ratio") else
                    f"{c.currency} per QALY" if row["quantity"] == "cost_per_qaly" else c.currency)
            out.append({"option": name, "comparator": c.names[c.comparator], "basis": c.basis, **row, "unit": unit,
                        "draws": "parameter and cost draws" if c.parameter_uncertainty else
                                 "replications at fixed parameters"})
    return pd.DataFrame(out)


def budget_table(c: Comparison) -> pd.DataFrame:
    frames = []
    for name, b in zip(c.names, c.budgets):
        b = b.copy()
        b.insert(0, "option", name)
        b.insert(2, "currency", c.currency)
        b["year"] = b["year"].astype(int)
        frames.append(b)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- plots


def plot_frontier(c: Comparison, path) -> None:
    """Mean cost against mean effect per option, with 95% CIs and the efficient frontier."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = icer_table(c)
    t = t[t.effect_measure == "people_employed"]
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for k, name in enumerate(c.names):
        m_e, lo_e, hi_e = cea.mean_ci(c.values(k, "people_employed"))
        m_c, lo_c, hi_c = cea.mean_ci(c.values(k, "cost"))
        status = t.loc[t.strategy == name, "status"].iloc[0]
        ax.errorbar(m_e, m_c / 1000.0, xerr=[[m_e - lo_e], [hi_e - m_e]],
                    yerr=[[(m_c - lo_c) / 1000.0], [(hi_c - m_c) / 1000.0]],
                    fmt="o" if status == "ND" else "s", ms=8, capsize=4, color=f"C{k}")
        right = m_e >= np.nanmean([np.nanmean(c.values(j, "people_employed")) for j in range(len(c.names))])
        ax.annotate(f"{c.labels[k]}\n({_status_words(status)})", (m_e, m_c / 1000.0), textcoords="offset points",
                    xytext=(-10, 8) if right else (10, 8), ha="right" if right else "left", fontsize=10)
    nd = t[t.status == "ND"].sort_values("effect")
    ax.plot(nd.effect, nd.cost / 1000.0, "-", color="black", lw=1.2, label="efficient frontier")
    what = "per participant" if c.basis == "per participant" else "per year"
    ax.set_xlabel(f"people employed {what}" if c.basis != "per participant" else "share of participants employed")
    ax.set_ylabel(f"cost {what} (thousand {c.currency}, discounted)")
    ax.set_title("Cost and people employed by option (95% CIs)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    ax.margins(x=0.25, y=0.15)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _status_words(status: str) -> str:
    return {"ND": "on the frontier", "ED": "extendedly dominated", "D": "dominated"}[status]


def plot_budget(c: Comparison, path) -> None:
    """Service cost per observation year, one line per option."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4))
    for k, b in enumerate(c.budgets):
        ax.plot(b["year"], b["service_cost"] / 1000.0, "o-", color=f"C{k}", label=c.labels[k])
    ax.set_xlabel("program year (after warm-up)" if c.basis != "per participant" else "year of follow-up")
    ax.set_ylabel(f"service cost (thousand {c.currency})")
    ax.set_title("Budget per year (not discounted)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_ce_plane(c: Comparison, path) -> None:
    """Incremental cost against incremental people employed, one point per draw, per option vs the comparator."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    base = c.comparator
    for k in range(len(c.names)):
        if k == base:
            continue
        de = c.values(k, "people_employed") - c.values(base, "people_employed")
        dc = c.values(k, "cost") - c.values(base, "cost")
        ax.scatter(de, dc / 1000.0, s=10, alpha=0.4, color=f"C{k}", label=f"{c.labels[k]} against {c.labels[base]}")
        ax.plot(np.nanmean(de), np.nanmean(dc) / 1000.0, "k+", ms=14, mew=2)
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("incremental people employed " + ("(share)" if c.basis == "per participant" else "per year"))
    ax.set_ylabel(f"incremental cost (thousand {c.currency}, {c.basis})")
    ax.set_title("Cost-effectiveness plane (one point per parameter draw; + = mean)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_ceac(c: Comparison, tables: dict[str, pd.DataFrame], path) -> None:
    """Acceptability curves: per additional person employed and per additional employed month."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acc = tables["ceac"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, (q, label) in zip(axes, EFFECTS):
        t = acc[acc.effect_measure == q]
        for k, name in enumerate(c.names):
            s = t[t.option == name]
            ax.plot(s.wtp / 1000.0, s.probability_cost_effective, color=f"C{k}", label=c.labels[k], lw=2)
        ax.set_xlabel(f"willingness to pay per {label}\n(thousand {c.currency})")
        ax.set_ylabel("probability cost-effective")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("Cost-effectiveness acceptability curves")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_comparison(folder, c: Comparison, manifest_doc: dict) -> list[str]:
    """All tables and plots of a comparison into ``folder``; returns the file names written."""
    import json
    from pathlib import Path

    from ips_sim.reporting.tables import write_csv
    from ips_sim.runner.output import json_default, write_json

    folder = Path(folder)
    written = []

    def csv(df, name):
        write_csv(df, folder / name)
        written.append(name)

    csv(comparison_table(c), "comparison.csv")
    csv(incremental_table(c), "incremental.csv")
    csv(icer_table(c), "icers.csv")
    csv(budget_table(c), "budget.csv")
    csv(budget_impact_table(c), "budget_impact.csv")
    if len(c.names) > 1:
        csv(benefit_cost_table(c), "benefit_cost.csv")
    rep = []
    for k, name in enumerate(c.names):
        for i, r in enumerate(c.rows[k]):
            rep.append({"option": name, "replication": i, **{q: r.get(q) for q in COMPARISON_METRICS}})
    csv(pd.DataFrame(rep), "replications.csv")
    plot_frontier(c, folder / "cost_effect.png")
    plot_budget(c, folder / "budget.png")
    written += ["cost_effect.png", "budget.png"]
    if c.parameter_uncertainty:
        tables = uncertainty_tables(c)
        csv(tables["ceac"], "ceac.csv")
        csv(tables["evpi"], "evpi.csv")
        plot_ce_plane(c, folder / "ce_plane.png")
        plot_ceac(c, tables, folder / "ceac.png")
        written += ["ce_plane.png", "ceac.png"]
    doc = dict(manifest_doc)
    doc.update({"kind": "comparison", "options": c.names, "labels": c.labels, "comparator": c.names[c.comparator],
                "basis": c.basis,
                "currency": c.currency, "seed": c.seed, "replications": c.replications,
                "parameter_uncertainty": c.parameter_uncertainty,
                "cost_uncertainty": [{"field": p, "low_factor": lo, "high_factor": hi, "source": s}
                                     for p, lo, hi, s in COST_UNCERTAINTY] if c.parameter_uncertainty else [],
                "scenarios": {o.name: o.model_dump(mode="json") for o in c.options}})
    write_json(folder / "manifest.json", json.loads(json.dumps(doc, default=json_default)))
    written.append("manifest.json")
    return written


