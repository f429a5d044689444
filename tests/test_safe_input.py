"""Hostile and mistaken input (issue 15): each case found by hand, refused with one clear line or made safe.

YAML (duplicate keys, tags, aliases, depth, size), strict numbers, safe names,
bounded money, the work estimate, sweep point counts, error-line length and
plan targets on metrics that never apply. Expected outcomes come from the
rules in the issue, not from the program's output.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import get_origin

import pytest
from click.testing import CliRunner

from ips_sim.config import DAYS_PER_MONTH, MAX_MONEY, ScenarioError, load_scenario, scenario_from_dict, workload
from ips_sim.core.errors import MAX_LINE
from ips_sim.core.names import name_problem, safe_name
from ips_sim.core.safe_yaml import YAMLInputError, load_yaml_text
from ips_sim.studies.state import load_state
from ips_sim.studies.sweep import MAX_POINTS, SweepError, load_sweep
from ips_sim.ui.cli import main

TINY = "simulation:\n  horizon_years: 0.1\n  warmup_years: 0\n  replications: 2\n"
# Not a timing test (speed is measured by benchmarks): the cases below used to run for minutes or
# for ever; a refusal within this bound, even on a loaded CI machine, shows the limit is checked early.
HANG = 15.0
BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")))


def _invoke(args, cwd=None, monkeypatch=None):
    if cwd is not None:
        monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, [str(a) for a in args])


def _refused(result) -> list[str]:
    """The stderr lines of a clean refusal: exit 2, no traceback, nothing on stdout, every line bounded."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and result.stdout == ""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines and all(len(ln) <= MAX_LINE for ln in lines), lines
    return lines


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8") if isinstance(text, str) else p.write_bytes(text)
    return p


# --------------------------------------------------------------------------- YAML


def test_duplicate_keys_name_the_key_and_every_line(tmp_path):
    p = _write(tmp_path, "dup.yaml", "team:\n  specialists: 5\nreferrals:\n  rate_per_month: 2\n"
                                     "  rate_per_month: 3\nteam:\n  specialists: 2\n")
    lines = _refused(_invoke(["validate", p]))
    assert lines == [
        f"{p}: team: duplicate key on lines 1 and 6: give each key once (YAML would silently keep only the last)",
        f"{p}: referrals.rate_per_month: duplicate key on lines 4 and 5: give each key once "
        "(YAML would silently keep only the last)"]


@pytest.mark.parametrize("text, tag", [
    ("description: !!binary aGVsbG8=\n", "!!binary"),
    ("description: !!python/object/apply:os.system ['echo pwned']\n", "!!python/object/apply:os.system"),
    ("team: !include other.yaml\n", "!include"),
    ("team:\n  specialists: !!int '3'\n", "!!int"),
])
def test_tags_are_refused(tmp_path, text, tag):
    p = _write(tmp_path, "tag.yaml", text)
    lines = _refused(_invoke(["validate", p]))
    assert len(lines) == 1 and lines[0].startswith(f"{p}: line ") and f"YAML tag {tag} is not allowed" in lines[0]


def test_alias_bomb_refused_fast_in_one_line(tmp_path):
    p = _write(tmp_path, "bomb.yaml", BOMB)
    assert len(BOMB) < 400
    t = time.perf_counter()
    lines = _refused(_invoke(["validate", p]))
    assert time.perf_counter() - t < HANG
    assert len(lines) == 1 and "aliases are expanded" in lines[0]


def test_recursive_alias_refused(tmp_path):
    p = _write(tmp_path, "rec.yaml", "referrals:\n  schedule: &s [*s]\n")
    lines = _refused(_invoke(["validate", p]))
    assert len(lines) == 1 and "recursive alias" in lines[0]


def test_plain_aliases_and_merge_keys_still_work():
    doc = load_yaml_text("base: &b {specialists: 3, caseload_cap: 20}\nteam:\n  <<: *b\n  caseload_cap: 15\n")
    assert doc["team"] == {"specialists": 3, "caseload_cap": 15}


@pytest.mark.parametrize("text", ["description: " + "[" * 2000 + "]" * 2000 + "\n",
                                  "".join("  " * i + f"k{i}:\n" for i in range(500)) + "  " * 500 + "v\n"])
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path, text):
    p = _write(tmp_path, "deep.yaml", text)
    t = time.perf_counter()
    lines = _refused(_invoke(["validate", p]))
    assert time.perf_counter() - t < HANG
    assert len(lines) == 1 and "nested more than" in lines[0]


