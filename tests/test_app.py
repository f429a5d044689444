"""The what-if app (ips_sim/ui/app.py).

The helpers (upload validation, levers, paired comparison, the ``ips-sim app``
command) are plain Python. The page itself is driven with
``streamlit.testing.v1.AppTest`` (Streamlit is part of the ``test`` install;
without it these tests skip, except under ``CI=true`` where they fail).
The real browser test is tests/test_browser.py.
"""

from __future__ import annotations

import importlib.util
import math

import pytest
from click.testing import CliRunner
from conftest import require

from ips_sim.config import ScenarioError
from ips_sim.ui import app
from ips_sim.ui.app import (
    LEVERS,
    apply_levers,
    comparison_table,
    default_scenario,
    lever_values,
    scenario_from_upload,
    simulate,
)

BAD_SCENARIO = b"""\
name: broken
team:
  specialists: 0
  caseload_kap: 20
time_use:
  allocation_policy: random
referrals:
  rate_per_month: -1
"""


# --------------------------------------------------------------------------- upload validation


def test_upload_valid_scenario_overlays_defaults():
    sc = scenario_from_upload(b"team:\n  specialists: 3\nreferrals:\n  rate_per_month: 4.5\n", "three.yaml")
    assert sc.name == "three"
    assert sc.team.specialists == 3
    assert sc.referrals.rate_per_month == 4.5
    assert sc.team.caseload_cap == default_scenario().team.caseload_cap  # left out: default


def test_upload_invalid_scenario_lists_every_error_line():
    with pytest.raises(ScenarioError) as info:
        scenario_from_upload(BAD_SCENARIO, "broken.yaml")
    lines = info.value.messages
    assert len(lines) == 4, lines
    assert all(line.startswith("broken.yaml: ") for line in lines)
    text = "\n".join(lines)
    for path in ("team.specialists", "team.caseload_kap", "time_use.allocation_policy", "referrals.rate_per_month"):
        assert path in text
    assert "unknown field" in text


@pytest.mark.parametrize("data, expected", [
    (b"team:\n  specialists: [1,\n", "YAML syntax error"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b"- just\n- a list\n", "must be a mapping"),
])
def test_upload_unreadable_file_is_one_error_line(data, expected):
    with pytest.raises(ScenarioError) as info:
        scenario_from_upload(data, "x.yaml")
    assert len(info.value.messages) == 1
    assert info.value.messages[0].startswith("x.yaml: ")
    assert expected in info.value.messages[0]


def test_yaml_syntax_error_names_line_and_column():
    with pytest.raises(ScenarioError) as info:
        scenario_from_upload("team:\n  specialists: 2\n   caseload_cap: 3\n", "x.yaml")
    assert "line 3, column" in info.value.messages[0]


# --------------------------------------------------------------------------- levers and comparison


def test_levers_round_trip_and_update():
    base = default_scenario()
    values = lever_values(base)
    assert set(LEVERS) <= set(values)
    assert apply_levers(base, values).model_dump() == base.model_dump()
    new = apply_levers(base, {"specialists": 4, "caseload_cap": 15, "referrals_per_month": 6.0, "fte": 0.5,
                              "allocation_policy": "proportional", "job_development_hours": 8.0,
                              "step_down": False, "replications": 7, "seed": 3})
    assert (new.team.specialists, new.team.caseload_cap, new.team.fte_per_specialist) == (4, 15, 0.5)
    assert new.referrals.rate_per_month == 6.0
    assert new.time_use.allocation_policy == "proportional"
    assert new.service.job_development_hours_per_week == 8.0
    assert new.follow_along.step_down_enabled is False
    assert (new.simulation.replications, new.simulation.seed) == (7, 3)


def test_bad_lever_value_is_a_scenario_error():
    with pytest.raises(ScenarioError) as info:
        apply_levers(default_scenario(), {"specialists": 0})
    assert "team.specialists" in info.value.messages[0]


def _short(updates=None):
    sc = default_scenario().with_updates({"simulation.horizon_years": 4, "simulation.warmup_years": 1})
    return apply_levers(sc, updates or {})


