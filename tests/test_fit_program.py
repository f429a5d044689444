"""ips-sim fit-program: bad records refused whole, the example is what the model makes, known vacancies,
determinism across executors, resuming, and the program's posterior widening a run's intervals.

The statistical checks of the fit itself (simulation-based calibration, hold-out scores, the poor-fit
message) are in tests/test_program_fit_calibration.py.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REPO, require
from test_program_records import BAD

from ips_sim.config import load_scenario, scenario_from_dict
from ips_sim.config.program_records import read_program_records
from ips_sim.core.errors import UserError
from ips_sim.runner.executors import InlineExecutor, LocalExecutor
from ips_sim.runner.resume import Checkpoint
from ips_sim.sim.model import run_replication
from ips_sim.studies.program_fit import fit as F
from ips_sim.studies.program_fit.history import program_model
from ips_sim.studies.program_fit.outputs import posterior_csv
from ips_sim.studies.program_fit.synthetic import (
    example_header,
    example_records,
    program_scenario,
    records_csv,
    synthetic_records,
)
from ips_sim.ui.cli import main

SMALL = {"team": {"specialists": 1}}


def _small_program(quarters=6, seed=3, fte=None):
    base = scenario_from_dict(SMALL)
    sc = program_scenario(base, {"job_finding": 0.0, "job_ending": 0.0, "drop_out": 0.0}, quarters, 2.0,
                          {"job_seekers": 12, "workers": 6, "waitlist": 1}, dt.date(2024, 1, 1), fte=fte)
    return base, synthetic_records(sc, seed=seed, fte=fte)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_records_exit_2_with_one_line_and_nothing_written(tmp_path, case):
    text, where, what = BAD[case]
    p = tmp_path / "reports.csv"
    p.write_text(text)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["fit-program", str(p), "--scenario", str(REPO / "scenarios" / "example_program.yaml"),
                                  "--out", str(out)])
    assert r.exit_code == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and where in lines[0] and what in lines[0], lines
    assert "Traceback" not in r.stderr
    assert not out.exists() and not (tmp_path / "out.partial").exists()


def test_hold_out_leaving_fewer_than_4_quarters_is_refused(tmp_path):
    r = CliRunner().invoke(main, ["fit-program", str(REPO / "scenarios" / "example_program_reports.csv"),
                                  "--scenario", str(REPO / "scenarios" / "example_program.yaml"),
                                  "--out", str(tmp_path / "o"), "--hold-out", "10"])
    assert r.exit_code == 2 and "--hold-out: 10: leaves 2 of 12 quarters" in r.stderr
    assert not (tmp_path / "o").exists()


def test_shipped_example_is_what_the_model_makes_from_its_stated_parameters():
    base = load_scenario(REPO / "scenarios" / "example_program.yaml")
    text = records_csv(example_records(base), example_header())
    assert (REPO / "scenarios" / "example_program_reports.csv").read_text() == text
    assert text.startswith("# SYNTHETIC")
    read_program_records(REPO / "scenarios" / "example_program_reports.csv")  # and it reads as records


def test_known_vacancy_empties_the_post_then_a_new_hire_ramps_up():
    sc = scenario_from_dict({"simulation": {"horizon_years": 2}, "team": {"specialists": 2, "vacancies": [
        {"post": 2, "from_month": 3, "to_month": 9}]}, "referrals": {"rate_per_month": 3},
        "start": {"date": "2024-01-01", "job_seekers": 20, "workers": 10}})
    rec = run_replication(sc, 0).freeze()
    w = rec.weeks()
    post2 = w["specialist"] == 1
    day = 365.25 / 12
    inside = post2 & (w["day"] >= 3 * day + 8) & (w["day"] < 9 * day - 8)
    assert inside.any() and np.all(w["in_post"][inside] == 0) and np.all(w["hours_job_search"][inside] == 0)
    after = post2 & (w["day"] >= 9 * day + 8)
    assert np.all(w["in_post"][after] == 1)
    assert np.any(w["practice_quality"][after] < 1)     # a new hire, ramping up
    assert rec.vacancy.shape == (1, 3) and rec.vacancy[0, 1] == pytest.approx(3 * day)
    assert rec.vacancy[0, 2] == pytest.approx(9 * day)


@pytest.mark.parametrize("vacancies, turnover, expected", [
    ([{"post": 3, "from_month": 0, "to_month": 2}], False, "not one of the 2 posts"),
    ([{"post": 1, "from_month": 0, "to_month": 4}, {"post": 1, "from_month": 3, "to_month": 5}], False, "overlap"),
    ([{"post": 1, "from_month": 4, "to_month": 2}], False, "must be after from_month"),
    ([{"post": 1, "from_month": 0, "to_month": 2}], True, "turnover.enabled: false"),
])
def test_bad_vacancies_are_refused(vacancies, turnover, expected):
    with pytest.raises(UserError) as e:
        scenario_from_dict({"team": {"specialists": 2, "vacancies": vacancies}, "turnover": {"enabled": turnover}})
    assert expected in str(e.value)


def test_fte_history_becomes_vacancies_in_the_fitting_scenario():
    base, rec = _small_program(fte=[1, 0.5, 1, 1, 1, 1])
    pm = program_model(SMALL, base, rec)
    assert pm.posts == 1
    assert [(v.post, v.from_month, v.to_month) for v in pm.scenario.team.vacancies] == [(1, 3.0, 4.5)]


def _fit(executor, rec, base, checkpoint=None):
    pm = program_model(SMALL, base, rec)
    return F.fit(pm, rec, seed=5, population=24, generations=2, executor=executor, checkpoint=checkpoint)


@pytest.fixture(scope="module")
def inline_fit():
    """The small fit in this process: what every other executor must reproduce byte for byte."""
    base, rec = _small_program()
    return _fit(InlineExecutor(), rec, base)


def _same_fit(one, two):
    assert posterior_csv(one) == posterior_csv(two)
    assert one.particles.to_csv().encode() == two.particles.to_csv().encode()
    assert one.generations[["epsilon", "evaluations"]].equals(two.generations[["epsilon", "evaluations"]])
    assert one.simulations == two.simulations


def test_fit_is_byte_identical_across_executors(inline_fit):
    base, rec = _small_program()
    pool = LocalExecutor(2)
    try:
        two = _fit(pool, rec, base)
    finally:
        pool.close()
    _same_fit(inline_fit, two)


def test_fit_on_a_dask_cluster_is_byte_identical_to_one_process(inline_fit):
    """fit-program --scheduler: the fit's batches on a LocalCluster of 2 worker processes give the same
    posterior, particles and generations as in this process."""
    distributed = require("distributed", "a test dependency (dask[distributed])")
    from ips_sim.runner.executors import DaskExecutor

    base, rec = _small_program()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        ex = DaskExecutor(cluster.scheduler_address)
        try:
            two = _fit(ex, rec, base)
        finally:
            ex.close()
    _same_fit(inline_fit, two)


class _Counting(InlineExecutor):
    def __init__(self):
        self.units = 0

    def submit(self, fn, *args):
        self.units += 1
        return super().submit(fn, *args)


def test_resumed_fit_runs_nothing_again_and_gives_the_same_posterior(tmp_path):
    base, rec = _small_program()
    key = {"test": 1}
    first = _fit(InlineExecutor(), rec, base, Checkpoint(tmp_path / "p", key, codec="pickle").open(False))
    again = _Counting()
    second = _fit(again, rec, base, Checkpoint(tmp_path / "p", key, codec="pickle").open(True))
    assert again.units == 0 and posterior_csv(first) == posterior_csv(second)


def test_program_posterior_widens_a_runs_intervals(tmp_path):
    """--parameter-uncertainty with program.yaml's own draws: replications vary more than at the posterior means."""
    from ips_sim.studies.calibration import run_with_draws
    from ips_sim.runner.experiment import run_replications

    draws = tmp_path / "posterior.csv"
    rows = ["draw,ips:job_search.job_rate_search_per_month,ips:jobs.end_rate_per_month"]
    rng = np.random.default_rng(0)
    for k in range(40):
        rows.append(f"{k},{0.05 * math.exp(rng.normal(0, 0.5)):.6f},{0.07 * math.exp(rng.normal(0, 0.5)):.6f}")
    draws.write_text("\n".join(rows) + "\n")
    path = tmp_path / "program.yaml"
    path.write_text("name: p\nsimulation: {horizon_years: 2}\nteam: {specialists: 2}\n"
                    "job_search: {job_rate_search_per_month: 0.05}\njobs: {end_rate_per_month: 0.07}\n"
                    "start: {date: '2026-01-01', job_seekers: 25, workers: 12}\nparameter_draws: posterior.csv\n")
    sc = load_scenario(path)
    fixed, _ = run_replications(sc, 40, 1, keep_records=False)
    drawn, _ = run_with_draws(sc, path, 40, 1, keep_records=False)
    metric = "quarterly_working_rate"
    sd_fixed = np.std([m[metric] for m in fixed], ddof=1)
    sd_drawn = np.std([m[metric] for m in drawn], ddof=1)
    assert sd_drawn > 1.3 * sd_fixed, (sd_fixed, sd_drawn)
    # The draws win over the file's explicit values (the posterior means), and replication i uses draw i.
    assert any(m != f for m, f in zip(drawn, fixed))


