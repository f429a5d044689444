"""Does fit-program's posterior mean what it says? Simulation-based calibration, hold-out scoring, poor fits.

What is generated: synthetic programs made by the model itself (one replication of a one-post program
with its own factors on job finding, job ending and drop-out, drawn from the fit's prior, two referrals
a month reported, a caseload on day 0), counted as a program reports its quarters. Each is fitted by the
real pipeline (the history scenario with its start-state estimate, pyabc ABC-SMC through the runner,
the same summary statistics), only with a small ABC budget.

Why this is an honest check: when the truth is drawn from the prior and the data from the model, a
correct Bayesian procedure's 90% intervals contain the truth 90% of the time over programs (Talts et al.
2018, simulation-based calibration; Prangle et al. 2014 for ABC, where a tolerance above zero makes
intervals conservative). Nothing is tuned to the answer: the truths, data and fits come from fixed seeds,
and the bounds are the binomial ones for the number of intervals. A fit that ignored the data would still
cover (prior intervals cover too), so the test also asks that more quarters bring the posterior means
closer to the truth.

COST: this is the one slow test of the fit: 50 programs x 2 history lengths = 100 ABC fits (about 13,000
simulated histories), several minutes on two cores (far more on a busy machine). It is not skipped; it runs
with two local workers.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import stats

from ips_sim.config import scenario_from_dict
from ips_sim.config.program_records import ProgramRecords
from ips_sim.runner.executors import InlineExecutor, LocalExecutor
from ips_sim.studies.program_fit import fit as F
from ips_sim.studies.program_fit.history import PARAMETERS, program_model
from ips_sim.studies.program_fit.study import fit_program
from ips_sim.studies.program_fit.synthetic import program_scenario, synthetic_records

BASE_RAW = {"team": {"specialists": 1}}
START = {"job_seekers": 12, "workers": 6, "waitlist": 1}
PROGRAMS = 50
NAMES = [p.name for p in PARAMETERS]


def _program(base, theta, quarters, seed, replication=0):
    fte = [1.0] * quarters                   # the post is reported filled every quarter
    sc = program_scenario(base, theta, quarters, 2.0, START, dt.date(2022, 1, 1), fte=fte)
    return synthetic_records(sc, seed=seed, replication=replication, fte=fte)


@pytest.fixture(scope="module")
def sbc():
    base = scenario_from_dict(BASE_RAW)
    prior = program_model(BASE_RAW, base, _program(base, {}, 16, 0))
    rng = np.random.default_rng(2026)
    pool = LocalExecutor(2)
    out = []
    try:
        for k in range(PROGRAMS):
            truth = {n: float(rng.normal(prior.prior_mean[n], prior.prior_sd[n])) for n in NAMES}
            rec = _program(base, truth, 16, seed=100 + k)
            fits = {}
            for quarters in (8, 16):
                pm = program_model(BASE_RAW, base, rec, quarters=quarters)
                f = F.fit(pm, rec, seed=k, population=24, generations=2, executor=pool)
                fits[quarters] = f.draws
            out.append((truth, fits))
    finally:
        pool.close()
    return out


def test_90_percent_intervals_contain_the_truth_at_a_binomial_rate(sbc):
    inside = [(d[n].quantile(0.05) <= truth[n] <= d[n].quantile(0.95))
              for truth, fits in sbc for d in fits.values() for n in NAMES]
    n = len(inside)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n, 0.9)  # 99.9% binomial bounds of the count at 90%
    assert lo <= sum(inside) <= hi, (sum(inside), n, lo, hi)


def test_posterior_means_move_toward_the_truth_as_quarters_are_added(sbc):
    err = {q: np.array([[abs(fits[q][n].mean() - truth[n]) for n in NAMES] for truth, fits in sbc])
           for q in (8, 16)}
    d = (err[8] - err[16]).mean(axis=1)          # per program, averaged over the parameters
    assert d.mean() > 2 * d.std(ddof=1) / math.sqrt(len(d)), (err[8].mean(0), err[16].mean(0))
    # Job finding, which served, working and job starts all move, improves on its own.
    j = err[8][:, 0] - err[16][:, 0]
    assert j.mean() > 0, (err[8][:, 0].mean(), err[16][:, 0].mean())


def _small_fit(rec, hold_out=0):
    base = scenario_from_dict(BASE_RAW)
    return fit_program(rec, BASE_RAW, base, seed=3, hold_out=hold_out, population=40, generations=2,
                       executor=InlineExecutor(), plots=False)


def test_hold_out_scores_a_forecast_made_without_the_held_out_quarters():
    base = scenario_from_dict(BASE_RAW)
    rec = _program(base, {"job_finding": 0.2, "job_ending": -0.2, "drop_out": 0.0}, 12, seed=9)
    res = _small_fit(rec, hold_out=4)
    h = res.holdout.set_index("series")
    # The naive forecast repeats the last fitted quarter (hand computation).
    for c in ("people_served", "people_working"):
        naive = np.mean(np.abs(rec.values[c][8:] - rec.values[c][7]))
        assert h.loc[c, "mae_naive"] == pytest.approx(naive)
        assert h.loc[c, "coverage_50"] * 4 == round(h.loc[c, "coverage_50"] * 4)
        assert 0 <= h.loc[c, "coverage_50"] <= h.loc[c, "coverage_90"] <= 1
    assert h.loc["all", "quarters"] == 4 * (len(h) - 1)
    assert not res.check["poor"]
    assert any(line.startswith("hold-out: forecast of the last 4 quarters from the first 8") for line in res.lines)
    assert res.manifest["holdout"][0]["series"] == "people_served"
    # It did not see them: other values in the held-out quarters give the same fit and forecast.
    changed = ProgramRecords(rec.source, rec.quarters, {c: np.concatenate([v[:8], v[8:] * 0 + 1]) if c not in
                                                        ("referrals",) else v for c, v in rec.values.items()})
    again = _small_fit(changed, hold_out=4)
    assert again.files["posterior.csv"] == res.files["posterior.csv"]
    assert (again.holdout["mae_model"] != res.holdout["mae_model"]).any()   # scored against the new values


def test_records_out_of_reach_of_the_model_get_a_poor_fit_message():
    """80% of people served working every quarter: far above what IPS programs reach (benchmarks 31-50%)."""
    quarters = [dt.date(2022 + k // 4, 3 * (k % 4) + 1, 1) for k in range(12)]
    served = np.full(12, 60.0)
    rec = ProgramRecords("<80% working>", quarters, {"people_served": served, "people_working": 0.8 * served})
    three = {"team": {"specialists": 3}}     # posts enough for 60 people served
    res = fit_program(rec, three, scenario_from_dict(three), seed=3, population=40, generations=3,
                      executor=InlineExecutor(), plots=False)
    assert res.check["poor"]
    assert res.check["p_working_share"] < F.POOR_P
    assert any(line.startswith("POOR FIT: the records are out of reach of the model: 80% of people served "
                               "working") for line in res.lines), res.lines