def test_comparison_with_common_random_numbers():
    base = _short()
    same = comparison_table(simulate(base.model_dump_json(), 5, 4)[0], simulate(base.model_dump_json(), 5, 4)[0])
    assert set(same["variant_is"]) <= {"same", "not enough data"}
    # One specialist instead of two, same referrals and seed: people wait longer for a place.
    b_metrics, monthly, weekly, first = simulate(base.model_dump_json(), 5, 6)
    v_metrics = simulate(_short({"specialists": 1}).model_dump_json(), 5, 6)[0]
    table = comparison_table(b_metrics, v_metrics).set_index("metric")
    assert table.loc["referrals", "variant_is"] == "same"  # same seed: the same referrals arrive
    wait = table.loc["mean_wait_days"]
    assert wait["difference"] > 0 and wait["variant_is"] == "higher"
    assert math.isclose(wait["difference"], wait["variant"] - wait["baseline"], rel_tol=1e-9, abs_tol=1e-9)
    assert monthly["replication"].nunique() == 6
    assert weekly["replication"].nunique() == 6 and first.replication == 0


def test_missing_numbers_show_as_dashes_not_none():
    # A metric present in only one run (or a CI from too few pairs) is NaN: the table shows "–".
    import pandas as pd

    shown = pd.DataFrame({"metric": ["a", "b"], "baseline": [1234.5, math.nan], "result": ["higher", "not enough data"]})
    html = app.dashes_for_missing(shown).to_html()
    assert "1,234.5" in html and "–" in html and "nan" not in html.lower().replace("not enough", "")
    assert shown["baseline"].dtype.kind == "f"  # the data stays numeric (sortable, downloadable)


# --------------------------------------------------------------------------- the ips-sim app command


def test_app_command_is_registered():
    from ips_sim.ui.cli import main

    assert "app" in main.commands


def test_app_command_launches_streamlit_run(monkeypatch):
    from ips_sim.ui.cli import main

    calls = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(app, "run_command", calls.append)
    result = CliRunner().invoke(main, ["app", "--port", "8599", "--headless", "--theme.base", "dark"])
    assert result.exit_code == 0, result.output
    cmd = calls[0]
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(app.APP_PATH)
    assert cmd[4].endswith("app.py")
    joined = " ".join(cmd)
    assert "--server.port 8599" in joined and "--server.headless true" in joined
    assert cmd[-2:] == ["--theme.base", "dark"]


def test_app_command_without_streamlit_says_how_to_install(monkeypatch):
    from ips_sim.ui.cli import main

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    result = CliRunner().invoke(main, ["app"])
    assert result.exit_code != 0
    assert "pip install 'ips-sim[app]'" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- the page (AppTest)


@pytest.fixture
def page():
    require("streamlit")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(app.APP_PATH), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _frames(at):
    return [d.value for d in at.dataframe]


def _summary(at):
    frames = [f for f in _frames(at) if "95% CI low" in f.columns and "mean" in f.columns]
    return frames[0] if frames else None


def test_page_loads_with_the_default_results(page):
    assert page.title[0].value.startswith("IPS")
    assert page.slider(key="specialists").value == 2
    assert page.slider(key="replications").value == app.DEFAULT_REPLICATIONS
    summary = _summary(page)  # a first visit runs the loaded scenario at once
    assert summary is not None
    assert len(page.session_state["results"]["runs"]["variant"]["metrics"]) == app.DEFAULT_REPLICATIONS
    assert not page.warning
    labels = set(summary["metric"])
    assert not any("_" in label for label in labels), labels  # every metric shown by its label


def test_every_count_and_share_interval_respects_its_range(page):
    summary = _summary(page).set_index("metric")
    assert (summary["95% CI low"].dropna() >= 0).all()
    shares = summary[summary["unit"] == "%"]
    assert (shares["95% CI high"].dropna() <= 100 + 1e-9).all()