def test_missing_parameter_draws_file_is_one_line(tmp_path):
    from ips_sim.studies.calibration import run_with_draws

    path = tmp_path / "program.yaml"
    path.write_text("name: p\nparameter_draws: nope.csv\n")
    with pytest.raises(UserError) as e:
        run_with_draws(load_scenario(path), path, 2, 1)
    assert "parameter_draws: 'nope.csv': no such file" in str(e.value)


def test_plan_with_the_program_posterior_has_wider_intervals_than_with_fixed_parameters(tmp_path):
    from ips_sim.studies.calibration import scenario_draw_updates
    from ips_sim.studies.plan import parse_target, plan

    draws = tmp_path / "posterior.csv"
    rng = np.random.default_rng(1)
    rows = ["draw,ips:job_search.job_rate_search_per_month,ips:jobs.end_rate_per_month"]
    rows += [f"{k},{0.05 * math.exp(rng.normal(0, 0.8)):.6f},{0.07 * math.exp(rng.normal(0, 0.8)):.6f}"
             for k in range(40)]
    draws.write_text("\n".join(rows) + "\n")
    path = tmp_path / "program.yaml"
    path.write_text("name: p\nsimulation: {horizon_years: 2}\nteam: {specialists: 2}\n"
                    "start: {date: '2026-01-01', job_seekers: 25, workers: 12}\nparameter_draws: posterior.csv\n")
    sc = load_scenario(path)
    targets = [parse_target("quarterly_working_rate>=0.99")]   # never met: both plans run every value alike
    kw = dict(replications=40, max_replications=40, seed=2)
    fixed = plan(sc, "team.specialists", [2], targets, InlineExecutor(), **kw)
    drawn = plan(sc, "team.specialists", [2], targets, InlineExecutor(), draws=scenario_draw_updates(sc, path), **kw)

    def width(res):
        r = res.points[0].rows["quarterly_working_rate"]
        return r["ci_high"] - r["ci_low"]

    # Same replications (common random numbers), parameters drawn or not: the variance ratio is beyond
    # the 1% point of the F distribution of two samples of 40 with equal variance.
    from scipy import stats

    assert (width(drawn) / width(fixed)) ** 2 > stats.f.ppf(0.99, 39, 39), (width(fixed), width(drawn))



