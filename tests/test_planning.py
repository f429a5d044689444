"""Planning from today: start state, calendar, waiting metrics, trajectories, plan warning.

Expected values come from invariants (conservation from a non-empty start), hand
derivation (follow-along demand of day-0 workers, a small Kaplan-Meier), exact
equality (a dated schedule is the month schedule), and theory with 4-SE tolerances
(a start state drawn from a warmed-up run reproduces that run; the arrival process
generates the fitted non-homogeneous rate).
"""

from __future__ import annotations

import json
import math
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import IPS_SIM, REPO, cli_env, make_scenario, mean_and_se, optional_mechanisms_off, require, run_many
from test_conservation import check_conservation, check_hours

from ips_sim.analysis.metrics import replication_metrics, waiting_metrics
from ips_sim.config import DAYS_PER_MONTH, MONTH_NAMES, ScenarioError, load_scenario, scenario_from_dict
from ips_sim.reporting.tables import monthly_table, trajectory_table
from ips_sim.sim.model import run_replication
from ips_sim.sim.start import start_from_records
from ips_sim.studies.plan import MEETS, PlanResult, PointResult, Target, give_up_warning


def _core(extra: dict | None = None) -> dict:
    upd = dict(optional_mechanisms_off())
    upd.update({"team.specialists": 2, "team.caseload_cap": 20, "referrals.cohort_size": 0})
    upd.update(extra or {})
    return upd


# --------------------------------------------------------------------------- steady state


def _first_months(rec, day: float) -> dict[str, float]:
    """Stocks and flows of the first months after ``day``: where a wrong start state shows most."""
    mo = rec.month[rec.month[:, 0] > day]
    ex = rec.member["exit_day"]
    return {"employed_first_3_months": float(mo[:3, 3].mean()),
            "exits_first_6_months": float(((ex >= day) & (ex < day + 6 * DAYS_PER_MONTH)).sum())}


def test_start_state_from_a_warmed_up_run_reproduces_its_next_years():
    """State of replication i at the end of a 6-year warm-up, used as start: -> same metrics over 2 years.

    The started runs use other replication indices (independent random numbers), so the two
    sets of replications are independent samples; the difference of their means must be within
    4 standard errors of 0 for every stock and flow compared.
    """
    warm_years, years, n = 6.0, 2.0, 60
    warmed = make_scenario(_core({"simulation.horizon_years": warm_years + years,
                                  "simulation.warmup_years": warm_years, "referrals.rate_per_month": 1.8}))
    names = ("waitlist_mean", "caseload_per_specialist_mean", "employed_members_mean", "placements", "referrals",
             "mean_wait_days", "share_gave_up_waiting", "employed_first_3_months", "exits_first_6_months")
    a = {k: [] for k in names}
    b = {k: [] for k in names}
    day = warm_years * 365.25
    for i in range(n):
        rec = run_replication(warmed, i, 11).freeze()
        m = {**replication_metrics(rec, warmed), **_first_months(rec, day)}
        for k in names:
            a[k].append(m[k])
        state = start_from_records(rec, day)
        started = make_scenario(_core({"simulation.horizon_years": years, "simulation.warmup_years": 0.0,
                                       "referrals.rate_per_month": 1.8, "start": state}))
        rec2 = run_replication(started, 1000 + i, 11).freeze()
        m2 = {**replication_metrics(rec2, started), **_first_months(rec2, 0.0)}
        for k in names:
            b[k].append(m2[k])
    for k in names:
        ma, sa = mean_and_se(a[k])
        mb, sb = mean_and_se(b[k])
        se = math.hypot(sa, sb)
        assert abs(ma - mb) <= 4 * se, f"{k}: warmed-up {ma:.4g} +- {sa:.3g}, started {mb:.4g} +- {sb:.3g}"


# --------------------------------------------------------------------------- conservation, day 0


START = {"date": "2026-07-01", "waitlist": {"count": 6, "waited_days": [50, 40, 30, 20, 10, 0]},
         "job_seekers": {"count": 25, "months_since_enrollment": 0.5, "had_job": False},
         "workers": {"count": 14, "months_in_job": [0.2] * 4 + [8.0] * 10, "months_since_enrollment": 13},
         "vacant_posts": {"count": 1, "new_hire_months_in_post": [2]}}


