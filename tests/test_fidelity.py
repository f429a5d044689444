"""Fidelity items from operations, checked on hand-built event logs with hand-derived values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ips_sim.analysis.fidelity import (
    ITEMS,
    SCORED,
    fidelity_table,
    replication_fidelity,
    score_caseload,
    score_community,
    score_follow_along,
    score_job_development,
    score_rapid_search,
    score_supervision,
)
from ips_sim.config import DAYS_PER_MONTH, scenario_from_dict
from ips_sim.sim.records import WEEK_COLUMNS, FrozenRecords

NAN = math.nan


def scenario(**updates):
    base = {
        "simulation.horizon_years": 2, "simulation.warmup_years": 1, "simulation.planning_step_days": 7,
        "team.specialists": 2, "team.fte_per_specialist": 1.0,
        "time_use.paid_hours_per_week": 40, "time_use.meeting_hours_per_week": 3, "time_use.travel_share": 0.12,
        "supervision.enabled": True, "supervision.supervisor_fte": 1.0, "supervision.specialists_per_supervisor": 12,
    }
    base.update({k.replace("__", "."): v for k, v in updates.items()})
    return scenario_from_dict({"name": "fidelity_test"}).with_updates(base)


def week_row(day, spec, avail, got, demand, contacts, caseload, in_post, need, received, quality):
    return [day, spec, avail, *got, *demand, contacts, caseload, in_post, need, received, quality]


def hand_records(week=None):
    """Two specialists; week rows at day 100 (warm-up, ignored), 400 and 407 (post 0 vacant on day 407)."""
    if week is None:
        week = np.array([
            week_row(100, 0, 27, (9, 9, 9, 9), (9, 9, 9, 9), 99, 99, 1, 1, 0, 0.1),     # warm-up
            week_row(400, 0, 27, (2, 5, 10, 5), (2, 5, 10, 5), 6, 20, 1, 2.5, 2.0, 0.9),
            week_row(400, 1, 27, (0, 4, 12, 4), (0, 8, 12, 5), 4, 24, 1, 5.0, 4.0, 0.6),
            week_row(407, 0, 0, (0, 0, 0, 0), (0, 3, 4, 5), 0, 10, 0, 0, 0, 1.0),       # vacant post
            week_row(407, 1, 27, (1, 6, 10, 5), (1, 6, 10, 5), 6, 22, 1, 2.5, 2.0, 0.9),
        ], dtype=float)
    member = {
        "member_id": np.arange(5),
        "referral_day": np.array([300, 400, 405, 420, 430.0]),
        "enrollment_day": np.array([300, 400, 410, 420, 430.0]),
        "first_employer_contact_day": np.array([320, 420, 460, NAN, 530]),
        "first_job_day": np.array([NAN, 420, 430, NAN, 540]),
        "exit_day": np.array([NAN, 700, 800, NAN, 560]),
        "exit_reason": np.array([-1, 1, 1, -1, 0], dtype=np.int8),  # 1 stepped_down, 0 disengaged
        "jobs": np.array([0, 1, 2, 0, 1]),
        "days_employed": np.zeros(5),
        "specialist": np.array([0, 0, 1, 1, 1]),
    }
    job = {
        "member_id": np.array([1, 2, 2, 4]),
        "job_number": np.array([1, 1, 2, 1]),
        "start_day": np.array([420, 430, 500, 540.0]),
        "end_day": np.array([NAN, 480, NAN, NAN]),
        "hours_per_week": np.full(4, 20.0),
        "hourly_wage": np.full(4, 10.0),
        "preference_match": np.ones(4, bool),
        "end_reason": np.array([-2, 0, -2, -2], dtype=np.int8),  # -2: left services while working
        "observed_until_day": np.array([700, 480, 800, 560.0]),
    }
    return FrozenRecords(replication=0, horizon=2 * 365.25, member=member, job=job, week=week,
                         month=np.zeros((0, 4)))


def rows_by_item(rows):
    return {r["item"]: r for r in rows}


def test_week_columns_are_the_ones_the_hand_rows_fill():
    assert len(WEEK_COLUMNS) == 17


def test_items_on_hand_built_records():
    r = rows_by_item(replication_fidelity(hand_records(), scenario()))
    # caseload: in-post rows after warm-up: 20, 24, 22 -> 22 per full-time specialist -> 21-25 -> 4
    assert r["caseload_size"]["value"] == pytest.approx(22.0)
    assert r["caseload_size"]["score"] == 4
    # first contact, members enrolled after warm-up with a contact: 20, 50, 100 days -> mean 56.7 -> 31-60 -> 4
    assert r["rapid_job_search"]["value"] == pytest.approx(170 / 3)
    assert r["rapid_job_search"]["score"] == 4
    # employer contacts per specialist-week in post: (6 + 4 + 6) / 3 = 5.33 -> 5 -> 4
    assert r["job_development_frequency"]["value"] == pytest.approx(16 / 3)
    assert r["job_development_frequency"]["score"] == 4
    # community: (follow + search + development) + travel 37 x 0.12 = 4.44 h x community / 27 h available
    community = np.array([20.0, 20.0, 21.0])
    share = (community + 4.44 * community / 27).sum() / (3 * 40)
    assert r["community_based_services"]["value"] == pytest.approx(share)  # 0.592 -> 50-64% -> 4
    assert r["community_based_services"]["score"] == 4
    # follow-along ended by step-down after 280 days (member 1) and 300 days (member 2); member 4 disengaged
    assert r["time_unlimited_follow_along"]["value"] == pytest.approx(280 / DAYS_PER_MONTH)
    assert r["time_unlimited_follow_along"]["score"] == 3
    # 12 specialists per full-time supervisor (> 10) and coverage (2 + 4 + 2) / (2.5 + 5 + 2.5) = 0.8 < 0.9:
    # elements present: the two not simulated -> 2
    assert r["supervision"]["value"] == 12
    assert r["supervision_coverage"]["value"] == pytest.approx(0.8)
    assert r["supervision"]["score"] == 2
    # unscored rows
    assert r["practice_quality"]["value"] == pytest.approx(0.8)
    assert r["effective_employer_contacts_per_specialist_week"]["value"] == pytest.approx((5.4 + 2.4 + 5.4) / 3)
    assert r["follow_along_consistency"]["value"] == pytest.approx(12.3 / 19)
    assert math.isnan(r["practice_quality"]["score"])
    assert r["caseload_size"]["anchors"].endswith("(verified)")
    assert "assumption" in r["job_development_frequency"]["anchors"]


def test_supervision_item_with_a_small_span_and_full_coverage():
    week = hand_records().week.copy()
    week[:, WEEK_COLUMNS.index("supervision_received")] = week[:, WEEK_COLUMNS.index("supervision_needed")]
    r = rows_by_item(replication_fidelity(hand_records(week), scenario(supervision__specialists_per_supervisor=4,
                                                                       supervision__supervisor_fte=0.5)))
    assert r["supervision"]["value"] == 8  # 4 specialists over half an FTE
    assert r["supervision"]["score"] == 5


def test_no_step_down_means_time_unlimited():
    rec = hand_records()
    rec.member["exit_reason"] = np.array([-1, 0, 0, -1, 0], dtype=np.int8)
    r = rows_by_item(replication_fidelity(rec, scenario()))
    assert r["time_unlimited_follow_along"]["value"] == math.inf
    assert r["time_unlimited_follow_along"]["score"] == 5


def test_records_without_supervision_columns():
    """Week arrays of the core layout (13 columns): every post filled, quality 1, coverage 1."""
    rec = hand_records()
    rec.week = np.delete(rec.week, [0, 3], axis=0)[:, :13]  # drop warm-up and vacant rows, and the new columns
    r = rows_by_item(replication_fidelity(rec, scenario()))
    assert r["caseload_size"]["value"] == pytest.approx(22.0)
    assert r["practice_quality"]["value"] == 1.0
    assert r["supervision_coverage"]["value"] == 1.0
    assert r["supervision"]["score"] == 4  # ratio 12 > 10, coverage full


@pytest.mark.parametrize("fn, cases", [
    (score_caseload, [(20, 5), (20.49, 5), (20.5, 4), (25, 4), (26, 3), (30, 3), (31, 2), (40, 2), (41, 1)]),
    (score_rapid_search, [(30, 5), (31, 4), (60, 4), (61, 3), (150, 3), (151, 2), (270, 2), (271, 1)]),
    (score_job_development, [(6, 5), (5.5, 5), (5.49, 4), (4, 3), (3, 2), (2, 2), (1.49, 1)]),
    (score_community, [(0.65, 5), (0.649, 5), (0.644, 4), (0.5, 4), (0.4, 3), (0.3, 2), (0.2, 1)]),
    (score_follow_along, [(math.inf, 5), (12, 5), (11.99, 3), (6, 3), (5.99, 2)]),
])
def test_anchor_boundaries(fn, cases):
    for value, score in cases:
        assert fn(value) == score, (fn.__name__, value)


def test_supervision_elements():
    assert score_supervision(10, 0.9) == 5
    assert score_supervision(10.5, 0.9) == 4
    assert score_supervision(10, 0.89) == 3
    assert score_supervision(16, 0.5) == 2


def test_fidelity_table_layout():
    table = fidelity_table([hand_records(), hand_records()], scenario())
    assert list(table.columns) == ["replication", "item", "value", "unit", "score", "anchors"]
    assert len(table) == 2 * len(ITEMS)
    scored = table[table["item"].isin(SCORED)]["score"]
    assert scored.between(1, 5).all()
    assert isinstance(table, pd.DataFrame)


def test_write_run_writes_fidelity_csv(tmp_path):
    from ips_sim.reporting.tables import write_run
    from ips_sim.runner.experiment import run_replications

    sc = scenario(simulation__horizon_years=3, turnover__enabled=True)
    per_rep, records = run_replications(sc, 2, seed=5)
    write_run(tmp_path, sc, per_rep, records, {"test": True}, plots=True)
    df = pd.read_csv(tmp_path / "fidelity.csv")
    assert set(df["item"]) == {i.name for i in ITEMS}
    assert sorted(df["replication"].unique()) == [0, 1]
    assert (tmp_path / "fidelity.png").exists()
