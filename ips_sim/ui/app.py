"""Interactive what-if app (Streamlit) for students: change a lever, run, compare.

Launch with ``ips-sim app`` (or ``streamlit run ips_sim/ui/app.py``); it needs the
optional extra ``pip install 'ips-sim[app]'``.

The app imports the model as a package and adds nothing to it: a scenario is
the package's defaults, optionally overlaid by an uploaded scenario YAML
(validated by :func:`ips_sim.config.scenario_from_dict`, every error shown
as one line), then by the sidebar levers. Results are cached on the resolved
scenario JSON, the seed and the number of replications.

This module imports Streamlit only inside the page, so that the command line
(``ips_sim/ui/cli/app.py``) can import it and the tests can call the plain helpers
(:mod:`ips_sim.ui.whatif`: :func:`scenario_from_upload`, :func:`apply_levers`,
:func:`simulate`, re-exported here) without a browser; layout helpers and charts are
in :mod:`ips_sim.ui.app_layout`. The page itself is :func:`render`, split into one small
function per part, run when Streamlit executes this file as a script. What it
draws comes from library modules: :mod:`ips_sim.analysis.paired` (paired differences),
:mod:`ips_sim.analysis.mechanism` ("why did this change?"), :mod:`ips_sim.reporting.animation`
and :mod:`ips_sim.analysis.hours` (the hours budget).
"""


from __future__ import annotations

import hashlib
import math
from dataclasses import asdict
from pathlib import Path

import yaml

from ips_sim.analysis.metrics import metric_label
from ips_sim.analysis.paired import comparison_table, paired_differences
from ips_sim.config import (
    Scenario,
    ScenarioError,
)
from ips_sim.ui.app_layout import (
    band_chart,
    budget_chart,
    comparison_columns,
    has_vertical_alignment,
    hours_chart,
    table_height,
    wide,
)
from ips_sim.ui.whatif import (
    DEFAULT_REPLICATIONS,
    HEADLINES,
    INTRO,
    LEVER_LABELS,
    LEVERS,
    MAX_REPLICATIONS,
    RUN_LEVERS,
    apply_levers,
    bands,
    dashes_for_missing,
    default_scenario,
    display_comparison,
    display_scale,
    display_summary,
    figure_text,
    hours_long,
    lever_text,
    lever_values,
    replications_set_in,
    round_figure,
    run_command,
    scenario_from_upload,
    scenario_key,
    simulate,
)

# The plain part (ips_sim.ui.whatif) is re-exported: the command line and the tests use it through this module.
__all__ = ["APP_PATH", "DEFAULT_REPLICATIONS", "LEVERS", "MAX_REPLICATIONS", "RUN_LEVERS", "apply_levers",
           "comparison_table", "default_scenario", "lever_values", "metric_label", "paired_differences", "render",
           "dashes_for_missing", "run_command", "scenario_from_upload", "simulate"]

APP_PATH = Path(__file__).resolve()

# --------------------------------------------------------------------------- the page


def render() -> None:  # pragma: no cover - exercised through streamlit.testing in tests/test_app.py
    """The page: scenario source and levers in the sidebar, results (cards, why, tables, charts) in the main part."""
    import streamlit as st

    st.set_page_config(page_title="IPS capacity what-if", page_icon="💼", layout="wide")
    state = st.session_state
    st.title("IPS program capacity: what if?")
    st.caption("A discrete-event simulation of an Individual Placement and Support (IPS) employment program.")

    base, base_id, reps0, uploaded = _scenario_source(st)
    base_levers = _reset_state_for(state, base, base_id, reps0)
    if uploaded:
        st.sidebar.success(f"Loaded **{base.name}**" + (f": {base.description}" if base.description else ""))
    _lever_widgets(st.sidebar, base, base_levers)
    compare, current, baseline, run_settings, run = _run_controls(st, state, base_levers, base_id)
    first_visit = not state.get("_ran_once")
    if run or first_visit:  # a first visit shows the loaded scenario's results at once
        state["_ran_once"] = True
        _run(st, state, base, run_settings)

    with st.expander("What is IPS, and what does this model do?", expanded=first_visit):
        st.markdown(INTRO.format(horizon=base.simulation.horizon_years, warmup=base.simulation.warmup_years))
    if compare:
        _lever_differences(st, baseline, current)

    results = state.get("results")
    if not results:
        st.info("Set the levers in the sidebar and press **Run**.")
    else:
        if results["settings"] != run_settings:
            st.warning("The settings have changed since these results were run: press **Run** to update them.")
        _results(st, results)
    _field_reference(st)


