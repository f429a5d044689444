"""Capacity planning: targets met with confidence, doubling close calls, a hand-derived Erlang C case."""

from __future__ import annotations

import re
import math

import pytest
from click.testing import CliRunner

from ips_sim.analysis.metrics import summarise
from ips_sim.config import DAYS_PER_MONTH, Scenario, scenario_from_dict, set_dotted
from ips_sim.runner.executors import InlineExecutor
from ips_sim.runner.experiment import run_replications
from ips_sim.studies.plan import FAILS, MEETS, UNSURE, Target, parse_target, parse_vary, plan, sentence
from ips_sim.ui.cli import main

LAM, MU = 3.0, 1.0   # referrals per month; drop-out (= end of service) per month
TARGET_DAYS = 8.0

# An M/M/c queue: no job finding, every drop-out hazard equal to MU whatever the service,
# no patience, caseload cap 1, so c = specialists places and a member's stay is Exp(MU).
ERLANG = {
    "simulation.horizon_years": 12, "simulation.warmup_years": 2, "simulation.replications": 10,
    "simulation.seed": 20261123,
    "referrals.rate_per_month": LAM, "referrals.patience_mean_days": None, "referrals.cohort_size": 0,
    "referrals.schedule": [],
    "team.caseload_cap": 1, "team.fte_per_specialist": 1.0, "team.specialists": 1,
    "job_search.job_rate_own_per_month": 0.0, "job_search.job_rate_search_per_month": 0.0,
    "job_search.job_rate_development_per_month": 0.0, "job_search.preparation_months": 0.0,
    "engagement.shortfall_effect": 0.0, "engagement.discharge_without_job_months": None,
    "engagement.disengage_rate_early_per_month": MU, "engagement.disengage_rate_per_month": MU,
    "engagement.disengage_rate_employed_per_month": MU,
}


def erlang_raw() -> dict:
    raw: dict = {}
    for k, v in ERLANG.items():
        set_dotted(raw, k, v)
    if "supervision" in Scenario.model_fields:  # keep every specialist at full practice quality
        set_dotted(raw, "supervision.enabled", False)
    if "turnover" in Scenario.model_fields:
        set_dotted(raw, "turnover.enabled", False)
    return raw


