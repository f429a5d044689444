"""ips-sim state --parameter-uncertainty: each program with its own posterior (parameter_draws, e.g. a
program.yaml from fit-program) uses it; the others use the national draws, as ``run`` does.

Expected values come from invariants: point-mass posteriors are the same as setting those values
(byte for byte, any worker count); a posterior's spread widens a program's intervals (F test); a
posterior concentrated on a high job-finding rate raises that program's objective and leaves the
other programs' numbers exactly as they were.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from click.testing import CliRunner
from scipy import stats

from ips_sim.runner.executors import InlineExecutor
from ips_sim.studies.state import evaluate, load_state, run_state
from ips_sim.studies.state.report import draws_lines
from ips_sim.ui.cli import main

RATE = "job_search.job_rate_search_per_month"
END = "jobs.end_rate_per_month"
PROGRAM = "team: {specialists: 1, caseload_cap: 12}\nreferrals: {rate_per_month: 2.5}\n"
STATE = """\
name: posterior_state
budget: {posts: 1}
objective: employed_within_18_months
limits: {max_added_posts: 1, min_new_team: 2}
replications: REPS
max_replications: REPS
chunk: 5
seed: 7
overrides: {simulation.horizon_years: 3, simulation.warmup_years: 0.5}
programs:
  - name: a
    scenario: a.yaml
  - name: b
    scenario: {team: {specialists: 1, caseload_cap: 10}, referrals: {rate_per_month: 2.0}B_EXTRA}