def _scenario_source(st):
    """The base scenario: an uploaded file (validated; every error shown, then the page stops) or the defaults."""
    sb = st.sidebar
    sb.header("Scenario")
    upload = sb.file_uploader(
        "Start from a scenario file (optional)", type=["yaml", "yml"], key="upload",
        help="A scenario YAML as used by `ips-sim run`. Fields left out take the defaults. "
             "The sliders below then start from the file's values.")
    if upload is None:
        return default_scenario(), "defaults", DEFAULT_REPLICATIONS, False
    data = upload.getvalue()
    try:
        base = scenario_from_upload(data, upload.name)
    except ScenarioError as exc:
        sb.error(f"{upload.name} is not a valid scenario ({len(exc.messages)} problem"
                 f"{'s' if len(exc.messages) != 1 else ''}); see the main page.")
        st.error(f"**{upload.name} is not a valid scenario.** Every problem, one per line "
                 "(file: field: value: what is allowed):")
        st.code("\n".join(exc.messages), language=None)
        st.info("Fix the file and upload it again, or remove it to start from the default scenario. "
                "*Scenario fields* below lists every field with its allowed values.")
        _field_reference(st)
        st.stop()
    base_id = "upload:" + hashlib.sha256(data).hexdigest()
    return base, base_id, replications_set_in(data) or DEFAULT_REPLICATIONS, True


def _reset_state_for(state, base: Scenario, base_id: str, reps0: int) -> dict:
    """Levers start from a newly loaded scenario; otherwise keep the student's settings."""
    base_levers = lever_values(base, reps0)
    if state.get("_base_id") != base_id:
        state.update(base_levers)
        state["_base_id"] = base_id
        state["_baseline"] = {k: base_levers[k] for k in LEVERS}
        state.pop("results", None)
        if base_id != "defaults":
            state["_ran_once"] = False  # a new file: show its results at once
    else:
        for key, value in base_levers.items():  # widgets not drawn on a previous run lose their state
            state.setdefault(key, value)
    return base_levers


def _lever_widgets(sb, base: Scenario, base_levers: dict) -> None:
    sb.header("Levers")
    sb.slider(LEVER_LABELS["specialists"], 1, max(10, base_levers["specialists"]), key="specialists",
              help="How many employment specialists the team has.")
    sb.slider(LEVER_LABELS["caseload_cap"], min(5, base_levers["caseload_cap"]), max(40, base_levers["caseload_cap"]),
              key="caseload_cap",
              help="Most people one full-time specialist may carry. IPS fidelity: at most 20. "
                   "Part-time specialists get a proportionally smaller cap.")
    sb.slider(LEVER_LABELS["referrals_per_month"], 0.0, max(15.0, float(base_levers["referrals_per_month"])),
              step=0.1, key="referrals_per_month", help="New referrals to the program per month, on average.")
    if base.referrals.schedule:
        first = base.schedule_months()[0][0]
        sb.caption(f"This scenario's referral schedule changes the rate from month {first:g} on; "
                   "the slider sets the rate before that.")
    sb.slider(LEVER_LABELS["fte"], 0.05, 1.0, step=0.05, key="fte",
              help="1.0 = full time. Paid hours and the caseload cap scale with it.")
    sb.radio(LEVER_LABELS["allocation_policy"], ["priority", "proportional"], key="allocation_policy",
             horizontal=True,
             help="priority: serve intake, then follow-along, then job search, then job development until "
                  "the hours run out. proportional: when short, every activity gets the same share of "
                  "what it needs.")
    sb.slider(LEVER_LABELS["job_development_hours"], 0.0, max(20.0, float(base_levers["job_development_hours"])),
              step=0.5, key="job_development_hours",
              help="Hours a week each specialist sets aside to meet employers (IPS guidance: about 4-6).")
    sb.toggle(LEVER_LABELS["step_down"], key="step_down",
              help="On: after about a year of steady work a person moves on, freeing a place. "
                   "Off: workers stay on the caseload (time-unlimited follow-along).")
    sb.radio(LEVER_LABELS["benefits_counselling"], ["counsellor", "specialist", "none"], key="benefits_counselling",
             horizontal=True,
             help="counsellor: an outside benefits counsellor sees every member on SSI or SSDI. specialist: the "
                  "specialists give it from their intake hours. none: nobody is counselled, and members on SSDI "
                  "more often keep their earnings low.")


