"""Sensitivity plots (tornado, indices, plan at each end) and the files of a sensitivity run.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np

from ips_sim.studies.sensitivity.analyses import SensitivityResult, fmt, outcome_unit, table_rows
from ips_sim.studies.sensitivity.planning import PlanSensitivity, plan_rank, plan_sentence

# --------------------------------------------------------------------------- plots and files


def _short(path: str) -> str:
    return path.split(".", 1)[-1]


def plot_outcome(res: SensitivityResult, outcome: str, folder: Path) -> Path:
    """Tornado (each assumption at its low and high end) beside Morris mu*-sigma (and Sobol bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = res.per_outcome[outcome].rows
    unit = outcome_unit(outcome)
    base = res.default_values[outcome]
    n_panels = 3 if res.method == "sobol" else 2
    height = max(4.5, 0.38 * len(rows) + 2.2)
    fig, axes = plt.subplots(1, n_panels, figsize=(5.6 * n_panels + 3, height), layout="constrained",
                             gridspec_kw={"width_ratios": [1.2, 1, 0.9][:n_panels]})
    ax = axes[0]
    order = sorted(rows, key=lambda r: (r["swing"], -r["rank"]))
    ys = np.arange(len(order))
    for y, r in zip(ys, order):
        # Low end above, high end below, so neither hides the other when both move the same way.
        ax.barh(y + 0.19, r["at_low"] - base, color="#4c72b0", height=0.36)
        ax.barh(y - 0.19, r["at_high"] - base, color="#dd8452", height=0.36)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(ys, [f"{_short(r['parameter'])}  [{fmt(r['low'])}, {fmt(r['high'])}]" for r in order],
                  fontsize=9)
    ax.set_xlabel(f"change in {outcome} ({unit}) from {fmt(base)}")
    ax.set_title("One at a time: low end (blue) and high end (orange)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)

    ax = axes[1]
    mu = np.array([r["mu_star"] for r in rows])
    sd = np.array([r["sigma"] for r in rows])
    conf = np.array([r["mu_star_conf"] for r in rows])
    ax.errorbar(mu, sd, xerr=conf, fmt="o", color="#4c72b0", ecolor="#9fb4d9", capsize=2, ms=5)
    top = max(float(mu.max()), float(sd.max()), 1e-12) * 1.15
    ax.plot([0, top], [0, top], ls="--", color="grey", lw=0.8)
    ax.text(top * 0.97, top * 0.9, "sigma = mu*", ha="right", va="top", fontsize=8, color="grey")
    labelled = sorted(rows, key=lambda r: -r["mu_star"])[:6]
    for r in labelled:
        ax.annotate(_short(r["parameter"]), (r["mu_star"], r["sigma"]), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel(f"mu* (mean |elementary effect| over the range, {unit})")
    ax.set_ylabel(f"sigma ({unit})")
    ax.set_title(f"Morris screening ({res.trajectories} trajectories): far right matters;\n"
                 "above the line: non-linear or interacting", fontsize=10)
    ax.grid(alpha=0.3)

    if res.method == "sobol":
        ax = axes[2]
        srows = [r for r in rows if math.isfinite(r.get("ST", float("nan")))]
        y = np.arange(len(srows))[::-1]
        ax.barh(y + 0.18, [r["ST"] for r in srows], height=0.36, xerr=[r["ST_conf"] for r in srows],
                color="#dd8452", label="ST (with interactions)", capsize=2)
        ax.barh(y - 0.18, [r["S1"] for r in srows], height=0.36, xerr=[r["S1_conf"] for r in srows],
                color="#4c72b0", label="S1 (alone)", capsize=2)
        ax.set_yticks(y, ["\n".join(textwrap.wrap(_short(r["parameter"]).replace("_", " "), 16)) for r in srows],
                      fontsize=9)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel("share of the outcome's variance")
        ax.set_title(f"Sobol indices of the top {len(srows)} by mu* ({res.sobol_samples} base samples):\n"
                     "shares of the variance they cause, others at defaults", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="x", alpha=0.3)

    fig.suptitle(f"{outcome}: which assumptions matter ({res.replications} replications per point, "
                 f"common random numbers)", fontsize=12)
    path = folder / f"sensitivity_{outcome}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_plan(ps: PlanSensitivity, values: list, folder: Path) -> Path | None:
    """The recommended staffing at each assumption's low and high end; those that move it on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numeric = [v for v in values if isinstance(v, (int, float))]
    if not ps.rows or len(numeric) != len(values):
        return None
    none_at = max(numeric) + 1  # where "no value meets the targets" is drawn
    moved = plan_rank(ps)  # largest change first
    others = [p for p in dict.fromkeys(r["parameter"] for r in ps.rows) if p not in moved]
    params = moved + others
    ends = {(r["parameter"], r["end"]): r for r in ps.rows}
    fig, ax = plt.subplots(figsize=(9.5, max(3.5, 0.36 * len(params) + 1.9)))
    ys = np.arange(len(params))[::-1]
    base = ps.baseline if ps.baseline is not None else none_at
    for y, p in zip(ys, params):
        for end, dy, colour in (("low", 0.14, "#4c72b0"), ("high", -0.14, "#dd8452")):
            row = ends.get((p, end))
            if row is None:
                continue
            a = row["answer"] if row["answer"] is not None else none_at
            ax.plot([base, a], [y + dy, y + dy], color="#bbbbbb", lw=1)
            ax.plot(a, y + dy, "o", color=colour, ms=7)
    ax.axvline(base, color="black", lw=1, ls="--")
    labels = []
    for p in params:
        lo, hi = ends.get((p, "low")), ends.get((p, "high"))
        rng = f"  [{fmt(lo['value'])}, {fmt(hi['value'])}]" if lo and hi else ""
        labels.append(_short(p) + rng)
    ax.set_yticks(ys, labels, fontsize=9)
    ticks = sorted(numeric)
    ax.set_xticks(ticks + [none_at], [str(t) for t in ticks] + ["none"])
    ax.set_xlim(min(ticks) - 0.5, none_at + 0.5)
    ax.set_xlabel(f"{ps.path} recommended (dashed: at the scenario's values)")
    ax.set_title("Smallest staffing meeting " + " and ".join(str(t) for t in ps.targets)
                 + "\nwith each assumption at its low (blue, upper) or high (orange, lower) end", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = folder / "plan_sensitivity.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_sensitivity(folder: Path, res: SensitivityResult, ps: PlanSensitivity | None, text: list[str],
                      manifest_doc: dict, plots: bool = True, plan_values: list | None = None) -> None:
    """sensitivity.csv, ranges_used.csv, plan_sensitivity.csv, sensitivity.txt, manifest.json and the plots."""
    import json

    import pandas as pd

    from ips_sim.reporting.tables import write_csv

    write_csv(pd.DataFrame(table_rows(res)), folder / "sensitivity.csv")
    used = [{"parameter": r.parameter, "low": r.low, "high": r.high, "status": "varied", "reasoning": r.reasoning}
            for r in res.ranges.varied]
    used += [{"parameter": p, "low": None, "high": None, "status": "inactive: " + why, "reasoning": ""}
             for p, why in res.ranges.inactive]
    used += [{"parameter": p, "low": None, "high": None, "status": "not varied", "reasoning": why}
             for p, why in res.ranges.not_varied]
    write_csv(pd.DataFrame(used), folder / "ranges_used.csv")
    if ps is not None:
        write_csv(pd.DataFrame(ps.rows), folder / "plan_sensitivity.csv")
    (folder / "sensitivity.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
    with open(folder / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(manifest_doc, f, indent=2, sort_keys=True, default=str)
    if plots:
        for o in res.outcomes:
            plot_outcome(res, o, folder)
        if ps is not None:
            plot_plan(ps, plan_values or [], folder)


def summary_lines(res: SensitivityResult, ps: PlanSensitivity | None, plan_values: list | None) -> list[str]:
    """What the command prints: one sentence per outcome, the top of each table, the planning answer."""
    lines = []
    for o in res.outcomes:
        lines.append(res.per_outcome[o].sentence)
    lines.append("")
    sob = res.method == "sobol"
    for o in res.outcomes:
        lines.append(f"{o} ({outcome_unit(o)}): rank, parameter, value at low / high end, mu* [+-conf], sigma"
                     + (", S1, ST" if sob else ""))
        for r in res.per_outcome[o].rows[:5]:
            extra = ""
            if sob and math.isfinite(r.get("ST", float("nan"))):
                extra = f"  S1 {r['S1']:.2f}  ST {r['ST']:.2f}"
            lines.append(f"  {r['rank']:>2}  {r['parameter']:<48} {fmt(r['at_low']):>8} / {fmt(r['at_high']):<8}"
                         f"  mu* {fmt(r['mu_star'])} [+-{fmt(r['mu_star_conf'])}]  sigma {fmt(r['sigma'])}{extra}")
        lines.append("")
    if ps is not None:
        lines.append(plan_sentence(ps, plan_values))
        lines.append("")
    if res.ranges.inactive:
        lines.append("Not varied (no effect in this scenario): "
                     + ", ".join(f"{p} ({why})" for p, why in res.ranges.inactive))
    if res.ranges.unranged:
        lines.append("Marked assumption in parameters.csv but missing from the ranges file: "
                     + ", ".join(res.ranges.unranged))
    lines.append(f"{len(res.ranges.varied)} assumptions over their ranges, {res.points_run} points x "
                 f"{res.replications} replications, seed {res.seed} (common random numbers at every point)")
    return lines