def test_oversized_file_refused_before_parsing(tmp_path):
    p = _write(tmp_path, "big.yaml", "description: '" + "x" * 2_000_000 + "'\n")
    lines = _refused(_invoke(["validate", p]))
    assert len(lines) == 1 and "bytes" in lines[0]


def test_huge_list_is_echoed_briefly(tmp_path):
    p = _write(tmp_path, "list.yaml", "team:\n  specialists: [" + ", ".join(["1"] * 10_000) + "]\n")
    lines = _refused(_invoke(["validate", p]))
    assert len(lines) == 1
    assert lines[0].startswith(f"{p}: team.specialists: [1, 1,") and "10,000 items" in lines[0]
    assert len(lines[0]) < 500


def test_non_utf8_and_nul_bytes(tmp_path):
    bad = _write(tmp_path, "latin1.yaml", "description: caf\xe9\n".encode("latin-1"))
    nul = _write(tmp_path, "nul.yaml", b"description: a\x00b\n")
    lines = _refused(_invoke(["validate", bad, nul]))
    assert len(lines) == 2 and "not UTF-8" in lines[0] and "unacceptable character" in lines[1]


def test_scalars_follow_yaml_1_2_and_dates_stay_text():
    doc = load_yaml_text("a: 010\nb: 1:30\nc: 1e9\nd: 0x1F\ne: 0o17\nf: 1_000\ng: 2026-01-01\nh: yes\ni: '007'\n"
                         "j: 2026-01-01 10:00:00\n")
    assert doc == {"a": 10, "b": "1:30", "c": 1e9, "d": 31, "e": 15, "f": 1000, "g": "2026-01-01", "h": True,
                   "i": "007", "j": "2026-01-01 10:00:00"}


def test_overlong_integer_refused_without_python_int_limit_crash():
    with pytest.raises(YAMLInputError) as e:
        load_yaml_text("seed: " + "9" * 5000 + "\n", "x.yaml")
    assert e.value.messages == ["x.yaml: line 1, column 7: a number with 5,000 digits is too long"]


def test_sweep_base_pointing_at_a_system_file_does_not_print_it(tmp_path):
    secret = _write(tmp_path, "passwd", "root:x:0:0:root:/root:/bin/bash\n" * 40)
    sweep = _write(tmp_path, "s.yaml", f"base: {secret}\ngrid:\n  team.specialists: 1..2\n")
    lines = _refused(_invoke(["sweep", sweep]))
    assert len(lines) == 1 and "root:x" not in lines[0] and "a scenario must be a mapping" in lines[0]


# --------------------------------------------------------------------------- strict numbers


def _numeric_paths() -> list[str]:
    from ips_sim.config import Scenario

    out = []
    for section, f in Scenario.model_fields.items():
        model = f.annotation
        for name, g in getattr(model, "model_fields", {}).items():
            args = getattr(g.annotation, "__args__", None) or (g.annotation,)
            if get_origin(g.annotation) is not dict and any(a in (int, float) for a in args):
                out.append(f"{section}.{name}")
    return out


@pytest.mark.parametrize("path", _numeric_paths())
@pytest.mark.parametrize("word", ["true", "yes", "false"])
def test_booleans_are_not_numbers_in_any_numeric_field(path, word):
    section, field = path.split(".")
    raw = load_yaml_text(f"{section}:\n  {field}: {word}\n")
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(raw, "b.yaml")
    assert e.value.messages[0] == f"b.yaml: {path}: {word in ('true', 'yes')}: a number is expected, not true/false"


def test_booleans_refused_in_schedules_shares_and_sweep_grids(tmp_path):
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(load_yaml_text("referrals:\n  schedule: [{from_month: true, rate_per_month: 3}]\n"), "s")
    assert "referrals.schedule.0.from_month: True: a number is expected" in e.value.messages[0]
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict({"jobs": {"end_reason_shares": {"quit": True, "fired": 0}}}, "s")
    assert "jobs.end_reason_shares" in e.value.messages[0] and "not true/false" in e.value.messages[0]
    base = _write(tmp_path, "base.yaml", TINY)
    sweep = _write(tmp_path, "g.yaml", "base: base.yaml\ngrid:\n  team.specialists: [true, 2]\n")
    with pytest.raises(SweepError) as e:
        load_sweep(sweep)
    assert e.value.messages == [f"{sweep}: grid.team.specialists: True: a number is expected, not true/false"]
    assert base.exists()


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", [".", "..", "../x", "a/b", "a\\b", "x" * 101, "x" * 245, "é" * 150, ".hidden",
                                  "-rf", "x.partial", "new\nline", "nul\x00", "", "a b", "a:b", "\x1b[31m"])
