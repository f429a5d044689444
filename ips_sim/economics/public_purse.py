"""What members' work does to their benefits and taxes, month by month, and the public purse's account.

Computed after the simulation from its records (nothing here runs in the event loop):
each member's earnings by calendar month (simulated hours x wage of every job, while in
the program), then, for the benefits the member had at referral (``member["benefit_status"]``),
the SSDI work rules and the SSI payment month by month (``benefits.py``; SSI of month m
counts the income of month m - 2, SSA's retrospective accounting), and payroll and
federal income tax per observation year. Benefits are counted from the first whole month
after referral to the horizon; the member starts with no trial work months used.

The government (public purse) perspective per observation year:
program service cost + outside benefits counselling + SSI paid + SSDI paid
- payroll tax (employee, and employer when ``benefits.employer_payroll_tax``) - income tax (net of EITC)
+ hospital cost per member-month on the caseload (``costs.hospital_cost_per_member_month``) when
``costs.offsets`` lists hospital.
"""

from __future__ import annotations

import math

import numpy as np

from ips_sim.config import DAYS_PER_MONTH, Scenario, prices
from ips_sim.config.benefit_rules import Rules, rules
from ips_sim.economics.benefits import Benefit, SSDIMonth, income_tax_array, ssdi_codes
from ips_sim.sim.records import FrozenRecords

# Items of the public purse, in the budget's years (output price year dollars). The sign
# says how each enters the government's cost.
PURSE_ITEMS = (("service_cost", +1), ("counselling_outside", +1), ("ssi_paid", +1), ("ssdi_paid", +1),
               ("payroll_tax", -1), ("income_tax", -1), ("hospital", +1))
PURSE_COLUMNS = ("counselling_outside", "members_counselled", "ssi_paid", "ssdi_paid", "payroll_tax_employee",
                 "payroll_tax_employer", "payroll_tax", "income_tax", "net_income", "qalys", "public_purse_cost")


def member_status(rec: FrozenRecords) -> tuple[np.ndarray, np.ndarray]:
    """Per member: benefit code (``Benefit``) and whether counselled (all 0 / False in records without them)."""
    n = len(rec.member["member_id"])
    status = rec.member.get("benefit_status", np.zeros(n, np.int8))
    counselled = rec.member.get("counselled", np.zeros(n, bool))
    return np.asarray(status), np.asarray(counselled, bool)


def month_edges(horizon: float) -> np.ndarray:
    """Start days of the calendar months of the run (month k = [k, k + 1) x DAYS_PER_MONTH)."""
    n = max(1, math.ceil(horizon / DAYS_PER_MONTH - 1e-9))
    return np.arange(n) * DAYS_PER_MONTH


def monthly_earnings(rec: FrozenRecords, factor: float, stop: np.ndarray | None = None) -> np.ndarray:
    """Members x months: earnings (hours x wage x ``factor`` per day worked while in the program).

    ``stop``: per job, the day it stopped if not the records' (a trial continues jobs past an exit).
    """
    n = len(rec.member["member_id"])
    lo = month_edges(rec.horizon)
    hi = np.minimum(lo + DAYS_PER_MONTH, rec.horizon)
    out = np.zeros((n, len(lo)))
    j = rec.job
    if len(j["member_id"]):
        start = j["start_day"][:, None]
        stop = (rec.job_stop_day() if stop is None else np.minimum(stop, rec.horizon))[:, None]
        days = np.clip(np.minimum(stop, hi) - np.maximum(start, lo), 0.0, None)
        rate = j["hours_per_week"] * j["hourly_wage"] * factor / 7.0
        np.add.at(out, j["member_id"], days * rate[:, None])
    return out


