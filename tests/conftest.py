"""Shared helpers for the model tests.

Scenarios are built from the defaults table plus explicit dotted-path updates
(``make_scenario({"team.specialists": 3})``). Theory tests set every parameter
their closed form depends on, so a later recalibration of the defaults
(``calibration/fitted.yaml``) cannot change what they check.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

from ips_sim.config import Scenario, scenario_from_dict, set_dotted
from ips_sim.sim.model import run_replication
from ips_sim.sim.records import EXIT_REASONS, FrozenRecords

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
IPS_SIM = VENV_BIN / "ips-sim"

GAVE_UP = EXIT_REASONS.index("gave_up_waiting")
DISENGAGED = EXIT_REASONS.index("disengaged")

# Job search switched off and one exponential drop-out hazard in every phase:
# an enrolled member's stay is exponential, so the program is an M/M/c queue.
# Rates per month (the scenario's unit); ``mu`` is filled in by the caller.
NO_JOB_SEARCH = {
    "job_search.job_rate_own_per_month": 0.0,
    "job_search.job_rate_search_per_month": 0.0,
    "job_search.job_rate_development_per_month": 0.0,
    "job_search.preparation_months": 0.0,
    "job_search.heterogeneity_cv": 0.0,
    "engagement.shortfall_effect": 0.0,
    "engagement.discharge_without_job_months": None,
    "referrals.cohort_size": 0,
    "referrals.schedule": [],
    "team.fte_per_specialist": 1.0,
}


def optional_mechanisms_off() -> dict:
    """Switch off mechanisms outside the core model (supervision, turnover) where the schema has them."""
    out = {}
    for section in ("supervision", "turnover"):
        field = Scenario.model_fields.get(section)
        if field is not None and "enabled" in getattr(field.annotation, "model_fields", {}):
            out[f"{section}.enabled"] = False
    return out


def make_scenario(updates: dict | None = None, name: str = "test") -> Scenario:
    """Defaults overlaid with dotted-path updates, validated like a scenario file."""
    raw: dict = {"name": name}
    for path, value in (updates or {}).items():
        set_dotted(raw, path, value)
    return scenario_from_dict(raw, source=f"<{name}>")


def pure_queue(lam_per_month: float, mu_per_month: float, specialists: int, cap: int,
               patience_mean_days: float | None, horizon_months: float, warmup_months: float,
               **extra) -> Scenario:
    """An M/M/c (+M if patience is given) scenario with ``c = specialists x cap``."""
    upd = dict(NO_JOB_SEARCH)
    upd.update(optional_mechanisms_off())
    upd.update({
        "referrals.rate_per_month": lam_per_month,
        "referrals.patience_mean_days": patience_mean_days,
        "engagement.disengage_rate_early_per_month": mu_per_month,
        "engagement.disengage_rate_per_month": mu_per_month,
        "engagement.disengage_rate_employed_per_month": mu_per_month,
        "team.specialists": specialists,
        "team.caseload_cap": cap,
        "simulation.horizon_years": horizon_months / 12.0,
        "simulation.warmup_years": warmup_months / 12.0,
        # Hazards are constant here, so the planning step cannot matter; a long step is cheap.
        "simulation.planning_step_days": 28,
    })
    upd.update(extra)
    return make_scenario(upd, name="pure_queue")


def run_many(scenario: Scenario, n: int, seed: int, first: int = 0) -> list[FrozenRecords]:
    """Frozen records of replications ``first .. first+n-1`` (in this process)."""
    return [run_replication(scenario, i, seed).freeze() for i in range(first, first + n)]


def mean_and_se(x) -> tuple[float, float]:
    """Mean over replications and its standard error (sd / sqrt(n))."""
    x = np.asarray(x, dtype=float)
    assert np.all(np.isfinite(x)), x
    assert len(x) >= 2
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def assert_within_4se(simulated: float, se: float, expected: float, what: str) -> None:
    """|simulated - expected| <= 4 standard errors (fixed tolerance; never widened to pass)."""
    assert se > 0, f"{what}: zero standard error"
    z = (simulated - expected) / se
    assert abs(z) <= 4.0, f"{what}: simulated {simulated:.6g} +- {se:.3g} (1 SE), theory {expected:.6g}, z = {z:.2f}"


# Supervision set explicitly, so a recalibration of the defaults cannot change what tests check.
EXPLICIT_SUPERVISION = {
    "supervision.enabled": True,
    "supervision.supervisor_fte": 1.0,
    "supervision.paid_hours_per_week": 40.0,
    "supervision.own_duties_hours_per_week": 12.0,
    "supervision.hours_per_specialist_week": 2.5,
    "supervision.hours_per_new_hire_week": 5.0,
    "supervision.practice_effect": 0.5,
}


def require(module: str, why: str = ""):
    """Import ``module`` or skip with one line; under ``CI=true`` a missing module fails the test.

    A test that is skipped in CI does not exist: CI must install what the tests need.
    """
    import importlib

    import pytest

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"{module} is not installed ({exc}){': ' + why if why else ''}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)


def cli_env() -> dict:
    env = dict(os.environ)
    env["IPS_SIM_CALIBRATION_DIR"] = str(REPO / "calibration")
    env.pop("PYTHONWARNINGS", None)
    return env