def _run_controls(st, state, base_levers: dict, base_id: str):
    """Mode, replications, seed, baseline buttons and the Run button; returns what a run would use."""
    sb = st.sidebar
    sb.header("Run settings")
    sb.radio("Mode", ["One scenario", "Compare with a baseline"], key="mode",
             help="Compare: runs the baseline and your settings with the same random numbers, "
                  "so the difference shows the effect of the change, not luck.")
    sb.slider("Replications", 2, MAX_REPLICATIONS, key="replications",
              help="How many possible histories to simulate. More gives narrower confidence intervals "
                   "but takes longer.")
    sb.number_input("Random seed", min_value=0, step=1, key="seed",
                    help="The same seed gives the same results; change it to see other random histories.")
    compare = state["mode"] == "Compare with a baseline"
    current = {k: state[k] for k in LEVERS}
    if compare:
        if sb.button("Make these settings the baseline", key="pin",
                     help="The baseline starts as the scenario you loaded (or the defaults)."):
            state["_baseline"] = dict(current)
        if sb.button("Reset baseline to the loaded scenario", key="unpin"):
            state["_baseline"] = {k: base_levers[k] for k in LEVERS}
    reps, seed = int(state["replications"]), int(state["seed"])
    left, right = (st.columns([1, 4], vertical_alignment="center") if has_vertical_alignment(st)
                   else st.columns([1, 4]))
    run = left.button("Run", type="primary", key="run", **wide(st))
    right.caption(f"{'Baseline and your settings' if compare else 'Your settings'}: {reps} replications"
                  f"{' each' if compare else ''}, seed {seed}. Change the levers in the sidebar, then press Run.")
    baseline = dict(state["_baseline"])
    run_settings = {"levers": current, "baseline": baseline if compare else None, "compare": compare,
                    "replications": reps, "seed": seed, "base": base_id}
    return compare, current, baseline, run_settings, run


def _run(st, state, base: Scenario, run_settings: dict) -> None:
    """Simulate the settings (and the baseline in compare mode); store the results in the session."""
    run_cached = st.cache_data(show_spinner=False, max_entries=64)(simulate)
    shared = {"replications": run_settings["replications"], "seed": run_settings["seed"]}
    try:
        variant_sc = apply_levers(base, {**run_settings["levers"], **shared})
        baseline_sc = apply_levers(base, {**run_settings["baseline"], **shared}) if run_settings["compare"] else None
    except ScenarioError as exc:
        st.error("These settings do not make a valid scenario:")
        st.code("\n".join(exc.messages), language=None)
        st.stop()
    results = {"settings": run_settings, "runs": {}}
    with st.spinner(f"Simulating {run_settings['replications']} replications"
                    f"{' of each scenario' if run_settings['compare'] else ''}..."):
        for label, sc in (("baseline", baseline_sc), ("variant", variant_sc)):
            if sc is None:
                continue
            try:
                metrics, monthly, weekly, first = run_cached(scenario_key(sc), run_settings["seed"],
                                                             run_settings["replications"])
            except Exception as exc:  # a model failure: say so plainly, details on request
                st.error(f"The simulation stopped with an error: {type(exc).__name__}: {exc}")
                with st.expander("Details for the course team"):
                    st.exception(exc)
                st.stop()
            results["runs"][label] = {"scenario": sc, "metrics": metrics, "monthly": monthly,
                                      "weekly": weekly, "first": first}
    state["results"] = results


def _lever_differences(st, baseline: dict, current: dict) -> None:
    import pandas as pd

    st.subheader("Baseline vs your settings")
    changed = [{"lever": LEVER_LABELS[k], "baseline": lever_text(baseline[k]), "your settings": lever_text(current[k])}
               for k in LEVERS if baseline[k] != current[k]]
    if changed:
        st.dataframe(pd.DataFrame(changed), hide_index=True)
    else:
        st.info("Your settings are the same as the baseline: move a lever in the sidebar to make a variant "
                "(or press *Make these settings the baseline* and then change something).")


