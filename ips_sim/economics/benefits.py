"""Work-incentive rules of US disability benefits and the taxes on earnings, as pure functions.

Each function turns a member's earnings (and benefits) into what SSA pays or the
Treasury collects, with one year's published figures (``config.benefit_rules.Rules``,
sourced in ``calibration/benefit_rules.csv``):

* SSI: countable income and payment, month by month (POMS SI 00810.420, SI 00820.500):
  $20 general exclusion (unearned income first), $65 of earnings, then one half of the rest;
  no trial work period, and no SGA test for people already on SSI (section 1619(a)).
* SSDI: the trial work period, extended period of eligibility, cessation and grace months,
  suspension and termination (20 CFR 404.1592; SSA OACT; bondssa.org), as a state machine
  over months.
* Payroll tax (employee and employer) and federal income tax of a single filer with the
  childless earned income tax credit and the taxable part of SSDI (26 USC 32, 86).

Deeming, in-kind support, impairment-related and blind work expenses, PASS, state
supplements, state income tax and the student exclusion are not modelled (see docs/benefits.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

import numpy as np

from ips_sim.config.benefit_rules import Rules
from ips_sim.sim.benefit_choice import Benefit  # noqa: F401 - the codes, part of this module's face


class SSDIMonth(IntEnum):
    """What happened to an SSDI check in a month."""

    PAID = 0          # paid, the month does not count for work rules (or an EPE month at or below SGA)
    TRIAL_WORK = 1    # paid, a trial work month (earnings above the trial work month amount)
    GRACE = 2         # paid: the cessation month or one of the grace months after it
    SUSPENDED = 3     # not paid: earnings above SGA inside the extended period of eligibility
    TERMINATED = 4    # not paid: entitlement ended (SGA after the extended period)

    @property
    def paid(self) -> bool:
        return self <= SSDIMonth.GRACE


# --------------------------------------------------------------------------- SSI


def ssi_countable_income(earned: float, unearned: float, r: Rules) -> float:
    """Countable income of a month (individual; no deeming or in-kind support).

    Red Book, Situation 1 (SSDI $361 a month, wages $289): 341 + 112 = 453.

    >>> from ips_sim.config.benefit_rules import rules
    >>> ssi_countable_income(289.0, 361.0, rules(2024))
    453.0
    """
    g = r.ssi_general_exclusion
    cu = max(0.0, unearned - g)
    left = max(0.0, g - unearned)  # the unused part of the general exclusion goes to earnings
    ce = max(0.0, earned - left - r.ssi_earned_exclusion) * r.ssi_earned_share_counted
    return cu + ce


def ssi_payment(earned: float, unearned: float, r: Rules, benefit_rate: float | None = None) -> float:
    """SSI federal payment of a month: the benefit rate less countable income, not below zero.

    People already on SSI keep it while countable income stays below the rate (section
    1619(a): no SGA test), so earnings lower the check by half of each dollar past $85.
    """
    fbr = r.ssi_federal_benefit_rate if benefit_rate is None else benefit_rate
    return max(0.0, fbr - ssi_countable_income(earned, unearned, r))


def ssi_break_even_earnings(r: Rules, unearned: float = 0.0) -> float:
    """Monthly earnings at which the SSI payment reaches zero (the 1619(b) Medicaid rules take over)."""
    g = r.ssi_general_exclusion
    cu = max(0.0, unearned - g)
    left = max(0.0, g - unearned)
    room = r.ssi_federal_benefit_rate - cu
    if room <= 0:
        return 0.0
    return room / r.ssi_earned_share_counted + r.ssi_earned_exclusion + left


# --------------------------------------------------------------------------- SSDI


def ssdi_months(earnings: Sequence[float], r: Rules) -> list[SSDIMonth]:
    """The SSDI outcome of each month of a beneficiary's earnings, from the first month on.

    Trial work period: a month with earnings above the trial work amount is a trial work month;
    the 9th within a rolling 60 months ends it. The extended period of eligibility (EPE)
    follows for 36 months: the first month above SGA is the cessation month, paid with the
    next two (grace); later months above SGA inside the EPE are suspended, at or below SGA
    paid. After the EPE, a month above SGA (once cessation has happened) terminates
    entitlement. The member starts with no trial work months used (an assumption).
    One beneficiary's row of :func:`ssdi_code_rows`.
    """
    e = np.asarray(earnings, float).reshape(1, -1)
    return [SSDIMonth(c) for c in ssdi_code_rows(e, np.zeros(1, np.int64), r)[0].tolist()]


def ssdi_code_rows(earnings: np.ndarray, first: np.ndarray, r: Rules) -> np.ndarray:
    """SSDI month codes (``SSDIMonth``) of many beneficiaries at once: row i from month ``first[i]`` on
    (-1 before); the rules are :func:`ssdi_months`'.

    The state machine in array steps over members x months (a pass per rule, not a
    Python loop per month): the trial work period ends at the first trial work month with
    ``twp_months`` of them in the rolling window; the EPE starts the month after; the first
    month above SGA from then on is the cessation month, paid with the grace months after
    it; later months above SGA are suspended inside the EPE, and the first one after it
    terminates entitlement for good. Months at or below SGA are paid.
    """
    e = np.asarray(earnings, float)
    n, k = e.shape
    if k == 0:
        return np.zeros((n, 0), np.int64)
    month = np.arange(k)[None, :]
    never = k + 1  # a month index past the end: the step never happens

    def first_where(mask: np.ndarray) -> np.ndarray:
        return np.where(mask.any(axis=1), mask.argmax(axis=1), never)[:, None]

    on = month >= np.asarray(first)[:, None]
    trial = (e > r.twp_month_earnings) & on
    used = np.cumsum(trial, axis=1)  # trial work months up to and including each month
    w = r.twp_window_months
    before_window = np.zeros_like(used)  # ... up to the month before the rolling window
    if k > w:
        before_window[:, w:] = used[:, :k - w]
    epe_start = first_where(trial & (used - before_window >= r.twp_months)) + 1
    in_epe_or_after = month >= epe_start
    over_sga = (e > r.sga_monthly) & in_epe_or_after
    ceased = first_where(over_sga)  # the cessation month
    after_grace = month >= ceased + max(r.grace_months, 1)
    late = over_sga & after_grace
    terminated_from = first_where(late & (month >= epe_start + r.epe_months))
    code = np.where(trial & ~in_epe_or_after, 1, 0)
    code[(month >= ceased) & ~after_grace] = 2
    code[late] = 3
    code[month >= terminated_from] = 4
    code[~on] = -1
    return code


# --------------------------------------------------------------------------- taxes


def payroll_tax(annual_earnings: float, r: Rules) -> float:
    """Payroll tax of one side (employee or employer): OASDI up to the wage base plus HI.

    >>> from ips_sim.config.benefit_rules import rules
    >>> round(payroll_tax(10_000.0, rules(2025)), 2)
    765.0
    """
    return r.payroll_oasdi_rate * min(annual_earnings, r.oasdi_wage_base) + r.payroll_hi_rate * annual_earnings


def taxable_social_security(annual_benefits: float, other_income: float, r: Rules) -> float:
    """Taxable part of Social Security benefits of a single filer (26 USC 86)."""
    if annual_benefits <= 0:
        return 0.0
    provisional = other_income + 0.5 * annual_benefits
    base, adjusted = r.ss_taxable_base_single, r.ss_taxable_adjusted_base_single
    if provisional <= base:
        return 0.0
    if provisional <= adjusted:
        return min(0.5 * annual_benefits, 0.5 * (provisional - base))
    return min(0.85 * annual_benefits,
               0.85 * (provisional - adjusted) + min(0.5 * annual_benefits, 0.5 * (adjusted - base)))


def eitc_no_children(annual_earnings: float, agi: float, r: Rules) -> float:
    """Earned income tax credit of a single filer without children (aged 25-64 assumed).

    >>> from ips_sim.config.benefit_rules import rules
    >>> round(eitc_no_children(8_400.0, 8_400.0, rules(2025)), 2)
    642.6
    """
    rate = r.eitc_rate_no_children
    credit = min(rate * annual_earnings, r.eitc_max_no_children)
    over = max(annual_earnings, agi) - r.eitc_phase_out_start_single
    return max(0.0, credit - rate * max(0.0, over))


def income_tax(annual_earnings: float, annual_ssdi: float, r: Rules) -> float:
    """Federal income tax of a single filer less the childless EITC (negative: a net refund).

    SSI is not taxable; the taxable part of SSDI counts (26 USC 86). Brackets above 22%
    are not modelled (taxable income past the 12% bracket is taxed at 22%).
    """
    agi = annual_earnings + taxable_social_security(annual_ssdi, annual_earnings, r)
    taxable = max(0.0, agi - r.standard_deduction_single)
    b10, b12 = r.bracket_10_top_single, r.bracket_12_top_single
    tax = 0.10 * min(taxable, b10) + 0.12 * max(0.0, min(taxable, b12) - b10) + 0.22 * max(0.0, taxable - b12)
    return tax - eitc_no_children(annual_earnings, agi, r)


def income_tax_array(annual_earnings: np.ndarray, annual_ssdi: np.ndarray, r: Rules) -> np.ndarray:
    """:func:`income_tax` for arrays of members (the same arithmetic, vectorised)."""
    e = np.asarray(annual_earnings, float)
    b = np.asarray(annual_ssdi, float)
    provisional = e + 0.5 * b
    base, adjusted = r.ss_taxable_base_single, r.ss_taxable_adjusted_base_single
    low = np.minimum(0.5 * b, 0.5 * (provisional - base))
    high = np.minimum(0.85 * b, 0.85 * (provisional - adjusted) + np.minimum(0.5 * b, 0.5 * (adjusted - base)))
    taxable_ss = np.where(provisional <= base, 0.0, np.where(provisional <= adjusted, low, high))
    taxable_ss = np.where(b > 0, taxable_ss, 0.0)
    agi = e + taxable_ss
    taxable = np.maximum(0.0, agi - r.standard_deduction_single)
    b10, b12 = r.bracket_10_top_single, r.bracket_12_top_single
    tax = (0.10 * np.minimum(taxable, b10) + 0.12 * np.maximum(0.0, np.minimum(taxable, b12) - b10)
           + 0.22 * np.maximum(0.0, taxable - b12))
    rate = r.eitc_rate_no_children
    credit = np.minimum(rate * e, r.eitc_max_no_children)
    eitc = np.maximum(0.0, credit - rate * np.maximum(0.0, np.maximum(e, agi) - r.eitc_phase_out_start_single))
    return tax - eitc
