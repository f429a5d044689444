"""The model with job search switched off is a textbook multi-server queue.

With every job-finding rate 0, ``shortfall_effect`` 0 and the same drop-out
rate ``mu`` in every phase, an enrolled member's stay is exponential with rate
``mu`` (the switch from the early to the late drop-out clock carries the
residual threshold over, so by memorylessness the stay stays exponential).
Referrals are Poisson, the waitlist is first come first served and a member
enrols as soon as any specialist has one of their ``caseload_cap`` places
free: an M/M/c queue with ``c = specialists x caseload_cap`` (Erlang C), or
M/M/c+M with exponential patience (Erlang A, :mod:`ips_sim.analysis.queueing`).

Statistics: per replication, the mean over referrals arriving in the
observation window (after warm-up, and early enough that every one of them
has enrolled or given up by the horizon; the test asserts that), then the
mean over independent replications, compared with theory within 4 standard
errors across replications.
"""

from __future__ import annotations

import doctest

import numpy as np
from conftest import (
    DISENGAGED,
    GAVE_UP,
    assert_within_4se,
    make_scenario,
    mean_and_se,
    pure_queue,
    run_many,
)

import ips_sim.analysis.queueing
from ips_sim.analysis.queueing import erlang_a, erlang_c
from ips_sim.config import DAYS_PER_MONTH
from ips_sim.runner.experiment import run_replications

SEED = 4242
WARMUP_MONTHS = 12.0   # > 10 mean stays: the empty start is long forgotten at rho ~ 0.8-1
TAIL_MONTHS = 6.0      # referrals of the last 6 months are not observed (their waits may be unfinished)
REPLICATIONS = 50
# Referrals observed per replication: 400 months x 8 (Erlang C; waits are strongly autocorrelated
# at rho = 0.8, so it needs the longer window) and 120 months x 10 (Erlang A).
WINDOW_C_MONTHS = 400.0
WINDOW_A_MONTHS = 120.0


def test_queueing_doctests():
    result = doctest.testmod(ips_sim.analysis.queueing)
    assert result.failed == 0 and result.attempted > 5


def test_erlang_a_tends_to_erlang_c_and_is_consistent():
    """Small patience rate -> Erlang C; P(abandon) from the tagged customer equals rate balance
    (theta E[Q] = lam P(abandon)) with E[Q] = lam E[W_all] (Little)."""
    lam, mu, c = 8.0, 1.0, 10
    pw_c, w_c = erlang_c(lam, mu, c)
    pw, pa, w_all, w_served = erlang_a(lam, mu, 1e-10, c)
    assert abs(pw - pw_c) < 1e-8 and abs(w_all - w_c) < 1e-8 and abs(w_served - w_c) < 1e-8 and pa < 1e-8
    for lam, mu, theta, c in [(10.0, 1.0, 2.0, 10), (3.0, 0.5, 0.1, 4), (20.0, 1.0, 0.7, 12)]:
        pw, pa, w_all, w_served = erlang_a(lam, mu, theta, c)
        assert abs(pa - theta * w_all) < 1e-12
        assert 0 < pa < pw < 1
        # E[W_all] = P(served) E[W | served] + E[W; abandoned], the last term >= 0.
        assert (1 - pa) * w_served <= w_all + 1e-12


def _queue_stats(rec, warm: float, last_arrival: float) -> dict:
    """Per-replication queue quantities from the member records, in days."""
    m = rec.member
    ref, enr, ex, reason = m["referral_day"], m["enrollment_day"], m["exit_day"], m["exit_reason"]
    sel = (ref >= warm) & (ref < last_arrival)
    gave_up = reason == GAVE_UP
    enrolled = np.isfinite(enr)
    assert np.all(enrolled[sel] | gave_up[sel]), "a referral in the window is still waiting at the horizon"
    assert not np.any(enrolled & gave_up)
    wait_end = np.where(gave_up, ex, enr)
    wait = (wait_end - ref)[sel]
    assert np.all(wait >= 0)
    served = enrolled[sel]
    # Stays: exponential MLE of the mean, exits over exposure (stays still going at the horizon censored).
    stay_sel = enrolled & (enr >= warm)
    exited = np.isfinite(ex) & stay_sel
    assert np.all(reason[exited] == DISENGAGED)
    stay = np.where(np.isfinite(ex), ex, rec.horizon)[stay_sel] - enr[stay_sel]
    return {
        "p_wait": float(np.mean(wait > 0)),
        "p_abandon": float(np.mean(gave_up[sel])),
        "wait_all": float(np.mean(wait)),
        "wait_served": float(np.mean(wait[served])),
        "stay_mean": float(stay.sum() / exited.sum()),
        "n": int(sel.sum()),
    }


def _simulate(scenario, window_months: float) -> dict[str, tuple[float, float]]:
    warm = WARMUP_MONTHS * DAYS_PER_MONTH
    last = (WARMUP_MONTHS + window_months) * DAYS_PER_MONTH
    per_rep = [_queue_stats(r, warm, last) for r in run_many(scenario, REPLICATIONS, SEED)]
    assert min(s["n"] for s in per_rep) > 500
    return {k: mean_and_se([s[k] for s in per_rep]) for k in per_rep[0] if k != "n"}