@pytest.mark.parametrize("turnover", [False, True])
def test_conservation_holds_from_a_non_empty_start(turnover):
    upd = _core({"simulation.horizon_years": 3, "team.specialists": 3, "referrals.rate_per_month": 3.5,
                 "start": START})
    if turnover and "turnover.enabled" in upd:
        upd.update({"turnover.enabled": True, "turnover.annual_rate": 2.0, "turnover.hiring_delay_days": 45})
    sc = make_scenario(upd)
    assert sc.simulation.warmup_years == 0  # a start: section plans from day 0
    for rec in run_many(sc, 4, 5):
        check_conservation(rec)
        check_hours(rec)
        # Everyone on day 0 plus referrals since = waiting + enrolled + exited at every month end.
        mt = monthly_table([rec])
        initial = 6 + 25 + 14
        in_program = (mt["waitlist"] + mt["caseload"]).to_numpy()
        assert np.array_equal(in_program, initial + (mt["referrals"].cumsum() - mt["exits"].cumsum()).to_numpy())
        # The start members are the first 45, with referral days before day 0 (6 waited, 39 enrolled).
        ref = rec.member["referral_day"][:initial]
        assert np.all(ref <= 0) and np.all(rec.member["referral_day"][initial:] >= 0)
        assert len(rec.month) == 36  # the last month end (day 730.5 x 1.5) is recorded


def test_workers_on_day_0_produce_follow_along_demand_in_the_first_planning_step():
    """Demand on day 0 = (first-month workers x first-month hours + others x hours) x step / 7, by hand."""
    upd = _core({"simulation.horizon_years": 0.5, "referrals.rate_per_month": 0.0,
                 "start": {"workers": {"count": 10, "months_in_job": [0.1, 0.2, 0.3] + [5.0] * 7}}})
    sc = make_scenario(upd)
    rec = run_replication(sc, 0, 1).freeze()
    w = rec.week
    day0 = w[w[:, 0] == 0.0]
    sv = sc.service
    step = sc.simulation.planning_step_days
    expected = (3 * sv.follow_along_hours_per_member_week_first_month + 7 * sv.follow_along_hours_per_member_week) \
        * step / 7.0
    assert day0[:, 8].sum() == pytest.approx(expected, rel=1e-12)  # demand_follow_along
    assert day0[:, 4].sum() > 0  # and hours were given to it
    assert rec.month[0, 3] <= 10 and rec.month[0, 2] <= 10  # nobody new: referrals are 0


def test_counts_only_start_uses_the_documented_defaults():
    sc = make_scenario(_core({"simulation.horizon_years": 1, "start": {"waitlist": 12, "job_seekers": 20,
                                                                      "workers": 16}}))
    from ips_sim.sim.start import start_people
    people = start_people(sc)
    assert [p.phase for p in people].count("waiting") == 12
    seekers = [p for p in people if p.phase == "job_seeker"]
    settled = max(sc.engagement.early_months, sc.job_search.preparation_months) * DAYS_PER_MONTH
    assert len(seekers) == 20 and all(p.enrolled_days == pytest.approx(settled) for p in seekers)
    workers = [p for p in people if p.phase == "worker"]
    assert len(workers) == 16 and all(p.job_days == pytest.approx(sc.service.first_month_days) for p in workers)


def test_vacant_post_is_vacant_from_day_0_until_a_hire():
    sc = make_scenario(_core({"simulation.horizon_years": 2, "team.specialists": 2,
                              "start": {"job_seekers": 10, "vacant_posts": 1}}))
    rec = run_replication(sc, 0, 2).freeze()
    assert len(rec.vacancy) == 1 and rec.vacancy[0, 0] == 1 and rec.vacancy[0, 1] == 0.0
    first = rec.week[rec.week[:, 0] == 0.0]
    assert first[first[:, 1] == 1, 2][0] == 0.0  # no hours on the vacant post
    m = replication_metrics(rec, sc)
    assert m["vacancy_days"] == pytest.approx(min(rec.vacancy[0, 2], rec.horizon))


