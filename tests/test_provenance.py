"""Derived defaults: each is recomputed here from the inputs its source note names.

A row of calibration/parameters.csv whose source says "derived" states its
inputs and the arithmetic; the test redoes the arithmetic and compares with the
value (to the precision the value is given in). A derived row without a check
here fails, so a new derivation cannot go stale unnoticed. Where an input is a
figure of the model itself (the mean stay behind the referral rate), the test
measures it.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from ips_sim.config import DAYS_PER_MONTH, DAYS_PER_YEAR, load_scenario
from ips_sim.sim.model import run_replication

ROOT = Path(__file__).resolve().parent.parent
PARAMETERS = ROOT / "calibration" / "parameters.csv"


def rows() -> dict[str, dict]:
    with open(PARAMETERS, newline="", encoding="utf-8") as f:
        return {r["parameter"]: r for r in csv.DictReader(f)}


def value(name: str) -> float:
    return float(rows()[name]["value"])


def decimals(name: str) -> int:
    text = rows()[name]["value"]
    return len(text.split(".")[1]) if "." in text else 0


def assert_rounds_to(name: str, derived: float) -> None:
    """The stored value is the derived figure rounded to the digits it is written with."""
    assert round(derived, decimals(name)) == pytest.approx(value(name)), (name, derived)


def in_source(name: str, *texts: str) -> None:
    """The inputs used below are the ones the row's source names (so note and test stay in step)."""
    src = rows()[name]["source"]
    for t in texts:
        assert t in src, f"{name}: source no longer says {t!r}: {src}"


# --------------------------------------------------------------------------- one check per derived default


def check_referral_rate():
    in_source("referrals.rate_per_month", "38 taken", "about 21 months", "38 / 21 = 1.8")
    assert_rounds_to("referrals.rate_per_month", 38 / 21)


def check_hours_per_contact():
    in_source("service.job_development_hours_per_contact", "5 hours/week", "6 employer contacts")
    assert value("service.job_development_hours_per_week") == 5
    assert_rounds_to("service.job_development_hours_per_contact", 5 / 6)


def check_contacts_full_effect():
    in_source("job_search.contacts_per_searcher_week_full_effect", "6 contacts per specialist-week",
              "about 10 job seekers")
    assert_rounds_to("job_search.contacts_per_searcher_week_full_effect", 6 / 10)


def check_supervision_hours():
    # (paid hours - own duties) / about 10 specialists = 2.8; the default sits below it.
    in_source("supervision.hours_per_specialist_week", "(40 - 12)", "about 10 specialists", "= 2.8 h")
    available = value("supervision.paid_hours_per_week") - value("supervision.own_duties_hours_per_week")
    assert round(available / 10, 1) == 2.8
    assert value("supervision.hours_per_specialist_week") <= available / 10


def check_ssdi_benefit():
    # the 2025 average disabled-worker benefit taken back one COLA (2.5%) to 2024 dollars
    in_source("benefits.ssdi_monthly_benefit", "$1,586 in 2025", "2.5% COLA of 2025")
    assert_rounds_to("benefits.ssdi_monthly_benefit", 1586 / 1.025)


CHECKS = {
    "benefits.ssdi_monthly_benefit": check_ssdi_benefit,
    "referrals.rate_per_month": check_referral_rate,
    "service.job_development_hours_per_contact": check_hours_per_contact,
    "job_search.contacts_per_searcher_week_full_effect": check_contacts_full_effect,
    "supervision.hours_per_specialist_week": check_supervision_hours,
}


def test_every_derived_default_has_a_check():
    derived = {name for name, r in rows().items() if r["source"].lower().startswith("derived")}
    assert derived == set(CHECKS), f"derived defaults without a check: {sorted(derived - set(CHECKS))}"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_derived_default_recomputes(name):
    CHECKS[name]()


def test_early_disengagement_note_arithmetic():
    """The source's own figure, -ln(0.82)/3, and the note saying the default is below it."""
    in_source("engagement.disengage_rate_early_per_month", "82% in contact at 3 months", "= 0.066 per month")
    assert round(-math.log(0.82) / 3, 3) == 0.066
    assert value("engagement.disengage_rate_early_per_month") < 0.066
    assert "below that figure" in rows()["engagement.disengage_rate_early_per_month"]["note"]


def test_mean_stay_named_in_the_referral_note():
    """The note's current mean stay (about 22 months, default team, nobody waiting) is what the model gives.

    Little's law over years 5-40 of a 40-year run: mean caseload at month ends over
    enrollments per month (nobody waits, so enrollments are referrals). Mean over
    replications, tolerance 4 standard errors plus the note's rounding to whole months.
    """
    note = rows()["referrals.rate_per_month"]["note"]
    assert "stay about 22 months" in note and "38 / 22 = 1.7" in note
    sc = load_scenario(ROOT / "scenarios" / "two_specialists_38_members.yaml").with_updates(
        {"team.caseload_cap": 1000, "simulation.horizon_years": 40})
    assert sc.referrals.rate_per_month == value("referrals.rate_per_month")
    warm = 5 * DAYS_PER_YEAR
    stays = []
    for rep in range(8):
        rec = run_replication(sc, rep, 20261124).freeze()
        enr = rec.member["enrollment_day"]
        assert (rec.member["referral_day"][np.isfinite(enr)] == enr[np.isfinite(enr)]).all()  # nobody waited
        months = rec.months()
        caseload = months["caseload"][months["day"] > warm].mean()
        per_month = (enr >= warm).sum() / ((rec.horizon - warm) / DAYS_PER_MONTH)
        stays.append(caseload / per_month)
    mean, se = np.mean(stays), np.std(stays, ddof=1) / np.sqrt(len(stays))
    assert abs(mean - 22) <= 0.5 + 4 * se, (mean, se)
    assert round(38 / 22, 1) == 1.7
