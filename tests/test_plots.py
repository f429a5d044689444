"""Plots draw what the model does: the caseload-cap line is the cap the model enforces."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import make_scenario
from matplotlib.axes import Axes

from ips_sim.reporting.plots import plot_run
from ips_sim.reporting.tables import monthly_table
from ips_sim.sim.model import run_replication


def test_caseload_cap_line_scales_with_fte(tmp_path, monkeypatch):
    """Part-time team: 2 specialists at 0.5 FTE with a cap of 20 per full-time specialist.

    By hand: each carries floor(20 x 0.5) = 10, so the team's line sits at 20, not 40;
    and the simulated caseload never goes above it.
    """
    sc = make_scenario({"team.specialists": 2, "team.caseload_cap": 20, "team.fte_per_specialist": 0.5,
                        "referrals.rate_per_month": 3.0, "simulation.horizon_years": 3,
                        "simulation.warmup_years": 1})
    lines = []
    original = Axes.axhline

    def axhline(self, y=0, *args, **kwargs):
        lines.append((y, kwargs.get("label", "")))
        return original(self, y, *args, **kwargs)

    monkeypatch.setattr(Axes, "axhline", axhline)
    monthly = monthly_table([run_replication(sc, i, 7).freeze() for i in range(2)])
    plot_run(monthly, sc, tmp_path)
    caps = [y for y, label in lines if label.startswith("caseload cap")]
    assert caps == [20]
    assert monthly["caseload"].max() <= 20
    assert isinstance(monthly, pd.DataFrame) and np.isfinite(monthly["caseload"]).all()