def test_a_post_vacant_today_keeps_its_members_and_never_adds_places():
    # 38 members today on two posts of 20 places, one post vacant: the members are spread over both
    # posts, as the caseloads are; the vacant post's members wait for the new hire (no hours), and
    # a colleague takes only those it has room for. With heavy referrals the team never holds more
    # than its 40 places: a vacancy must not create places (it did when every member was put on the
    # filled post and the new hire then started with an empty caseload).
    sc = make_scenario(_core({"simulation.horizon_years": 2, "referrals.rate_per_month": 30.0,
                              "start": {"job_seekers": 20, "workers": 18, "vacant_posts": 1}}))
    for rep in range(5):
        rec = run_replication(sc, rep, 3).freeze()
        first = rec.member["referral_day"] < 0
        # half the caseload was on the vacant post: its members' post was vacant from day 0
        assert (rec.member["staff_change_day"][first] == 0.0).sum() == 19
        assert rec.month[:, 2].max() <= 40  # caseload at every month end: within the team's places


def test_new_hire_in_post_ramps_up_from_the_months_given():
    """A hire with 0 months in post starts at turnover.new_hire_effectiveness and reaches 1 after the ramp-up;
    one with the whole ramp-up behind them is at full quality from day 0."""
    upd = _core({"simulation.horizon_years": 1, "team.specialists": 2, "start": {
        "job_seekers": 10, "vacant_posts": {"count": 0, "new_hire_months_in_post": [0.0]}}})
    sc = make_scenario(upd)
    rec = run_replication(sc, 0, 1).freeze()
    w = rec.week
    first = w[w[:, 0] == 0.0]
    hire, other = first[first[:, 1] == 1][0], first[first[:, 1] == 0][0]
    assert hire[16] == pytest.approx(sc.turnover.new_hire_effectiveness) and other[16] == 1.0
    ramp_days = sc.turnover.ramp_up_months * DAYS_PER_MONTH
    later = w[(w[:, 1] == 1) & (w[:, 0] > ramp_days + 7)]
    assert len(later) and np.all(later[:, 16] == 1.0)
    done = make_scenario({**upd, "start": {"job_seekers": 10, "vacant_posts": {
        "count": 0, "new_hire_months_in_post": [sc.turnover.ramp_up_months]}}})
    w2 = run_replication(done, 0, 1).freeze().week
    assert np.all(w2[:, 16] == 1.0)


# --------------------------------------------------------------------------- calendar and referrals


def test_dated_schedule_and_month_schedule_give_identical_runs():
    common = _core({"simulation.horizon_years": 2, "start": {"date": "2026-07-01", "job_seekers": 10}})
    a = make_scenario({**common, "referrals.schedule": [{"from_month": 6, "rate_per_month": 4.0}]})
    b = make_scenario({**common, "referrals.schedule": [{"from_date": "2027-01-01", "rate_per_month": 4.0}]})
    ra, rb = run_replication(a, 0, 9).freeze(), run_replication(b, 0, 9).freeze()
    for k in ra.member:
        assert np.array_equal(ra.member[k], rb.member[k], equal_nan=True), k
    assert np.array_equal(ra.month, rb.month) and np.array_equal(ra.week, rb.week)


def test_calendar_months_in_monthly_and_trajectory_tables():
    sc = make_scenario(_core({"simulation.horizon_years": 1, "start": {"date": "2026-11-15", "workers": 3}}))
    recs = run_many(sc, 3, 1)
    mt = monthly_table(recs, sc.start_date)
    assert list(mt["date"][:3]) == ["2026-11-15", "2026-12-15", "2027-01-15"]
    tr = trajectory_table(mt)
    assert len(tr) == 12 and tr["replications"].eq(3).all()
    assert np.allclose(tr["waitlist_mean"], mt.groupby("month")["waitlist"].mean().to_numpy())
    for col in ("waitlist", "caseload", "employed", "placements", "hours_follow_along"):
        assert np.all(tr[f"{col}_p10"] <= tr[f"{col}_p50"]) and np.all(tr[f"{col}_p50"] <= tr[f"{col}_p90"])


