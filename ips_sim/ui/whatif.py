"""The what-if app's plain part: levers, scenarios from an upload, cached simulation, the tables and
long data its charts show, number formats. No Streamlit here, so the command line and the tests use it
without a browser (the page is :mod:`ips_sim.ui.app`).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ips_sim.analysis.metrics import metric_label
from ips_sim.config import (
    Scenario,
    ScenarioError,
    get_dotted,
    read_yaml_text,
    scenario_from_dict,
    set_dotted,
)

DEFAULT_REPLICATIONS = 20
MAX_REPLICATIONS = 200

# Sidebar levers: session-state key -> dotted scenario field. Seed and
# replications are shared by a baseline and its variant (common random numbers).
LEVERS = {
    "specialists": "team.specialists",
    "caseload_cap": "team.caseload_cap",
    "referrals_per_month": "referrals.rate_per_month",
    "fte": "team.fte_per_specialist",
    "allocation_policy": "time_use.allocation_policy",
    "job_development_hours": "service.job_development_hours_per_week",
    "step_down": "follow_along.step_down_enabled",
    "benefits_counselling": "benefits.counselling_provider",
}
RUN_LEVERS = {"replications": "simulation.replications", "seed": "simulation.seed"}
LEVER_LABELS = {
    "specialists": "Employment specialists",
    "caseload_cap": "Caseload cap per full-time specialist",
    "referrals_per_month": "Referrals per month",
    "fte": "FTE per specialist",
    "allocation_policy": "How specialists share their hours",
    "job_development_hours": "Job-development hours per week (per FTE)",
    "step_down": "Step-down after a year of steady work",
    "benefits_counselling": "Who gives benefits counselling",
}

# Headline cards: metric, short label, True when a lower value is better (None: neither).
HEADLINES = (
    ("mean_wait_days", "Mean wait for a place", True),
    ("share_gave_up_waiting", "Gave up waiting", True),
    ("ever_employed_rate", "Employed by month 18", False),
    ("caseload_per_specialist_mean", "Caseload per specialist", None),
    ("job_search_service_share", "Job-search help received", False),
)

# Chart colours (tab10) for the quantities of a chart; a baseline is dashed, your settings solid.
SERIES_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"]

INTRO = """
**Individual Placement and Support (IPS)** helps people with serious mental illness find and
keep ordinary paid jobs. Each person works with an *employment specialist*: the job search starts
quickly, the specialist meets employers on the person's behalf (*job development*), and support
continues after a job starts (*follow-along*). Fidelity guidance says a full-time specialist
should carry at most about 20 people at a time.

**What this model does.** It plays out a program month by month, week by week, over
{horizon:g} years. People are referred; if every specialist is full they wait (and some give up).
Once enrolled they search for work, find jobs, lose or leave jobs, and eventually leave the
program (for example after a year of steady work, *step-down*, or by dropping out). Every week
each specialist has a fixed number of hours for direct work and shares them between intake,
job-search help, follow-along and job development. When hours run short, people get less help:
jobs take longer to find, end sooner, and more people drop out.

**Reading the results.** Chance plays a part, so one run (a *replication*) is one possible
history. The app runs many and shows the average with a 95% confidence interval (the range the
true average most likely lies in). The program starts empty, so the first {warmup:g} years
(*warm-up*, grey in the charts) are left out of the metrics. This is a teaching model: many
inputs are estimates or assumptions (see *Scenario fields* below).
"""



# --------------------------------------------------------------------------- pure helpers


def scenario_from_upload(data: bytes | str, filename: str = "uploaded.yaml") -> Scenario:
    """Validate the text of an uploaded scenario YAML over the defaults.

    Raises :class:`ScenarioError` whose ``messages`` hold one line per problem,
    in the same form as ``ips-sim validate`` (``file: field.path: value: what is allowed``).
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScenarioError([f"{filename}: (file): cannot read: not UTF-8 text ({exc.reason})"]) from None
    else:
        text = data
    raw = read_yaml_text(text, filename)
    return scenario_from_dict(raw, filename, name=Path(filename).stem or "uploaded")


