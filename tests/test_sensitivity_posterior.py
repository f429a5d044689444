"""ips-sim sensitivity --parameter-uncertainty: replication i of every point uses draw i of the scenario's
own posterior (a program.yaml from fit-program) or the national draws, with common random numbers kept.

Expected values come from invariants: a posterior of point masses is the same as setting those values
in the scenario (byte for byte); drawn parameters add their spread to a point's replications (an F test
against the fixed-parameter spread); a posterior concentrated on a higher job-finding rate raises the
share ever employed; the worker count changes nothing.
"""

from __future__ import annotations

import json
import math

import numpy as np
from click.testing import CliRunner
from scipy import stats

from ips_sim.config import load_scenario
from ips_sim.runner.executors import InlineExecutor
from ips_sim.studies.calibration import scenario_draws
from ips_sim.studies.sensitivity import AssumptionRange, Ranges, run_sensitivity
from ips_sim.ui.cli import main

RATE = "job_search.job_rate_search_per_month"
END = "jobs.end_rate_per_month"
PROGRAM = ("name: p\nsimulation: {horizon_years: 3, warmup_years: 0.5}\n"
           "team: {specialists: 1, caseload_cap: 12}\nreferrals: {rate_per_month: 2.5}\n")


def _program(tmp_path, rows: list[str], header: str = f"draw,ips:{RATE},ips:{END}", extra: str = ""):
    (tmp_path / "posterior.csv").write_text("\n".join([header, *rows]) + "\n")
    path = tmp_path / "program.yaml"
    path.write_text(PROGRAM + extra + "parameter_draws: posterior.csv\n")
    return path


def _ranges(tmp_path):
    path = tmp_path / "ranges.csv"
    path.write_text("parameter,low,high,requires,reasoning\n"
                    "referrals.patience_mean_days,45,365,,test range\n"
                    "service.intake_hours,2,8,,test range\n")
    return path


def _one_range() -> Ranges:
    return Ranges([AssumptionRange("referrals.patience_mean_days", 45, 365, "", "test")], [], [], [])


def test_point_mass_posterior_is_the_same_as_setting_the_values_and_any_worker_count(tmp_path):
    """Every draw at 0.09 / 0.05: the analysis equals one of a scenario that sets those values itself
    (the posterior wins over the file's values), on 2 workers as on 1."""
    own = tmp_path / "own"
    own.mkdir()
    path = _program(own, [f"{k},0.09,0.05" for k in range(3)], extra="job_search: {job_rate_search_per_month: 0.01}\n")
    direct = tmp_path / "direct.yaml"
    direct.write_text(PROGRAM + "job_search: {job_rate_search_per_month: 0.09}\njobs: {end_rate_per_month: 0.05}\n")
    ranges = _ranges(tmp_path)
    args = ["--outcome", "quarterly_working_rate", "--ranges", str(ranges), "--trajectories", "2", "-n", "3",
            "--quiet", "--no-plots", "--plan-vary", "team.specialists=1..2", "--plan-target",
            "mean_wait_days<=90", "--plan-replications", "3", "--plan-max-replications", "3"]
    a = CliRunner().invoke(main, ["sensitivity", str(path), *args, "--parameter-uncertainty", "--workers", "2",
                                  "--out", str(tmp_path / "a")])
    assert a.exit_code == 0, a.output
    b = CliRunner().invoke(main, ["sensitivity", str(direct), *args, "--workers", "1", "--out", str(tmp_path / "b")])
    assert b.exit_code == 0, b.output
    for name in ("sensitivity.csv", "plan_sensitivity.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["parameter_uncertainty"] == {"source": str(own / "posterior.csv"), "count": 3,
                                            "kind": "the scenario's own posterior"}
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["parameter_uncertainty"] is None
    assert "of " + str(own / "posterior.csv") + " (the scenario's own posterior, 3 draws)" in a.output
    report = CliRunner().invoke(main, ["report", str(tmp_path / "a")])
    assert report.exit_code == 0, report.output
    assert ("Replication i of every setting used parameter draw i of the scenario's own posterior (3 draws)."
            in (tmp_path / "a" / "report.md").read_text())


def test_posterior_spread_widens_a_points_noise(tmp_path):
    """Drawn job finding and job ending (log sd 0.8) add their spread to a point's replications: the
    variance ratio of the default point's mean is beyond the 1% point of F(39, 39)."""
    rng = np.random.default_rng(4)
    rows = [f"{k},{0.05 * math.exp(rng.normal(0, 0.8)):.6f},{0.07 * math.exp(rng.normal(0, 0.8)):.6f}"
            for k in range(40)]
    path = _program(tmp_path, rows)
    sc = load_scenario(path)
    draws, _ = scenario_draws(sc, path)
    kw = dict(trajectories=2, replications=40, seed=5)
    fixed = run_sensitivity(sc, ["quarterly_working_rate"], _one_range(), InlineExecutor(), **kw)
    drawn = run_sensitivity(sc, ["quarterly_working_rate"], _one_range(), InlineExecutor(), draws=draws, **kw)
    ratio = (drawn.noise_se["quarterly_working_rate"] / fixed.noise_se["quarterly_working_rate"]) ** 2
    assert ratio > stats.f.ppf(0.99, 39, 39), ratio


def test_posterior_of_a_high_job_finding_rate_raises_the_share_working(tmp_path):
    """A program whose posterior puts job finding at three times the national rate (0.054 a month in the
    national fit): at every point of the analysis its share working is higher than with the national draws."""
    path = _program(tmp_path, [f"{k},{0.16 * math.exp(0.05 * ((k % 5) - 2)):.6f}" for k in range(20)],
                    header=f"draw,ips:{RATE}")
    sc = load_scenario(path)
    own, used = scenario_draws(sc, path)
    national, national_used = scenario_draws(sc.with_updates({"parameter_draws": None}), path)
    assert used["kind"] == "the scenario's own posterior" and national_used["source"] == "calibration/draws.csv"
    kw = dict(trajectories=2, replications=20, seed=6)
    high = run_sensitivity(sc, ["quarterly_working_rate"], _one_range(), InlineExecutor(), draws=own, **kw)
    base = run_sensitivity(sc, ["quarterly_working_rate"], _one_range(), InlineExecutor(), draws=national, **kw)
    o = "quarterly_working_rate"
    se = math.hypot(high.noise_se[o], base.noise_se[o])
    assert high.default_values[o] - base.default_values[o] > 4 * se, (high.default_values, base.default_values, se)
    row_h, row_b = high.per_outcome[o].rows[0], base.per_outcome[o].rows[0]
    assert row_h["at_low"] > row_b["at_low"] and row_h["at_high"] > row_b["at_high"]


def test_missing_or_bad_posterior_is_one_line_exit_2_nothing_written(tmp_path):
    ranges = _ranges(tmp_path)
    path = tmp_path / "program.yaml"
    path.write_text(PROGRAM + "parameter_draws: nope.csv\n")
    out = tmp_path / "out"
    args = ["sensitivity", str(path), "--outcome", "quarterly_working_rate", "--ranges", str(ranges),
            "--parameter-uncertainty", "--out", str(out)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and "Traceback" not in r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "parameter_draws: 'nope.csv': no such file" in lines[0], r.output
    path = _program(tmp_path, ["0,0.05,0.07", "1,fast,0.07"])
    r = CliRunner().invoke(main, args)
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert f"row 3, ips:{RATE}: 'fast': expected a finite number" in lines[0], r.output
    assert not out.exists() and not (tmp_path / "out.partial").exists()