def benefit_months(rec: FrozenRecords, scenario: Scenario, earnings: np.ndarray, r: Rules) -> dict[str, np.ndarray]:
    """Members x months: SSDI outcome code, SSDI paid, SSI paid (rules-year dollars); -1 / 0 outside."""
    b = scenario.benefits
    status, _ = member_status(rec)
    n, k = earnings.shape
    # Members already in the program on day 0 (a start: section) were referred before it: their
    # months count from month 0 (a negative index would slice the end of the row instead).
    first = np.maximum(np.ceil(rec.member["referral_day"] / DAYS_PER_MONTH - 1e-9).astype(int), 0)
    on = np.arange(k)[None, :] >= first[:, None]
    status = np.asarray(status, int)
    has_ssdi = (status == int(Benefit.SSDI)) | (status == int(Benefit.BOTH))
    has_ssi = (status == int(Benefit.SSI)) | (status == int(Benefit.BOTH))
    amount = np.where(status == int(Benefit.SSDI), b.ssdi_monthly_benefit, b.concurrent_ssdi_monthly_benefit)
    # Every SSDI month is paid (code PAID) unless the work rules say otherwise: only members with a
    # month above the trial work amount go through the state machine.
    ssdi_on = has_ssdi[:, None] & on
    code = np.where(ssdi_on, int(SSDIMonth.PAID), -1).astype(np.int8)
    twp = r.twp_month_earnings
    worked = np.flatnonzero(has_ssdi & ((earnings > twp) & on).any(axis=1))
    terminated = int(SSDIMonth.TERMINATED)
    for i, row in zip(worked, earnings[worked].tolist()):
        # Only months above the trial work amount change the state; after the last of them (and the
        # grace months it may start) every month is paid, or stays terminated.
        e = row[first[i]:]
        last = max(j for j, x in enumerate(e) if x > twp) + r.grace_months
        c = ssdi_codes(e[:last + 1], r)
        c.extend([terminated if c[-1] == terminated else int(SSDIMonth.PAID)] * (len(e) - len(c)))
        code[i, first[i]:] = c
    ssdi = np.where(ssdi_on & (code <= int(SSDIMonth.GRACE)), amount[:, None], 0.0)
    ssi = np.zeros((n, k))
    if has_ssi.any():
        # SSI of month m counts the income of month m - 2; before referral the member had no
        # earnings and the full SSDI check.
        base = np.where(status == int(Benefit.BOTH), b.concurrent_ssdi_monthly_benefit, 0.0)[:, None]
        earned = np.concatenate([np.zeros((n, 2)), earnings[:, :-2]], axis=1) if k > 2 else np.zeros((n, k))
        unearned_now = np.where(on, ssdi, base)
        unearned = np.concatenate([np.repeat(base, 2, axis=1), unearned_now[:, :-2]], axis=1) if k > 2 \
            else np.repeat(base, k, axis=1)
        g = r.ssi_general_exclusion
        cu = np.maximum(0.0, unearned - g)
        left = np.maximum(0.0, g - unearned)
        ce = np.maximum(0.0, earned - left - r.ssi_earned_exclusion) * r.ssi_earned_share_counted
        pay = np.maximum(0.0, r.ssi_federal_benefit_rate - cu - ce)
        ssi = np.where(has_ssi[:, None] & on, pay, 0.0)
    return {"ssdi_code": code, "ssdi": ssdi, "ssi": ssi, "on": on}


def annual_taxes(earned: np.ndarray, ssdi: np.ndarray, r: Rules) -> tuple[np.ndarray, np.ndarray]:
    """Per member of one year: payroll tax of one side and federal income tax net of EITC."""
    payroll = r.payroll_oasdi_rate * np.minimum(earned, r.oasdi_wage_base) + r.payroll_hi_rate * earned
    return payroll, income_tax_array(earned, ssdi, r)


