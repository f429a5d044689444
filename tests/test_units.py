"""Unit tests of the building blocks, against hand derivations and invariants."""

from __future__ import annotations

import doctest
import math

import numpy as np
import simpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import ips_sim.analysis.metrics
import ips_sim.sim.staffing
from ips_sim.analysis.metrics import km_median
from ips_sim.config import Scenario, default_values, defaults_table, get_dotted
from ips_sim.core.streams import Streams, stream_seed
from ips_sim.sim.kernel import Kernel
from ips_sim.sim.hazard import HazardClock
from ips_sim.sim.staffing import allocate

# ------------------------------------------------------------------ allocate

ORDER = (0, 1, 2, 3)


def test_allocate_hand_cases():
    # Enough hours: everyone gets their demand.
    assert allocate(20.0, (2.0, 4.0, 8.0, 5.0), "priority", ORDER) == [2.0, 4.0, 8.0, 5.0]
    assert allocate(19.0, (2.0, 4.0, 8.0, 5.0), "proportional", ORDER) == [2.0, 4.0, 8.0, 5.0]
    # Priority 0,1,2,3 with 10 hours: 2 + 4 in full, 4 of 8, nothing for the last.
    assert allocate(10.0, (2.0, 4.0, 8.0, 5.0), "priority", ORDER) == [2.0, 4.0, 4.0, 0.0]
    # Another order: job development (3) first, then job search (2), then intake (0), follow-along (1).
    assert allocate(10.0, (2.0, 4.0, 8.0, 5.0), "priority", (3, 2, 0, 1)) == [0.0, 0.0, 5.0, 5.0]
    # Proportional: 9.5 of 19 demanded -> everyone gets half.
    assert allocate(9.5, (2.0, 4.0, 8.0, 5.0), "proportional", ORDER) == [1.0, 2.0, 4.0, 2.5]
    # No hours at all.
    assert allocate(0.0, (1.0, 1.0, 1.0, 1.0), "priority", ORDER) == [0.0, 0.0, 0.0, 0.0]
    assert allocate(0.0, (1.0, 1.0, 1.0, 1.0), "proportional", ORDER) == [0.0, 0.0, 0.0, 0.0]
    # No demand.
    assert allocate(5.0, (0.0, 0.0, 0.0, 0.0), "proportional", ORDER) == [0.0, 0.0, 0.0, 0.0]


hours = st.floats(0.0, 200.0, allow_nan=False)
demands = st.tuples(hours, hours, hours, hours)
orders = st.permutations(ORDER).map(tuple)


@settings(max_examples=300, deadline=None)
@given(available=hours, demand=demands, order=orders, policy=st.sampled_from(["priority", "proportional"]))
def test_allocate_never_more_than_demand_or_available(available, demand, order, policy):
    got = allocate(available, demand, policy, order)
    total = sum(demand)
    eps = 1e-9 * max(1.0, total, available)
    assert len(got) == 4
    for g, d in zip(got, demand):
        assert -eps <= g <= d + eps
    assert sum(got) <= available + eps
    # Work conserving: all hours used when demand exceeds them, all demand met otherwise.
    assert math.isclose(sum(got), min(available, total), rel_tol=1e-9, abs_tol=eps)


@settings(max_examples=200, deadline=None)
@given(available=hours, demand=demands, order=orders)
def test_allocate_priority_serves_in_order(available, demand, order):
    got = allocate(available, demand, "priority", order)
    eps = 1e-9 * max(1.0, sum(demand), available)
    # An activity gets hours only if every activity before it in the order got its full demand.
    for k, a in enumerate(order):
        if got[a] > eps:
            for b in order[:k]:
                assert got[b] >= demand[b] - eps


@settings(max_examples=200, deadline=None)
@given(available=hours, demand=demands)
def test_allocate_proportional_same_share(available, demand):
    got = allocate(available, demand, "proportional", ORDER)
    total = sum(demand)
    share = 1.0 if total <= available else available / total
    for g, d in zip(got, demand):
        assert math.isclose(g, d * share, rel_tol=1e-9, abs_tol=1e-12)


