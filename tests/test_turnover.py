"""Staff turnover: vacancies, reassignment of caseloads, new hires.

Expected values: a post alternates between filled (exponential tenure) and
vacant (exponential hiring delay), a two-state Markov chain, so the expected
vacant time has a closed form; counters must agree with the members after any
sequence of departures and transfers; paired comparisons under common random
numbers use a 4-SE tolerance in the stated direction.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import EXPLICIT_SUPERVISION

from ips_sim.analysis.metrics import FOLLOW_UP_DAYS, replication_metrics
from ips_sim.config import DAYS_PER_YEAR, scenario_from_dict
from ips_sim.sim.model import EMPLOYED, GONE, SEARCH, Program, run_replication

SEED = 777

BASE = {
    **EXPLICIT_SUPERVISION,
    "supervision.specialists_per_supervisor": None,
    "turnover.enabled": True,
    "turnover.annual_rate": 0.45,
    "turnover.hiring_delay_days": 60.0,
    "turnover.ramp_up_months": 6.0,
    "turnover.new_hire_effectiveness": 0.5,
    "turnover.ramp_supervision_effect": 0.5,
    "turnover.caseload_on_departure": "reassign",
    "simulation.horizon_years": 8,
    "simulation.warmup_years": 1,
    "team.specialists": 2,
}


def scenario(**updates):
    sc = scenario_from_dict({"name": "turnover_test"})
    return sc.with_updates({**BASE, **{k.replace("__", "."): v for k, v in updates.items()}})


def paired(a_sc, b_sc, names, reps):
    out = {n: [] for n in names}
    for i in range(reps):
        a = replication_metrics(run_replication(a_sc, i, SEED).freeze(), a_sc)
        b = replication_metrics(run_replication(b_sc, i, SEED).freeze(), b_sc)
        for n in names:
            out[n].append(b[n] - a[n])
    return {n: np.array(v) for n, v in out.items()}


def se(x):
    return x.std(ddof=1) / math.sqrt(len(x))


def test_vacant_share_matches_two_state_markov_chain():
    """Filled -> vacant at rate lam, vacant -> filled at rate mu, filled at day 0:
    P(vacant at t) = p (1 - exp(-(lam + mu) t)), p = lam / (lam + mu)."""
    rate_year, delay = 0.9, 90.0
    sc = scenario(turnover__annual_rate=rate_year, turnover__hiring_delay_days=delay)
    lam, mu = rate_year / DAYS_PER_YEAR, 1.0 / delay
    k, p = lam + mu, lam / (lam + mu)
    warm, horizon = sc.warmup_days, sc.horizon_days
    expected = 2 * p * ((horizon - warm) - (math.exp(-k * warm) - math.exp(-k * horizon)) / k)
    days = np.array([replication_metrics(run_replication(sc, i, SEED).freeze(), sc)["vacancy_days"]
                     for i in range(40)])
    assert abs(days.mean() - expected) <= 4 * se(days)


def test_raising_turnover_raises_vacancy_days_and_does_not_raise_employment():
    low, high = scenario(turnover__annual_rate=0.2), scenario(turnover__annual_rate=0.8)
    d = paired(low, high, ["vacancy_days", "ever_employed_rate", "members_affected_by_staff_change"], 12)
    assert d["vacancy_days"].mean() - 4 * se(d["vacancy_days"]) > 0
    assert d["members_affected_by_staff_change"].mean() - 4 * se(d["members_affected_by_staff_change"]) > 0
    assert d["ever_employed_rate"].mean() <= 4 * se(d["ever_employed_rate"])


def test_turnover_uses_its_own_streams():
    """Referrals and each member's referral-time draws are the same with and without turnover."""
    off, on = Program(scenario(turnover__enabled=False), 3, SEED), Program(scenario(turnover__annual_rate=2.0), 3, SEED)
    off.run()
    on.run()
    assert len(on.rec.vacancies) > 5
    a, b = off.rec.members, on.rec.members
    assert [m.referral_day for m in a] == [m.referral_day for m in b]
    # Streams drawn only at referral. (e_find is not compared: the job_finding stream also
    # serves later search spells, so its k-th draw depends on the order of events in any scenario.)
    assert [(m.e_drop, m.e_contact, m.frailty) for m in a] == [(m.e_drop, m.e_contact, m.frailty) for m in b]


@pytest.mark.parametrize("policy", ["reassign", "hold"])
@pytest.mark.parametrize("specialists", [1, 3])
def test_counters_agree_with_members_after_departures(policy, specialists):
    sc = scenario(turnover__annual_rate=2.0, turnover__caseload_on_departure=policy, team__specialists=specialists,
                  engagement__early_months=3.0)
    for rep in range(2):
        p = Program(sc, rep, SEED)
        p.run()
        assert len(p.rec.vacancies) > 0
        for s in p.specialists:
            ms = [m for m in p.rec.members if m.specialist is s and m.phase != GONE]
            assert s.n_caseload == len(ms) <= s.base_cap
            assert s.n_search == sum(m.phase == SEARCH for m in ms)
            assert s.n_employed == sum(m.phase == EMPLOYED for m in ms)
            assert s.n_new_workers == sum(m.new_worker for m in ms)
            if not s.in_post and policy == "reassign" and specialists > 1:
                # members left with a vacant post only when no colleague had room
                assert len(ms) == 0 or all(o.n_caseload >= o.cap for o in p.specialists if o.in_post)
        # vacancies of one post never overlap and lie inside the run
        for post in range(specialists):
            v = sorted((x.start_day, x.end_day) for x in p.rec.vacancies if x.post == post)
            for (_, b1), (a2, _) in zip(v, v[1:]):
                assert b1 <= a2
            assert all(0 <= a <= b <= p.rec.horizon for a, b in v)


def test_hold_keeps_members_with_the_vacant_post():
    sc = scenario(turnover__annual_rate=2.0, turnover__caseload_on_departure="hold")
    p = Program(sc, 0, SEED)
    moved = []
    original = p.workforce.transfer
    p.workforce.transfer = lambda *a: moved.append(a) or original(*a)
    p.run()
    assert moved == []


def test_affected_and_unaffected_rates_recombine_to_the_overall_rate():
    """Invariant: the members followed 18 months split into affected / unaffected."""
    sc = scenario(turnover__annual_rate=0.9)
    for rep in range(3):
        rec = run_replication(sc, rep, SEED).freeze()
        met = replication_metrics(rec, sc)
        m = rec.member
        enr = m["enrollment_day"]
        followed = np.isfinite(enr) & (enr >= sc.warmup_days) & (enr + FOLLOW_UP_DAYS <= rec.horizon)
        affected = followed & ((m["staff_change_day"] - enr) <= FOLLOW_UP_DAYS)
        n_a, n_u = affected.sum(), (followed & ~affected).sum()
        assert n_a > 0 and n_u > 0
        overall = (n_a * met["ever_employed_rate_affected"] + n_u * met["ever_employed_rate_unaffected"]) / (n_a + n_u)
        assert overall == pytest.approx(met["ever_employed_rate"], rel=1e-12)
        assert met["members_affected_by_staff_change"] >= n_a


def test_no_turnover_no_vacancies():
    sc = scenario(turnover__enabled=False)
    met = replication_metrics(run_replication(sc, 0, SEED).freeze(), sc)
    assert met["vacancy_days"] == 0.0
    assert met["members_affected_by_staff_change"] == 0.0
    assert met["practice_quality_mean"] == 1.0
