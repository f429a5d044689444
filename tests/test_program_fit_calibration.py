"""fit-program's forecasts and its check, on synthetic programs: hold-out scoring and the poor-fit message.

What is generated: synthetic programs made by the model itself (one replication of a program with its
own factors on job finding, job ending and drop-out, two referrals a month reported, a caseload on day 0
and its post reported filled), counted as a program reports its quarters, and fitted by the real
pipeline (history scenario with its start-state estimate, pyabc ABC-SMC through the runner) with a small
ABC budget. The simulation-based calibration over 50 programs is tests/test_program_fit_sbc.py.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ips_sim.config import scenario_from_dict
from ips_sim.config.program_records import ProgramRecords
from ips_sim.runner.executors import InlineExecutor
from ips_sim.studies.program_fit import fit as F
from ips_sim.studies.program_fit.study import fit_program
from ips_sim.studies.program_fit.synthetic import program_scenario, synthetic_records

BASE_RAW = {"team": {"specialists": 1}}
START = {"job_seekers": 12, "workers": 6, "waitlist": 1}


def _program(base, theta, quarters, seed, replication=0):
    fte = [1.0] * quarters                   # the post is reported filled every quarter
    sc = program_scenario(base, theta, quarters, 2.0, START, dt.date(2022, 1, 1), fte=fte)
    return synthetic_records(sc, seed=seed, replication=replication, fte=fte)


def _small_fit(rec, hold_out=0):
    base = scenario_from_dict(BASE_RAW)
    return fit_program(rec, BASE_RAW, base, seed=3, hold_out=hold_out, population=40, generations=2,
                       executor=InlineExecutor(), plots=False)


def test_hold_out_scores_a_forecast_made_without_the_held_out_quarters():
    base = scenario_from_dict(BASE_RAW)
    rec = _program(base, {"job_finding": 0.2, "job_ending": -0.2, "drop_out": 0.0}, 12, seed=9)
    res = _small_fit(rec, hold_out=4)
    h = res.holdout.set_index("series")
    # The naive forecast repeats the last fitted quarter (hand computation).
    for c in ("people_served", "people_working"):
        naive = np.mean(np.abs(rec.values[c][8:] - rec.values[c][7]))
        assert h.loc[c, "mae_naive"] == pytest.approx(naive)
        assert h.loc[c, "coverage_50"] * 4 == round(h.loc[c, "coverage_50"] * 4)
        assert 0 <= h.loc[c, "coverage_50"] <= h.loc[c, "coverage_90"] <= 1
    assert h.loc["all", "quarters"] == 4 * (len(h) - 1)
    assert not res.check["poor"]
    assert any(line.startswith("hold-out: forecast of the last 4 quarters from the first 8") for line in res.lines)
    assert res.manifest["holdout"][0]["series"] == "people_served"
    # It did not see them: other values in the held-out quarters give the same fit and forecast.
    changed = ProgramRecords(rec.source, rec.quarters, {c: np.concatenate([v[:8], v[8:] * 0 + 1]) if c not in
                                                        ("referrals",) else v for c, v in rec.values.items()})
    again = _small_fit(changed, hold_out=4)
    assert again.files["posterior.csv"] == res.files["posterior.csv"]
    assert (again.holdout["mae_model"] != res.holdout["mae_model"]).any()   # scored against the new values


def test_records_out_of_reach_of_the_model_get_a_poor_fit_message():
    """80% of people served working every quarter: far above what IPS programs reach (benchmarks 31-50%)."""
    quarters = [dt.date(2022 + k // 4, 3 * (k % 4) + 1, 1) for k in range(12)]
    served = np.full(12, 60.0)
    rec = ProgramRecords("<80% working>", quarters, {"people_served": served, "people_working": 0.8 * served})
    three = {"team": {"specialists": 3}}     # posts enough for 60 people served
    res = fit_program(rec, three, scenario_from_dict(three), seed=3, population=40, generations=3,
                      executor=InlineExecutor(), plots=False)
    assert res.check["poor"]
    assert res.check["p_working_share"] < F.POOR_P
    assert any(line.startswith("POOR FIT: the records are out of reach of the model: 80% of people served "
                               "working") for line in res.lines), res.lines