def _results(st, results: dict) -> None:
    from ips_sim.config.prices import currency_label
    from ips_sim.reporting.tables import summary_table

    runs = results["runs"]
    variant, base_run = runs["variant"], runs.get("baseline")
    n = results["settings"]["replications"]
    currency = currency_label(variant["scenario"].costs.price_year)  # money metrics shown as e.g. "USD 2024"
    v_summary = summary_table(variant["metrics"], currency)
    b_summary = summary_table(base_run["metrics"], currency) if base_run else None
    _headlines(st, v_summary, b_summary, n, results["settings"]["seed"], variant["scenario"])
    if base_run:
        _why(st, base_run, variant)
        _comparison(st, base_run, variant)
    labelled = [("baseline", base_run), ("your settings", variant)] if base_run else [(None, variant)]
    _charts(st, labelled, n)
    box = st.expander("All metrics of your settings with 95% confidence intervals") if base_run else st.container()
    with box:
        if not base_run:
            st.subheader("All metrics with 95% confidence intervals")
        shown = display_summary(v_summary)
        st.dataframe(shown, hide_index=True, height=table_height(shown), column_config=comparison_columns(st), **wide(st))
        st.caption("Intervals stop at the possible range (no fewer than 0 people, no share above 100%): the true "
                   "mean lies in that range, so cutting the interval there keeps its 95% coverage.")
        st.download_button("Download the summary (CSV)", v_summary.to_csv(index=False).encode(), "summary.csv",
                           "text/csv")
    with st.expander("The scenario that was run (YAML)"):
        sc = variant["scenario"]
        text = yaml.safe_dump(sc.model_dump(mode="json"), sort_keys=False)
        st.code(text, language="yaml")
        st.download_button("Download this scenario", text.encode(), f"{sc.name}.yaml", "application/x-yaml")


def _headlines(st, v_summary, b_summary, n: int, seed: int, sc: Scenario) -> None:
    st.subheader("Key results" + (" (your settings, change vs the baseline)" if b_summary is not None else ""))
    per_row = 3  # five cards in one row clip their labels below about 1500 px
    cols = [c for k in range(0, len(HEADLINES), per_row) for c in st.columns(per_row)]
    shown = v_summary.set_index("metric")
    for col, (name, label, lower_better) in zip(cols, HEADLINES):
        if name not in shown.index:  # undefined in every replication (e.g. no 18 months of follow-up)
            col.metric(label, "–", help="Not defined for this scenario (see the metric's definition).")
            continue
        row = shown.loc[name]
        k, unit = display_scale(row["unit"])
        short = {"%": "%", "days": " days"}.get(unit, "")
        delta = None
        if b_summary is not None:
            base_rows = b_summary.set_index("metric")
            d = (row["mean"] - base_rows.loc[name, "mean"]) * k if name in base_rows.index else math.nan
            delta = f"{d:+.3g}{' pp' if unit == '%' else short}" if math.isfinite(d) else None
        col.metric(label, f"{figure_text(row['mean'] * k)}{short}", delta=delta,
                   delta_color="off" if lower_better is None else ("inverse" if lower_better else "normal"),
                   help=f"95% CI {figure_text(row['ci_low'] * k)} – {figure_text(row['ci_high'] * k)} {unit}, "
                        f"{n} replications.")
    st.caption(f"Means over {n} replications (seed {seed}); mode: {sc.mode}.")
    for line in sc.warnings():
        st.warning(line)


def _why(st, base_run: dict, variant: dict) -> None:
    """"Why did this change?": the mechanism chain, each link with its paired difference and CI."""
    from ips_sim.analysis.mechanism import why_chain

    st.subheader("Why did this change?")
    st.markdown("In the model, staffing acts on outcomes through one path (the planning step in "
                "`ips_sim/sim/planning.py`): people per specialist → the share of the job-search help they need that "
                "job seekers get → how often a job seeker finds a job → who is employed within 18 months. "
                "Each row is measured in both runs; read it top to bottom to see where the change starts and "
                "where it fades.")
    chain = why_chain(base_run["metrics"], variant["metrics"])
    rows = []
    for r in chain.itertuples():
        k, unit = display_scale(r.unit)
        rows.append({"step": f"{r.step}. {r.label}",
                     "baseline": round_figure(r.baseline * k), "your settings": round_figure(r.variant * k),
                     "difference": round_figure(r.difference * k),
                     "95% CI": f"{figure_text(r.diff_ci_low * k)} to {figure_text(r.diff_ci_high * k)}",
                     "unit": "percentage points" if unit == "%" else unit, "result": r.variant_is})
    import pandas as pd

    shown = pd.DataFrame(rows)
    st.dataframe(shown, hide_index=True, height=table_height(shown), **wide(st),
                 column_config={"step": st.column_config.TextColumn("step", width="large"),
                                "unit": st.column_config.TextColumn("unit", width="small")})