def _season():
    f = np.array([1.2, 1.1, 1.0, 0.9, 0.8, 0.9, 1.0, 1.1, 1.2, 1.0, 0.9, 0.9])
    return dict(zip(MONTH_NAMES, (f / f.mean()).tolist()))


def test_arrivals_follow_the_fitted_non_homogeneous_rate():
    """Mean referrals in each month = rate x exp(trend x months since base_date / 12) x factor, within 4 SE;
    with overdispersion alpha the variance is mu + alpha mu^2 (pooled over months, within 4 SE)."""
    season = _season()
    rate, trend, alpha = 8.0, 0.3, 0.2
    sc = make_scenario(_core({
        "simulation.horizon_years": 1, "team.specialists": 20, "start": {"date": "2026-03-01"},
        "referrals.rate_per_month": rate, "referrals.trend_per_year": trend, "referrals.seasonality": season,
        "referrals.base_date": "2025-09-01", "referrals.overdispersion": alpha}))
    n = 300
    counts = np.array([np.histogram(run_replication(sc, i, 4).freeze().member["referral_day"],
                                    bins=np.arange(13) * DAYS_PER_MONTH)[0] for i in range(n)], dtype=float)
    months_since_base = 6 + np.arange(12)
    cal = [(2 + k) % 12 for k in range(12)]  # March is index 2
    mu = rate * np.exp(trend * months_since_base / 12) * np.array([season[MONTH_NAMES[c]] for c in cal])
    for k in range(12):
        m, se = mean_and_se(counts[:, k])
        assert abs(m - mu[k]) <= 4 * se, f"month {k}: {m:.3f} +- {se:.3f} vs {mu[k]:.3f}"
    # Each replication's standardised excess variance ((x - mu)^2 - x) / mu^2 has mean alpha (NB2).
    z = ((counts - mu) ** 2 - counts) / mu ** 2
    m, se = mean_and_se(z.mean(axis=1))
    assert abs(m - alpha) <= 4 * se, f"alpha: {m:.4f} +- {se:.4f} vs {alpha}"


# --------------------------------------------------------------------------- waiting metrics


def test_waiting_metrics_by_hand():
    """4 referrals on day 0: enrolled day 5; enrolled day 40; gave up day 10; still waiting at the horizon (100).

    Within 30 days: 1 of 4. Kaplan-Meier: S = 3/4 after day 5, day 10 censored, S = 3/4 x 1/2 = 3/8
    after day 40, so the median is 40; the 90th percentile is never reached (the last person at
    risk still waits at day 100), so it is reported as its lower bound, 100 days.
    """
    ref = np.zeros(4)
    enr = np.array([5.0, 40.0, np.nan, np.nan])
    exit_day = np.array([np.nan, np.nan, 10.0, np.nan])
    gave_up = np.array([False, False, True, False])
    out = waiting_metrics(ref, enr, exit_day, gave_up, 0.0, 100.0)
    assert out["enrolled_within_30_days_share"] == 0.25
    assert out["wait_days_p50"] == 40.0
    assert out["wait_days_p90"] == 100.0


def test_plan_warns_when_a_mean_wait_target_hides_people_who_give_up():
    target = Target("mean_wait_days", "<=", 30.0)
    rows = {"mean_wait_days": {"mean": 20.0, "ci_low": 18.0, "ci_high": 22.0},
            "share_gave_up_waiting": {"mean": 0.23, "ci_low": 0.2, "ci_high": 0.26}}
    point = PointResult(4, 30, rows, {str(target): MEETS}, MEETS)
    res = PlanResult("team.specialists", [2, 3, 4], [target], 0.95, [point], 4, 240)
    line = give_up_warning(res)
    assert line is not None and "\n" not in line and "23%" in line and "share_gave_up_waiting" in line
    rows["share_gave_up_waiting"]["mean"] = 0.08
    assert give_up_warning(res) is None


# --------------------------------------------------------------------------- warnings and mode


