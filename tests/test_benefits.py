"""The benefit and tax rules on worked cases: SSA's published examples and hand derivations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ips_sim.config.benefit_rules import rule_rows, rule_years, rules
from ips_sim.economics.benefits import (
    SSDIMonth,
    eitc_no_children,
    income_tax,
    income_tax_array,
    payroll_tax,
    ssdi_code_rows,
    ssdi_months,
    ssi_break_even_earnings,
    ssi_countable_income,
    ssi_payment,
    taxable_social_security,
)

R24, R25 = rules(2024), rules(2025)
P, T, G, S, X = (SSDIMonth.PAID, SSDIMonth.TRIAL_WORK, SSDIMonth.GRACE, SSDIMonth.SUSPENDED,
                 SSDIMonth.TERMINATED)


def with_fbr(fbr: float):
    return dataclasses.replace(R24, ssi_federal_benefit_rate=fbr)


def test_table_has_every_figure_with_a_source():
    assert rule_years() == [2024, 2025, 2026]
    for row in rule_rows():
        assert row["source"].strip() and row["unit"].strip(), row
    assert (R25.sga_monthly, R25.twp_month_earnings, R25.ssi_federal_benefit_rate) == (1620, 1160, 967)


# --------------------------------------------------------------------------- SSI worked examples


def test_poms_si_00820_510_countable_after_the_student_exclusion():
    # POMS SI 00820.510 (2005): $1,600 - $1,410 SEIE = $190; - $20 = $170; - $65 = $105; / 2 = $52.50.
    # The student exclusion itself is not modelled: the earnings after it go in.
    assert ssi_countable_income(1600.0 - 1410.0, 0.0, R24) == pytest.approx(52.50)


def test_red_book_situations():
    # Red Book "Examples of the Earned Income Exclusion": Situation 1, SSDI $361 and wages $289:
    # unearned 361 - 20 = 341; earned (289 - 65) / 2 = 112; countable 453.
    assert ssi_countable_income(289.0, 361.0, R24) == pytest.approx(453.0)
    # Situation 2: wages $450 and $13 unearned: unearned 0, $7 of the $20 left for earnings,
    # earned (450 - 7 - 65) / 2 = 189.
    assert ssi_countable_income(450.0, 13.0, R24) == pytest.approx(189.0)
    assert ssi_payment(450.0, 13.0, R24) == pytest.approx(943.0 - 189.0)


def test_2008_red_book_ed_with_fbr_637():
    r = with_fbr(637.0)
    # (a) SSDI $361 + $10 other unearned, no wages: 371 - 20 = 351, SSI 286 (total 657).
    assert ssi_payment(0.0, 371.0, r) == pytest.approx(286.0)
    # (b) wages $361 + $10 unearned: 361 - 10 - 65 = 286, / 2 = 143; SSI 637 - 143 = 494.
    assert ssi_payment(361.0, 10.0, r) == pytest.approx(494.0)


def test_youth_toolkit_and_2024_cases():
    # SSI Youth Toolkit (FBR $771, 2019): wages $885 -> (885 - 85) / 2 = 400 -> SSI 371.
    assert ssi_payment(885.0, 0.0, with_fbr(771.0)) == pytest.approx(371.0)
    # Disability Benefits at Work (2024, FBR $943): wages $2,085 -> countable 1,000 > 943 -> 0;
    # wages $1,085 -> countable 500 -> SSI 443.
    assert ssi_payment(2085.0, 0.0, R24) == 0.0
    assert ssi_payment(1085.0, 0.0, R24) == pytest.approx(443.0)


def test_ssi_falls_half_a_dollar_per_dollar_past_85_and_break_even():
    assert ssi_payment(85.0, 0.0, R25) == R25.ssi_federal_benefit_rate
    assert ssi_payment(185.0, 0.0, R25) == pytest.approx(967.0 - 50.0)
    # 2025: (967 x 2) + 85 = 2,019 a month
    assert ssi_break_even_earnings(R25) == pytest.approx(2019.0)
    assert ssi_payment(2019.0, 0.0, R25) == pytest.approx(0.0)
    # annual check against policyengine-us 2.68.0 (2025, single adult, TX): $10,000 -> $7,114
    assert 12 * ssi_payment(10_000 / 12, 0.0, R25) == pytest.approx(7114.0, abs=0.5)
    # a concurrent beneficiary with SSDI above the rate + $20 gets no SSI
    assert ssi_payment(0.0, 1000.0, R25) == 0.0


# --------------------------------------------------------------------------- SSDI work rules

TWP24, SGA24 = R24.twp_month_earnings, R24.sga_monthly   # 1,110 and 1,550


def test_at_below_and_above_the_trial_work_amount():
    # a month exactly at the amount is not a trial work month; a cent above is
    assert ssdi_months([TWP24, TWP24 - 1, TWP24 + 0.01], R24) == [P, P, T]
    assert ssdi_months([], R24) == []  # referred after the last month: no months at all


def test_nine_trial_months_then_cessation_grace_suspension():
    # 9 months above SGA use the trial work period (paid); the 10th month above SGA is the
    # cessation month, paid with 2 grace months; the 13th and 14th are suspended; a month at
    # SGA is paid (the threshold is "above"); then suspended again.
    earn = [2000.0] * 14 + [SGA24] + [2000.0]
    assert ssdi_months(earn, R24) == [T] * 9 + [G, G, G, S, S, P, S]


def test_between_twp_amount_and_sga_never_stops_the_check():
    # 4 years at $1,300 (above the TWP amount, below SGA): TWP used, EPE runs out, always paid
    out = ssdi_months([1300.0] * 48, R24)
    assert out[:9] == [T] * 9 and all(m == P for m in out[9:])
    assert all(m.paid for m in out)


def test_rolling_window_of_trial_months():
    # trial months 60 or more months apart never add up to 9: 8 months, a 60-month gap, 1 month
    earn = [1200.0] * 8 + [0.0] * 60 + [1200.0]
    out = ssdi_months(earn, R24)
    assert out[-1] == T and all(m.paid for m in out)
    after = ssdi_months(earn + [2000.0] * 8 + [2000.0], R24)  # 9 trial months within the window, then SGA
    assert after[-1] == G


def test_termination_after_the_extended_period():
    # TWP (9), then 36 EPE months at or below SGA, then SGA: cessation + grace (never ceased before),
    # then the next SGA month after the EPE terminates, and the check stays stopped.
    earn = [1200.0] * 9 + [1000.0] * 36 + [2000.0] * 4 + [0.0]
    out = ssdi_months(earn, R24)
    assert out[45:] == [G, G, G, X, X]
    # ceased inside the EPE: the first SGA month after month 36 of the EPE terminates
    earn = [1200.0] * 9 + [2000.0] * 3 + [1000.0] * 33 + [2000.0]
    out = ssdi_months(earn, R24)
    assert out[9:12] == [G, G, G] and out[-1] == X


# --------------------------------------------------------------------------- taxes


def test_payroll_and_income_tax_by_hand_and_against_policyengine():
    assert payroll_tax(10_000.0, R25) == pytest.approx(765.0)
    assert payroll_tax(200_000.0, R25) == pytest.approx(0.062 * 176_100 + 0.0145 * 200_000)
    # EITC 2025, no children: 7.65% of earnings up to $649, less 7.65% past $10,620
    assert eitc_no_children(8_400.0, 8_400.0, R25) == pytest.approx(642.6)
    assert eitc_no_children(12_600.0, 12_600.0, R25) == pytest.approx(649 - 0.0765 * 1_980)
    # policyengine-us 2.68.0, 2025, TX single, no SSDI (annual): income tax net of EITC
    for earn, pe in [(8_400, -643), (12_600, -498), (16_800, -71), (21_000, 525), (25_200, 945)]:
        assert income_tax(earn, 0.0, R25) == pytest.approx(pe, abs=0.6), earn
    # with SSDI $12,000/yr and earnings $29,400: provisional 35,400 > 34,000, taxable SSDI
    # 0.85 x 1,400 + 4,500 = 5,690; taxable income 35,090 - 15,750 = 19,340; tax 1,192.50 + 889.80
    assert taxable_social_security(12_000.0, 29_400.0, R25) == pytest.approx(5_690.0)
    assert income_tax(29_400.0, 12_000.0, R25) == pytest.approx(2_082.3)
    assert taxable_social_security(12_000.0, 10_000.0, R25) == 0.0


def test_vectorised_income_tax_is_the_scalar_one():
    earn, ssdi = np.meshgrid(np.linspace(0, 60_000, 61), np.linspace(0, 30_000, 16))
    got = income_tax_array(earn.ravel(), ssdi.ravel(), R25)
    want = [income_tax(e, s, R25) for e, s in zip(earn.ravel(), ssdi.ravel())]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


def _month_by_month(earnings: list[float], r) -> list[int]:
    """The SSDI work rules walked month by month, as SSA describes them (the oracle for the array steps)."""
    paid, trial_work, grace, suspended, terminated_code = 0, 1, 2, 3, 4
    out: list[int] = []
    trial: list[int] = []         # months that were trial work months
    epe_start = None              # first month of the EPE
    ceased = False
    grace_left = 0
    terminated = False
    for i, e in enumerate(earnings):
        if terminated:
            out.append(terminated_code)
        elif epe_start is None:
            if e > r.twp_month_earnings:
                trial.append(i)
                if sum(1 for k in trial if k > i - r.twp_window_months) >= r.twp_months:
                    epe_start = i + 1
                out.append(trial_work)
            else:
                out.append(paid)
        elif grace_left > 0:
            grace_left -= 1
            out.append(grace)
        elif e > r.sga_monthly:
            if not ceased:
                ceased = True
                grace_left = r.grace_months - 1
                out.append(grace)
            elif i < epe_start + r.epe_months:
                out.append(suspended)
            else:
                terminated = True
                out.append(terminated_code)
        else:
            out.append(paid)
    return out


def test_array_state_machine_is_the_scalar_one():
    # ssdi_code_rows (members x months at once, each from its own first month) must give the
    # month-by-month walk's codes (_month_by_month) on the worked cases above and on random earnings at the
    # thresholds (at and a dollar above the trial work amount and SGA), for every rules year.
    cases = [[2000.0] * 14 + [SGA24] + [2000.0], [1300.0] * 48, [1200.0] * 8 + [0.0] * 60 + [1200.0],
             [1200.0] * 9 + [1000.0] * 36 + [2000.0] * 4 + [0.0],
             [1200.0] * 9 + [2000.0] * 3 + [1000.0] * 33 + [2000.0]]
    k = max(map(len, cases))
    e = np.array([c + [0.0] * (k - len(c)) for c in cases])
    got = ssdi_code_rows(e, np.zeros(len(cases), int), R24)
    for row, c in zip(got, cases):
        assert row[:len(c)].tolist() == _month_by_month(c, R24)
    rng = np.random.default_rng(20240601)
    for year in rule_years():
        r = rules(year)
        levels = np.array([0.0, r.twp_month_earnings, r.twp_month_earnings + 1, r.sga_monthly, r.sga_monthly + 1])
        for _ in range(40):
            n, k = 30, int(rng.integers(1, 160))
            e = rng.choice(levels, size=(n, k), p=rng.dirichlet(np.ones(len(levels))))
            first = rng.integers(0, k + 1, n)
            got = ssdi_code_rows(e, first, r)
            for i in range(n):
                assert got[i].tolist() == [-1] * first[i] + _month_by_month(e[i, first[i]:].tolist(), r)