def test_run_and_plan_record_the_draws_they_used_and_refuse_a_missing_file_before_writing(tmp_path):
    """The manifests name the draws (file, whose, how many); a missing file is one line, nothing written."""
    import json

    (tmp_path / "posterior.csv").write_text("draw,ips:jobs.end_rate_per_month\n0,0.05\n1,0.09\n2,0.07\n")
    path = tmp_path / "program.yaml"
    path.write_text("name: p\nsimulation: {horizon_years: 1.5, warmup_years: 0.5}\nteam: {specialists: 1}\n"
                    "parameter_draws: posterior.csv\n")
    r = CliRunner().invoke(main, ["run", str(path), "-n", "4", "--parameter-uncertainty", "--no-plots", "-q",
                                  "--out", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    own = {"source": str(tmp_path / "posterior.csv"), "count": 3, "kind": "the scenario's own posterior"}
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["parameter_draws"] == own
    r = CliRunner().invoke(main, ["plan", str(path), "--vary", "team.specialists=1,2", "--target",
                                  "mean_wait_days<=1000", "-n", "2", "-w", "1", "--parameter-uncertainty",
                                  "--out", str(tmp_path / "plan")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "plan" / "manifest.json").read_text())["parameter_draws"] == own
    (tmp_path / "posterior.csv").unlink()
    r = CliRunner().invoke(main, ["run", str(path), "-n", "4", "--parameter-uncertainty", "-q",
                                  "--out", str(tmp_path / "again")])
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and "parameter_draws: 'posterior.csv': no such file" in lines[0]
    assert not (tmp_path / "again").exists() and not (tmp_path / "again.partial").exists()