def test_unsafe_names_are_refused_before_anything_runs(tmp_path, monkeypatch, name):
    p = tmp_path / "n.yaml"
    import yaml
    p.write_text(yaml.safe_dump({"name": name, **load_yaml_text(TINY)}), encoding="utf-8")
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "earlier_result").mkdir()
    (outputs / "earlier_result" / "summary.csv").write_text("keep")
    lines = _refused(_invoke(["run", p, "-q", "--no-plots"], tmp_path, monkeypatch))
    assert len(lines) == 1 and lines[0].startswith(f"{p}: name: ") and "folder name" in lines[0]
    assert sorted(x.name for x in tmp_path.iterdir()) == ["n.yaml", "outputs"]
    assert [x.name for x in outputs.iterdir()] == ["earlier_result"]
    assert (outputs / "earlier_result" / "summary.csv").read_text() == "keep"


@pytest.mark.parametrize("stem, expected", [("my scenario", "my_scenario"), ("café", "café"), ("a+b", "a_b"),
                                            (".", "scenario"), ("-x", "x"), ("x.partial", "x_partial"),
                                            ("日本語", "日本語"), ("a" * 150, "a" * 100)])
def test_names_from_file_names_are_made_safe(tmp_path, monkeypatch, stem, expected):
    p = tmp_path / f"{stem}.yaml"
    p.write_text(TINY, encoding="utf-8")
    assert load_scenario(p).name == expected
    assert name_problem(expected) is None
    result = _invoke(["run", p, "-q", "--no-plots"], tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "outputs" / expected / "summary.csv").is_file()