def test_schedule_change_inside_the_warm_up_is_warned_about(tmp_path):
    path = tmp_path / "rising.yaml"
    path.write_text("simulation: {horizon_years: 3, warmup_years: 2, replications: 2}\n"
                    "referrals: {schedule: [{from_month: 12, rate_per_month: 3.0}]}\n", encoding="utf-8")
    sc = load_scenario(path)
    assert len(sc.warnings()) == 1 and "referrals.schedule[0].from_month" in sc.warnings()[0]
    assert "month 12" in sc.warnings()[0]
    out = tmp_path / "out"
    r = subprocess.run([str(IPS_SIM), "run", str(path), "--out", str(out), "--no-plots"], capture_output=True,
                       text=True, env=cli_env())
    assert r.returncode == 0, r.stderr
    assert [line for line in r.stderr.splitlines() if line.startswith("warning:")] == sc.warnings()
    assert "mode: long run" in r.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["warnings"] == sc.warnings() and manifest["mode"].startswith("long run")


def test_county_scenario_runs_in_planning_mode_with_trajectories_and_fans(tmp_path):
    out = tmp_path / "county"
    r = subprocess.run([str(IPS_SIM), "run", str(REPO / "scenarios" / "county_next_24_months.yaml"), "-n", "3",
                        "--out", str(out)], capture_output=True, text=True, env=cli_env())
    assert r.returncode == 0, r.stderr
    assert "mode: planning from the start state on 2026-07-01" in r.stdout
    tr = pd.read_csv(out / "trajectory.csv")
    assert len(tr) == 24 and tr["date"].iloc[0] == "2026-07-01" and tr["date"].iloc[-1] == "2028-06-01"
    for col in ("waitlist", "caseload", "employed", "placements", "wait_days_referred", "hours_intake",
                "hours_follow_along", "hours_job_search", "hours_job_development"):
        assert {f"{col}_mean", f"{col}_p10", f"{col}_p50", f"{col}_p90"} <= set(tr.columns)
    assert (out / "waitlist_fan.png").stat().st_size > 0 and (out / "employed_fan.png").stat().st_size > 0
    summary = pd.read_csv(out / "summary.csv").set_index("metric")
    for k in ("enrolled_within_30_days_share", "wait_days_p50", "wait_days_p90", "waitlist_max"):
        assert k in summary.index


# --------------------------------------------------------------------------- bad start input


def _errors(raw: dict, tmp_path=None) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(raw, source=str(tmp_path / "s.yaml") if tmp_path else "s.yaml")
    return exc.value.messages


@pytest.mark.parametrize("start, field", [
    ({"waitlist": -3}, "start.waitlist.count"),
    ({"waitlist": "many"}, "start.waitlist"),
    ({"waitlist": {"count": 3, "waited_days": [1, 2]}}, "start.waitlist"),
    ({"job_seekers": {"count": 2, "months_since_enrollment": [-1, 2]}}, "start.job_seekers"),
    ({"workers": {"count": 1, "months_in_job": 9, "months_since_enrollment": 3}}, "start.workers"),
    ({"vacant_posts": 3}, "(top level)"),
    ({"sometimes": 3}, "start.sometimes"),
    ({"date": "2026-02-30"}, "start.date"),
])
def test_bad_start_sections_get_one_line_each(start, field):
    msgs = _errors({"team": {"specialists": 2}, "start": start})
    assert len(msgs) == 1 and f": {field}" in msgs[0], msgs


def test_dated_schedule_and_seasonality_need_a_start_date():
    msgs = _errors({"referrals": {"schedule": [{"from_date": "2027-01-01", "rate_per_month": 3}]}})
    assert len(msgs) == 1 and "from_date needs start.date" in msgs[0]
    msgs = _errors({"referrals": {"schedule": [{"from_month": 3, "from_date": "2027-01-01", "rate_per_month": 3}]}})
    assert len(msgs) == 1 and "not both" in msgs[0]
    msgs = _errors({"referrals": {"seasonality": {"jan": 1.0}}, "start": {"date": "2026-01-01"}})
    assert len(msgs) == 1 and "missing: feb" in msgs[0]


MEMBERS_OK = ("phase,referral_date,enrollment_date,job_start_date,had_job\n"
              "waiting,2026-05-01,,,\n"
              "job_seeker,2025-12-01,2026-01-01,,yes\n"
              "worker,,2025-07-01,2026-06-01,\n")