def test_staffing_and_metrics_doctests():
    for module in (ips_sim.sim.staffing, ips_sim.analysis.metrics):
        result = doctest.testmod(module)
        assert result.failed == 0


# ------------------------------------------------------------------ HazardClock


def _queued(clock: HazardClock, end: float, now: float, current=lambda member: 1) -> list[tuple[float, str]]:
    """(time, member) of what the planning step puts on SimPy's queue from ``clock`` for the step ending at ``end``."""
    env = simpy.Environment()
    clock.on_due, clock.version_of = print, current
    if clock.due_top <= end:
        Kernel(env).queue_due(clock, end, now)
    queue = sorted(env._queue)  # (time, priority, event id, (on_due, member, version))
    assert all(entry[3][0] is print for entry in queue)
    return [(entry[0], entry[3][1]) for entry in queue]


def _run_clock(residual: float, t_join: float, pieces: list[tuple[float, float]], step: float) -> float:
    """Drive a clock the way the model does: set_rate at each planning step, schedule what falls inside."""
    clock = HazardClock()
    due_times = []
    joined = False
    for t, rate in pieces:
        t_end = t + step
        # A member may join between planning steps, at the rate in force.
        if not joined and t_join < t:
            raise AssertionError("join must happen after the first planning step")
        clock.set_rate(t, rate, t_end)
        due_times.extend(d for d, _ in _queued(clock, t_end, t))
        if not joined and t <= t_join < t_end:
            _, due = clock.add(t_join, residual, "member", 1)
            joined = True
            if due is not None:
                due_times.append(due)
        if due_times:
            return due_times[0]
    return math.inf


def test_hazard_clock_piecewise_constant_hand_computed():
    # Steps of 7 days. Rates per day: 0.5 on [0, 7), 0 on [7, 14), 2 on [14, 21), 0.25 after.
    pieces = [(0.0, 0.5), (7.0, 0.0), (14.0, 2.0), (21.0, 0.25), (28.0, 0.25), (35.0, 0.25)]
    # Join on day 1 with threshold 5: hazard 0.5 x 6 = 3 by day 7, nothing until 14, 2 more by day 15.
    assert _run_clock(5.0, 1.0, pieces, 7.0) == pytest.approx(15.0, abs=1e-12)
    # Threshold 2 from day 1: reached inside the first step, 1 + 2 / 0.5 = 5.
    assert _run_clock(2.0, 1.0, pieces, 7.0) == pytest.approx(5.0, abs=1e-12)
    # Threshold 20 from day 1: 3 + 0 + 14 = 17 by day 21, then 3 more at 0.25 a day: day 33.
    assert _run_clock(20.0, 1.0, pieces, 7.0) == pytest.approx(33.0, abs=1e-12)
    # Joining while the rate is 0 (day 8): 0 until 14, then 2 a day: threshold 1 on day 14.5.
    assert _run_clock(1.0, 8.0, pieces, 7.0) == pytest.approx(14.5, abs=1e-12)
    # Never reached: 3 + 14 + 0.25 x 21 = 22.25 < 30.
    assert _run_clock(30.0, 0.0, pieces, 7.0) == math.inf


def test_hazard_clock_members_share_a_clock_and_level_at():
    clock = HazardClock()
    clock.set_rate(0.0, 1.0, 10.0)
    th_a, due_a = clock.add(0.0, 3.0, "a", 1)
    th_b, due_b = clock.add(2.0, 20.0, "b", 1)
    assert (th_a, due_a) == (3.0, 3.0)
    assert th_b == 22.0 and due_b is None  # beyond the step: kept in the heap
    assert clock.level_at(4.0) == 4.0
    clock.set_rate(10.0, 4.0, 20.0)  # level 10 at day 10, then 4 a day: 22 at day 13
    assert clock.level_at(12.0) == 18.0
    assert clock.time_of(22.0) == 13.0
    assert _queued(clock, 20.0, 10.0) == [(13.0, "b")]
    assert _queued(clock, 20.0, 10.0) == []


