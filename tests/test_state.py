"""State-wide planning: allocation algorithms on hand-built gains, state files, runs on any executor.

The allocation tests use gains written by hand (no simulation), so the
expected allocations are worked out on paper: greedy marginal analysis must
equal exhaustive search when gains diminish, and the exact search must equal
exhaustive search always. The run tests use tiny programs (a few simulated
years, a handful of replications) and compare outputs across executors
byte for byte.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ips_sim.config import scenario_from_dict
from ips_sim.runner.executors import DaskExecutor, InlineExecutor, LocalExecutor
from ips_sim.runner.resume import Checkpoint
from ips_sim.studies.allocation import Option, exact, exhaustive, greedy, not_diminishing
from ips_sim.studies.plan import parse_target
from ips_sim.studies.state import (
    Budget,
    Evaluation,
    Program,
    ProgramResults,
    State,
    StateError,
    decide,
    evaluate,
    load_state,
    partial_dir,
    program_seed,
    run_state,
)
from ips_sim.ui.cli import main

REPO = Path(__file__).resolve().parent.parent


def opts(gains: list[float], unit: float = 1.0, first: int = 1) -> list[Option]:
    """Options 0, first, first+1, ... posts with cumulative gains ``gains`` (gains[0] is for ``first`` posts)."""
    out = [Option(0, 0.0, 0.0)]
    for k, g in enumerate(gains):
        added = first + k
        out.append(Option(added, added * unit, g))
    return out


def cumulative(steps: list[float]) -> list[float]:
    return list(itertools.accumulate(steps))


# --------------------------------------------------------------------------- allocation on hand-built gains


def test_greedy_equals_exhaustive_on_diminishing_gains():
    # Three programs, marginal gains of each post (diminishing).
    # By hand: steps sorted 9, 8, 7, 6, 5, 4, 3, 2, 1: a budget of 4 buys 9 (a), 8 (b), 7 (a), 6 (c).
    programs = [opts(cumulative([9, 7, 3])), opts(cumulative([8, 5, 1])), opts(cumulative([6, 4, 2]))]
    g, steps = greedy(programs, 4)
    assert g.choice == (2, 1, 1)
    assert g.gain == pytest.approx(9 + 7 + 8 + 6)
    assert [s.gain for s in steps] == [9, 8, 7, 6]
    assert exhaustive(programs, 4) == g
    assert exact(programs, 4) == g
    assert not not_diminishing(programs)


def test_greedy_equals_exhaustive_on_many_small_diminishing_states():
    rng = np.random.default_rng(13)
    for _ in range(60):
        n_prog = int(rng.integers(1, 5))
        programs = []
        for _p in range(n_prog):
            steps = sorted(rng.integers(0, 20, size=int(rng.integers(1, 5))).tolist(), reverse=True)
            programs.append(opts(cumulative([float(s) for s in steps])))
        budget = int(rng.integers(0, 9))
        best = exhaustive(programs, budget)
        g, _ = greedy(programs, budget)
        assert not not_diminishing(programs)
        assert g.gain == pytest.approx(best.gain), (programs, budget)
        assert exact(programs, budget) == best


def test_greedy_per_dollar_equals_exhaustive_when_gain_per_dollar_diminishes():
    # Posts cost 50 and 80 (thousand a year). Gains per dollar: a 0.2, 0.1; b 0.15, 0.05.
    # Budget 130: a first (0.2), then b (0.15) -> 50 + 80 = 130; a second a would cost 100 in all.
    programs = [opts([10, 15], unit=50), opts([12, 16], unit=80)]
    g, _ = greedy(programs, 130)
    assert g.choice == (1, 1)
    assert exhaustive(programs, 130) == g == exact(programs, 130)


def test_exact_equals_exhaustive_when_gains_do_not_diminish():
    rng = np.random.default_rng(7)
    for _ in range(60):
        programs = [opts([float(x) for x in rng.integers(-3, 20, size=int(rng.integers(1, 5)))],
                         first=int(rng.integers(1, 3))) for _p in range(int(rng.integers(1, 4)))]
        budget = int(rng.integers(0, 8))
        assert exact(programs, budget) == exhaustive(programs, budget)


def test_not_diminishing_detected_and_greedy_fooled():
    # a: the first post buys 1, the second 5 (a waitlist that only clears with two posts).
    # b: one post buys 2. Budget 2: greedy takes b (2) then a's first (1) = 3; the optimum is a+a = 6.
    programs = [opts(cumulative([1, 5])), opts([2.0])]
    nd = not_diminishing(programs)
    assert [(x.program, x.option, x.per_unit_before, x.per_unit) for x in nd] == [(0, 2, 1.0, 5.0)]
    g, _ = greedy(programs, 2)
    assert g.gain == 3
    best = exhaustive(programs, 2)
    assert best.choice == (2, 0) and best.gain == 6
    assert exact(programs, 2) == best


def test_budget_zero_changes_nothing():
    programs = [opts(cumulative([9, 7])), opts([8.0]), opts([5.0], first=2)]
    for alloc in (greedy(programs, 0)[0], exact(programs, 0), exhaustive(programs, 0)):
        assert alloc.choice == (0, 0, 0) and alloc.gain == 0 and alloc.cost == 0


def test_program_at_its_limit_gets_nothing():
    # a is at its limit (no option beyond the current staffing) although it would gain most.
    programs = [[Option(0, 0.0, 0.0)], opts(cumulative([3, 2, 1]))]
    for alloc in (greedy(programs, 2)[0], exact(programs, 2), exhaustive(programs, 2)):
        assert alloc.choice == (0, 2)


def test_no_post_for_no_gain():
    programs = [opts([0.0, 0.0]), opts([-1.0])]
    assert exact(programs, 3).choice == (0, 0)
    assert greedy(programs, 3)[0].choice == (0, 0)


# --------------------------------------------------------------------------- decide() on hand-built outcomes

TINY = {"simulation": {"horizon_years": 2.0, "warmup_years": 0.5, "replications": 4, "seed": 1},
        "team": {"specialists": 2, "caseload_cap": 20}, "referrals": {"rate_per_month": 2.0}}


def fake_state(gains_per_program: list[list[float]], budget: float, new: tuple[int, ...] = (),
               post_costs: list[float] | None = None, waits: dict[int, list[float]] | None = None) -> Evaluation:
    """An evaluation whose outcomes are written by hand: employment a year at each level, 4 replications.

    Each replication's value is the level's value plus a replication effect shared by every level
    (common random numbers), so paired gains are exact and their intervals have zero width.
    """
    programs, results = [], []
    sc = scenario_from_dict(TINY)
    for i, cum in enumerate(gains_per_program):
        is_new = i in new
        posts_now = 0 if is_new else 2
        levels = ((0,) + tuple(range(2, 2 + len(cum) - 1))) if is_new else tuple(range(2, 2 + len(cum)))
        p = Program(name=f"p{i}", source="inline", scenario=sc, posts_now=posts_now, new=is_new, levels=levels,
                    post_cost=post_costs[i] if post_costs else 1.0, seed=program_seed(1, f"p{i}"),
                    constraints=(parse_target("mean_wait_days<=60"),) if waits and i in waits else (), targets=())
        res = ProgramResults(p)
        for lv, value in zip(levels, cum):
            if lv:
                # A new program's closed level is exactly 0 (not simulated): no shared effect to add.
                shared = [0.0] * 4 if is_new else [10.0 + r for r in range(4)]
                res.outcomes[lv] = [{"employed_within_18_months": value + e} for e in shared]
                if waits and i in waits:
                    # A wait known within +-1 day at each level (an interval far from the threshold).
                    w = waits[i][levels.index(lv)]
                    for o, d in zip(res.outcomes[lv], (-1.0, 1.0, -1.0, 1.0)):
                        o["mean_wait_days"] = w + d
        programs.append(p)
        results.append(res)
    bud = Budget(dollars=budget) if post_costs else Budget(posts=budget)
    st = State(name="fake", description="", source="-", budget=bud,
               weights={"employed_within_18_months": 1.0}, programs=tuple(programs), replications=4,
               max_replications=4, chunk=4, seed=1, confidence=0.95, min_new_team=2, spec={})
    return Evaluation(st, results, [])


def test_decide_on_hand_built_gains():
    ev = fake_state([[0, 9, 16, 19], [0, 8, 13], [0, 6, 10]], budget=4)
    r = decide(ev)
    assert [lv[k] for lv, k in zip(r.levels, r.allocation.choice)] == [4, 3, 3]
    assert r.total_gain.mean == pytest.approx(16 + 8 + 6)
    assert r.greedy.choice == r.allocation.choice
    assert not any("do not diminish" in n for n in r.notes)
    assert [f["gain"].mean for f in r.frontier] == pytest.approx([0, 9, 17, 24, 30])


def test_decide_says_when_gains_do_not_diminish():
    ev = fake_state([[0, 1, 6], [0, 2]], budget=2)
    r = decide(ev)
    assert [lv[k] for lv, k in zip(r.levels, r.allocation.choice)] == [4, 2]
    assert any("gains do not diminish at p0" in n for n in r.notes)
    assert any("greedy marginal analysis (gain per post) would differ (p0 -1, p1 +1 against the optimum) and gain 3 "
               "against the optimum's 6" in n for n in r.notes)


def test_decide_new_program_opens_with_a_team_of_two_or_not_at_all():
    # p1 is new: 0 posts, or 2 posts buying 7 together (3.5 a post). p0's posts buy 5, 3, 1.
    ev = fake_state([[0, 5, 8, 9], [0, 7, 8]], budget=3, new=(1,))
    assert ev.results[1].program.levels == (0, 2, 3)
    r = decide(ev)
    # Budget 3: p0 +1 (5) and p1 opened with 2 (7) = 12 beats p0 +3 (9) and p0 +2 (8) + nothing.
    assert [lv[k] for lv, k in zip(r.levels, r.allocation.choice)] == [3, 2]
    assert r.total_gain.mean == pytest.approx(12)


def test_decide_in_dollars_goes_by_gain_per_dollar():
    # p0's posts cost 50,000 a year and buy 10 then 5; p1's cost 80,000 and buy 12 then 4.
    # Per dollar: p0 first 0.2/k, p1 first 0.15/k, p0 second 0.1/k, p1 second 0.05/k.
    # 130,000: p0 +1 and p1 +1 (gain 22); 100,000 would buy p0 +2 (15) only.
    ev = fake_state([[0, 10, 15], [0, 12, 16]], budget=130_000, post_costs=[50_000, 80_000])
    r = decide(ev)
    assert [lv[k] for lv, k in zip(r.levels, r.allocation.choice)] == [3, 3]
    assert r.allocation.cost == 130_000 and r.total_gain.mean == pytest.approx(22)
    assert r.greedy.choice == r.allocation.choice
    ev = fake_state([[0, 10, 15], [0, 12, 16]], budget=100_000, post_costs=[50_000, 80_000])
    r = decide(ev)
    assert [lv[k] for lv, k in zip(r.levels, r.allocation.choice)] == [4, 2]
    assert [f["budget"] for f in r.frontier] == [0, 50_000, 100_000]


def test_decide_wait_constraint_comes_first():
    # p0's posts buy little (1 each) but its wait is 100 days now, 50 with one more post (<= 60 needed).
    ev = fake_state([[0, 1, 2], [0, 9, 16]], budget=2, waits={0: [100, 50, 10]})
    r = decide(ev)
    assert [lv[k] for lv, k in zip(r.levels, r.allocation.choice)] == [3, 3]
    # Unconstrained, both posts would go to p1 (gain 16 instead of 1 + 9 = 10).
    assert r.frontier[-1]["free_gain"] == pytest.approx(16)
    assert r.total_gain.mean == pytest.approx(10)
    # Budget 0 cannot meet the constraint: said, and nothing is added.
    r0 = decide(fake_state([[0, 1, 2], [0, 9, 16]], budget=0, waits={0: [100, 50, 10]}))
    assert r0.constraints_dropped and all(k == 0 for k in r0.allocation.choice)
    assert any("cannot meet every constraint" in n and "need 1 post" in n for n in r0.notes)


def test_decide_budget_zero_and_limit():
    ev = fake_state([[0, 9, 16], [0]], budget=0)
    r = decide(ev)
    assert all(k == 0 for k in r.allocation.choice)
    assert r.total_gain.mean == 0
    ev = fake_state([[0, 1, 2], [0]], budget=5)   # p1 is at its limit (no level above its 2 posts)
    r = decide(ev)
    assert [lv[k] for lv, k in zip(r.levels, r.allocation.choice)] == [4, 2]


# --------------------------------------------------------------------------- state files and runs

PROGRAM_A = """\
name: small_team
team: {specialists: 1, caseload_cap: 12}
referrals: {rate_per_month: 2.5}
simulation: {horizon_years: 2.5, warmup_years: 0.5}
"""

STATE = """\
name: tiny_state
budget: {posts: 2}
objective: employed_within_18_months
constraints: []
targets: ["mean_wait_days<=40"]
limits: {max_added_posts: 2, min_new_team: 2}
replications: 4
max_replications: 8
chunk: 2
seed: 99
overrides: {simulation.horizon_years: 2.5, simulation.warmup_years: 0.5}
programs:
  - name: a
    scenario: a.yaml
  - name: b
    scenario: {team: {specialists: 1, caseload_cap: 10}, referrals: {rate_per_month: 3.0}}
    max_added_posts: 0
  - name: c
    new: true
    scenario: {team: {specialists: 2, caseload_cap: 10}, referrals: {rate_per_month: 1.5}}