def _scenario_with_csv(tmp_path, text: str, date: str | None = "2026-07-01") -> list[str] | object:
    (tmp_path / "members.csv").write_text(text, encoding="utf-8")
    start = {"members_csv": "members.csv"}
    if date:
        start["date"] = date
    path = tmp_path / "s.yaml"
    import yaml
    path.write_text(yaml.safe_dump({"start": start}), encoding="utf-8")
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        return exc.messages


def test_members_csv_gives_the_start_groups(tmp_path):
    sc = _scenario_with_csv(tmp_path, MEMBERS_OK)
    st = sc.start
    assert st.count("waitlist") == 1 and st.waitlist.waited_days == [61.0]
    assert st.job_seekers.had_job == [True]
    assert st.job_seekers.months_since_enrollment == [pytest.approx(181 / DAYS_PER_MONTH)]
    assert st.workers.months_in_job == [pytest.approx(30 / DAYS_PER_MONTH)]
    rec = run_replication(sc.with_updates({"simulation.horizon_years": 1}), 0, 1).freeze()
    check_conservation(rec)


@pytest.mark.parametrize("text, where", [
    ("phase,enrollment_date\nretired,2026-01-01\n", "row 2, column phase"),
    ("phase,enrollment_date\njob_seeker,2026-13-01\n", "row 2, column enrollment_date"),
    ("phase,enrollment_date\njob_seeker,2026-08-01\n", "row 2, column enrollment_date"),
    ("phase,enrollment_date,job_start_date\nworker,2026-01-01,\n", "row 2, column job_start_date"),
    ("phase,enrollment_date,job_start_date\nworker,2026-03-01,2026-01-01\n", "row 2, column job_start_date"),
    ("phase,enrolment_date\nwaiting,\n", "row 1, column 2"),
    ("phase,had_job,enrollment_date\njob_seeker,maybe,2026-01-01\n", "row 2, column had_job"),
    ("enrollment_date\n2026-01-01\n", "missing column 'phase'"),
])
def test_bad_members_csv_one_line_naming_file_row_and_column(tmp_path, text, where):
    msgs = _scenario_with_csv(tmp_path, text)
    assert isinstance(msgs, list) and len(msgs) == 1, msgs
    assert str(tmp_path / "members.csv") in msgs[0] and where in msgs[0], msgs


def test_members_csv_needs_a_start_date_and_an_existing_file(tmp_path):
    msgs = _scenario_with_csv(tmp_path, MEMBERS_OK, date=None)
    assert len(msgs) == 1 and "need start.date" in msgs[0]
    (tmp_path / "s2.yaml").write_text("start: {date: 2026-07-01, members_csv: nowhere.csv}\n", encoding="utf-8")
    r = subprocess.run([str(IPS_SIM), "validate", str(tmp_path / "s2.yaml")], capture_output=True, text=True,
                       env=cli_env())
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "nowhere.csv" in r.stderr
    assert "Traceback" not in r.stderr


def test_members_csv_and_counts_together_are_refused(tmp_path):
    (tmp_path / "members.csv").write_text(MEMBERS_OK, encoding="utf-8")
    msgs = _errors({"start": {"date": "2026-07-01", "members_csv": "members.csv", "workers": 3}}, tmp_path)
    assert len(msgs) == 1 and "not both" in msgs[0]


def test_app_warns_when_the_schedule_changes_inside_the_warm_up():
    require("streamlit", "the app extra (part of the test install)")
    from streamlit.testing.v1 import AppTest

    from ips_sim.ui import app

    at = AppTest.from_file(str(app.APP_PATH), default_timeout=120)
    at.run()
    text = b"simulation: {horizon_years: 3, warmup_years: 2}\nreferrals: {schedule: [{from_month: 12, rate_per_month: 3}]}\n"
    at.file_uploader(key="upload").set_value(("rising.yaml", text, "text/yaml")).run()
    at.slider(key="replications").set_value(2)
    at.button(key="run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("referrals.schedule[0].from_month" in w.value and "month 12" in w.value for w in at.warning)
    assert any("mode: long run" in c.value for c in at.caption)