def _scenario(lam_month, mu_month, specialists, cap, patience_days, window_months):
    return pure_queue(lam_month, mu_month, specialists, cap, patience_days,
                      horizon_months=WARMUP_MONTHS + window_months + TAIL_MONTHS, warmup_months=WARMUP_MONTHS)


def test_erlang_c_no_patience():
    """M/M/10 at rho = 0.8: P(wait) and mean wait match Erlang C; stays are exponential with mean 1/mu."""
    lam_m, mu_m, specialists, cap = 8.0, 1.0, 2, 5
    c = specialists * cap
    lam, mu = lam_m / DAYS_PER_MONTH, mu_m / DAYS_PER_MONTH  # per day
    p_wait, w_mean = erlang_c(lam, mu, c)
    assert 0.3 < p_wait < 0.5  # a moderate load where both outcomes are common
    sim = _simulate(_scenario(lam_m, mu_m, specialists, cap, None, WINDOW_C_MONTHS), WINDOW_C_MONTHS)
    assert_within_4se(*sim["stay_mean"], 1.0 / mu, "mean stay (days)")
    assert_within_4se(*sim["p_wait"], p_wait, "P(wait), Erlang C")
    assert_within_4se(*sim["wait_all"], w_mean, "mean wait (days), Erlang C")
    assert sim["p_abandon"][0] == 0.0


def test_erlang_a_exponential_patience():
    """M/M/10+M at offered load 10 (rho = 1, stable thanks to abandonment): Erlang A."""
    lam_m, mu_m, specialists, cap, patience_days = 10.0, 1.0, 5, 2, 15.0
    c = specialists * cap
    lam, mu, theta = lam_m / DAYS_PER_MONTH, mu_m / DAYS_PER_MONTH, 1.0 / patience_days
    p_wait, p_abandon, w_all, w_served = erlang_a(lam, mu, theta, c)
    sim = _simulate(_scenario(lam_m, mu_m, specialists, cap, patience_days, WINDOW_A_MONTHS), WINDOW_A_MONTHS)
    assert_within_4se(*sim["stay_mean"], 1.0 / mu, "mean stay (days)")
    assert_within_4se(*sim["p_wait"], p_wait, "P(wait), Erlang A")
    assert_within_4se(*sim["p_abandon"], p_abandon, "P(abandon), Erlang A")
    assert_within_4se(*sim["wait_all"], w_all, "mean wait of all referrals (days), Erlang A")
    assert_within_4se(*sim["wait_served"], w_served, "mean wait of the enrolled (days), Erlang A")


# ------------------------------------------------------------------ more specialists, common random numbers


def _waits_censored(rec) -> np.ndarray:
    """Each referral's wait, censored at the horizon (never enrolled: horizon - referral)."""
    m = rec.member
    enr = np.where(np.isfinite(m["enrollment_day"]), m["enrollment_day"], rec.horizon)
    return np.minimum(enr, rec.horizon) - m["referral_day"]


def test_more_specialists_never_lengthen_a_wait_pathwise():
    """FCFS multi-server queue with the same arrivals and service times (common random numbers): adding
    servers never delays any customer's start (Kiefer-Wolfowitz workload recursion is monotone), so
    every referral's wait, hence every replication's mean wait, is non-increasing in the specialists.
    """
    waits = {}
    for k in (1, 2, 3):
        sc = pure_queue(8.0, 1.0, k, 4, None, horizon_months=60, warmup_months=0)
        waits[k] = run_many(sc, 8, SEED)
    for rep in range(8):
        ref = [waits[k][rep].member["referral_day"] for k in (1, 2, 3)]
        # Common random numbers: the same referrals whatever the team size.
        assert np.array_equal(ref[0], ref[1]) and np.array_equal(ref[0], ref[2])
        w1, w2, w3 = (_waits_censored(waits[k][rep]) for k in (1, 2, 3))
        assert np.all(w2 <= w1 + 1e-6), np.max(w2 - w1)
        assert np.all(w3 <= w2 + 1e-6), np.max(w3 - w2)
        assert w1.mean() >= w2.mean() >= w3.mean()
        assert w1.mean() > w2.mean()  # 1 specialist (4 places) is overloaded at 8 referrals a month


def test_more_specialists_shorter_mean_wait_default_scenario():
    """Default scenario, 1 vs 2 vs 3 specialists, same seed: mean wait over replications never longer."""
    means = []
    for k in (1, 2, 3):
        sc = make_scenario({"team.specialists": k, "simulation.horizon_years": 6, "simulation.warmup_years": 2})
        metrics, _ = run_replications(sc, 12, SEED, workers=1, keep_records=False)
        w = np.array([m["mean_wait_days"] for m in metrics], dtype=float)
        assert np.all(np.isfinite(w))
        means.append(w.mean())
    assert means[0] >= means[1] >= means[2], means
    assert means[0] > means[1], means