def public_purse(rec: FrozenRecords, scenario: Scenario, rows: dict[str, np.ndarray],
                 detail: bool = False) -> dict[str, np.ndarray]:
    """The public purse's items per observation year (``rows``: ``costs.budget``), output price year.

    With ``detail`` the member-month arrays are returned too (``_earnings``, ``_ssi``, ...).
    """
    b, c = scenario.benefits, scenario.costs
    r = rules(b.rules_year)
    out_year = prices.output_year(c.price_year)
    to_out = prices.convert(1.0, b.rules_year, out_year)  # rules-year dollars -> output dollars
    wage_to_rules = prices.convert(1.0, c.price_years["hourly_wage"], b.rules_year)
    earnings = monthly_earnings(rec, wage_to_rules)
    months = benefit_months(rec, scenario, earnings, r)
    status, counselled = member_status(rec)

    ends = scenario.warmup_days + np.cumsum(rows["days"])
    years = list(zip(ends - rows["days"], ends))
    month_start = month_edges(rec.horizon)
    enr = rec.member["enrollment_day"]
    res = {k: np.zeros(len(years)) for k in PURSE_COLUMNS}
    for y, (a, z) in enumerate(years):
        cols = (month_start >= a - 1e-9) & (month_start < z - 1e-9)
        e = earnings[:, cols].sum(axis=1)
        d = months["ssdi"][:, cols].sum(axis=1)
        s = months["ssi"][:, cols].sum(axis=1)
        payroll, tax = annual_taxes(e, d, r)
        res["ssi_paid"][y] = s.sum() * to_out
        res["ssdi_paid"][y] = d.sum() * to_out
        res["payroll_tax_employee"][y] = payroll.sum() * to_out
        res["payroll_tax_employer"][y] = payroll.sum() * to_out if b.employer_payroll_tax else 0.0
        res["income_tax"][y] = tax.sum() * to_out
        res["net_income"][y] = (e + d + s - payroll - tax).sum() * to_out
        new = np.isfinite(enr) & (enr >= a) & (enr < z) & counselled
        res["members_counselled"][y] = new.sum()
    if b.counselling_provider == "counsellor":
        res["counselling_outside"][:] = (res["members_counselled"] * b.counselling_hours_per_beneficiary
                                         * b.counsellor_cost_per_hour * to_out)
    res["payroll_tax"][:] = res["payroll_tax_employee"] + res["payroll_tax_employer"]
    res["qalys"][:] = rows["employed_months"] / 12.0 * b.utility_gain_employed
    merged = dict(rows, **{k: v for k, v in res.items() if k != "public_purse_cost"})
    if "hospital" not in c.offsets:
        merged["hospital"] = np.zeros(len(years))
    res["public_purse_cost"][:] = sum(sign * merged[item] for item, sign in PURSE_ITEMS)
    if detail:
        res.update(_earnings=earnings * to_out, _ssi=months["ssi"] * to_out, _ssdi=months["ssdi"] * to_out,
                   _ssdi_code=months["ssdi_code"], _on=months["on"], _status=status, _counselled=counselled,
                   _month_start=month_start)
    return res


def ssdi_work_outcomes(rec: FrozenRecords, scenario: Scenario, until: float | None = None,
                       stop: np.ndarray | None = None) -> dict[str, float]:
    """Among SSDI beneficiaries (SSDI or both): share who used a trial work month, and share whose check
    was suspended or terminated for work (the Mental Health Treatment Study's outcome), by ``until``.

    ``stop``: per job, the day it stopped, if not the records' (``monthly_earnings``)."""
    b = scenario.benefits
    r = rules(b.rules_year)
    wage_to_rules = prices.convert(1.0, scenario.costs.price_years["hourly_wage"], b.rules_year)
    earnings = monthly_earnings(rec, wage_to_rules, stop)
    months = benefit_months(rec, scenario, earnings, r)
    status, _ = member_status(rec)
    ssdi = (status == Benefit.SSDI) | (status == Benefit.BOTH)
    cols = month_edges(rec.horizon) < (rec.horizon if until is None else until) - 1e-9
    code = months["ssdi_code"][ssdi][:, cols]
    n = int(ssdi.sum())
    if n == 0:
        return {"ssdi_members": 0.0, "ssdi_trial_work_share": math.nan, "ssdi_suspended_or_terminated_share": math.nan}
    return {
        "ssdi_members": float(n),
        "ssdi_trial_work_share": float((code == SSDIMonth.TRIAL_WORK).any(axis=1).mean()),
        "ssdi_suspended_or_terminated_share": float((code >= SSDIMonth.SUSPENDED).any(axis=1).mean()),
    }
