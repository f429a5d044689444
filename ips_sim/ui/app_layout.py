"""Layout helpers and Altair charts of the what-if page (:mod:`ips_sim.ui.app`).
"""

from __future__ import annotations

from ips_sim.ui.whatif import SERIES_COLOURS


def wide(st) -> dict:
    """Keyword for full-width elements: ``width="stretch"`` on new Streamlit, the old flag before."""
    try:
        version = tuple(int(p) for p in st.__version__.split(".")[:2])
    except ValueError:
        version = (0, 0)
    return {"width": "stretch"} if version >= (1, 50) else {"use_container_width": True}


def comparison_columns(st) -> dict:
    """Column settings: long labels and units not clipped; numbers with thousands separators (2,569,480)."""
    numbers = {}
    try:
        localized = tuple(int(p) for p in st.__version__.split(".")[:2]) >= (1, 46)
    except ValueError:
        localized = False
    if localized:  # pixel widths: "2,569,480" and "USD 2024" whole in a 1300 px window
        numbers = {c: st.column_config.NumberColumn(c, format="localized", width=100)
                   for c in ("mean", "95% CI low", "95% CI high", "baseline", "your settings", "difference")}
        numbers["unit"] = st.column_config.TextColumn("unit", width=110)
        numbers["metric"] = st.column_config.TextColumn("metric", width=290)
    return {"unit": st.column_config.TextColumn("unit", width="medium"),
            "metric": st.column_config.TextColumn("metric", width="large"), **numbers,
            "what it measures": st.column_config.TextColumn("what it measures", width="large"),
            "result": st.column_config.TextColumn(
                "result", width="medium",
                help="higher / lower: the 95% CI of the difference excludes 0; same: identical in every replication")}


def table_height(df) -> int:
    """Pixel height that shows every row of a dataframe without inner scrolling."""
    return 35 * (len(df) + 1) + 3


def has_vertical_alignment(st) -> bool:
    import inspect

    return "vertical_alignment" in inspect.signature(st.columns).parameters


def warmup_layer(alt, warm: float):
    import pandas as pd

    return alt.Chart(pd.DataFrame({"start": [0.0], "end": [warm]})).mark_rect(color="#e6e6e6", opacity=0.6).encode(
        x="start:Q", x2="end:Q")


def band_chart(alt, data, ylabel: str, warm: float, colours: list[str] | None = None):
    """Mean lines with 95% CI bands; colour by quantity, dashes by scenario when there are two."""
    x = alt.X("years:Q", title="years since the program opened")
    quantities = list(dict.fromkeys(data["quantity"]))
    color = alt.Color("quantity:N", title=None, legend=alt.Legend(orient="top", labelLimit=400),
                      scale=alt.Scale(domain=quantities, range=(colours or SERIES_COLOURS)[:len(quantities)]))
    enc = {"x": x, "color": color}
    scenarios = list(dict.fromkeys(data["scenario"]))
    if len(scenarios) > 1:
        enc["strokeDash"] = alt.StrokeDash("scenario:N", title=None, legend=alt.Legend(orient="top"),
                                           scale=alt.Scale(domain=scenarios, range=[[5, 3], [1, 0]]))
    band = alt.Chart(data).mark_area(opacity=0.2 if len(scenarios) > 1 else 0.25).encode(
        y=alt.Y("low:Q", title=ylabel), y2="high:Q", detail="series:N", **{k: v for k, v in enc.items() if k != "strokeDash"})
    line = alt.Chart(data).mark_line().encode(
        y="mean:Q", detail="series:N", **enc,
        tooltip=["series", alt.Tooltip("years:Q", format=".2f"), alt.Tooltip("mean:Q", format=".1f"),
                 alt.Tooltip("low:Q", title="95% CI low", format=".1f"),
                 alt.Tooltip("high:Q", title="95% CI high", format=".1f")])
    layers = [band, line]
    if warm > 0:
        layers.insert(0, warmup_layer(alt, warm))
    return alt.layer(*layers).properties(height=340)


def hours_chart(alt, stacked, available, warm: float, label: str | None, top: float | None = None):
    x = alt.X("years:Q", title="years since the program opened")
    area = alt.Chart(stacked).mark_area(opacity=0.85).encode(
        x=x, y=alt.Y("hours:Q", stack="zero", title="team hours per month",
                     scale=alt.Scale(domain=[0, top]) if top else alt.Undefined),
        color=alt.Color("activity:N", legend=alt.Legend(orient="top", title=None),
                        scale=alt.Scale(domain=["intake", "follow-along", "job search", "job development"],
                                        range=["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"])),
        order="order:Q", tooltip=["activity", alt.Tooltip("hours:Q", format=".0f")])
    line = alt.Chart(available).mark_line(color="black").encode(x=x, y="hours:Q")
    layers = [area, line]
    if warm > 0:
        layers.insert(0, warmup_layer(alt, warm))
    chart = alt.layer(*layers).properties(height=320)
    return chart.properties(title=label) if label else chart


BUDGET_COLOURS = {"intake": ("#1f77b4", "#aec7e8"), "follow-along": ("#ff7f0e", "#ffbb78"),
                  "job search": ("#2ca02c", "#98df8a"), "job development": ("#d62728", "#ff9896")}


def budget_chart(alt, stack, available, warm: float, label: str | None, top: float):
    """A row per specialist: stacked hours needed per week (received solid, short pale) and the hours available."""
    domain = [f"{a}: {p}" for a in BUDGET_COLOURS for p in ("received", "short")]
    colours = [c for a in BUDGET_COLOURS for c in BUDGET_COLOURS[a]]
    stack = stack.assign(years=stack["week"] * 7 / 365.25)
    available = available.assign(years=available["week"] * 7 / 365.25)
    x = alt.X("years:Q", title="years since the program opened")
    color = alt.Color("band:N", scale=alt.Scale(domain=domain, range=colours),
                      legend=alt.Legend(orient="top", title=None, columns=2, labelLimit=300))
    rows = []
    for s in sorted(stack["specialist"].unique()):
        area = alt.Chart(stack[stack["specialist"] == s]).mark_area(interpolate="step-after").encode(
            x=x, y=alt.Y("hours:Q", stack="zero", title="hours per week", scale=alt.Scale(domain=[0, top])),
            color=color, order="order:Q",
            tooltip=["activity", "part", alt.Tooltip("hours:Q", format=".1f"), alt.Tooltip("years:Q", format=".2f")])
        line = alt.Chart(available[available["specialist"] == s]).mark_line(
            color="black", interpolate="step-after").encode(x=x, y="available:Q")
        layers = [area, line]
        if warm > 0:
            layers.insert(0, warmup_layer(alt, warm))
        rows.append(alt.layer(*layers).properties(height=170, width="container", title=f"specialist {s}"))
    out = alt.vconcat(*rows)
    return out.properties(title=label) if label else out