def _comparison(st, base_run: dict, variant: dict) -> None:
    st.subheader("Difference per metric (your settings − baseline)")
    st.markdown("Both scenarios used the same random numbers (*common random numbers*), so each replication "
                "of your settings is paired with the same replication of the baseline. The confidence interval "
                "is for the mean of these paired differences: if it does not include 0, the change made a clear "
                "difference. Shares are in percentage points.")
    table = comparison_table(base_run["metrics"], variant["metrics"])
    from ips_sim.config.prices import currency_label

    shown = display_comparison(table, currency_label(variant["scenario"].costs.price_year))
    st.dataframe(dashes_for_missing(shown), hide_index=True, height=table_height(shown), column_config=comparison_columns(st),
                 **wide(st))
    st.download_button("Download the comparison (CSV)", table.to_csv(index=False).encode(), "comparison.csv",
                       "text/csv")


def _charts(st, labelled: list, n: int) -> None:
    st.subheader("Over time")
    tabs = st.tabs(["Watch one replication", "Caseload and waitlist", "Employment", "Hours budget per specialist",
                    "Team hours by activity", "Benefits and the public purse"])
    with tabs[0]:
        _animation_tab(st, labelled)
    with tabs[1]:
        _caseload_tab(st, labelled, n)
    with tabs[2]:
        _employment_tab(st, labelled, n)
    with tabs[3]:
        _budget_tab(st, labelled, n)
    with tabs[4]:
        _team_hours_tab(st, labelled, n)
    with tabs[5]:
        from ips_sim.ui.app_benefits import benefits_tab
        benefits_tab(st, labelled, wide(st))


def _animation(scenario_json: str, title: str, min_rows: tuple[int, int], _first):
    """The animation figure of a run's first replication (cached on the scenario; ``_first`` is not hashed)."""
    from ips_sim.reporting.animation import animation_figure, default_start_month

    sc = Scenario.model_validate_json(scenario_json)
    months = 36.0
    start = default_start_month(sc.simulation.warmup_years, sc.simulation.horizon_years, months)
    return animation_figure(_first, sc.team.specialists, start, months, per_month=1, title=title,
                            min_rows=min_rows[0], min_waiting_rows=min_rows[1])


def _animation_tab(st, labelled: list) -> None:
    animation_cached = st.cache_data(show_spinner=False, max_entries=32)(_animation)

    st.markdown("Each dot is one person in **replication 1**, placed by where they are: on the **waitlist**, "
                "enrolled and looking for work (**job search**), **working**, or just **left** the program "
                "(hover a red dot to see why). Rows are the specialists. Press a ▶ button to play "
                "(slow, normal or fast), ❚❚ to pause, or drag the month slider."
                + (" Both settings use the same random numbers, so the same people are referred on the same "
                   "days: differences come from the change you made." if len(labelled) > 1 else ""))
    from ips_sim.reporting.animation import DOTS_PER_ROW
    from ips_sim.sim.staffing import caseload_cap

    # A specialist never carries more than the cap, and the month-end frames show at most the
    # largest month-end waitlist: rows for that many dots, the same on both sides.
    rows = (max(math.ceil(caseload_cap(r["scenario"]) / DOTS_PER_ROW) for _, r in labelled),
            max(math.ceil(max(r["first"].months()["waitlist"].max(initial=0), 1) / DOTS_PER_ROW) for _, r in labelled))
    cols = st.columns(len(labelled))
    for col, (lab, r) in zip(cols, labelled):
        fig = animation_cached(scenario_key(r["scenario"]), (lab or "your settings").capitalize(), rows, r["first"])
        col.plotly_chart(fig, key=f"animation_{lab}", config={"displayModeBar": False}, **wide(st))


