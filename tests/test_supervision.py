"""Supervision: the supervisor's hours -> practice quality -> the existing hazards.

Expected values come from the mechanism's definition (hand-derived), from the
invariant that full coverage leaves the core model unchanged, and from paired
comparisons under common random numbers with a 4-SE tolerance.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import EXPLICIT_SUPERVISION

from ips_sim.analysis.metrics import replication_metrics
from ips_sim.config import DAYS_PER_MONTH, DAYS_PER_YEAR, ScenarioError, scenario_from_dict
from ips_sim.sim.model import run_replication
from ips_sim.sim.records import WEEK_COLUMNS
from ips_sim.sim.staffing import coverage, expected_post_shares, practice_quality, supervision_hours_per_week

SEED = 4242
COL = {n: i for i, n in enumerate(WEEK_COLUMNS)}

# Supervision parameters set explicitly, so a recalibration of the defaults cannot change the checks.
SUPERVISION = {
    **EXPLICIT_SUPERVISION,
    "turnover.enabled": False,
    "simulation.horizon_years": 6,
    "simulation.warmup_years": 1,
    "team.specialists": 2,
}


COST_METRICS = {"program_cost_per_year", "program_cost_discounted", "cost_per_member_served", "cost_per_placement",
                "cost_per_employed_month"}


def scenario(**updates):
    sc = scenario_from_dict({"name": "supervision_test"})
    return sc.with_updates({**SUPERVISION, **{k.replace("__", "."): v for k, v in updates.items()}})


def metrics_json(sc, reps=3):
    out = []
    for i in range(reps):
        rec = run_replication(sc, i, SEED).freeze()
        # Outcomes only: the program's share of the supervisor's cost legitimately
        # depends on how many specialists the supervisor covers (tests/test_costs.py).
        core = {k: v for k, v in replication_metrics(rec, sc).items() if k not in COST_METRICS}
        out.append((core, rec.member, rec.job, rec.week[:, :13].tolist(), rec.month.tolist()))
    return out


def _dumps(x):
    return json.dumps(
        [(m, {k: v.tolist() for k, v in mem.items() if k != "staff_change_day"},
          {k: v.tolist() for k, v in job.items()}, w, mo) for m, mem, job, w, mo in x],
        sort_keys=True,
    )


def test_hand_derived_coverage_and_quality():
    assert supervision_hours_per_week(scenario()) == 28.0  # 1.0 x 40 - 12
    assert coverage(28.0, 40.0) == pytest.approx(0.7)
    assert coverage(28.0, 28.0) == 1.0
    assert practice_quality(1.0, 0.5, 1.0, 0.5) == 1.0  # exactly 1: the core model
    assert practice_quality(0.7, 0.5, 1.0, 0.5) == pytest.approx(0.85)
    assert practice_quality(0.7, 0.5, 0.5, 0.5) == pytest.approx(0.85 * 0.75)
    assert practice_quality(0.0, 0.0, 1.0, 0.5) == 1.0  # no effect of supervision at all


def test_adequate_supervision_equals_core_model_exactly():
    """All supervision hours needed are met and nobody leaves: byte-identical to supervision off."""
    off = _dumps(metrics_json(scenario(supervision__enabled=False)))
    # 2 specialists need 5 h a week of the 28 available.
    assert _dumps(metrics_json(scenario())) == off
    # A half-time supervisor with other teams, still covering every hour needed:
    # 0.5 x 40 - 0 = 20 h >= 8 specialists x 2.5 h.
    assert _dumps(metrics_json(scenario(supervision__supervisor_fte=0.5,
                                        supervision__own_duties_hours_per_week=0.0,
                                        supervision__specialists_per_supervisor=8))) == off
    # Turnover switched on with a zero rate changes nothing either.
    assert _dumps(metrics_json(scenario(turnover__enabled=True, turnover__annual_rate=0.0))) == off


def test_stretched_supervisor_gives_hand_derived_coverage_and_quality():
    """8 teams of 2, no turnover: need 16 x 2.5 = 40 h a week, 28 available: coverage 0.7, quality 0.85."""
    sc = scenario(supervision__specialists_per_supervisor=16)
    w = run_replication(sc, 0, SEED).freeze().week
    np.testing.assert_allclose(w[:, COL["supervision_received"]] / w[:, COL["supervision_needed"]], 0.7,
                               rtol=1e-12)
    np.testing.assert_allclose(w[:, COL["practice_quality"]], 0.85, rtol=1e-12)
    np.testing.assert_allclose(w[:, COL["supervision_needed"]], 2.5, rtol=1e-12)  # per specialist per 7-day step


def test_other_teams_turnover_expected_need_hand_derived():
    sc = scenario(turnover__enabled=True, turnover__annual_rate=0.45, turnover__hiring_delay_days=60.0,
                  turnover__ramp_up_months=6.0)
    rate = 0.45 / DAYS_PER_YEAR
    ramp = 6.0 * DAYS_PER_MONTH
    cycle = 1.0 / rate + 60.0
    p_ramp, p_vacant = expected_post_shares(sc)
    assert p_ramp == pytest.approx((1.0 - math.exp(-rate * ramp)) / rate / cycle, rel=1e-12)
    assert p_vacant == pytest.approx(60.0 / cycle, rel=1e-12)
    assert 0.0 < p_ramp < 0.25 and 0.0 < p_vacant < 0.1


def test_new_hire_ramp_up_slower_when_supervisor_overloaded():
    """Quality of a new hire = supervision factor x (start + (1 - start) x ramp); ramp grows by
    step / ramp days x (1 - effect x (1 - coverage)) each step (hand derivation from the mechanism)."""
    start, effect, ramp_effect = 0.5, 0.5, 0.5
    step_ramp = 7.0 / (6.0 * DAYS_PER_MONTH)
    for supervised in (2, 16):  # adequate, then overloaded
        sc = scenario(supervision__specialists_per_supervisor=supervised, turnover__enabled=True,
                      turnover__annual_rate=1.5, turnover__ramp_up_months=6.0,
                      turnover__new_hire_effectiveness=start, turnover__ramp_supervision_effect=ramp_effect)
        w = run_replication(sc, 1, SEED).freeze().week
        checked = 0
        for post in (0, 1):
            r = w[w[:, COL["specialist"]] == post]
            in_post = r[:, COL["in_post"]] > 0
            cov = np.where(r[:, COL["supervision_needed"]] > 0,
                           r[:, COL["supervision_received"]] / np.maximum(r[:, COL["supervision_needed"]], 1e-300),
                           1.0)
            sup = 1.0 - effect * (1.0 - cov)
            ramp = (r[:, COL["practice_quality"]] / sup - start) / (1.0 - start)
            for k in range(1, len(r) - 1):
                if in_post[k] and not in_post[k - 1]:  # first step of a new hire
                    assert ramp[k] == pytest.approx(0.0, abs=1e-12)
                if in_post[k] and in_post[k + 1] and ramp[k] < 1.0 - 1e-12:
                    if abs(ramp[k + 1]) < 1e-12:
                        continue  # left and replaced within one planning step: a new hire again
                    expected = min(1.0, ramp[k] + step_ramp * (1.0 - ramp_effect * (1.0 - cov[k])))
                    assert ramp[k + 1] == pytest.approx(expected, abs=1e-9)
                    checked += 1
        assert checked > 20
        if supervised == 16:
            assert cov[in_post].max() < 1.0  # the overloaded case really is overloaded


def test_poor_supervision_does_not_raise_employment():
    """Common random numbers: a supervisor over 8 teams (coverage 0.7) vs 1 team; 4-SE tolerance."""
    one = scenario(supervision__specialists_per_supervisor=2, simulation__horizon_years=8)
    eight = scenario(supervision__specialists_per_supervisor=16, simulation__horizon_years=8)
    diffs, contact_diffs = [], []
    for i in range(10):
        a = replication_metrics(run_replication(one, i, SEED).freeze(), one)
        b = replication_metrics(run_replication(eight, i, SEED).freeze(), eight)
        diffs.append(b["ever_employed_rate"] - a["ever_employed_rate"])
        contact_diffs.append(b["first_contact_within_30_days_rate"] - a["first_contact_within_30_days_rate"])
        assert b["practice_quality_mean"] == pytest.approx(0.85)
        assert a["practice_quality_mean"] == 1.0
    for d in (np.array(diffs), np.array(contact_diffs)):
        se = d.std(ddof=1) / math.sqrt(len(d))
        assert d.mean() <= 4 * se


def test_specialists_per_supervisor_below_team_is_an_error():
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict({"team": {"specialists": 3}, "supervision": {"specialists_per_supervisor": 2}},
                           source="x.yaml")
    assert any("specialists_per_supervisor" in line for line in err.value.messages)