def erlang_scenario() -> Scenario:
    return scenario_from_dict(erlang_raw(), name="erlang_c")


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c (all arrivals), by the Erlang C formula; inf if unstable."""
    a = lam / mu
    if a >= c:
        return math.inf
    top = a ** c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def test_erlang_c_by_hand():
    # c = 1: M/M/1, Wq = rho / (mu - lam).
    assert erlang_c_wait(0.5, 1.0, 1) == pytest.approx(1.0)
    # c = 2, a = 1: p0 = 1/3, P(wait) = 1/3, Wq = (1/3) / (2 - 1).
    assert erlang_c_wait(1.0, 1.0, 2) == pytest.approx(1 / 3)
    waits = {c: erlang_c_wait(LAM, MU, c) * DAYS_PER_MONTH for c in range(1, 7)}
    # The case is unambiguous: 4 places wait about twice the target, 5 less than half.
    assert waits[3] == math.inf
    assert waits[4] == pytest.approx(15.51, abs=0.01) and waits[4] > 1.9 * TARGET_DAYS
    assert waits[5] == pytest.approx(3.59, abs=0.01) and waits[5] < 0.5 * TARGET_DAYS


def test_targets_parse_and_need_the_ci_on_the_right_side():
    assert parse_target("mean_wait_days<=30") == Target("mean_wait_days", "<=", 30.0)
    assert parse_target(" ever_employed_rate >= 0.45 ") == Target("ever_employed_rate", ">=", 0.45)
    le = Target("mean_wait_days", "<=", 30.0)
    assert le.verdict(25.0, 20.0, 29.9) == MEETS
    assert le.verdict(25.0, 20.0, 31.0) == UNSURE  # mean below 30, but the CI straddles it
    assert le.verdict(35.0, 30.5, 40.0) == FAILS
    assert le.verdict(math.nan, math.nan, math.nan) == UNSURE
    ge = Target("ever_employed_rate", ">=", 0.45)
    assert ge.verdict(0.50, 0.46, 0.54) == MEETS
    assert ge.verdict(0.50, 0.44, 0.56) == UNSURE
    assert ge.verdict(0.40, 0.35, 0.449) == FAILS
    for bad in ("mean_wait_days=30", "wait<=30", "mean_wait_days<=", "<=30"):
        with pytest.raises(ValueError):
            parse_target(bad)
    assert parse_vary("team.specialists=1..6") == ("team.specialists", [1, 2, 3, 4, 5, 6])
    assert parse_vary("team.caseload_cap=25,20,15") == ("team.caseload_cap", [25, 20, 15])
    for bad in ("team.specialists", "team.specialsts=1..3", "team=1..3", "team.specialists=1..x"):
        with pytest.raises(ValueError):
            parse_vary(bad)


def test_plan_finds_the_erlang_c_staffing():
    base = erlang_scenario()
    expected = min(c for c in range(1, 7) if erlang_c_wait(LAM, MU, c) * DAYS_PER_MONTH <= TARGET_DAYS)
    assert expected == 5
    res = plan(base, "team.specialists", list(range(1, 7)), [parse_target(f"mean_wait_days<={TARGET_DAYS}")],
               InlineExecutor(), replications=10, max_replications=80)
    assert res.answer == expected
    assert [p.value for p in res.points] == [1, 2, 3, 4, 5]  # stops at the answer
    assert all(p.status != MEETS for p in res.points[:-1])
    five = res.points[-1].rows["mean_wait_days"]
    assert five["ci_high"] <= TARGET_DAYS


def test_plan_cli_sentence_and_table(tmp_path):
    import yaml
    path = tmp_path / "erlang.yaml"
    path.write_text(yaml.safe_dump(erlang_raw()))
    res = CliRunner().invoke(main, ["plan", str(path), "--vary", "team.specialists=1..6", "--target",
                                    f"mean_wait_days<={TARGET_DAYS:g}", "--workers", "1", "-q"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("team.specialists = 5 is the smallest value in 1..6 that meets every target "
                               "with 95% confidence")
    table = [ln for ln in lines if ln[:1].isdigit()]
    assert [ln.split()[0] for ln in table] == ["1", "2", "3", "4", "5"]
    assert table[-1].split()[-5] == "meets"  # the verdict, then cost per year, people employed, ratio, budget
    assert all(re.search(r"\$[0-9,]+", ln) for ln in table)  # what each level costs


def test_plan_out_writes_the_numbers_behind_every_verdict(tmp_path):
    import pandas as pd
    import yaml
    path = tmp_path / "erlang.yaml"
    path.write_text(yaml.safe_dump(erlang_raw()))
    res = CliRunner().invoke(main, ["plan", str(path), "--vary", "team.specialists=1..6", "--target",
                                    f"mean_wait_days<={TARGET_DAYS:g}", "--workers", "1", "-q",
                                    "--out", str(tmp_path / "plan")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    df = pd.read_csv(tmp_path / "plan" / "plan.csv")
    assert list(df["team.specialists"]) == [1, 2, 3, 4, 5]
    # A '<=' target is met exactly when the upper CI bound is at or below the threshold.
    decided = df[df["target_verdict"] != "too close"]
    assert ((decided["ci_high"] <= TARGET_DAYS) == (decided["target_verdict"] == "meets")).all()
    assert (tmp_path / "plan" / "plan.txt").read_text().splitlines()[0] == res.output.splitlines()[0]


def test_close_calls_get_more_replications_with_the_same_random_numbers():
    base = erlang_scenario().with_updates({"team.specialists": 5})
    first4 = run_replications(base, 4, base.simulation.seed, keep_records=False)[0]
    row = {r["metric"]: r for r in summarise(first4)}["mean_wait_days"]
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    # A threshold at the 4-replication mean is too close to call: replications are doubled.
    t = Target("mean_wait_days", "<=", row["mean"])
    res = plan(base, "team.specialists", [5], [t], InlineExecutor(), replications=4, max_replications=16)
    p = res.points[0]
    assert p.replications in (8, 16)
    assert repr(p.per_rep[:4]) == repr(first4)  # replications 0..3 are the same; 4.. are added (repr: NaN-safe)
    more = run_replications(base, p.replications, base.simulation.seed, keep_records=False)[0]
    assert repr(p.per_rep) == repr(more)
    if p.status == UNSURE:
        assert p.replications == 16 and res.answer is None
        assert "stayed too close to call" in sentence(res)


def test_no_value_meets():
    base = erlang_scenario()
    res = plan(base, "team.specialists", [1, 2, 3], [parse_target("mean_wait_days<=8")], InlineExecutor(),
               replications=5, max_replications=10)
    assert res.answer is None
    assert all(p.status == FAILS for p in res.points)
    assert sentence(res).startswith("No value of team.specialists in 1..3 meets every target with 95% confidence")


@pytest.mark.parametrize("args, message", [
    (["--vary", "team.specialists", "--target", "mean_wait_days<=30"],
     "--vary: 'team.specialists': expected FIELD=VALUES, e.g. team.specialists=1..6 or team.caseload_cap=25,20,15"),
    (["--vary", "team.specialsts=1..3", "--target", "mean_wait_days<=30"],
     "--vary: 'team.specialsts=1..3': unknown scenario field; did you mean team.specialists?"),
    (["--vary", "team.specialists=0..3", "--target", "mean_wait_days<=30"],
     "--vary: team.specialists=0: Input should be greater than or equal to 1"),
    (["--vary", "team.specialists=1..3", "--target", "mean_wait_days=30"],
     "--target: 'mean_wait_days=30': expected METRIC<=VALUE, METRIC>=VALUE, METRIC<VALUE or METRIC>VALUE, "
     "e.g. mean_wait_days<=30"),
])
def test_bad_plan_syntax_one_line_exit_2(tmp_path, args, message):
    path = tmp_path / "s.yaml"
    path.write_text("team: {specialists: 2}\n")
    res = CliRunner().invoke(main, ["plan", str(path), *args])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [message]


def test_unknown_metric_lists_what_is_allowed(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("{}\n")
    res = CliRunner().invoke(main, ["plan", str(path), "--vary", "team.specialists=1..3", "--target", "wait<=3"])
    assert res.exit_code == 2
    (line,) = res.output.strip().splitlines()
    assert line.startswith("--target: 'wait<=3': unknown metric wait; allowed: referrals, enrolled, mean_wait_days")


def test_plan_same_answer_and_numbers_with_two_workers():
    from ips_sim.runner.executors import LocalExecutor
    base = erlang_scenario()
    targets = [parse_target("mean_wait_days<=8")]
    one = plan(base, "team.specialists", [4, 5], targets, InlineExecutor(), replications=6, max_replications=12)
    ex = LocalExecutor(2)
    try:
        two = plan(base, "team.specialists", [4, 5], targets, ex, replications=6, max_replications=12)
    finally:
        ex.close()
    assert repr([p.per_rep for p in one.points]) == repr([p.per_rep for p in two.points])  # NaN-safe
    assert one.answer == two.answer