def test_dotdot_yaml_file_runs_into_its_own_folder_not_outputs(tmp_path, monkeypatch):
    """A file named ``..yaml`` once replaced the whole outputs/ folder; now it runs into outputs/scenario/."""
    outputs = tmp_path / "outputs"
    (outputs / "earlier").mkdir(parents=True)
    (outputs / "earlier" / "summary.csv").write_text("keep")
    p = _write(tmp_path, "..yaml", TINY)
    result = _invoke(["run", p, "-q", "--no-plots"], tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert (outputs / "earlier" / "summary.csv").read_text() == "keep"
    assert sorted(x.name for x in outputs.iterdir()) == ["earlier", "scenario"]


def test_safe_name_always_gives_a_valid_name():
    for text in ["", ".", "..", "...", "-", "_", "a/b/../c", "\x00", "x" * 1000, "é" * 300, "ﬁ", "e\u0301"]:
        assert name_problem(safe_name(text)) is None, text


def test_unsafe_sweep_name_refused(tmp_path):
    _write(tmp_path, "base.yaml", TINY)
    sweep = _write(tmp_path, "s.yaml", "name: '..'\nbase: base.yaml\ngrid:\n  team.specialists: 1..2\n")
    with pytest.raises(SweepError) as e:
        load_sweep(sweep)
    assert len(e.value.messages) == 1 and e.value.messages[0].startswith(f"{sweep}: name: '..': starts with '.'")
    odd = _write(tmp_path, "my sweep+1.yaml", "base: base.yaml\ngrid:\n  team.specialists: 1..2\n")
    assert load_sweep(odd).name == "my_sweep_1"


# --------------------------------------------------------------------------- money and bounds


def test_money_fields_bounded_and_the_largest_allowed_costs_stay_finite():
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict({"costs": {"specialist_cost_per_fte_year": 1e308}}, "c")
    assert "less than or equal to 1000000000" in e.value.messages[0]
    sc = scenario_from_dict({**load_yaml_text(TINY), "team": {"specialists": 1000, "caseload_cap": 1000},
                             "supervision": {"specialists_per_supervisor": 1000, "supervisor_fte": 5},
                             "costs": {"specialist_cost_per_fte_year": MAX_MONEY, "supervisor_cost_per_fte_year":
                                       MAX_MONEY, "fixed_cost_per_year": MAX_MONEY,
                                       "cost_per_member_month": MAX_MONEY},
                             "jobs": {"hourly_wage_mean": MAX_MONEY, "hourly_wage_min": MAX_MONEY}}, "c")
    from ips_sim.runner.experiment import run_replications
    metrics, _ = run_replications(sc, 2, 1, keep_records=False)
    for m in metrics:
        assert not any(math.isinf(v) for v in m.values()), {k: v for k, v in m.items() if math.isinf(v)}


@pytest.mark.parametrize("text, field", [
    ("referrals:\n  rate_per_month: 100000\n", "referrals.rate_per_month"),
    ("referrals:\n  rate_per_month: 1e9\n", "referrals.rate_per_month"),
    ("referrals:\n  cohort_size: 1000000\nteam:\n  specialists: 1000\n", "referrals.cohort_size"),
    ("referrals:\n  schedule: [" + ", ".join(f"{{from_month: {i}, rate_per_month: 1}}" for i in range(2000)) + "]\n",
     "referrals.schedule"),
])
def test_rates_beyond_what_the_model_can_do_are_refused_quickly(tmp_path, text, field):
    p = _write(tmp_path, "big.yaml", text)
    t = time.perf_counter()
    lines = _refused(_invoke(["run", p, "--out", tmp_path / "out", "-q"]))
    assert time.perf_counter() - t < HANG
    assert any(ln.startswith(f"{p}: {field}: ") for ln in lines), lines
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- work estimate


def test_expected_referrals_is_the_integral_of_the_rate():
    sc = scenario_from_dict({"simulation": {"horizon_years": 10, "warmup_years": 1},
                             "referrals": {"rate_per_month": 2, "cohort_size": 50,
                                           "schedule": [{"from_month": 24, "rate_per_month": 4}]}}, "w")
    months = sc.horizon_days / DAYS_PER_MONTH   # 120
    assert workload.expected_referrals(sc) == pytest.approx(50 + 2 * 24 + 4 * (months - 24))


def test_work_over_the_limit_refused_with_estimate_and_limit(tmp_path):
    p = _write(tmp_path, "busy.yaml", "referrals:\n  rate_per_month: 10000\n")
    t = time.perf_counter()
    lines = _refused(_invoke(["run", p, "--out", tmp_path / "out", "-q"]))
    assert time.perf_counter() - t < HANG
    assert len(lines) == 2
    assert lines[0].startswith(f"{p}: about 1,800,000 referrals in one replication: at most 1,000,000")
    assert "estimated 90 minutes of CPU time" in lines[1] and "the limit is 60 minutes" in lines[1]
    assert all("--force" in ln for ln in lines)
    assert not (tmp_path / "out").exists()


def test_force_skips_the_work_limit():
    sc = scenario_from_dict({"referrals": {"rate_per_month": 10000}}, "w")
    with pytest.raises(workload.WorkTooLarge):
        workload.check_scenario(sc, 30, "w")
    workload.check_scenario(sc, 30, "w", force=True)


def test_sweep_and_plan_work_is_estimated_over_every_point(tmp_path):
    _write(tmp_path, "base.yaml", "referrals:\n  rate_per_month: 2000\n")
    sweep = _write(tmp_path, "s.yaml", "base: base.yaml\nreplications: 30\ngrid:\n  team.specialists: 1..20\n")
    lines = _refused(_invoke(["sweep", sweep, "--out", tmp_path / "o"]))
    assert len(lines) == 1 and "600 replications" in lines[0] and "--force" in lines[0]
    lines = _refused(_invoke(["plan", tmp_path / "base.yaml", "--vary", "team.specialists=1..20",
                              "--target", "mean_wait_days<=30", "-n", "30"]))
    assert len(lines) == 1 and "4,800 replications" in lines[0]


def test_trial_and_state_work_is_estimated_before_anything_runs(tmp_path):
    p = _write(tmp_path, "ips.yaml", "name: ips\n")
    lines = _refused(_invoke(["trial", p, "--n-per-arm", "1000", "--replications", "100000", "--out", tmp_path / "t"]))
    assert len(lines) == 1 and "200,000 replications" in lines[0] and "--force" in lines[0]  # two arms
    assert not (tmp_path / "t").exists() and not (tmp_path / "t.partial").exists()
    state = str(Path(__file__).resolve().parent.parent / "scenarios" / "state" / "example_state.yaml")
    st = load_state(state)
    cells = sum(1 for prog in st.programs for level in prog.levels if level)  # program x staffing level
    lines = _refused(_invoke(["state", state, "-n", "50000", "--max-replications", "50000", "--out", tmp_path / "s"]))
    assert len(lines) == 1 and f"{cells * 50000:,} replications" in lines[0] and "--force" in lines[0]
    assert not (tmp_path / "s").exists()


def test_sweep_of_a_million_explicit_points_refused_fast(tmp_path):
    _write(tmp_path, "base.yaml", TINY)
    body = "base: base.yaml\npoints:\n" + "- {team.specialists: 1}\n" * 1_000_000
    sweep = _write(tmp_path, "s.yaml", body)
    t = time.perf_counter()
    with pytest.raises(SweepError) as e:
        load_sweep(sweep)
    assert time.perf_counter() - t < HANG
    assert len(e.value.messages) == 1 and "bytes" in e.value.messages[0]


def test_points_counted_before_any_is_built(tmp_path, monkeypatch):
    _write(tmp_path, "base.yaml", TINY)
    monkeypatch.setattr("ips_sim.studies.sweep.sweepfile.MAX_POINTS", 50)
    n = 51
    sweep = _write(tmp_path, "s.yaml", "base: base.yaml\npoints: [" + ", ".join(["{team.specialists: 1}"] * n) + "]\n")
    with pytest.raises(SweepError) as e:
        load_sweep(sweep)
    assert e.value.messages == [f"{sweep}: points: {n:,} points: at most 50 points"]
    monkeypatch.undo()
    grid = _write(tmp_path, "g.yaml", "base: base.yaml\ngrid:\n  team.specialists: [" + ", ".join(
        str(i) for i in range(1, 201)) + "]\n  team.caseload_cap: [" + ", ".join(str(i) for i in range(1, 201)) + "]\n")
    t = time.perf_counter()
    with pytest.raises(SweepError) as e:
        load_sweep(grid)
    assert time.perf_counter() - t < HANG
    assert e.value.messages == [f"{grid}: grid: 40,000 points: at most {MAX_POINTS:,} points"]


# --------------------------------------------------------------------------- error lines


def test_every_echoed_value_is_bounded(tmp_path):
    text = ("k" * 1000 + ": 1\nname: '" + "n" * 50_000 + "'\ndescription: 3\n"
            "jobs:\n  end_reason_shares: {" + ", ".join(f"r{i}: 0.1" for i in range(5000)) + "}\n")
    p = _write(tmp_path, "long.yaml", text)
    lines = _refused(_invoke(["validate", p]))
    assert len(lines) >= 3
    assert all(len(ln) < 700 for ln in lines), [len(ln) for ln in lines]


# --------------------------------------------------------------------------- plan


def test_plan_target_on_a_metric_that_never_applies(tmp_path):
    """Without turnover no member is affected by a staff change: the metric is empty, not "too close to call"."""
    p = _write(tmp_path, "p.yaml", TINY + "turnover:\n  enabled: false\n")
    result = _invoke(["plan", p, "--vary", "team.specialists=1..2", "--target", "ever_employed_rate_affected>=0.5",
                      "-n", "2", "--max-replications", "8", "--workers", "1"])
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("ever_employed_rate_affected does not apply to this scenario: it has no value in any "
                            "of the 4 replications"), first
    assert "too close" not in result.stdout and "raise --max-replications" not in result.stdout


def test_infinite_results_are_named_not_dropped():
    from ips_sim.analysis.metrics import infinite_metrics

    rows = [{"cost_per_placement": 1.0, "mean_wait_days": math.nan},
            {"cost_per_placement": math.inf, "mean_wait_days": 3.0}]
    assert infinite_metrics(rows) == ["cost_per_placement is infinite in 1 of 2 replications (first: replication 1)"]
    assert infinite_metrics(rows[:1]) == []


def test_a_long_message_line_keeps_the_file_at_its_start_and_what_is_allowed_at_its_end():
    """However deep the folder, the one line still names the file and ends with what is allowed."""
    from ips_sim.core.errors import MAX_LINE, UserError
    path = "/tmp/" + "deep/" * 200 + "n.yaml"
    allowed = "a name is used as a folder name: 1 to 100 letters, digits, '_', '-' or '.'"
    (line,) = UserError(f"{path}: name: 'x': {allowed}").messages
    assert len(line) <= MAX_LINE and line.startswith("/tmp/deep/") and line.endswith(allowed)
    assert "characters left out" in line
