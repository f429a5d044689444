"""The board report builds from a run, a sweep, a plan and a comparison; every section; no external requests."""

from __future__ import annotations

import re
import subprocess
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from conftest import IPS_SIM, REPO

# The tests here share module-scoped fixtures: make test keeps them on one worker (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("board_report")

CORE = ("question", "answer", "scenario", "assumptions", "reproduce")
MD_CORE = ("## The question", "## The answer", "## The scenario in plain words", "## Assumptions and their sources",
           "## How to reproduce this report")
# A snake_case identifier not in a file path (tests/x_y.py, calibration/a_b.yaml stay allowed).
SNAKE = re.compile(r"(?<![\w/.])[a-z]+(?:_[a-z0-9]+)+(?![\w/]|\.(?:yaml|csv|py|png|md|json)\b)")


def _visible_text(html: str) -> str:
    """The text a reader sees, without the reproduction block (a command line, ids on purpose)."""
    html = re.sub(r'<section id="reproduce">.*?</section>', "", html, flags=re.S)
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", html, flags=re.S)
    html = re.sub(r'src="data:[^"]*"', "", html)
    return re.sub(r"<[^>]+>", " ", html)


def _sections(html: str) -> dict[str, str]:
    return dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', html, flags=re.S))


SMALL = """
name: {name}
{extra}
simulation:
  horizon_years: 4
  warmup_years: 1
  replications: 3
team:
  specialists: {specialists}
"""


