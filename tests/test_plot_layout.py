"""Figures laid out from their measured text: everything drawn fits in the figure, and the axes get about
the room ``tight_layout`` would give them (neither clipped text nor wasted space)."""

from __future__ import annotations

import numpy as np
import pytest

from ips_sim.reporting.plot_layout import figure, fit_margins

CASES = {
    "years, small numbers": dict(x=np.arange(1, 181) / 12.0, y=np.linspace(0, 40, 180), dates=False),
    "large numbers, two-line title": dict(x=np.arange(1, 61) / 12.0, y=np.linspace(0, 123456, 60), dates=False,
                                          title="A state program with a rather long label: caseload and waitlist\n"
                                                "(mean of 1000 replications, 95% CI band)"),
    "calendar dates": dict(x=np.arange("2026-07", "2028-08", dtype="datetime64[M]").astype("datetime64[D]"),
                           y=np.linspace(0, 25, 25), dates=True),
    "negative, decimals": dict(x=np.arange(0, 30), y=np.linspace(-0.125, 2.5, 30), dates=False),
}


def _drawn(case: dict, layout: str):
    fig, ax = figure()
    ax.plot(case["x"], case["y"], label="series")
    ax.set_xlabel("x label (the run starts from the program as it is today)")
    ax.set_ylabel("members at month end")
    ax.set_title(case.get("title", "2 specialists: employment"), fontsize=10, y=1.0)
    ax.legend(fontsize=8)
    if layout == "fit":
        fit_margins(fig, ax, dates=case["dates"])
    else:
        if case["dates"]:
            fig.autofmt_xdate()
        fig.tight_layout()
    fig.canvas.draw()
    return fig, ax


@pytest.mark.parametrize("name", list(CASES))
def test_text_fits_in_the_figure_and_axes_get_tight_layouts_room(name):
    fig, ax = _drawn(CASES[name], "fit")
    r = fig.canvas.get_renderer()
    box = fig.get_tightbbox(r)  # inches: every drawn artist, text included
    w, h = fig.get_size_inches()
    tol = 1.0 / fig.dpi  # a pixel
    assert box.x0 >= -tol and box.y0 >= -tol and box.x1 <= w + tol and box.y1 <= h + tol, (name, box)
    tight_fig, tight_ax = _drawn(CASES[name], "tight")
    ours, theirs = ax.get_position(), tight_ax.get_position()
    # the same padding as tight_layout (1.08 font sizes); ours measures strings rather than drawn boxes, so
    # allow 2% of the figure (9 pixels of 440) either way
    assert ours.width == pytest.approx(theirs.width, abs=0.02), name
    assert ours.height == pytest.approx(theirs.height, abs=0.02), name
