"""What a sweep shows: line plots and heat maps of metrics over the fields varied, and a glance in text.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

from ips_sim.analysis.metrics import METRICS, metric_label, unit_label
from ips_sim.config.prices import currency_label
from ips_sim.studies.sweep.fields import looks_numeric, value_label
from ips_sim.reporting.wording import option_label, parameter_label, plain_ids
from ips_sim.studies.sweep.sweepfile import CONFIDENCE, Sweep

# Preferred plot axes: staffing on x, demand as lines.
X_PREFERENCE = ("team.specialists", "team.fte_per_specialist", "team.caseload_cap")
LINE_PREFERENCE = ("referrals.rate_per_month", "referrals.cohort_size", "team.caseload_cap",
                   "team.fte_per_specialist")
DEFAULT_PLOT_METRICS = ("mean_wait_days", "ever_employed_rate", "waitlist_mean", "share_gave_up_waiting",
                        "specialist_utilisation", "caseload_per_specialist_mean", "employed_members_mean",
                        "job_search_service_share")
HEATMAP_METRICS = ("mean_wait_days", "ever_employed_rate", "waitlist_mean", "specialist_utilisation")

# --------------------------------------------------------------------------- plots


def plot_axes(sweep: Sweep) -> tuple[str | None, str | None, list[str]]:
    """x field, line field and facet fields chosen from the varied fields (staffing on x, demand as lines)."""
    varying = [k for k in sweep.fields if len({json.dumps(v[k], sort_keys=True) for v in sweep.values}) > 1]
    numeric = [k for k in varying if all(_is_number(v[k]) for v in sweep.values)]
    x = sweep.plot.get("x")
    if x is None:
        x = next((k for k in X_PREFERENCE if k in numeric), None) or (numeric or varying or [None])[0]
    rest = [k for k in varying if k != x]
    lines = sweep.plot.get("lines")
    if lines is None and rest:
        lines = next((k for k in LINE_PREFERENCE if k in rest), None) or rest[0]
    facets = [k for k in rest if k != lines]
    return x, lines, facets


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def plot_sweep(table, sweep: Sweep, folder: Path) -> list[Path]:
    """Metric vs x with CI bands (one line per value of the line field), heatmaps for two-way grids."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x, lines, facets = plot_axes(sweep)
    if x is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    metrics = list(sweep.plot.get("metrics") or DEFAULT_PLOT_METRICS)
    currency = currency_label(sweep.base.costs.price_year)
    info = {m.name: replace(m, unit=unit_label(m.unit, currency)) for m in METRICS}  # money -> "USD 2024"
    written = []

    def key(v):
        return value_label(v)

    facet_keys = sorted({tuple(key(v[f]) for f in facets) for v in sweep.values}, key=_natural) if facets else [()]
    if len(facet_keys) > 12:
        facet_keys = facet_keys[:12]
    ncols = min(3, len(facet_keys))
    nrows = math.ceil(len(facet_keys) / ncols)
    x_vals = _ordered([v[x] for v in sweep.values])
    x_numeric = all(_is_number(v) for v in x_vals)
    xpos = {key(v): (v if x_numeric else j) for j, v in enumerate(x_vals)}
    line_vals = _ordered([v[lines] for v in sweep.values]) if lines else [None]
    caption = (f"{option_label({}, sweep.name)}: mean over {sweep.replications} replications (seed {sweep.seed}, common random "
               f"numbers); bands: {CONFIDENCE:.0%} confidence intervals")

    def facet_rows(metric, fk):
        sub = table[table["metric"] == metric]
        if facets:
            mask = np.ones(len(sub), dtype=bool)
            for f, fv in zip(facets, fk):
                mask &= sub[f].map(lambda v: key(v)).to_numpy() == fv
            sub = sub[mask]
        return sub

    cmap = plt.get_cmap("viridis")
    for metric in metrics:
        if metric not in set(table["metric"]):
            continue
        width = max(7.0, 5.2 * ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, 3.8 * nrows + 0.8), squeeze=False, sharey=True)
        for ax, fk in zip(axes.flat, facet_keys):
            sub = facet_rows(metric, fk)
            for j, lv in enumerate(line_vals):
                part = sub if lv is None else sub[sub[lines].map(key) == key(lv)]
                if part.empty:
                    continue
                xs = np.array([xpos[key(v)] for v in part[x]], dtype=float)
                order = np.argsort(xs)
                color = cmap(j / max(1, len(line_vals) - 1)) if len(line_vals) > 1 else "C0"
                ax.plot(xs[order], part["mean"].to_numpy()[order], marker="o", color=color,
                        label=None if lv is None else f"{parameter_label(lines).lower()} = {value_label(lv)}")
                ax.fill_between(xs[order], part["ci_low"].to_numpy()[order], part["ci_high"].to_numpy()[order],
                                color=color, alpha=0.2, linewidth=0)
            ax.set_xlabel(parameter_label(x))
            if not x_numeric:
                ax.set_xticks(range(len(x_vals)), [value_label(v) for v in x_vals])
            elif all(isinstance(v, int) for v in x_vals):
                ax.set_xticks(x_vals)
            if facets:
                ax.set_title(", ".join(f"{parameter_label(f).lower()} = {fv}" for f, fv in zip(facets, fk)), fontsize=9)
            ax.grid(alpha=0.3)
        for ax in axes.flat[len(facet_keys):]:
            ax.set_visible(False)
        m = info.get(metric)
        for ax in axes[:, 0]:
            ax.set_ylabel(f"{metric_label(metric)} ({m.unit})" if m else metric_label(metric))
        if lines:
            axes.flat[0].legend(fontsize=8)
        _titles(fig, width, f"{metric_label(metric)}: {plain_ids(m.description)}" if m else metric_label(metric),
                caption)
        path = folder / f"{metric}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    # Heatmaps of two-way grids: x across, line field down, mean in each cell.
    if lines:
        for metric in (sweep.plot.get("metrics") or HEATMAP_METRICS):
            if metric not in set(table["metric"]):
                continue
            width = max(7.0, 5.2 * ncols)
            fig, axes = plt.subplots(nrows, ncols, figsize=(width, 4.2 * nrows + 0.8), squeeze=False)
            drawn = False
            allm = table.loc[table["metric"] == metric, "mean"].to_numpy(dtype=float)
            allm = allm[np.isfinite(allm)]
            vmin, vmax = (float(allm.min()), float(allm.max())) if len(allm) else (0.0, 1.0)
            for ax, fk in zip(axes.flat, facet_keys):
                sub = facet_rows(metric, fk)
                grid = np.full((len(line_vals), len(x_vals)), np.nan)
                filled = np.zeros_like(grid, dtype=bool)
                xi = {key(v): j for j, v in enumerate(x_vals)}
                li = {key(v): j for j, v in enumerate(line_vals)}
                for _, r in sub.iterrows():
                    a, b = li[key(r[lines])], xi[key(r[x])]
                    grid[a, b] = r["mean"]
                    filled[a, b] = True
                if not filled.all():
                    ax.set_visible(False)
                    continue
                drawn = True
                im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", vmin=vmin, vmax=vmax)
                ax.set_xticks(range(len(x_vals)), [value_label(v) for v in x_vals])
                ax.set_yticks(range(len(line_vals)), [value_label(v) for v in line_vals])
                ax.set_xlabel(parameter_label(x))
                ax.set_ylabel(parameter_label(lines))
                mid = (vmin + vmax) / 2
                for a in range(grid.shape[0]):
                    for b in range(grid.shape[1]):
                        val = grid[a, b]
                        ax.text(b, a, _cell(val), ha="center", va="center",
                                fontsize=8, color="white" if np.isfinite(val) and val < mid else "black")
                fig.colorbar(im, ax=ax, shrink=0.85)
                if facets:
                    ax.set_title(", ".join(f"{parameter_label(f).lower()} = {fv}" for f, fv in zip(facets, fk)), fontsize=9)
            for ax in axes.flat[len(facet_keys):]:
                ax.set_visible(False)
            if drawn:
                m = info.get(metric)
                _titles(fig, width, f"{metric_label(metric)} ({m.unit}): {plain_ids(m.description)}" if m
                        else metric_label(metric),
                        f"{option_label({}, sweep.name)}: each cell is the mean over {sweep.replications} replications "
                        f"(seed {sweep.seed}, common random numbers)")
                path = folder / f"heatmap_{metric}.png"
                fig.savefig(path, dpi=110)
                written.append(path)
            plt.close(fig)
    return written


