"""The plots a report embeds: their titles in plain words, as data URIs so report.html stands alone."""

from __future__ import annotations

import base64
from pathlib import Path

from ips_sim.analysis.metrics import metric_label

PLOT_TITLES = {
    "cost_effect.png": "Cost and people employed, with the efficient frontier",
    "ceac.png": "How likely each option is the best buy, by what you are willing to pay",
    "ce_plane.png": "Incremental cost against incremental people employed (one point per draw)",
    "budget.png": "Budget per year",
    "caseload_waitlist.png": "Caseload and waiting list over time",
    "employment.png": "Members working over time",
    "hours_by_activity.png": "Where specialists' hours go",
    "waitlist_fan.png": "People waiting at each month end: the likely range",
    "employed_fan.png": "Members working at each month end: the likely range",
    "fidelity.png": "IPS fidelity items measured in the simulation",
    "frontier.png": "What each state budget buys (state-wide gain against new posts or dollars)",
    "gains.png": "Gain per program from its new posts, with 95% CI",
}


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def plots_in(folder: Path, names) -> list[dict]:
    out = []
    for name in names:
        p = folder / name
        if p.exists():
            stem = name.removesuffix(".png")
            words = ("Where " + metric_label(stem[8:]).lower() + " lies across the grid" if stem.startswith("heatmap_")
                     else metric_label(stem.removeprefix("sensitivity_")) + ": which assumptions matter"
                     if stem.startswith("sensitivity_") else metric_label(stem))
            out.append({"title": PLOT_TITLES.get(name, words),
                        "uri": data_uri(p), "file": name})
    return out
