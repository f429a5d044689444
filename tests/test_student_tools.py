"""The teaching tools: metric labels and ranges, the mechanism chain, the animation's event log,
the hours budget and the notebook API (ips_sim.run / ips_sim.compare).

Expected values come from definitions and hand derivation: month-end snapshots
the model takes itself, allocation rules, a Poisson rate with a known hazard.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_within_4se, make_scenario, mean_and_se, optional_mechanisms_off, run_many

import ips_sim
from ips_sim.analysis.hours import budget_long, shortfall_by_activity, weekly_hours
from ips_sim.analysis.mechanism import CHAIN, why_chain
from ips_sim.analysis.metrics import LABELS, METRIC_NAMES, METRICS, metric_range, replication_metrics, summarise
from ips_sim.config import ScenarioError
from ips_sim.reporting.animation import PHASES, animation_figure, event_log, states

# The tests here share module-scoped fixtures: make test keeps them on one worker (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("student_tools")

SHORT = {"simulation.horizon_years": 4, "simulation.warmup_years": 1}


# --------------------------------------------------------------------------- labels and ranges


def test_every_metric_has_a_label():
    missing = [m.name for m in METRICS if not LABELS.get(m.name)]
    assert not missing, f"metrics without a label in ips_sim.analysis.metrics.LABELS: {missing}"
    assert not set(LABELS) - set(METRIC_NAMES), "labels of metrics that do not exist"
    assert len(set(LABELS.values())) == len(LABELS), "two metrics share a label"


def test_every_metric_computed_is_defined():
    rec = run_many(make_scenario(SHORT), 1, 3)[0]
    computed = set(replication_metrics(rec, make_scenario(SHORT)))
    assert computed <= set(METRIC_NAMES), computed - set(METRIC_NAMES)


def test_interval_is_cut_at_the_range_without_moving_the_mean():
    # Hand example: values 0, 0, 3 -> mean 1, sd sqrt(3), t(0.975, 2) = 4.303: t-interval 1 -+ 4.303.
    rows = {r["metric"]: r for r in summarise([{"placements": 0.0, "prob_wait": 1.0},
                                               {"placements": 0.0, "prob_wait": 1.0},
                                               {"placements": 3.0, "prob_wait": 0.7}])}
    p = rows["placements"]
    assert p["mean"] == pytest.approx(1.0)
    assert p["ci_low"] == 0.0 and p["ci_cut"]
    assert p["ci_high"] == pytest.approx(1.0 + 4.302653 * math.sqrt(3) / math.sqrt(3), rel=1e-5)
    w = rows["prob_wait"]
    assert w["ci_high"] == 1.0 and w["ci_low"] < w["mean"] < 1.0
    unbounded = {r["metric"]: r for r in summarise([{"placements": 0.0}, {"placements": 0.0},
                                                    {"placements": 3.0}], bounded=False)}
    assert unbounded["placements"]["ci_low"] == pytest.approx(1.0 - 4.302653, rel=1e-5)


def test_ranges_hold_for_simulated_values():
    sc = make_scenario(SHORT)
    for rec in run_many(sc, 3, 11):
        for name, value in replication_metrics(rec, sc).items():
            low, high = metric_range(name)
            assert not (value < low or value > high), (name, value)


# --------------------------------------------------------------------------- the mechanism chain


def test_search_hours_per_seeker_is_the_service_share_times_the_hours_needed():
    # By definition: received / (demanded / hours per seeker) = share x hours per seeker.
    sc = make_scenario({**SHORT, "team.caseload_cap": 30, "referrals.rate_per_month": 4.0})
    for rec in run_many(sc, 2, 5):
        m = replication_metrics(rec, sc)
        assert m["job_search_hours_per_seeker_week"] == pytest.approx(
            m["job_search_service_share"] * sc.service.job_search_hours_per_member_week, rel=1e-9)


def test_job_finding_rate_matches_the_hazard_at_full_service():
    # Ample hours (cap 5: at most 7 h of job search and 8 h of job development a week, out of
    # about 27 direct hours; 8 h buys 9.6 contacts a week, over 0.6 per seeker), no heterogeneity,
    # no supervision effect: every seeker finds a job at own + search + development rates (per
    # month). Seekers are counted at daily planning steps, so the exposure error is under 1%.
    # (A day with a new member's intake hours leaves a little job search unserved: the search
    # term of the rate is scaled by the share received, about 0.99.)
    rates = {"job_search.job_rate_own_per_month": 0.02, "job_search.job_rate_search_per_month": 0.05,
             "job_search.job_rate_development_per_month": 0.04}
    # A later job is found at the first job's rate (next_job_rate_ratio 1) and the first search's hazard is
    # constant (shape 1), so one rate holds for every search.
    sc = make_scenario({**optional_mechanisms_off(), **rates, "job_search.heterogeneity_cv": 0.0,
                        "job_search.next_job_rate_ratio": 1.0, "job_search.first_search_shape": 1.0,
                        "job_search.dose_exponent": 1.0, "team.caseload_cap": 5, "referrals.rate_per_month": 1.0,
                        "service.job_development_hours_per_week": 8.0, "simulation.planning_step_days": 1,
                        "simulation.horizon_years": 8, "simulation.warmup_years": 1})
    values = [replication_metrics(rec, sc) for rec in run_many(sc, 12, 21)]
    share = float(np.mean([v["job_search_service_share"] for v in values]))
    assert share > 0.98
    expected = (rates["job_search.job_rate_own_per_month"] + rates["job_search.job_rate_search_per_month"] * share
                + rates["job_search.job_rate_development_per_month"])
    mean, se = mean_and_se([v["job_finding_rate_per_seeker_month"] for v in values])
    assert_within_4se(mean, se, expected, "jobs found per job-seeker month")


def test_why_chain_follows_a_higher_caseload_cap_down_to_employment():
    # A busy team (high referrals) allowed 35 per specialist instead of 15: more people per
    # specialist, less job-search help each, fewer jobs found, fewer employed within 18 months.
    busy = make_scenario({"referrals.rate_per_month": 6.0, "simulation.horizon_years": 6,
                          "simulation.warmup_years": 2, "team.caseload_cap": 15})
    loose = busy.with_updates({"team.caseload_cap": 35})
    cmp = ips_sim.compare(busy, loose, replications=6, seed=4)
    chain = cmp.why.set_index("metric")
    assert list(chain.index) == [name for name, _ in CHAIN]
    verdicts = chain["variant_is"].to_dict()
    assert verdicts == {"caseload_per_specialist_mean": "higher", "job_search_service_share": "lower",
                        "job_search_hours_per_seeker_week": "lower",
                        "job_finding_rate_per_seeker_month": "lower", "ever_employed_rate": "lower"}, verdicts
    for r in chain.itertuples():
        assert r.diff_ci_low <= r.difference <= r.diff_ci_high
        assert r.difference == pytest.approx(r.variant - r.baseline, abs=1e-12)


def test_why_chain_of_identical_runs_is_all_same():
    sc = make_scenario(SHORT)
    a, _ = ips_sim.ui.api.run_replications(sc, 3, 1, keep_records=False)
    assert set(why_chain(a, a)["variant_is"]) == {"same"}


# --------------------------------------------------------------------------- animation


@pytest.fixture(scope="module")
def busy_record():
    sc = make_scenario({"referrals.rate_per_month": 5.0, "simulation.horizon_years": 5,
                        "simulation.warmup_years": 1, "referrals.patience_mean_days": 60})
    return sc, run_many(sc, 1, 8)[0]


def test_event_log_replays_the_month_end_snapshots(busy_record):
    # The model counts waitlist, caseload and employed itself at each month end; the states
    # rebuilt from the event log must give exactly the same numbers.
    _, rec = busy_record
    st = states(event_log(rec), rec.month[:, 0])
    counts = st.groupby(["day", "phase"]).size().unstack(fill_value=0).reindex(
        index=rec.month[:, 0], columns=list(PHASES), fill_value=0)
    assert rec.month[:, 1].max() > 0, "the scenario should make people wait"
    np.testing.assert_array_equal(counts["waitlist"], rec.month[:, 1])
    np.testing.assert_array_equal(counts["job search"] + counts["working"], rec.month[:, 2])
    np.testing.assert_array_equal(counts["working"], rec.month[:, 3])


def test_event_log_has_every_event_once(busy_record):
    _, rec = busy_record
    log = event_log(rec)
    n = log["event"].value_counts()
    assert n["referral"] == len(rec.member["member_id"])
    assert n["enrollment"] == np.isfinite(rec.member["enrollment_day"]).sum()
    assert n["job_start"] == len(rec.job["start_day"])
    assert n["exit"] == np.isfinite(rec.member["exit_day"]).sum()
    assert (log.loc[log["event"] == "referral", "specialist"] == -1).all()  # nobody has a specialist yet
    assert log["day"].is_monotonic_increasing


def test_animation_has_a_frame_per_month_with_the_month_shown(busy_record):
    sc, rec = busy_record
    fig = animation_figure(rec, sc.team.specialists, start_month=12, months=24, per_month=1)
    assert len(fig.frames) == 25
    assert fig.frames[0].layout.title.text.startswith("month 12 (year 1.0)")
    assert [step.label for step in fig.layout.sliders[0].steps] == [str(m) for m in range(12, 37)]
    labels = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert any("slow" in x for x in labels) and any("pause" in x for x in labels)
    dots = fig.frames[6].data[0]
    day = 18 * rec.horizon / (12 * sc.simulation.horizon_years)
    present = states(event_log(rec), np.array([day]))
    assert len(dots.ids) == len(present)


# --------------------------------------------------------------------------- hours budget


def test_hours_budget_respects_the_allocation():
    sc = make_scenario({**SHORT, "team.caseload_cap": 35, "referrals.rate_per_month": 6.0})
    w = weekly_hours(run_many(sc, 2, 9))
    got = w[[c for c in w if c.startswith("got_")]].sum(axis=1)
    assert (got <= w["available"] + 1e-9).all()
    for key in ("intake", "follow_along", "job_search", "job_development"):
        assert (w[f"got_{key}"] <= w[f"demand_{key}"] + 1e-9).all()
    # Priority policy: an activity gets hours only once every earlier one in priority_order is
    # served in full, so the shares received never rise along the order; the last thins first.
    share = shortfall_by_activity(w, sc.warmup_days).set_index("activity")["share_received"]
    assert sc.time_use.allocation_policy == "priority"
    names = {"intake": "intake", "follow_along": "follow-along", "job_search": "job search",
             "job_development": "job development"}
    ordered = [share[names[a]] for a in sc.time_use.priority_order]
    assert all(a >= b - 1e-12 for a, b in zip(ordered, ordered[1:])), dict(zip(sc.time_use.priority_order, ordered))
    assert share["job search"] < 0.9, "a cap of 35 with 6 referrals a month should thin job search"
    stack, available = budget_long(w)
    assert set(stack["part"]) == {"received", "short"} and (stack["hours"] >= 0).all()
    assert set(available["specialist"]) == {1, 2}


# --------------------------------------------------------------------------- the API


def test_run_from_a_path_with_changes(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("team:\n  specialists: 3\nsimulation:\n  horizon_years: 3\n  warmup_years: 1\n")
    result = ips_sim.run(path, replications=2, seed=5, changes={"team.caseload_cap": 12})
    assert result.scenario.name == "mine"
    assert (result.scenario.team.specialists, result.scenario.team.caseload_cap) == (3, 12)
    assert list(result.replications["replication"]) == [0, 1]
    assert set(result.monthly["replication"]) == {0, 1}
    assert result.summary.loc["mean_wait_days", "label"] == "Mean wait for a place"
    # Same scenario and seed through the lower layer: the same numbers.
    again = ips_sim.ui.api.run_replications(result.scenario, 2, 5, keep_records=False)[0]
    assert again == result.metrics


def test_api_bad_input_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError) as info:
        ips_sim.run({"team": {"specialists": 0}}, replications=2)
    assert "team.specialists" in info.value.messages[0]
    with pytest.raises(ScenarioError) as info:
        ips_sim.run(tmp_path / "missing.yaml")
    assert "no such file" in info.value.messages[0]