def test_hazard_clock_queues_current_members_only():
    # Three members on one clock at rate 1 from day 0: thresholds 9, 10 and 12. "old" has
    # moved on since (its version is no longer current): it leaves the heap, unqueued.
    clock = HazardClock()
    clock.set_rate(0.0, 1.0, 7.0)
    for residual, member in ((9.0, "a"), (10.0, "old"), (12.0, "c")):
        assert clock.add(0.0, residual, member, 1)[1] is None  # due after day 7: kept
    clock.set_rate(7.0, 1.0, 14.0)
    assert _queued(clock, 14.0, 7.0, current=lambda member: 0 if member == "old" else 1) == [(9.0, "a"), (12.0, "c")]
    assert clock.heap == [] and clock.due_top == math.inf


# ------------------------------------------------------------------ Kaplan-Meier median


def test_km_median_hand_cases():
    T, F = True, False
    # No censoring: S = 3/4, 1/2 -> median 2 (smallest t with S(t) <= 1/2).
    assert km_median(np.array([1.0, 2.0, 3.0, 4.0]), np.array([T, T, T, T])) == 2.0
    # Censoring: durations 1, 2+, 3, 4, 5+: S(1) = 4/5, S(3) = 4/5 x 2/3 = 8/15 > 1/2, S(4) = 8/15 x 1/2 = 4/15.
    assert km_median(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([T, F, T, T, F])) == 4.0
    # Input order does not matter.
    assert km_median(np.array([5.0, 3.0, 1.0, 4.0, 2.0]), np.array([F, T, T, T, F])) == 4.0
    # Tie of an event and a censoring at 1: the censored one is still at risk at 1.
    # S(1) = 4/5, S(2) = 4/5 x 2/3 = 8/15, S(3) = 8/15 x 1/2 = 4/15 -> median 3
    # (processing the censoring first would give S(1) = 3/4, S(2) = 1/2 -> 2).
    assert km_median(np.array([1.0, 1.0, 2.0, 3.0, 4.0]), np.array([F, T, T, T, T])) == 3.0
    # Tied events: S(1) = 2/4 = 1/2 exactly -> median 1.
    assert km_median(np.array([1.0, 1.0, 2.0, 3.0]), np.array([T, T, T, T])) == 1.0
    # Never down to 1/2: 1 event then heavy censoring, S = 2/3 -> NaN.
    assert math.isnan(km_median(np.array([1.0, 2.0, 3.0]), np.array([T, F, F])))
    # All censored, and empty.
    assert math.isnan(km_median(np.array([1.0, 2.0]), np.array([F, F])))
    assert math.isnan(km_median(np.array([]), np.array([], dtype=bool)))


def test_km_median_exponential_with_censoring():
    """Large sample: Exp(mean 10) censored by Uniform(0, 30); the median is 10 ln 2.

    Tolerance: 4 asymptotic standard errors of the KM median, sd(S(m)) / f(m), with
    Greenwood's Var S(m) = S(m)^2 / n * integral_0^m h(u) / (S(u) G(u)) du,
    h = 0.1, S(u) = exp(-u / 10), G(u) = 1 - u / 30 (censoring survival), f(m) = h S(m).
    """
    from scipy.integrate import quad

    n, h = 20000, 0.1
    m = math.log(2.0) / h
    integral, _ = quad(lambda u: h / (math.exp(-h * u) * (1.0 - u / 30.0)), 0.0, m)
    sd_s = math.sqrt(0.25 * integral / n)
    se = sd_s / (h * 0.5)
    rng = np.random.default_rng(3)
    x = rng.exponential(1.0 / h, n)
    c = rng.uniform(0.0, 30.0, n)
    est = km_median(np.minimum(x, c), x <= c)
    assert abs(est - m) <= 4 * se, (est, m, se)


# ------------------------------------------------------------------ streams


def test_stream_same_name_same_numbers():
    a = Streams(123, 4).exponential("job_finding")
    b = Streams(123, 4).exponential("job_finding")
    xa = [a() for _ in range(1500)]  # crosses buffer blocks
    xb = [b() for _ in range(1500)]
    assert xa == xb
    # It is the documented seed: SeedSequence(entropy=seed, spawn_key=(replication, crc32(name))).
    g = np.random.default_rng(stream_seed(123, 4, "job_finding"))
    assert np.allclose(g.standard_exponential(1500), xa, rtol=0, atol=0)