def _cli(*args, cwd=None):
    return subprocess.run([str(IPS_SIM), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    for name, specialists, extra in (("us", 2, "arm: usual_services"), ("two", 2, ""), ("three", 3, "")):
        (d / f"{name}.yaml").write_text(SMALL.format(name=name, specialists=specialists, extra=extra))
    (d / "sweep.yaml").write_text(f"name: tiny\nbase: {d / 'two.yaml'}\nreplications: 3\n"
                                  "grid:\n  team.specialists: [2, 3]\n")
    out = {}
    steps = {
        "run": ["run", d / "two.yaml", "--out", d / "run", "-q"],
        "sweep": ["sweep", d / "sweep.yaml", "--out", d / "sweep", "-w", "1"],
        "plan": ["plan", d / "two.yaml", "--vary", "team.specialists=1..3", "--target", "mean_wait_days<=60",
                 "-n", "3", "--max-replications", "6", "-w", "1", "--out", d / "plan", "-q"],
        "comparison": ["compare", d / "us.yaml", d / "two.yaml", d / "three.yaml", "-n", "6",
                       "--parameter-uncertainty", "--out", d / "cmp", "-q"],
    }
    for kind, args in steps.items():
        r = _cli(*args)
        assert r.returncode == 0, r.stderr
        out[kind] = Path(args[args.index("--out") + 1])
    return out


@pytest.mark.parametrize("kind", ["run", "sweep", "plan", "comparison"])
def test_report_builds_every_section_with_content_and_no_external_requests(folders, kind):
    r = _cli("report", folders[kind])
    assert r.returncode == 0, r.stderr
    html = (folders[kind] / "report.html").read_text(encoding="utf-8")
    md = (folders[kind] / "report.md").read_text(encoding="utf-8")
    sections = _sections(html)
    for s in CORE:
        assert s in sections, s
    for h in MD_CORE:
        assert h in md, h
    # every section present has content beyond its heading (a table, a paragraph, a list or a figure) and no
    # placeholder pointing elsewhere
    for name, body in sections.items():
        rest = re.sub(r"<h2>.*?</h2>", "", body, flags=re.S)
        assert re.search(r"<(table|p|ul|figure|details)\b", rest), name
        assert "this folder has none" not in rest and "comparison below" not in rest, name
    # self-contained: nothing fetched from elsewhere (every src/href is a data URI or an in-page anchor)
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)["\']', html, flags=re.I)
    assert all(ref.startswith(("data:", "#")) for ref in refs), refs
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", html, flags=re.I)
    assert "@import" not in html and "url(http" not in html
    assert "{{" not in html and "{%" not in html


@pytest.mark.parametrize("kind", ["run", "sweep", "plan", "comparison"])
def test_report_text_has_no_internal_names(folders, kind):
    """Plain words for people: no snake_case ids outside the reproduction block, no project history, no -0."""
    _cli("report", folders[kind])
    html = (folders[kind] / "report.html").read_text(encoding="utf-8")
    text = _visible_text(html)
    assert not SNAKE.findall(text), sorted(set(SNAKE.findall(text)))[:20]
    md = (folders[kind] / "report.md").read_text(encoding="utf-8")
    md = md[:md.index("## How to reproduce")] + md[md.index("## Appendix") if "## Appendix" in md else len(md):]
    assert not SNAKE.findall(md), sorted(set(SNAKE.findall(md)))[:20]
    for bad in ("from memory", "unverified", "issue 10", "(issue", "commit ", "-0.00", "$-"):
        assert bad not in text, bad


def test_printed_run_summary_speaks_plain_words(tmp_path, folders):
    sc = folders["run"].parent / "two.yaml"
    r = _cli("run", sc, "--out", tmp_path / "run", "-n", 2, "--no-plots")
    assert r.returncode == 0, r.stderr
    body = [ln for ln in r.stdout.splitlines()[1:] if not ln.strip().startswith("(every figure")]
    text = "\n".join(body)
    assert not SNAKE.findall(text), SNAKE.findall(text)[:10]
    assert "Program cost per year" in text and "Referrals received" in text
    assert "observed years after a 1-year warm-up" in text  # the period the counts cover
    money = [ln for ln in body if "Program cost per year" in ln][0]
    assert re.search(r"\$\d{1,3}(,\d{3})+", money), money  # thousands separators


def test_usual_services_description_names_no_specialists(folders):
    import json

    from ips_sim.reporting.wording import scenario_words

    man = json.loads((folders["comparison"] / "manifest.json").read_text(encoding="utf-8"))
    words = {name: scenario_words(sc) for name, sc in man["scenarios"].items()}
    assert "specialist" not in words["us"] and "supervisor" not in words["us"], words["us"]
    assert "per member-month" in words["us"]
    assert "2 employment specialists" in words["two"] and "supervisor" in words["two"]


def test_plan_has_cost_columns_in_its_table_csv_and_report(folders):
    import pandas as pd

    p = pd.read_csv(folders["plan"] / "plan.csv")
    for col in ("cost_per_year", "people_employed_per_year", "cost_per_additional_person_employed",
                "budget_over_horizon"):
        assert col in p.columns, col
    per_value = p.drop_duplicates(p.columns[0])
    assert (per_value.cost_per_year > 0).all()
    # the budget is the cost per year over the 3 observed years (4-year horizon, 1 of warm-up); plan.csv
    # rounds both to whole dollars, so they agree to 3 x 0.5 + 0.5 = 2 dollars
    assert (abs(per_value.budget_over_horizon - 3 * per_value.cost_per_year) <= 2.0).all()
    assert (folders["plan"] / "plan.txt").read_text(encoding="utf-8").count("cost per year") >= 1
    _cli("report", folders["plan"])
    html = (folders["plan"] / "report.html").read_text(encoding="utf-8")
    assert "cost per year (USD 2024)" in html and "budget over 3 years" in html
    assert "cost per additional person employed" in html


def test_checklists_answer_every_item(folders):
    _cli("report", folders["comparison"])
    for name, items in (("stress_des.md", 24), ("cheers_2022.md", 28)):
        text = (folders["comparison"] / name).read_text(encoding="utf-8")
        rows = [ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("| item")]
        assert len(rows) == items, (name, len(rows))
        for row in rows:
            answer = row.rstrip(" |").rsplit(" | ", 1)[-1].strip()
            assert len(answer) > 10, row  # an answer, or "Not applicable"/"Not reported" with the reason
            if answer.startswith(("Not applicable", "Not reported")):
                assert ":" in answer, row
    html = (folders["comparison"] / "report.html").read_text(encoding="utf-8")
    assert "STRESS-DES" in html and "CHEERS 2022" in html
    _cli("report", folders["run"])
    assert (folders["run"] / "stress_des.md").exists()


def test_budget_impact_by_hand():
    """Two options, two years: differences, running total and discounting derived by hand."""
    import pandas as pd

    from ips_sim.economics.budget_impact import budget_impact

    df = [1.0, 1 / 1.03]
    cur = pd.DataFrame({"year": [1, 2], "service_cost": [100.0, 110.0], "members_served": [10.0, 12.0],
                        "people_employed": [2.0, 3.0], "discount_factor": df})
    new = pd.DataFrame({"year": [1, 2], "service_cost": [150.0, 170.0], "members_served": [11.0, 13.0],
                        "people_employed": [4.0, 6.0], "discount_factor": df})
    t = budget_impact([cur, new], ["cur", "new"], ["Current", "New"], 0)
    rows = t[t.option == "new"].set_index("year")
    assert rows.loc["1", "cost_vs_comparator"] == 50.0 and rows.loc["2", "cost_vs_comparator"] == 60.0
    assert rows.loc["2", "cumulative_vs_comparator"] == 110.0
    assert rows.loc["total", "cost"] == 320.0
    assert abs(rows.loc["total", "cost_discounted"] - (150.0 + 170.0 / 1.03)) < 1e-9
    assert t[t.option == "cur"].cost_vs_comparator.fillna(0).eq(0).all()


def test_budget_impact_adds_up_to_the_discounted_totals_of_the_comparison(folders):
    """3 observed years: the budget impact's discounted total is 3 x the discounted cost per program-year."""
    import pandas as pd

    bia = pd.read_csv(folders["comparison"] / "budget_impact.csv", dtype={"year": str})
    comp = pd.read_csv(folders["comparison"] / "comparison.csv")
    for option in ("us", "two", "three"):
        total = bia[(bia.option == option) & (bia.year == "total")].iloc[0]
        years = bia[(bia.option == option) & (bia.year != "total")]
        assert len(years) == 3
        assert abs(total.cost_discounted - years.cost_discounted.sum()) < 1e-5 * total.cost_discounted  # CSV: 6 digits
        per_year = comp[(comp.option == option) & (comp.metric == "service_cost")].iloc[0]["mean"]
        assert abs(total.cost_discounted - 3 * per_year) < 1e-4 * total.cost_discounted, option
    _cli("report", folders["comparison"])
    html = (folders["comparison"] / "report.html").read_text(encoding="utf-8")
    assert '<section id="budget-impact">' in html and "not discounted" in html


def test_comparison_report_has_the_incremental_table_plots_and_currency(folders):
    _cli("report", folders["comparison"])
    html = (folders["comparison"] / "report.html").read_text(encoding="utf-8")
    assert "cost per additional person employed" in html
    assert "USD 2024" in html
    for plot in ("Cost and people employed", "best buy", "Incremental cost against"):
        assert plot in html
    assert html.count("data:image/png;base64,") >= 4
    for name in ("comparison.csv", "incremental.csv", "icers.csv", "budget.csv", "ceac.csv", "evpi.csv"):
        assert (folders["comparison"] / name).exists(), name


def test_run_report_shows_costs_in_the_price_year_and_the_budget(folders):
    _cli("report", folders["run"])
    md = (folders["run"] / "report.md").read_text(encoding="utf-8")
    assert "program cost per year" in md and "USD 2024" in md
    assert "Budget per year" in md
    summary = (folders["run"] / "summary.csv").read_text(encoding="utf-8")
    assert "program_cost_per_year,USD 2024" in summary and ",money," not in summary


def test_report_of_a_folder_without_results_is_one_clear_error(tmp_path):
    r = _cli("report", tmp_path)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "no results found" in r.stderr
    assert not (tmp_path / "report.html").exists()
    r = _cli("report", tmp_path / "missing")
    assert r.returncode == 2 and "no such folder" in r.stderr


def test_compare_bad_input_is_one_line_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncosts:\n  price_year: 1800\n")
    r = _cli("compare", bad, "--out", tmp_path / "out")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "costs.price_year" in r.stderr
    assert not (tmp_path / "out").exists()


def test_templates_are_package_data():
    """pyproject ships the templates (tests/test_packaging.py also builds a report from an installed wheel)."""
    with open(REPO / "pyproject.toml", "rb") as f:
        data = tomllib.load(f)["tool"]["setuptools"]["package-data"]["ips_sim.reporting"]
    assert any(fnmatch(name, pattern) for pattern in data for name in ("templates/report.html.j2",))
    assert any(fnmatch(name, pattern) for pattern in data for name in ("templates/report.md.j2",))
    assert (REPO / "ips_sim" / "reporting" / "templates" / "report.html.j2").exists()
    assert (REPO / "ips_sim" / "reporting" / "templates" / "report.md.j2").exists()


def test_report_builds_from_a_state_folder(tmp_path):
    """`ips-sim report` on an `ips-sim state` folder: the allocation, the gain and the state's plots."""
    from test_state import PROGRAM_A, STATE

    (tmp_path / "a.yaml").write_text(PROGRAM_A)
    (tmp_path / "tiny_state.yaml").write_text(STATE)
    out = tmp_path / "state_out"
    r = _cli("state", tmp_path / "tiny_state.yaml", "--out", out, "--workers", 1, "-q")
    assert r.returncode == 0, r.stderr
    r = _cli("report", out)
    assert r.returncode == 0, r.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    for s in CORE:
        assert f'<section id="{s}">' in html, s
    assert not SNAKE.findall(_visible_text(html)), SNAKE.findall(_visible_text(html))[:10]
    assert "State-wide gain" in html and "posts added" in html
    assert html.count("data:image/png;base64,") >= 2  # frontier and gains, embedded
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)["\']', html, flags=re.I)
    assert all(ref.startswith(("data:", "#")) for ref in refs), refs


def test_county_report_answers_with_the_waiting_and_starts_from_today(tmp_path):
    """A program that starts today with people waiting: the answer gives the waiting and giving-up figures,
    the scenario says what today looks like, the budget is by calendar year."""
    out = tmp_path / "county"
    r = _cli("run", REPO / "scenarios" / "county_next_24_months.yaml", "-n", 3, "--out", out, "-q")
    assert r.returncode == 0, r.stderr
    assert _cli("report", out).returncode == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    answer = _sections(html)["answer"]
    assert "give up waiting" in answer and "enrolled within 30 days" in answer
    scenario = _sections(html)["scenario"]
    for words in ("12 people waiting", "1 of the 2 specialist posts vacant", "about 4.5 new referrals a month",
                  "rising about 29% a year", "1 July 2026"):
        assert words in scenario, words
    assert "Jul 2026 to Jun 2027" in html
    assert not SNAKE.findall(_visible_text(html))


def test_sensitivity_folder_reports_its_one_way_swings(tmp_path):
    out = tmp_path / "sens"
    r = _cli("sensitivity", REPO / "scenarios" / "two_specialists_38_members.yaml", "--outcome",
             "program_cost_per_year", "--trajectories", 2, "-n", 1, "-w", 1, "--out", out, "-q")
    assert r.returncode == 0, r.stderr
    assert _cli("report", out).returncode == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    sections = _sections(html)
    assert "sensitivity" in sections and "at the low end" in sections["sensitivity"]
    assert not SNAKE.findall(_visible_text(html)), SNAKE.findall(_visible_text(html))[:10]
