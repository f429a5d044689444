"""Animation of one replication: members as dots moving between waitlist, job search, working and leaving.

The event log is rebuilt after the run from the records the model keeps anyway
(members: referral, enrollment, exit; jobs: start and end), so the event loop
does no extra work. Dots are grouped by specialist (a row per specialist,
waiting members in a row of their own) and drawn with plotly, whose frames
give play / pause, a speed choice and a month slider. Enrolled members who are
not working are shown under "job search" (this includes the short preparation
phase). A member's specialist is the last one they had (with staff turnover a
member may have moved).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ips_sim.config import DAYS_PER_MONTH
from ips_sim.sim.records import EXIT_REASONS, FrozenRecords

PHASES = ("waitlist", "job search", "working", "left")
PHASE_COLOURS = {"waitlist": "#7f7f7f", "job search": "#1f77b4", "working": "#2ca02c", "left": "#d62728"}
# Event kinds in the order they apply at the same instant (a referral enrolled at once
# is on the waitlist for no time; a job ending and an exit at once: the exit wins).
EVENTS = ("referral", "enrollment", "job_end", "job_start", "exit")
EVENT_PHASE = {"referral": "waitlist", "enrollment": "job search", "job_end": "job search",
               "job_start": "working", "exit": "left"}
DOTS_PER_ROW = 10       # dots side by side in one cell
LINGER_MONTHS = 1.0     # members who left stay visible under "left" this long


def event_log(rec: FrozenRecords) -> pd.DataFrame:
    """One row per member event: member_id, day, event, phase, specialist (-1: none yet), exit_reason.

    >>> from ips_sim.ui.api import load
    >>> from ips_sim.sim.model import run_replication
    >>> sc = load({"simulation": {"horizon_years": 2, "warmup_years": 0}})
    >>> log = event_log(run_replication(sc, 0, 1).freeze())
    >>> list(log.columns)
    ['member_id', 'day', 'event', 'phase', 'specialist', 'exit_reason']
    >>> bool((log.groupby("member_id")["event"].first() == "referral").all())
    True
    """
    m, j = rec.member, rec.job
    ids = m["member_id"]
    spec = m["specialist"].astype(int)
    reasons = np.array([""] + list(EXIT_REASONS), dtype=object)[m["exit_reason"].astype(int) + 1]
    row_of = {int(i): k for k, i in enumerate(ids)}
    job_rows = np.array([row_of[int(i)] for i in j["member_id"]], dtype=int)
    parts = []

    def add(event, member_rows, days):
        keep = np.isfinite(days)
        rows = member_rows[keep]
        parts.append(pd.DataFrame({"member_id": ids[rows], "day": days[keep], "event": event,
                                   "specialist": spec[rows], "exit_reason": reasons[rows]}))

    every = np.arange(len(ids))
    add("referral", every, m["referral_day"])
    add("enrollment", every, m["enrollment_day"])
    add("job_start", job_rows, j["start_day"])
    add("job_end", job_rows, j["end_day"])  # NaN (not ended, or censored at the exit): no event
    add("exit", every, m["exit_day"])
    log = pd.concat(parts, ignore_index=True)
    log["order"] = log["event"].map({e: k for k, e in enumerate(EVENTS)})
    log = log.sort_values(["day", "order", "member_id"], kind="stable").drop(columns="order")
    log.insert(3, "phase", log["event"].map(EVENT_PHASE))
    # Waiting members have no specialist yet; those who gave up never had one.
    log.loc[log["event"] == "referral", "specialist"] = -1
    never = log["member_id"].isin(ids[spec < 0])
    log.loc[never, "specialist"] = -1
    log.loc[log["event"] != "exit", "exit_reason"] = ""
    return log.reset_index(drop=True)


def states(log: pd.DataFrame, days: np.ndarray, linger_days: float = LINGER_MONTHS * DAYS_PER_MONTH) -> pd.DataFrame:
    """Where each member is at each of ``days``: one row per (day, member present) with phase and specialist.

    A member is present from referral until ``linger_days`` after their exit.
    """
    days = np.asarray(days, dtype=float)
    grid = pd.DataFrame({
        "day": np.repeat(days, log["member_id"].nunique()),
        "member_id": np.tile(log["member_id"].unique(), len(days)),
    }).sort_values("day", kind="stable")
    events = log.rename(columns={"day": "event_day"}).sort_values("event_day", kind="stable")
    # The last event before each frame day: the state just before anything at that instant, as the
    # month-end snapshots (model.py) are taken.
    events["day"] = events["event_day"]
    out = pd.merge_asof(grid, events.drop(columns="event_day").assign(event_day=events["event_day"]),
                        on="day", by="member_id", direction="backward", allow_exact_matches=False)
    out = out.dropna(subset=["event"])
    gone = (out["phase"] == "left") & (out["day"] - out["event_day"] > linger_days)
    out = out[~gone]
    return out.sort_values(["day", "member_id"]).reset_index(drop=True)[
        ["day", "member_id", "phase", "specialist", "exit_reason"]]


def frame_days(rec: FrozenRecords, start_month: float, months: float, per_month: int = 2) -> np.ndarray:
    """Frame times: ``per_month`` a month from ``start_month`` for ``months`` (within the horizon)."""
    end = min(rec.horizon, (start_month + months) * DAYS_PER_MONTH)
    step = DAYS_PER_MONTH / per_month
    return np.arange(start_month * DAYS_PER_MONTH, end + 1e-9, step)


def layout_positions(st: pd.DataFrame, specialists: int, min_rows: int = 1,
                     min_waiting_rows: int = 1) -> tuple[pd.DataFrame, list[tuple[str, float, float]]]:
    """x, y of every dot: a column per phase, a row band per specialist (band 0: waiting, no specialist).

    A specialist's band has at least ``min_rows`` rows of dots, the waiting band at least
    ``min_waiting_rows`` (so two figures side by side can get the same layout). Returns the
    positioned states and the bands (label, bottom, top).
    """
    st = st.copy()
    st["band"] = st["specialist"].astype(int) + 1  # -1 (none) -> band 0
    st["col"] = st["phase"].map({p: k for k, p in enumerate(PHASES)})
    st["slot"] = st.groupby(["day", "band", "col"]).cumcount()
    rows_needed = (st.groupby("band")["slot"].max() // DOTS_PER_ROW + 1).reindex(
        range(specialists + 1), fill_value=1)
    rows_needed.iloc[1:] = np.maximum(rows_needed.iloc[1:], min_rows)
    rows_needed.iloc[0] = max(int(rows_needed.iloc[0]), min_waiting_rows)
    bands, bottom = [], 0.0
    offsets = {}
    for band in range(specialists, -1, -1):  # specialist 1 at the top, waiting row at the bottom
        height = float(rows_needed[band]) + 1.0
        offsets[band] = bottom
        label = "waiting (no specialist yet)" if band == 0 else f"specialist {band}"
        bands.append((label, bottom, bottom + height))
        bottom += height
    st["x"] = st["col"] * (DOTS_PER_ROW + 2) + (st["slot"] % DOTS_PER_ROW) + 1.0
    st["y"] = st["band"].map(offsets) + 0.5 + (st["slot"] // DOTS_PER_ROW)
    return st, bands


def animation_figure(rec: FrozenRecords, specialists: int, start_month: float, months: float = 36,
                     per_month: int = 2, title: str = "", min_rows: int = 1, min_waiting_rows: int = 1):
    """A plotly figure with ``per_month`` frames a month: a dot per member, counts per cell, the month shown.

    ``min_rows``, ``min_waiting_rows``: rows of dots per specialist and on the waitlist at least
    (e.g. caseload cap / DOTS_PER_ROW, so two settings side by side line up).
    """
    import plotly.graph_objects as go

    days = frame_days(rec, start_month, months, per_month)
    st, bands = layout_positions(states(event_log(rec), days), specialists, min_rows, min_waiting_rows)
    width = len(PHASES) * (DOTS_PER_ROW + 2)
    top = bands[-1][2]
    counts = st.groupby(["day", "band", "col"]).size()
    band_top = {(0 if label.startswith("waiting") else int(label.split()[-1])): hi for label, lo, hi in bands}

    cells = [(b, k) for b in band_top for k in range(len(PHASES))]
    count_x = [k * (DOTS_PER_ROW + 2) + 0.6 for b, k in cells]
    count_y = [band_top[b] - 0.45 for b, k in cells]
    by_day = dict(tuple(st.groupby("day")))

    def traces(day):
        f = by_day.get(day, st.iloc[:0])
        hover = ("member " + f["member_id"].astype(str) + "<br>" + f["phase"]
                 + np.where(f["exit_reason"] != "", " (" + f["exit_reason"].str.replace("_", " ") + ")", ""))
        dots = {"type": "scatter", "x": f["x"].tolist(), "y": f["y"].tolist(),
                "ids": f["member_id"].astype(str).tolist(), "mode": "markers",
                "marker": {"size": 9, "color": f["phase"].map(PHASE_COLOURS).tolist(), "line": {"width": 0}},
                "hovertext": hover.tolist(), "hoverinfo": "text", "showlegend": False}
        n = [int(counts.get((day, b, k), 0)) for b, k in cells]
        text = {"type": "scatter", "x": count_x, "y": count_y, "text": [str(v) if v else "" for v in n],
                "mode": "text", "textposition": "middle right", "textfont": {"size": 12, "color": "#444"},
                "hoverinfo": "skip", "showlegend": False}
        return [dots, text]

    def heading(day):
        return f"{title}{' · ' if title else ''}month {day / DAYS_PER_MONTH:.0f} (year {day / 365.25:.1f})"

    # The month is shown by the slider (its current value moves with the animation) and in
    # each frame's title (visible when paused or scrubbed: titles are not redrawn while playing).
    frames = [{"data": traces(d), "name": f"{d / DAYS_PER_MONTH:.0f}" if per_month == 1 else f"{d / DAYS_PER_MONTH:.1f}",
               "layout": {"title": {"text": heading(d)}}} for d in days]
    def play(ms):
        return {"args": [None, {"frame": {"duration": ms, "redraw": False}, "fromcurrent": True,
                                "transition": {"duration": ms * 0.8, "easing": "linear"}}],
                "method": "animate"}

    pause = {"args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
                               "transition": {"duration": 0}}], "method": "animate"}
    layout = dict(
        title={"text": heading(days[0]), "x": 0.01},
        height=200 + 22 * top, margin={"l": 10, "r": 10, "t": 60, "b": 10},
        plot_bgcolor="white",
        xaxis={"range": [0, width], "tickvals": [k * (DOTS_PER_ROW + 2) + DOTS_PER_ROW / 2 + 0.5
                                                  for k in range(len(PHASES))],
               "ticktext": [p for p in PHASES], "side": "top", "showgrid": False, "zeroline": False,
               "fixedrange": True, "tickfont": {"size": 14}},
        yaxis={"range": [0, top], "tickvals": [(lo + hi) / 2 for _, lo, hi in bands],
               "ticktext": [label.replace(" (", "<br>(") for label, _, _ in bands], "showgrid": False,
               "zeroline": False, "fixedrange": True},
        shapes=[{"type": "rect", "xref": "x", "yref": "y", "x0": k * (DOTS_PER_ROW + 2) + 0.3,
                 "x1": k * (DOTS_PER_ROW + 2) + DOTS_PER_ROW + 0.7, "y0": lo + 0.1, "y1": hi - 0.1,
                 "line": {"width": 1, "color": "#ddd"}, "fillcolor": "rgba(0,0,0,0)"}
                for _, lo, hi in bands for k in range(len(PHASES))],
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0.0, "y": 0.0, "xanchor": "left",
                      "yanchor": "top", "pad": {"t": 10},
                      "buttons": [{"label": "▶ slow", **play(900)}, {"label": "▶ play", **play(400)},
                                  {"label": "▶ fast", **play(120)}, {"label": "❚❚ pause", **pause}]}],
        sliders=[{"active": 0, "x": 0.0, "len": 1.0, "y": 0.0, "yanchor": "top", "pad": {"t": 55},
                  "currentvalue": {"prefix": "month ", "font": {"size": 18, "color": "#222"}},
                  "steps": [{"label": f["name"], "method": "animate",
                             "args": [[f["name"]], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                                                 "transition": {"duration": 0}}]} for f in frames]}],
    )
    layout["margin"]["b"] = 150
    # Built as plain dicts and not validated trace by trace: plotly's validation of ~70 frames
    # takes seconds, the dicts follow the plotly.js schema directly.
    return go.Figure({"data": traces(days[0]), "layout": layout, "frames": frames}, _validate=False)


def phase_counts(rec: FrozenRecords, day: float) -> dict[str, int]:
    """How many members are in each phase at ``day`` (those who left: within the linger time)."""
    st = states(event_log(rec), np.array([day]))
    return {p: int((st["phase"] == p).sum()) for p in PHASES}


def default_start_month(warmup_years: float, horizon_years: float, months: float) -> float:
    """Start of the animated window: right after warm-up, moved earlier if the horizon is too short."""
    return max(0.0, min(warmup_years * 12.0, horizon_years * 12.0 - months)) if math.isfinite(months) else 0.0