def test_stream_generators_are_the_documented_seed_for_every_seed_replication_and_name():
    # Streams computes the seed from a pool shared by a replication's streams; its generators must
    # be numpy's own from stream_seed: state words and draws, at the edges of one 32-bit word.
    names = ["job_finding", "referral_arrivals", "benefit_status", "x", "", "a name with spaces"]
    for seed in (0, 1, 7, 12345, 2**31, 2**32 - 1, 2**32, 2**40 + 3):
        for replication in (0, 1, 5, 999, 2**20, 2**32 - 1, 2**32):
            s = Streams(seed, replication)
            for name in names:
                ours, numpy_own = s.generator(name), np.random.default_rng(stream_seed(seed, replication, name))
                assert ours.bit_generator.state == numpy_own.bit_generator.state, (seed, replication, name)
                assert ours.random(3).tolist() == numpy_own.random(3).tolist()
    shared = Streams(3, 4)
    for n_words, dtype in ((4, np.uint64), (8, np.uint32), (5, np.uint32), (1, np.uint64)):
        want = stream_seed(3, 4, "job_wage").generate_state(n_words, dtype)
        got = shared.generator("job_wage").bit_generator.seed_seq.generate_state(n_words, dtype)
        assert got.dtype == want.dtype and got.tolist() == want.tolist()


def test_stream_different_replication_seed_or_name_different_numbers():
    x = Streams(123, 4).exponential("job_finding")
    first = [x() for _ in range(50)]
    for other in (Streams(123, 5).exponential("job_finding"), Streams(124, 4).exponential("job_finding"),
                  Streams(123, 4).exponential("job_ending")):
        assert [other() for _ in range(50)] != first


def test_adding_a_stream_does_not_change_another():
    alone = Streams(7, 0)
    a1 = alone.uniform("referral_arrivals")
    seq_alone = [a1() for _ in range(700)]
    crowded = Streams(7, 0)
    extra = crowded.normal("a_new_stream")
    a2 = crowded.uniform("referral_arrivals")
    more = crowded.exponential("another_one")
    seq_crowded = []
    for _ in range(700):
        extra()
        seq_crowded.append(a2())
        more()
    assert seq_alone == seq_crowded


def test_stream_distributions():
    s = Streams(1, 0)
    e = s.exponential("e")
    x = np.array([e() for _ in range(20000)])
    assert abs(x.mean() - 1.0) < 4 / math.sqrt(20000)  # sd of an Exp(1) is 1
    g = s.gamma_mean_one("g", 0.5)
    y = np.array([g() for _ in range(20000)])
    assert abs(y.mean() - 1.0) < 4 * 0.5 / math.sqrt(20000)
    assert abs(y.std() / y.mean() - 0.5) < 0.02
    ones = s.gamma_mean_one("h", 0.0)
    assert all(ones() == 1.0 for _ in range(10))


# ------------------------------------------------------------------ defaults table


def _schema_fields() -> list[str]:
    out = []
    for section, field in Scenario.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            out.extend(f"{section}.{name}" for name in model.model_fields)
    return out


def test_defaults_table_covers_every_field_with_a_source():
    rows = defaults_table()
    params = [r["parameter"] for r in rows]
    assert len(params) == len(set(params)), "a parameter is listed twice"
    fields = _schema_fields()
    missing = sorted(set(fields) - set(params))
    stale = sorted(set(params) - set(fields))
    assert not missing, f"schema fields without a row in parameters.csv: {missing}"
    assert not stale, f"rows of parameters.csv that are not schema fields: {stale}"
    for r in rows:
        assert r["source"] and r["source"].strip(), f"{r['parameter']}: empty source"
        assert r["unit"] is not None and r["unit"].strip(), f"{r['parameter']}: empty unit"
    # Every default is present in the resolved defaults and the defaults validate as a scenario.
    values = default_values()
    for f in fields:
        get_dotted(values, f)
    Scenario.model_validate({**values, "name": "defaults"})
