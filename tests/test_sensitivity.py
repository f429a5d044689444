"""Sensitivity analysis (ips-sim sensitivity): the SALib analyses through the project's own point runner.

The model is replaced by closed-form functions whose indices are known:
the Ishigami function (Sobol indices from Ishigami & Homma 1990 / Saltelli
et al. 2008, a = 7, b = 0.1), Morris mu* enumerated by hand over the Morris
grid, and a linear function whose elementary effects are exact.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import require
from click.testing import CliRunner

from ips_sim.config import load_scenario
from ips_sim.runner.executors import InlineExecutor, LocalExecutor
from ips_sim.studies.sensitivity import (
    MORRIS_LEVELS,
    AssumptionRange,
    Ranges,
    default_ranges_path,
    ishigami_unit,
    load_ranges,
    run_sensitivity,
)
from ips_sim.ui.cli import main

# The tests here share module-scoped fixtures: make test keeps them on one worker (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("sensitivity")

SCENARIO = "scenarios/two_specialists_38_members.yaml"
A, B = 7.0, 0.1
PI = math.pi

# Analytic Sobol indices of the Ishigami function, a = 7, b = 0.1 (Saltelli et al. 2008, sect. 4.3):
# V1 = b pi^4/5 + b^2 pi^8/50 + 1/2, V2 = a^2/8, V13 = b^2 pi^8 (1/18 - 1/50), V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2.
V1 = B * PI**4 / 5 + B**2 * PI**8 / 50 + 0.5
V2 = A**2 / 8
V13 = B**2 * PI**8 * (1 / 18 - 1 / 50)
V = V1 + V2 + V13
S1_TRUE = np.array([V1 / V, V2 / V, 0.0])
ST_TRUE = np.array([(V1 + V13) / V, V2 / V, V13 / V])


def ishigami_ranges() -> Ranges:
    return Ranges([AssumptionRange(f"x{i}", -PI, PI, "", "test input") for i in (1, 2, 3)], [], [], [])


def test_analytic_ishigami_indices_match_the_published_values():
    # The values quoted in the literature for a = 7, b = 0.1.
    assert np.allclose(S1_TRUE, [0.3139, 0.4424, 0.0], atol=1e-4)
    assert np.allclose(ST_TRUE, [0.5576, 0.4424, 0.2437], atol=1e-4)


def _ishigami(x1, x2, x3):
    return math.sin(x1) + A * math.sin(x2) ** 2 + B * x3**4 * math.sin(x1)


def morris_expected(f, k: int, lows, highs, p: int = MORRIS_LEVELS):
    """Mean and sd of |elementary effect| of each input over the Morris grid, by enumeration.

    SALib's Morris design (p levels, step delta = p / (2 (p - 1)) of the range)
    moves input i between level pairs (l, l + delta) with l uniform over the
    levels 0 .. 1 - delta, while the other inputs are independent and uniform
    over all p levels; the effect is scaled by 1 / delta (per whole range).
    """
    delta = p / (2 * (p - 1))
    levels = [j / (p - 1) for j in range(p)]
    starts = [lv for lv in levels if lv <= 1 - delta + 1e-12]

    def x(i, u):
        return lows[i] + u * (highs[i] - lows[i])

    means, sds = [], []
    for i in range(k):
        effects = []
        for others in itertools.product(levels, repeat=k - 1):
            for s in starts:
                u0 = list(others[:i]) + [s] + list(others[i:])
                u1 = list(u0)
                u1[i] = s + delta
                effects.append(abs(f(*[x(j, u1[j]) for j in range(k)]) - f(*[x(j, u0[j]) for j in range(k)])) / delta)
        means.append(float(np.mean(effects)))
        sds.append(float(np.std(effects)))
    return np.array(means), np.array(sds)


@pytest.fixture(scope="module")
def base():
    return load_scenario(SCENARIO)


@pytest.fixture(scope="module")
def ishigami_result(base):
    """Morris (1000 trajectories) and Sobol (N = 2^13) of Ishigami through run_sensitivity on an executor."""
    return run_sensitivity(base, ["y"], ishigami_ranges(), InlineExecutor(), method="sobol", trajectories=1000,
                           sobol_samples=2**13, sobol_top=3, seed=12345, unit=ishigami_unit, unit_args=(A, B),
                           per_unit=4096)


def _by_param(res, key):
    rows = {r["parameter"]: r for r in res.per_outcome["y"].rows}
    return np.array([rows[f"x{i}"][key] for i in (1, 2, 3)])


def test_sobol_recovers_ishigami_indices_through_the_runner(ishigami_result):
    res = ishigami_result
    for key, true in (("S1", S1_TRUE), ("ST", ST_TRUE)):
        est, conf = _by_param(res, key), _by_param(res, key + "_conf")
        se = conf / 1.959964  # SALib's conf is a 95% bootstrap half-width
        assert np.all(np.abs(est - true) <= 4 * se), (key, est, true, se)
        assert np.all(se < 0.02), (key, se)  # tight enough that the check means something


def test_morris_recovers_ishigami_mu_star_through_the_runner(ishigami_result):
    res = ishigami_result
    mean, sd = morris_expected(_ishigami, 3, [-PI] * 3, [PI] * 3)
    est = _by_param(res, "mu_star")
    se = sd / math.sqrt(res.trajectories)
    assert np.all(np.abs(est - mean) <= 4 * se + 1e-9), (est, mean, se)  # x2: every effect is the same
    # x3 acts only with x1 (b x3^4 sin x1; sin x1 is symmetric over the grid): its mean effect mu is near 0.
    mu3 = _by_param(res, "mu")[2]
    assert abs(mu3) <= 4 * se[2], mu3


def test_morris_elementary_effects_of_a_linear_function_are_exact(base):
    # f = c . x: every elementary effect of x_i is c_i (high_i - low_i), so mu* is that and sigma is 0.
    ranges = Ranges([AssumptionRange("x1", -1.0, 3.0, "", "t"), AssumptionRange("x2", 0.0, 0.5, "", "t"),
                     AssumptionRange("x3", 10.0, 20.0, "", "t")], [], [], [])
    res = run_sensitivity(base, ["y"], ranges, InlineExecutor(), trajectories=20, seed=7,
                          unit=linear_unit, unit_args=((2.0, -4.0, 0.0),))
    assert np.allclose(_by_param(res, "mu_star"), [8.0, 2.0, 0.0])
    assert np.allclose(_by_param(res, "mu"), [8.0, -2.0, 0.0])
    assert np.allclose(_by_param(res, "sigma"), 0.0, atol=1e-12)


def linear_unit(c, points):
    return [[sum(ci * p.get(f"x{i + 1}", 0.0) for i, ci in enumerate(c))] for p in points]


def test_results_do_not_depend_on_the_executor(base):
    kw = {"method": "sobol", "trajectories": 20, "sobol_samples": 64, "sobol_top": 2, "seed": 3, "unit": ishigami_unit,
              "unit_args": (A, B), "per_unit": 16}
    one = run_sensitivity(base, ["y"], ishigami_ranges(), InlineExecutor(), **kw)
    ex = LocalExecutor(2)
    try:
        two = run_sensitivity(base, ["y"], ishigami_ranges(), ex, **kw)
    finally:
        ex.close()
    assert repr(one.per_outcome["y"].rows) == repr(two.per_outcome["y"].rows)  # repr: nan == nan


def test_shipped_ranges_cover_every_assumption(base):
    ranges = load_ranges(default_ranges_path(), base)
    assert ranges.unranged == [], "give every assumption in parameters.csv a range (or a reason not to vary it)"
    assert len(ranges.varied) >= 10


def test_common_random_numbers_an_inactive_assumption_changes_nothing(base, tmp_path):
    # Turnover is off in the default scenario: its parameters are set aside, not sampled.
    ranges = load_ranges(default_ranges_path(), base)
    assert {p for p, _ in ranges.inactive} >= {"turnover.hiring_delay_days", "turnover.ramp_up_months"}
    # And on the model: an input the model never reads (costs.travel_cost_per_mile only scales a cost item) has
    # elementary effects of exactly zero on a non-cost outcome, because every point shares the random numbers.
    small = base.with_updates({"simulation.horizon_years": 3, "simulation.warmup_years": 1})
    r = Ranges([AssumptionRange("costs.travel_cost_per_mile", 0.3, 1.0, "", "t"),
                AssumptionRange("referrals.patience_mean_days", 30, 365, "", "t")], [], [], [])
    res = run_sensitivity(small, ["mean_wait_days"], r, InlineExecutor(), trajectories=3, replications=2)
    rows = {row["parameter"]: row for row in res.per_outcome["mean_wait_days"].rows}
    assert rows["costs.travel_cost_per_mile"]["mu_star"] == 0.0
    assert rows["costs.travel_cost_per_mile"]["at_low"] == rows["costs.travel_cost_per_mile"]["at_high"] == res.default_values[
        "mean_wait_days"]
    assert rows["referrals.patience_mean_days"]["mu_star"] > 0


# --------------------------------------------------------------------------- the command


def _tiny(tmp_path):
    sc = tmp_path / "tiny.yaml"
    sc.write_text("name: tiny\nsimulation: {horizon_years: 3, warmup_years: 1}\nteam: {specialists: 2}\n")
    ranges = tmp_path / "ranges.csv"
    ranges.write_text("parameter,low,high,requires,reasoning\n"
                      "referrals.patience_mean_days,45,365,,test range\n"
                      "service.intake_hours,2,8,,test range\n"
                      "costs.travel_cost_per_mile,,,,not varied: test\n")
    return sc, ranges


def test_cli_end_to_end_on_a_tiny_scenario(tmp_path):
    sc, ranges = _tiny(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sensitivity", str(sc), "--outcome", "mean_wait_days", "--outcome",
                                       "ever_employed_rate", "--ranges", str(ranges), "--trajectories", "3",
                                       "-n", "2", "--workers", "1", "--plan-vary", "team.specialists=1..3",
                                       "--plan-target", "mean_wait_days<=60", "--plan-replications", "2",
                                       "--plan-max-replications", "4", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    sentences = [ln for ln in result.output.splitlines() if ln.startswith(("mean_wait_days", "ever_employed_rate"))
                 and ("changes most with" in ln or "clearly beyond replication noise" in ln or "none of the" in ln)]
    assert len(sentences) == 2, result.output  # one sentence per outcome
    assert "smallest team.specialists meeting mean_wait_days<=60" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["manifest.json", "plan_sensitivity.csv", "plan_sensitivity.png", "ranges_used.csv",
                     "sensitivity.csv", "sensitivity.txt", "sensitivity_ever_employed_rate.png",
                     "sensitivity_mean_wait_days.png"]
    import pandas as pd
    table = pd.read_csv(out / "sensitivity.csv")
    assert len(table) == 4 and set(table["rank"]) == {1, 2}
    plan = pd.read_csv(out / "plan_sensitivity.csv")
    assert list(plan["parameter"]) == ["referrals.patience_mean_days"] * 2 + ["service.intake_hours"] * 2
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


@pytest.mark.parametrize("args, row, expect", [
    (["--outcome", "no_such_metric"], None, "--outcome: 'no_such_metric': unknown metric"),
    (["--outcome", "mean_wait_days"], "team.no_such_field,1,2,,r", "row 5, parameter: 'team.no_such_field'"),
    (["--outcome", "mean_wait_days"], "service.job_development_hours_per_week,8,8,,r",
     "row 5, low: 8: low must be below high (8)"),
    (["--outcome", "mean_wait_days"], "service.first_month_days,40,30,,r", "row 5, low: 40: low must be below high"),
    (["--outcome", "mean_wait_days"], "jobs.hours_per_week_sd,x,12,,r", "row 5, low: 'x': expected a finite number"),
    (["--outcome", "mean_wait_days", "--parameter", "jobs.nope"], None, "--parameter: 'jobs.nope'"),
    (["--outcome", "mean_wait_days", "--trajectories", "100", "-n", "100000"], None, "of CPU time"),
])
def test_bad_input_one_line_exit_2(tmp_path, args, row, expect):
    sc, ranges = _tiny(tmp_path)
    if row:
        ranges.write_text(ranges.read_text() + row + "\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sensitivity", str(sc), "--ranges", str(ranges), "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and expect in lines[0], result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_interrupted_run_resumes_to_the_same_result(tmp_path, monkeypatch):
    import ips_sim.ui.cli.sensitivity as command

    sc, ranges = _tiny(tmp_path)
    args = ["sensitivity", str(sc), "--outcome", "mean_wait_days", "--ranges", str(ranges), "--trajectories", "3",
            "-n", "2", "--workers", "1", "--quiet", "--no-plots"]
    fresh = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "fresh")])
    assert fresh.exit_code == 0, fresh.output

    out = tmp_path / "out"
    real = command.write_sensitivity

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "write_sensitivity", interrupted)
    first = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert first.exit_code == 130 and "--resume" in first.output
    assert not out.exists()
    units = sorted((tmp_path / "out.partial" / "units").glob("*.json"))
    assert len(units) >= 4
    for u in units[::2]:  # as if interrupted half way: every other unit is lost
        u.unlink()
    monkeypatch.setattr(command, "write_sensitivity", real)
    again = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert again.exit_code == 2 and "--resume" in again.output  # never silently discards saved work
    resumed = CliRunner().invoke(main, [*args, "--out", str(out), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert (out / "sensitivity.csv").read_bytes() == (tmp_path / "fresh" / "sensitivity.csv").read_bytes()
    assert not (tmp_path / "out.partial").exists()
    # Other settings into the same folder: refused (the results are never silently replaced) unless --overwrite.
    other = [*args[:-4], "-n", "3", "--workers", "1", "--quiet", "--out", str(out)]
    refused = CliRunner().invoke(main, other)
    assert refused.exit_code == 2 and "--overwrite" in refused.output, refused.output
    assert CliRunner().invoke(main, [*other, "--overwrite"]).exit_code == 0


def test_local_processes_and_dask_cluster_give_identical_tables(tmp_path):
    distributed = require("distributed", "a test dependency (dask[distributed])")
    sc, ranges = _tiny(tmp_path)
    args = ["sensitivity", str(sc), "--outcome", "mean_wait_days", "--ranges", str(ranges), "--trajectories", "2",
            "-n", "2", "--quiet", "--no-plots"]
    a = CliRunner().invoke(main, [*args, "--workers", "2", "--out", str(tmp_path / "a")])
    assert a.exit_code == 0, a.output
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, host="127.0.0.1",
                                  protocol="tcp", dashboard_address=None) as cluster:
        b = CliRunner().invoke(main, [*args, "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "b")])
    assert b.exit_code == 0, b.output
    assert (tmp_path / "a" / "sensitivity.csv").read_bytes() == (tmp_path / "b" / "sensitivity.csv").read_bytes()
