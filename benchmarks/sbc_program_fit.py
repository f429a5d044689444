"""Simulation-based calibration of fit-program: coverage of 90% intervals over synthetic programs, 8 vs 16 quarters.

Prints figures; asserts nothing. tests/test_program_fit_sbc.py is the same check (50 programs, one
referral a month, 40 particles, 2 generations, its own seeds) with assertions; this script runs it at
other budgets and program sizes.

What is generated: ``--programs`` synthetic programs made by the model itself (one replication of a
one-post program whose factors on job finding, job ending and drop-out are drawn from the fit's prior;
``--referrals`` a month; 12 job seekers, 6 working and 1 waiting on day 0; the post reported filled),
counted as programs report their quarters, 16 quarters each. Each is fitted by the real pipeline on its
first 8 and on all 16 quarters. When the truth is drawn from the prior and the data from the model, a
correct Bayesian procedure's 90% intervals contain the truth 90% of the time (Talts et al. 2018; for
ABC a tolerance above zero makes them conservative, Prangle et al. 2014), and more quarters should
bring posterior means toward the truth, and narrow the posterior (for a calibrated posterior the
expected squared error of its mean is its expected variance); ``--control`` refits the first 8 quarters
with another seed, so both can be compared with what Monte Carlo noise alone gives.

    .venv/bin/python benchmarks/sbc_program_fit.py [--programs 50] [--referrals 1] [--population 20]
        [--generations 2] [--workers 2] [--control]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time

import numpy as np
from scipy import stats

from ips_sim.config import scenario_from_dict
from ips_sim.runner.executors import make_executor
from ips_sim.studies.program_fit import fit as F
from ips_sim.studies.program_fit.history import PARAMETERS, program_model
from ips_sim.studies.program_fit.synthetic import program_scenario, synthetic_records

BASE_RAW = {"team": {"specialists": 1}}
START = {"job_seekers": 12, "workers": 6, "waitlist": 1}
NAMES = [p.name for p in PARAMETERS]


def program(base, theta, quarters, seed, referrals):
    fte = [1.0] * quarters
    sc = program_scenario(base, theta, quarters, referrals, START, dt.date(2022, 1, 1), fte=fte)
    return synthetic_records(sc, seed=seed, fte=fte)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", type=int, default=50)
    ap.add_argument("--referrals", type=float, default=1.0)
    ap.add_argument("--population", type=int, default=20)
    ap.add_argument("--generations", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--control", action="store_true",
                    help="also refit the first 8 quarters with another seed: the improvement Monte Carlo noise alone gives")
    args = ap.parse_args()
    base = scenario_from_dict(BASE_RAW)
    prior = program_model(BASE_RAW, base, program(base, {}, 16, 0, args.referrals))
    rng = np.random.default_rng(2026)
    executor = make_executor(args.workers)
    started = time.perf_counter()
    results = []
    try:
        for k in range(args.programs):
            truth = {n: float(rng.normal(prior.prior_mean[n], prior.prior_sd[n])) for n in NAMES}
            rec = program(base, truth, 16, seed=100 + k, referrals=args.referrals)
            fits = {}
            for quarters in (8, 16):
                pm = program_model(BASE_RAW, base, rec, quarters=quarters)
                fits[quarters] = F.fit(pm, rec, seed=k, population=args.population, generations=args.generations,
                                       executor=executor)
            if args.control:
                pm = program_model(BASE_RAW, base, rec, quarters=8)
                fits["control"] = F.fit(pm, rec, seed=k + 10_000, population=args.population,
                                        generations=args.generations, executor=executor)
            results.append((truth, fits))
    finally:
        executor.close()
    wall = time.perf_counter() - started
    print(f"{args.programs} programs, {args.referrals:g} referrals a month, population {args.population}, "
          f"{args.generations} generations, {args.workers} workers: {wall:.0f} s")
    for q in (8, 16):
        ess = np.mean([f[q].ess for _, f in results])
        print(f"  {q} quarters: mean effective sample size {ess:.0f}")
    inside = {n: [(f[q].draws[n].quantile(0.05) <= t[n] <= f[q].draws[n].quantile(0.95))
                  for t, f in results for q in (8, 16)] for n in NAMES}
    by_quarters = [np.mean([v[i] for v in inside.values() for i in range(q == 16, len(v), 2)]) for q in (8, 16)]
    total = sum(sum(v) for v in inside.values())
    n = sum(len(v) for v in inside.values())
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n, 0.9)
    print(f"  90% intervals containing the truth: {total}/{n} = {total / n:.1%} "
          f"(99.9% binomial bounds at 90%: {lo:.0f}-{hi:.0f})")
    print(f"    fitted on 8 quarters {by_quarters[0]:.1%}, on 16 {by_quarters[1]:.1%}")
    for name, v in inside.items():
        print(f"    {name:12s} {np.mean(v):.1%}")
    err = {q: np.array([[abs(f[q].draws[m].mean() - t[m]) for m in NAMES] for t, f in results]) for q in (8, 16)}
    d = (err[8] - err[16]).mean(axis=1)
    print("  mean |posterior mean - truth| (log factor), 8 -> 16 quarters: "
          + ", ".join(f"{m} {a:.3f} -> {b:.3f}" for m, a, b in zip(NAMES, err[8].mean(0), err[16].mean(0))))
    print(f"  improvement averaged over parameters: {d.mean():.3f} (SE {d.std(ddof=1) / math.sqrt(len(d)):.3f})")
    sd = prior.prior_sd
    var = {q: np.array([[f[q].draws[m].var() / sd[m] ** 2 for m in NAMES] for _, f in results]) for q in (8, 16)}
    d = (var[8] - var[16]).mean(axis=1)
    print("  posterior variance (prior variances), 8 -> 16 quarters: "
          + ", ".join(f"{m} {a:.3f} -> {b:.3f}" for m, a, b in zip(NAMES, var[8].mean(0), var[16].mean(0))))
    print(f"  fall averaged over parameters: {d.mean():.3f} (SE {d.std(ddof=1) / math.sqrt(len(d)):.3f})")
    if args.control:
        c = np.array([[abs(f["control"].draws[m].mean() - t[m]) for m in NAMES] for t, f in results])
        d = (err[8] - c).mean(axis=1)
        print(f"  the same from a second fit of the first 8 quarters (another seed; Monte Carlo noise only): "
              f"error {d.mean():.3f} (SE {d.std(ddof=1) / math.sqrt(len(d)):.3f})", end="")
        c = np.array([[f["control"].draws[m].var() / sd[m] ** 2 for m in NAMES] for _, f in results])
        d = (var[8] - c).mean(axis=1)
        print(f", variance {d.mean():.3f} (SE {d.std(ddof=1) / math.sqrt(len(d)):.3f})")


if __name__ == "__main__":
    main()