"""


@pytest.fixture
def state_file(tmp_path):
    (tmp_path / "a.yaml").write_text(PROGRAM_A)
    path = tmp_path / "tiny_state.yaml"
    path.write_text(STATE)
    return path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def read(path: Path) -> bytes:
    return path.read_bytes()


OUTPUTS = ("allocation.csv", "frontier.csv", "candidates.csv", "targets.csv", "state.txt")


def test_state_file_resolves(state_file):
    st = load_state(state_file)
    a, b, c = st.programs
    assert (a.posts_now, a.levels) == (1, (1, 2, 3))
    assert (b.posts_now, b.levels) == (1, (1,))
    assert (c.posts_now, c.new, c.levels) == (0, True, (0, 2))
    assert a.seed != b.seed                     # programs are independent
    assert st.budget.posts == 2
    assert load_state(state_file, budget=0).budget.posts == 0


def test_cli_run_writes_every_output_and_program_at_limit_gets_nothing(state_file, tmp_path):
    out = tmp_path / "out"
    res = invoke("state", state_file, "--out", out, "--workers", 1, "--no-plots")
    assert res.exit_code == 0, res.output
    for name in OUTPUTS + ("manifest.json",):
        assert (out / name).exists(), name
    assert not partial_dir(out).exists()
    man = json.loads((out / "manifest.json").read_text())
    assert man["kind"] == "state"
    import pandas as pd
    alloc = pd.read_csv(out / "allocation.csv").set_index("program")
    assert alloc.loc["b", "posts_added"] == 0                    # at its limit
    assert alloc["posts_added"].sum() <= 2
    front = pd.read_csv(out / "frontier.csv")
    assert list(front["budget"]) == [0, 1, 2]
    assert front.loc[0, "gain"] == 0 and front.loc[0, "allocation"] == "(none)"
    assert "State-wide gain" in res.output


def test_budget_zero_changes_nothing_in_a_run(state_file, tmp_path):
    out = tmp_path / "zero"
    res = invoke("state", state_file, "--budget", 0, "--out", out, "--workers", 1, "--no-plots", "-q")
    assert res.exit_code == 0, res.output
    import pandas as pd
    alloc = pd.read_csv(out / "allocation.csv")
    assert (alloc["posts_added"] == 0).all()
    assert (alloc["gain"] == 0).all()
    assert (alloc["posts_after"] == alloc["posts_now"]).all()


def test_local_pool_and_dask_cluster_identical(state_file, tmp_path):
    import distributed
    st = load_state(state_file)
    a, b, c = tmp_path / "local", tmp_path / "dask", tmp_path / "inline"
    pool = LocalExecutor(2)
    try:
        run_state(st, a, pool, plots=False)
    finally:
        pool.close()
    run_state(st, c, InlineExecutor(), plots=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, host="127.0.0.1",
                                  protocol="tcp", dashboard_address=":0") as cluster:
        ex = DaskExecutor(cluster.scheduler_address)
        try:
            run_state(st, b, ex, plots=False)
        finally:
            ex.close()
    for name in OUTPUTS:
        assert read(a / name) == read(b / name) == read(c / name), name


def test_resume_reuses_finished_units(state_file, tmp_path):
    st = load_state(state_file)
    out = tmp_path / "out"
    # An interrupted run: its finished units are in out.partial/units.
    work = partial_dir(out)
    run_state(st, tmp_path / "whole", InlineExecutor(), plots=False)
    evaluate(st, InlineExecutor(), Checkpoint(work, {"fingerprint": st.fingerprint()}).open(resume=False))
    with pytest.raises(StateError, match="--resume"):
        run_state(st, out, InlineExecutor(), plots=False)
    run = run_state(st, out, InlineExecutor(), plots=False, resume=True)
    assert run.result.evaluation.units_run == 0 and run.result.evaluation.units_cached > 0
    for name in OUTPUTS:
        assert read(out / name) == read(tmp_path / "whole" / name), name


def test_resume_refuses_other_settings(state_file, tmp_path):
    st = load_state(state_file)
    out = tmp_path / "out"
    work = partial_dir(out)
    Checkpoint(work, {"fingerprint": st.fingerprint()}).open(resume=False)
    other = load_state(state_file, seed=5)
    with pytest.raises(StateError, match="different state file"):
        run_state(other, out, InlineExecutor(), plots=False, resume=True)


# --------------------------------------------------------------------------- bad state files


def bad(tmp_path, text: str) -> Path:
    (tmp_path / "a.yaml").write_text(PROGRAM_A)
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("change, expected", [
    (("scenario: a.yaml", "scenario: nowhere.yaml"),
     "bad.yaml: programs[0].scenario: 'nowhere.yaml': no such scenario file"),
    (("budget: {posts: 2}", "budget: {posts: -1}"),
     "bad.yaml: budget.posts: -1: Input should be greater than or equal to 0"),
    (("  - name: b\n", "  - name: a\n"),
     "bad.yaml: programs[1].name: 'a': duplicate program name (also programs[0])"),
    (("replications: 4", "replications: 4\nbudgett: 3"),
     "bad.yaml: budgett: 3: unknown field"),
    (("objective: employed_within_18_months", "objective: happiness"),
     "bad.yaml: objective: 'happiness': unknown objective"),
])
def test_bad_state_file_one_line_exit_2(tmp_path, change, expected):
    path = bad(tmp_path, STATE.replace(*change))
    out = tmp_path / "out"
    res = invoke("state", path, "--out", out)
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    assert lines[0].startswith(str(tmp_path / expected.split(":")[0]) + expected[len(expected.split(":")[0]):]), lines
    assert "Traceback" not in res.output
    assert not out.exists() and not partial_dir(out).exists()


def test_foreign_files_in_out_are_never_replaced(state_file, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("a user's file")
    res = invoke("state", state_file, "--out", out, "--workers", 1)
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1 and "ips-sim did not write" in res.output
    assert (out / "notes.txt").read_text() == "a user's file" and not partial_dir(out).exists()


def test_negative_budget_option_exit_2(state_file, tmp_path):
    res = invoke("state", state_file, "--budget", -3, "--out", tmp_path / "o")
    assert res.exit_code == 2
    assert res.output.strip() == "--budget: -3.0: must be a number >= 0"


def test_example_state_is_valid():
    st = load_state(REPO / "scenarios" / "state" / "example_state.yaml")
    assert len(st.programs) >= 12
    sizes = {p.posts_now for p in st.programs}
    rates = {p.scenario.referrals.rate_per_month for p in st.programs}
    assert len(sizes) >= 4 and len(rates) >= 8
    assert any(p.new for p in st.programs)
