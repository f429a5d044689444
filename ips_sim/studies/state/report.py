"""What a state run shows: allocation, candidate and frontier tables, the summary and report text, plots.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ips_sim.core.names import readable
from ips_sim.reporting.wording import plain_ids
from ips_sim.studies.state.decisions import StateResult, amount_text, gain_estimate, unit_word
from ips_sim.studies.state.evidence import Estimate, Evaluation, objective_values, step_values, unit_cost_fn
from ips_sim.studies.state.statefile import currency_of

# --------------------------------------------------------------------------- tables, text, plots


def allocation_rows(r: StateResult) -> list[dict]:
    st = r.evaluation.state
    rows = []
    ucost = unit_cost_fn(st)
    for i, res in enumerate(r.evaluation.results):
        p = res.program
        k = r.allocation.choice[i]
        lv = r.levels[i][k]
        g = r.program_gains[i]
        now = Estimate.of(objective_values(res, p.levels[0], st.weights), st.confidence)
        prev = r.levels[i][k - 1] if k > 0 else p.levels[0]
        last = (Estimate.of(step_values(r.evaluation, i, prev, lv, lv - prev), st.confidence).mean
                if lv > prev else math.nan)
        rows.append({
            "program": p.name, "new_program": p.new, "posts_now": p.posts_now, "posts_added": lv - p.posts_now,
            "posts_for_constraints": r.levels[i][0] - p.posts_now,
            "posts_after": lv, "max_posts": p.levels[-1], "at_limit": lv == p.levels[-1] and lv > p.posts_now,
            "cost_added_per_year": (lv - p.posts_now) * p.post_cost,
            "objective_now": now.mean, "gain": g.mean, "gain_ci_low": g.low, "gain_ci_high": g.high,
            "gain_per_added_post_last": last, "replications": res.replications,
            "unit_cost": ucost(p),
        })
    return rows


def candidate_rows(ev: Evaluation) -> list[dict]:
    """Every program at every level: objective, gain over now, marginal gain, constraint metrics."""
    st = ev.state
    rows = []
    metrics = sorted({t.metric for p in st.programs for t in (*p.constraints, *p.targets)})
    for i, res in enumerate(ev.results):
        p = res.program
        prev = None
        for lv in p.levels:
            obj = Estimate.of(objective_values(res, lv, st.weights), st.confidence)
            g = gain_estimate(ev, i, lv)
            row = {"program": p.name, "posts": lv, "posts_added": lv - p.posts_now, "replications": res.replications,
                   "objective": obj.mean, "objective_ci_low": obj.low, "objective_ci_high": obj.high,
                   "gain": g.mean, "gain_ci_low": g.low, "gain_ci_high": g.high}
            if prev is None:
                row.update(marginal_gain=math.nan, marginal_ci_low=math.nan, marginal_ci_high=math.nan)
            else:
                m = Estimate.of(step_values(ev, i, prev, lv, 1.0), st.confidence)
                row.update(marginal_gain=m.mean, marginal_ci_low=m.low, marginal_ci_high=m.high)
            for name in metrics:
                e = Estimate.of(res.values(lv, name), st.confidence) if lv else Estimate(math.nan, 0, 0, math.nan,
                                                                                        math.nan)
                row[name] = e.mean
                row[f"{name}_ci_low"] = e.low
                row[f"{name}_ci_high"] = e.high
            rows.append(row)
            prev = lv
    return rows


def frontier_rows(r: StateResult) -> list[dict]:
    st = r.evaluation.state
    rows = []
    for f in r.frontier:
        if not f["feasible"]:
            rows.append({"budget": f["budget"], "spent": math.nan, "objective": math.nan, "gain": math.nan,
                         "gain_ci_low": math.nan, "gain_ci_high": math.nan,
                         "gain_without_constraints": f["free_gain"],
                         "allocation": "infeasible: the constraints need more"})
            continue
        g = f["gain"]
        alloc = "; ".join(f"{st.programs[i].name} +{r.levels[i][k] - st.programs[i].posts_now}"
                          for i, k in enumerate(f["choice"]) if r.levels[i][k] != st.programs[i].posts_now)
        rows.append({"budget": f["budget"], "spent": f["cost"], "objective": r.total_now.mean + g.mean,
                     "gain": g.mean, "gain_ci_low": g.low, "gain_ci_high": g.high,
                     "gain_without_constraints": f["free_gain"], "allocation": alloc or "(none)"})
    return rows


def draws_lines(st) -> list[str]:
    """With parameter uncertainty: which programs use their own posterior, which the national draws."""
    if not st.parameter_uncertainty:
        return []
    groups: dict[tuple, list[str]] = {}
    for p in st.programs:
        u = p.draws_used or {}
        groups.setdefault((u.get("kind"), u.get("source"), u.get("count")), []).append(p.name)
    return ["Parameter uncertainty: replication i of every staffing level uses parameter draw i (cycled):"] + [
        f"  {', '.join(names)}: {kind} ({source}, {count} draws)" for (kind, source, count), names in groups.items()]


def summary_lines(r: StateResult) -> list[str]:
    st = r.evaluation.state
    ev = r.evaluation
    conf = f"{st.confidence:.0%}".replace(".0%", "%")
    unit = st.objective_unit
    lines = [f"State {st.name}: {len(st.programs)} programs, budget {amount_text(st.budget.amount, st)}, "
             f"objective {st.objective_text} ({unit})"]
    lines += draws_lines(st)
    spent = r.allocation.cost
    lines.append(f"Allocation (exact optimum; spends {amount_text(spent, st)}):")
    rows = allocation_rows(r)
    width = max(len(x["program"]) for x in rows)
    for x in rows:
        if x["posts_added"] == 0:
            continue
        lim = " (at its limit)" if x["at_limit"] else ""
        lines.append(f"  {x['program']:<{width}}  {x['posts_now']} -> {x['posts_after']} posts  "
                     f"gain {x['gain']:.2f} [{x['gain_ci_low']:.2f}, {x['gain_ci_high']:.2f}]{lim}")
    untouched = [x["program"] for x in rows if x["posts_added"] == 0]
    if untouched:
        lines.append(f"  no new posts: {', '.join(untouched)}")
    t, now = r.total_gain, r.total_now
    rel = f" (+{t.mean / now.mean:.1%})" if now.mean > 0 else ""
    lines.append(f"State-wide gain: {t.mean:.2f} {unit} [{conf} CI {t.low:.2f}, {t.high:.2f}] on "
                 f"{now.mean:.2f} now{rel}")
    g = r.greedy
    if g is not None and g.choice == r.allocation.choice:
        lines.append("Greedy marginal analysis (gain per " + unit_word(st) + ") gives the same allocation.")
    lines += [f"Note: {n}" for n in r.notes]
    reverse = reverse_sentence(r)
    if reverse:
        lines.append(reverse)
    reps = [res.replications for res in ev.results]
    lines.append(f"Replications per level: {min(reps)}..{max(reps)} (started at {st.replications}, up to "
                 f"{st.max_replications} where too close to call)")
    return lines


def reverse_sentence(r: StateResult) -> str | None:
    """The answer to the reverse question in a sentence (None when no program has targets)."""
    st = r.evaluation.state
    if not any(x["targets"] for x in r.needed):
        return None
    if r.needed_total is None:
        missing = [x["program"] for x in r.needed if x["posts_needed"] is None]
        rest = sum(x["cost_added"] for x in r.needed if x["cost_added"] is not None)
        return (f"Smallest budget meeting every program's targets: none within the programs' limits "
                f"({', '.join(missing)} cannot meet them; the others need {amount_text(rest, st)})")
    targets = sorted({x["targets"] for x in r.needed})
    return (f"Smallest budget meeting every program's targets: {amount_text(r.needed_total, st)} "
            f"(targets: {' | '.join(targets)})")


def report_markdown(r: StateResult, plots: bool = True) -> str:
    """The state's section for a report (``ips-sim report`` reads results folders by manifest kind)."""
    st = r.evaluation.state
    conf = f"{st.confidence:.0%}".replace(".0%", "%")
    t, now = r.total_gain, r.total_now
    lines = [f"## State-wide allocation: {st.name}", ""]
    if st.description:
        lines += [st.description, ""]
    lines += [f"{len(st.programs)} programs; budget {amount_text(st.budget.amount, st)}; objective "
              f"{st.objective_text} ({st.objective_unit}); constraints and targets are met only when the "
              f"{conf} confidence interval is on the right side.", "",
              f"**State-wide gain: {t.mean:.2f} {st.objective_unit} ({conf} CI {t.low:.2f} to {t.high:.2f})** "
              f"on {now.mean:.2f} now.", "",
              "| program | posts now | posts added | gain | " + conf + " CI |", "|---|---:|---:|---:|---|"]
    for x in allocation_rows(r):
        lines.append(f"| {x['program']}{' (new)' if x['new_program'] else ''} | {x['posts_now']} | "
                     f"{x['posts_added']} | {x['gain']:.2f} | {x['gain_ci_low']:.2f} to {x['gain_ci_high']:.2f} |")
    lines.append("")
    lines += [f"- {n}" for n in r.notes]
    reverse = reverse_sentence(r)
    if reverse:
        lines.append(f"- {reverse}; see targets.csv")
    if plots:
        lines += ["", "![What each budget buys](frontier.png)", "", "![Gain per program](gains.png)"]
    return "\n".join(lines) + "\n"