def replications_set_in(data: bytes | str) -> int | None:
    """``simulation.replications`` if a (valid) scenario file sets it, else None (the app's default applies)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        raw = read_yaml_text(text, "<upload>")
        value = raw["simulation"]["replications"]
    except (ScenarioError, UnicodeDecodeError, TypeError, KeyError):
        return None
    return value if isinstance(value, int) else None


def default_scenario() -> Scenario:
    """The package defaults (the typical two-specialist team)."""
    return scenario_from_dict({}, "defaults", name="default_team")


def lever_values(scenario: Scenario, replications: int | None = None) -> dict[str, Any]:
    """Sidebar values read from a scenario (replications capped for the app)."""
    values = {key: get_dotted(scenario, path) for key, path in LEVERS.items()}
    reps = scenario.simulation.replications if replications is None else replications
    values["replications"] = int(min(max(reps, 2), MAX_REPLICATIONS))
    values["seed"] = int(scenario.simulation.seed)
    return values


def apply_levers(base: Scenario, levers: dict[str, Any]) -> Scenario:
    """``base`` with the lever values set, validated again (ScenarioError on a bad value)."""
    data = base.model_dump(mode="json")
    for key, value in levers.items():
        path = LEVERS.get(key) or RUN_LEVERS.get(key)
        if path is not None:
            set_dotted(data, path, value)
    return scenario_from_dict(data, "sidebar settings")


def scenario_key(scenario: Scenario) -> str:
    """The resolved scenario as canonical JSON: the cache key."""
    return scenario.model_dump_json()


def simulate(scenario_json: str, seed: int, replications: int):
    """Run replications of a resolved scenario.

    Returns per-replication metrics, the monthly table, the weekly hours table
    (:func:`ips_sim.analysis.hours.weekly_hours`) and the records of the first replication (for
    the animation): everything the page draws, built once and cached.
    """
    from ips_sim.analysis.hours import weekly_hours
    from ips_sim.reporting.tables import monthly_table
    from ips_sim.runner.experiment import run_replications

    scenario = Scenario.model_validate_json(scenario_json)
    metrics, records = run_replications(scenario, replications, seed, workers=1)
    return metrics, monthly_table(records), weekly_hours(records), records[0]


def display_scale(unit: str) -> tuple[float, str]:
    return (100.0, "%") if unit == "share" else (1.0, unit)


def display_summary(summary):
    """A summary table for people: plain names, shares in %, rounded."""
    import pandas as pd

    from ips_sim.analysis.metrics import METRICS
    from ips_sim.reporting.wording import plain_ids

    desc = {m.name: m.description for m in METRICS}
    rows = []
    for r in summary.itertuples():
        k, unit = display_scale(r.unit)
        rows.append({
            "metric": metric_label(r.metric),
            "mean": round_figure(r.mean * k), "95% CI low": round_figure(r.ci_low * k),
            "95% CI high": round_figure(r.ci_high * k), "unit": unit,
            "what it measures": plain_ids(desc.get(r.metric, "")),
        })
    return pd.DataFrame(rows)


def display_comparison(table, currency: str = "money"):
    """The paired comparison for people: plain names, shares in percentage points, money in ``currency``."""
    import pandas as pd

    rows = []
    for r in table.itertuples():
        k, unit = display_scale(r.unit)
        rows.append({
            "metric": metric_label(r.metric),
            "baseline": round_figure(r.baseline * k), "your settings": round_figure(r.variant * k),
            "difference": round_figure(r.difference * k),
            "95% CI low": round_figure(r.diff_ci_low * k), "95% CI high": round_figure(r.diff_ci_high * k),
            "unit": "percentage points" if unit == "%" else currency if unit == "money" else unit,
            "result": r.variant_is,
        })
    return pd.DataFrame(rows)


def dashes_for_missing(df):
    """The table styled to show "–" where a number does not exist (a CI from one pair, a metric that
    does not apply), instead of the "None" a dataframe widget shows for NaN; the numbers stay numbers."""
    numeric = [c for c in df.columns if df[c].dtype.kind == "f"]
    return df.style.format(lambda v: "–" if not math.isfinite(v) else f"{v:,.10g}", subset=numeric)


def round_figure(x: float) -> float:
    if x is None or not math.isfinite(x):
        return math.nan
    if x == 0:
        return 0.0
    digits = max(0, 3 - int(math.floor(math.log10(abs(x)))) - 1)
    return round(x, min(digits, 4)) + 0.0  # + 0.0: a value that rounds to -0.0 shows as 0, not "-0"


def bands(monthly, columns: dict[str, str], scenario_label: str | None = None):
    """Long table for charts: per month and series, mean and 95% CI band over replications."""
    import pandas as pd

    from ips_sim.reporting.plots import mean_and_ci

    frames = []
    for column, label in columns.items():
        b = mean_and_ci(monthly, column).reset_index()
        b["low"] = b["low"].clip(lower=0.0)  # counts of people and jobs: the band stops at 0
        b["years"] = b["month"] / 12.0
        b["series"] = label if scenario_label is None else f"{label} ({scenario_label})"
        b["quantity"] = label
        b["scenario"] = scenario_label or ""
        frames.append(b)
    return pd.concat(frames, ignore_index=True)


def hours_long(monthly, scenario_label: str = ""):
    """Long table of mean team hours per month by activity."""
    import pandas as pd

    from ips_sim.reporting.plots import ACTIVITY_COLUMNS

    cols = [c for c, _ in ACTIVITY_COLUMNS]
    means = monthly.groupby("month")[cols + ["hours_available"]].mean().reset_index()
    frames = []
    for order, (c, label) in enumerate(ACTIVITY_COLUMNS):
        frames.append(pd.DataFrame({"years": means["month"] / 12.0, "hours": means[c],
                                    "activity": label, "order": order, "scenario": scenario_label}))
    available = pd.DataFrame({"years": means["month"] / 12.0, "hours": means["hours_available"],
                              "scenario": scenario_label})
    return pd.concat(frames, ignore_index=True), available


def run_command(cmd: list[str]) -> None:
    """Become ``cmd`` (POSIX: signals reach Streamlit directly); elsewhere run it and pass its exit status on."""
    sys.stdout.flush()
    if os.name == "posix":
        os.execv(cmd[0], cmd)
    try:  # pragma: no cover - Windows
        rc = subprocess.call(cmd)
    except KeyboardInterrupt:  # pragma: no cover
        rc = 0
    if rc:  # pragma: no cover
        raise SystemExit(rc)


def lever_text(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    return f"{v:g}" if isinstance(v, float) else str(v)


def figure_text(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{round_figure(x):,.4g}"