def _caseload_tab(st, labelled: list, n: int) -> None:
    import altair as alt
    import pandas as pd

    from ips_sim.sim.staffing import caseload_cap

    warm = labelled[-1][1]["scenario"].simulation.warmup_years
    data = pd.concat([bands(r["monthly"], {"caseload": "caseload", "waitlist": "waitlist"}, lab)
                      for lab, r in labelled], ignore_index=True)
    caps = pd.DataFrame([{"series": f"caseload cap{'' if lab is None else f' ({lab})'}",
                          "cap": r["scenario"].team.specialists * caseload_cap(r["scenario"])}
                         for lab, r in labelled]).drop_duplicates("cap")
    rule = alt.Chart(caps).mark_rule(strokeDash=[4, 3]).encode(
        y="cap:Q", color=alt.value("#555"), tooltip=["series", "cap"])
    st.altair_chart(band_chart(alt, data, "people at month end", warm) + rule, **wide(st))
    st.caption(f"Mean of {n} replications with the 95% confidence band; dashed line: the caseload cap of the "
               "whole team. A waitlist that keeps growing means referrals come faster than places free up.")


def _employment_tab(st, labelled: list, n: int) -> None:
    import altair as alt
    import pandas as pd

    warm = labelled[-1][1]["scenario"].simulation.warmup_years
    data = pd.concat([bands(r["monthly"], {"employed": "people working",
                                           "placements": "jobs started in the month"}, lab)
                      for lab, r in labelled], ignore_index=True)
    st.altair_chart(band_chart(alt, data, "people / jobs", warm, ["#2ca02c", "#ff7f0e"]), **wide(st))
    st.caption(f"Mean of {n} replications with the 95% confidence band.")


def _budget_tab(st, labelled: list, n: int) -> None:
    import altair as alt
    import pandas as pd

    from ips_sim.analysis.hours import budget_long, shortfall_by_activity

    sc = labelled[-1][1]["scenario"]
    order = [a.replace("_", " ").replace("follow along", "follow-along") for a in sc.time_use.priority_order]
    policy = (f"Under the *priority* policy the hours go to {', '.join(order[:-1])} first, so when the caseload "
              f"grows **{order[-1]} thins first**." if sc.time_use.allocation_policy == "priority" else
              "Under the *proportional* policy every activity gets the same share of what it needs.")
    st.markdown("Each specialist's week: the hours each activity **needs**, stacked: solid is what it got, pale "
                "(above the black line) is what it needed but did not get. The black line is the hours "
                f"**available** for direct work. {policy}")
    stacks = [budget_long(r["weekly"], priority=tuple(r["scenario"].time_use.priority_order)) for _, r in labelled]
    top = 1.05 * max(max(stack.groupby(["specialist", "week"])["hours"].sum().max(), available["available"].max())
                     for stack, available in stacks)
    cols = st.columns(len(labelled))
    tables = []
    for col, (lab, r), (stack, available) in zip(cols, labelled, stacks):
        rsc = r["scenario"]
        col.altair_chart(budget_chart(alt, stack, available, rsc.simulation.warmup_years, lab, float(top)),
                         **wide(st))
        share = shortfall_by_activity(r["weekly"], rsc.warmup_days).set_index("activity")["share_received"]
        tables.append(share.rename(lab or "your settings"))
    st.caption(f"Mean of {n} replications per specialist and week. Share of the hours needed that each activity "
               "received after warm-up:")
    st.dataframe((pd.concat(tables, axis=1) * 100).round(1).map(lambda v: f"{v:g}%"), **wide(st))


def _team_hours_tab(st, labelled: list, n: int) -> None:
    import altair as alt

    warm = labelled[-1][1]["scenario"].simulation.warmup_years
    cols = st.columns(len(labelled))
    hours = [hours_long(r["monthly"], lab or "") for lab, r in labelled]
    top = 1.05 * max(max(stk["hours"].groupby(stk["years"]).sum().max(), av["hours"].max()) for stk, av in hours)
    for col, (lab, _), (stacked, available) in zip(cols, labelled, hours):
        col.altair_chart(hours_chart(alt, stacked, available, warm, lab, top), **wide(st))
    st.caption(f"Team hours per month by activity, mean of {n} replications. The black line is the hours "
               "available for direct work; the gap above the coloured area is unused time.")


def _field_reference(st) -> None:
    import pandas as pd

    from ips_sim.config import field_reference

    with st.expander("Scenario fields (for writing your own scenario file)"):
        st.markdown("A scenario file is YAML with any of these fields; the rest take their defaults. Example:")
        st.code("name: three_specialists\nteam:\n  specialists: 3\n  caseload_cap: 20\nreferrals:\n"
                "  rate_per_month: 2.8\n", language="yaml")
        st.dataframe(pd.DataFrame([asdict(f) for f in field_reference()]), hide_index=True,
                     **wide(st))


if __name__ == "__main__":
    render()