def test_changing_specialists_and_running_shows_summary(page):
    page.slider(key="specialists").set_value(3)
    page.slider(key="replications").set_value(5)
    page.button(key="run").click().run()
    assert not page.exception, [e.value for e in page.exception]
    summary = _summary(page)
    assert summary is not None
    row = summary.set_index("metric").loc["Mean wait for a place"]
    assert row["95% CI low"] <= row["mean"] <= row["95% CI high"]
    assert "Caseload per specialist" in [m.label for m in page.metric]
    ran = page.session_state["results"]["runs"]["variant"]
    assert ran["scenario"].team.specialists == 3 and len(ran["metrics"]) == 5
    assert not page.warning  # results match the settings
    page.slider(key="specialists").set_value(4).run()
    assert any("settings have changed" in w.value for w in page.warning)


def test_compare_mode_shows_difference_per_metric(page):
    page.radio(key="mode").set_value("Compare with a baseline").run()
    page.slider(key="specialists").set_value(1)
    page.slider(key="replications").set_value(5)
    page.button(key="run").click().run()
    assert not page.exception, [e.value for e in page.exception]
    frames = [f for f in _frames(page) if "result" in f.columns and "metric" in f.columns]
    assert frames, "no comparison table"
    table = next(f for f in frames if "Referrals received" in set(f["metric"])).set_index("metric")
    assert table.loc["Referrals received", "result"] == "same"  # common random numbers
    assert table.loc["Mean wait for a place", "result"] == "higher"
    assert table.loc["Mean wait for a place", "difference"] > 0
    assert any(m.delta for m in page.metric)
    page.button(key="pin").click().run()  # these settings become the baseline
    assert page.session_state["_baseline"]["specialists"] == 1
    assert any("same as the baseline" in i.value for i in page.info)
    page.button(key="unpin").click().run()
    assert page.session_state["_baseline"]["specialists"] == 2


def _uploader(at):
    return at.file_uploader(key="upload")


def test_invalid_upload_shows_every_error_line(page):
    _uploader(page).set_value(("broken.yaml", BAD_SCENARIO, "application/x-yaml")).run()
    assert not page.exception, [e.value for e in page.exception]
    assert page.error, "no error shown"
    shown = "\n".join(c.value for c in page.code)
    expected = pytest.raises(ScenarioError, scenario_from_upload, BAD_SCENARIO, "broken.yaml").value.messages
    for line in expected:
        assert line in shown
    assert "run" not in [b.key for b in page.button]  # no Run button until the file is fixed
    assert _summary(page) is None  # the default results are gone too


def test_valid_upload_sets_the_levers(page):
    mine = b"team:\n  specialists: 5\n  caseload_cap: 15\nsimulation:\n  horizon_years: 4\n  warmup_years: 1\n"
    _uploader(page).set_value(("mine.yaml", mine, "text/yaml")).run()
    assert not page.exception, [e.value for e in page.exception]
    assert page.slider(key="specialists").value == 5
    assert page.slider(key="caseload_cap").value == 15
    assert page.slider(key="replications").value == app.DEFAULT_REPLICATIONS  # the file does not set it
    assert any("mine" in s.value for s in page.sidebar.success)
    more = b"simulation:\n  replications: 7\n  horizon_years: 4\n  warmup_years: 1\n"
    _uploader(page).set_value(("more.yaml", more, "text/yaml")).run()
    assert page.slider(key="replications").value == 7
    assert len(page.session_state["results"]["runs"]["variant"]["metrics"]) == 7  # a new file runs at once
    assert page.slider(key="specialists").value == 2  # a new file: the levers start from its values


def test_figures_for_people_never_show_minus_zero_and_money_names_its_currency():
    """A difference that rounds to zero shows as 0, not -0; money rows of the comparison carry the price year."""
    import pandas as pd

    from ips_sim.ui.whatif import display_comparison, round_figure

    assert str(round_figure(-0.00001)) == "0.0" and str(round_figure(-0.0)) == "0.0"
    assert round_figure(-0.0123456) == -0.0123 and round_figure(2569934.758) == 2569935  # 3 significant digits, whole above 100
    table = pd.DataFrame([{"metric": "program_cost_per_year", "unit": "money", "baseline": 1.0, "variant": 2.0,
                           "difference": 1.0, "diff_ci_low": -1e-9, "diff_ci_high": 2.0, "variant_is": "higher"}])
    shown = display_comparison(table, "USD 2024")
    assert shown.loc[0, "unit"] == "USD 2024"
    assert str(shown.loc[0, "95% CI low"]) == "0.0"
