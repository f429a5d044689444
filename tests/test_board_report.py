"""The board report builds from a run, a sweep, a plan and a comparison; every section; no external requests."""

from __future__ import annotations

import re
import subprocess
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from conftest import IPS_SIM, REPO

SECTIONS = ("question", "answer", "scenario", "outcomes", "staffing", "incremental", "plots", "fidelity",
            "assumptions", "reproduce")
MD_HEADINGS = ("## The question", "## The answer", "## The scenario in plain words", "## Outcomes and costs",
               "## Staffing comparison", "## What the extra spending buys", "## Plots", "## Fidelity to the IPS model",
               "## Assumptions and their sources", "## How to reproduce this report")
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
def test_report_builds_with_every_section_and_no_external_requests(folders, kind):
    r = _cli("report", folders[kind])
    assert r.returncode == 0, r.stderr
    html = (folders[kind] / "report.html").read_text(encoding="utf-8")
    md = (folders[kind] / "report.md").read_text(encoding="utf-8")
    for s in SECTIONS:
        assert f'<section id="{s}">' in html, s
    for h in MD_HEADINGS:
        assert h in md, h
    # self-contained: nothing fetched from elsewhere (every src/href is a data URI or an in-page anchor)
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)["\']', html, flags=re.I)
    assert all(ref.startswith(("data:", "#")) for ref in refs), refs
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", html, flags=re.I)
    assert "@import" not in html and "url(http" not in html
    assert "{{" not in html and "{%" not in html


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
    for s in SECTIONS:
        assert f'<section id="{s}">' in html, s
    assert "State-wide gain" in html and "posts added" in html
    assert html.count("data:image/png;base64,") >= 2  # frontier and gains, embedded
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)["\']', html, flags=re.I)
    assert all(ref.startswith(("data:", "#")) for ref in refs), refs