"""
OUTPUTS = ("allocation.csv", "frontier.csv", "candidates.csv", "targets.csv")


def _state(folder, a_extra="", b_extra="", reps=6):
    folder.mkdir(exist_ok=True)
    (folder / "a.yaml").write_text(PROGRAM + a_extra)
    path = folder / "state.yaml"
    path.write_text(STATE.replace("REPS", str(reps)).replace("B_EXTRA", b_extra))
    return path


def _posterior(folder, name, rows, header=f"draw,ips:{RATE},ips:{END}"):
    (folder / name).write_text("\n".join([header, *rows]) + "\n")


def _invoke(*args):
    return CliRunner().invoke(main, ["state", *map(str, args), "--no-plots", "--quiet"])


def test_point_mass_posteriors_are_the_same_as_setting_the_values_on_any_worker_count(tmp_path):
    """Program a (a scenario file) and b (inline) each with every draw at one value: the state run equals
    one whose scenarios set those values (each posterior wins over its file's values), on 2 workers as on 1."""
    own = tmp_path / "own"
    own.mkdir()
    _posterior(own, "a_post.csv", [f"{k},0.09,0.05" for k in range(4)])
    _posterior(own, "b_post.csv", [f"{k},0.03,0.1" for k in range(3)])
    path = _state(own, "job_search: {job_rate_search_per_month: 0.01}\nparameter_draws: a_post.csv\n",
                  ", parameter_draws: b_post.csv")
    direct = _state(tmp_path / "direct", "job_search: {job_rate_search_per_month: 0.09}\n"
                    "jobs: {end_rate_per_month: 0.05}\n",
                    ", job_search: {job_rate_search_per_month: 0.03}, jobs: {end_rate_per_month: 0.1}")
    a = _invoke(path, "--parameter-uncertainty", "--workers", 2, "--out", tmp_path / "a")
    assert a.exit_code == 0, a.output
    b = _invoke(direct, "--workers", 1, "--out", tmp_path / "b")
    assert b.exit_code == 0, b.output
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["parameter_uncertainty"] is True
    used = {p["name"]: p["parameter_draws"] for p in man["programs"]}
    assert used == {"a": {"source": str(own / "a_post.csv"), "count": 4, "kind": "the scenario's own posterior"},
                    "b": {"source": str(own / "b_post.csv"), "count": 3, "kind": "the scenario's own posterior"}}
    assert "a: the scenario's own posterior" in (tmp_path / "a" / "state.txt").read_text()
    report = CliRunner().invoke(main, ["report", str(tmp_path / "a")])
    assert report.exit_code == 0, report.output
    assert ("replication i used parameter draw i, a, b on their own posterior (parameter_draws)."
            in (tmp_path / "a" / "report.md").read_text())


def test_own_posterior_moves_its_program_and_the_others_use_the_national_draws(tmp_path):
    """a's posterior puts job finding at about five times the national rate (0.054 a month): a's
    objective rises, by more than 4 standard errors of the paired differences (same seeds) at each
    staffing level; b, without a posterior, uses the national draws and its numbers are exactly those of
    the same run in which a has no posterior."""
    _posterior(tmp_path, "a_post.csv", [f"{k},{0.25 * math.exp(0.05 * ((k % 5) - 2)):.6f}" for k in range(20)],
               header=f"draw,ips:{RATE}")
    high = load_state(_state(tmp_path, "parameter_draws: a_post.csv\n", reps=30), parameter_uncertainty=True)
    national = load_state(_state(tmp_path / "n", "", reps=30), parameter_uncertainty=True)
    assert high.programs[1].draws_used == national.programs[1].draws_used == {
        "source": "calibration/draws.csv", "count": national.programs[1].draws_used["count"],
        "kind": "national calibration draws"}
    eh = evaluate(high, InlineExecutor())
    en = evaluate(national, InlineExecutor())
    objective = "employed_within_18_months"
    for posts in (1, 2):
        d = np.array(eh.results[0].values(posts, objective)) - np.array(en.results[0].values(posts, objective))
        assert d.size == 30 and d.mean() > 4 * d.std(ddof=1) / math.sqrt(d.size), (posts, d)
        # exactly equal (a replication with nobody followed 18 months in the window is nan in both)
        assert np.array_equal(eh.results[1].values(posts, objective), en.results[1].values(posts, objective),
                              equal_nan=True)
    text = "\n".join(draws_lines(high))
    assert "a: the scenario's own posterior" in text and "b: national calibration draws" in text


def test_posterior_spread_widens_a_programs_interval(tmp_path):
    """Drawn job finding and job ending (log sd 0.8): the variance of a's member-months worked a year across
    replications is beyond the 1% point of F(29, 29) against the same replications with fixed parameters
    (months worked follow those two rates directly; enrolment, in a full caseload, does not)."""
    rng = np.random.default_rng(8)
    _posterior(tmp_path, "a_post.csv", [f"{k},{0.05 * math.exp(rng.normal(0, 0.8)):.6f},"
                                        f"{0.07 * math.exp(rng.normal(0, 0.8)):.6f}" for k in range(30)])
    path = _state(tmp_path, "parameter_draws: a_post.csv\n", reps=30)
    path.write_text(path.read_text().replace("objective: employed_within_18_months", "objective: employed_months"))
    widths = []
    for flag in (False, True):
        st = load_state(path, parameter_uncertainty=flag)
        out = tmp_path / f"out{flag}"
        run_state(st, out, InlineExecutor(), plots=False)
        c = pd.read_csv(out / "candidates.csv").set_index(["program", "posts"])
        widths.append(c.loc[("a", 1), "objective_ci_high"] - c.loc[("a", 1), "objective_ci_low"])
    assert (widths[1] / widths[0]) ** 2 > stats.f.ppf(0.99, 29, 29), widths


def test_missing_posterior_is_one_line_exit_2_nothing_written(tmp_path):
    path = _state(tmp_path, "", ", parameter_draws: nope.csv")
    out = tmp_path / "out"
    r = _invoke(path, "--parameter-uncertainty", "--out", out)
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and "Traceback" not in r.output, r.output
    assert "programs[1].scenario.parameter_draws: 'nope.csv': no such file" in lines[0], r.output
    assert not out.exists() and not (tmp_path / "out.partial").exists()
    assert _invoke(path, "--out", out, "--replications", 2).exit_code == 0   # without the option: not read