def plot_state(r: StateResult, folder: Path) -> list[Path]:
    """frontier.png (state-wide gain against budget) and gains.png (gain per program, with CI)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st = r.evaluation.state
    conf = f"{st.confidence:.0%}".replace(".0%", "%")
    out = []
    all_rows = frontier_rows(r)
    fr = [f for f in all_rows if not f["allocation"].startswith("infeasible")]
    x = np.array([f["budget"] for f in fr], dtype=float)
    scale, xlabel = 1.0, "budget (new posts)"
    if st.budget.unit == "dollars":
        scale, xlabel = 1000.0, f"budget ({currency_of(st)} thousand a year)"
    y = np.array([f["gain"] for f in fr])
    lo = np.array([f["gain_ci_low"] for f in fr])
    hi = np.array([f["gain_ci_high"] for f in fr])
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ax.fill_between(x / scale, lo, hi, alpha=0.25, color="tab:blue", label=f"{conf} CI")
    ax.plot(x / scale, y, "o-", color="tab:blue", label="best allocation at each budget")
    has_constraints = any(p.constraints for p in st.programs)
    if has_constraints:
        xf = np.array([f["budget"] for f in all_rows], dtype=float)
        ax.plot(xf / scale, [f["gain_without_constraints"] for f in all_rows], "--", color="0.45",
                label="without the constraints")
        infeasible = [f["budget"] for f in all_rows if f["allocation"].startswith("infeasible")]
        if infeasible:
            ax.axvspan(-0.5 if st.budget.unit == "posts" else 0, max(infeasible) / scale + 0.5 *
                       (1 if st.budget.unit == "posts" else 0), color="0.9", zorder=0)
            ax.text(max(infeasible) / scale / 2, 0.02, "constraints\nnot affordable", transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=8, color="0.35")
    if st.budget.unit == "posts":
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(-0.5, st.budget.amount + 0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"state-wide gain ({st.objective_unit})")
    ax.set_title(f"{readable(st.name)}: what each budget buys\n({plain_ids(st.objective_text)})", fontsize=11)
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(lo)) if len(lo) else 0.0))
    ax.legend(loc="lower right")
    fig.tight_layout()
    path = folder / "frontier.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    out.append(path)

    rows = allocation_rows(r)
    order = sorted(range(len(rows)), key=lambda k: (rows[k]["gain"], rows[k]["program"]))
    names = [readable(rows[k]["program"]) for k in order]
    g = np.array([rows[k]["gain"] for k in order])
    err = np.array([[rows[k]["gain"] - rows[k]["gain_ci_low"], rows[k]["gain_ci_high"] - rows[k]["gain"]]
                    for k in order]).T
    err = np.nan_to_num(err)
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(rows) + 1.6))
    colors = ["tab:green" if rows[k]["posts_added"] > 0 else "0.75" for k in order]
    ax.barh(range(len(rows)), g, xerr=err, color=colors, capsize=3)
    # Where no post goes: what the program's next option would have bought (grey), to show why.
    for pos, k in enumerate(order):
        p = st.programs[k]
        if rows[k]["posts_added"] == 0 and len(p.levels) > 1:
            nxt = gain_estimate(r.evaluation, k, p.levels[1])
            ax.barh(pos, nxt.mean, color="0.85", edgecolor="0.6", hatch="//", height=0.5)
            rows[k]["_next"] = (p.levels[1] - p.posts_now, nxt.mean)
    for pos, k in enumerate(order):
        rw = rows[k]
        label = f"+{rw['posts_added']} ({rw['posts_now']}->{rw['posts_after']})" if rw["posts_added"] else "+0"
        if "_next" in rw:
            label += f" (+{rw['_next'][0]} would buy {rw['_next'][1]:.1f})"
        if rw["posts_for_constraints"]:
            label += f", {rw['posts_for_constraints']} for the constraints"
        x_text = max(rw["gain_ci_high"], rw["gain"], 0) if math.isfinite(rw["gain_ci_high"]) else max(rw["gain"], 0)
        if "_next" in rw:
            x_text = max(x_text, rw["_next"][1])
        ax.text(x_text, pos, "  " + label, va="center", fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(names, fontsize=9)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"gain from the posts added ({st.objective_unit}), {conf} CI")
    ax.set_title(f"{readable(st.name)}: where {amount_text(st.budget.amount, st)} go\n(hatched grey: what the next option "
                 "would buy where no post goes)", fontsize=10)
    ax.margins(x=0.18)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = folder / "gains.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    out.append(path)
    return out