def _titles(fig, width: float, title: str, caption: str) -> None:
    import textwrap
    chars = int(width * 11)
    fig.suptitle("\n".join(textwrap.wrap(title, chars)), fontsize=10)
    cap = "\n".join(textwrap.wrap(caption, int(width * 16)))
    fig.text(0.01, 0.005, cap, fontsize=7, color="0.35", va="bottom")
    lines = cap.count("\n") + 1
    fig.tight_layout(rect=(0, 0.02 + 0.03 * lines / fig.get_figheight() * 4, 1, 1))


def _cell(val: float) -> str:
    """A heatmap cell: three significant digits, no exponents."""
    if not math.isfinite(val):
        return "n/a"
    if abs(val) >= 100:
        return f"{val:.0f}"
    if abs(val) < 0.01:
        return "0" if val == 0 else f"{val:.1e}" if abs(val) < 1e-3 else f"{val:.3f}"
    return f"{val:.3g}"


def _ordered(vals: list) -> list:
    """Distinct values, numbers ascending, others in first-seen order."""
    seen, out = set(), []
    for v in vals:
        k = value_label(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    if all(_is_number(v) for v in out):
        out.sort()
    return out


def _natural(t: tuple) -> tuple:
    return tuple((0, float(s), "") if looks_numeric(s) else (1, 0.0, s) for s in t)


def glance(sweep: Sweep, csv_path: Path, metric: str | None = None) -> list[str]:
    """Terminal view of one metric's means: x across, line field down (sweeps of one or two fields)."""
    import pandas as pd
    x, lines, facets = plot_axes(sweep)
    if x is None or facets or not csv_path.exists():
        return []
    metric = metric or (sweep.plot.get("metrics") or ["mean_wait_days"])[0]
    table = pd.read_csv(csv_path)
    sub = table[table["metric"] == metric]
    if sub.empty:
        return []
    unit = sub["unit"].iloc[0]
    x_vals = _ordered(list(sub[x]))
    rows = _ordered(list(sub[lines])) if lines else [None]
    head = [lines or "", *[str(v) for v in x_vals]]
    body = []
    for lv in rows:
        part = sub if lv is None else sub[sub[lines] == lv]
        means = {str(v): m for v, m in zip(part[x], part["mean"])}
        body.append([str(lv) if lv is not None else "", *[_cell(means.get(str(v), math.nan)) for v in x_vals]])
    widths = [max(len(r[k]) for r in [head, *body]) for k in range(len(head))]
    out = ["", f"{metric} ({unit}), mean over {sweep.replications} replications; columns: {x}"]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in [head, *body]]
    return out
