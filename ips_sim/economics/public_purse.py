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
from ips_sim.economics.benefits import Benefit, SSDIMonth, income_tax_array, ssdi_code_rows
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
    k = len(lo)
    j = rec.job
    if not len(j["member_id"]):
        return np.zeros((n, k))
    start = j["start_day"]
    stop = rec.job_stop_day() if stop is None else np.minimum(stop, rec.horizon)
    # Only the months each job touches (and one either side, where its days clip to 0): a pair per
    # job and month, not jobs x all months. Each member-month adds its jobs' amounts in job order.
    first = np.clip(np.floor(start / DAYS_PER_MONTH).astype(np.int64) - 1, 0, k - 1)
    reach = np.where(np.isnan(stop), rec.horizon, np.maximum(stop, start))  # NaN: every month (NaN, as before)
    last = np.clip(np.floor(reach / DAYS_PER_MONTH).astype(np.int64) + 1, 0, k - 1)
    span = last - first + 1
    job = np.repeat(np.arange(len(start)), span)
    month = first[job] + (np.arange(len(job)) - np.repeat(np.cumsum(span) - span, span))
    days = np.clip(np.minimum(stop[job], hi[month]) - np.maximum(start[job], lo[month]), 0.0, None)
    rate = j["hours_per_week"] * j["hourly_wage"] * factor / 7.0
    cell = j["member_id"][job] * k + month
    return np.bincount(cell, weights=days * rate[job], minlength=n * k).reshape(n, k)


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
    # Every SSDI month is paid (code PAID) unless the work rules say otherwise.
    ssdi_on = has_ssdi[:, None] & on
    code = np.where(ssdi_on, np.int8(SSDIMonth.PAID), np.int8(-1))
    # Only members with a month above the trial work amount can leave PAID: the state machine runs for them.
    worked = np.flatnonzero(has_ssdi & ((earnings > r.twp_month_earnings) & on).any(axis=1))
    if len(worked):
        code[worked] = ssdi_code_rows(earnings[worked], first[worked], r)
    ssdi = np.where(ssdi_on & (code <= int(SSDIMonth.GRACE)), amount[:, None], 0.0)
    ssi = np.zeros((n, k))
    rows = np.flatnonzero(has_ssi)
    if len(rows):
        # SSI of month m counts the income of month m - 2; before referral the member had no
        # earnings and the full SSDI check. (SSI members' rows only: everyone else's is 0.)
        base = np.where(status[rows] == int(Benefit.BOTH), b.concurrent_ssdi_monthly_benefit, 0.0)[:, None]
        earned = np.concatenate([np.zeros((len(rows), 2)), earnings[rows, :-2]], axis=1) if k > 2 \
            else np.zeros((len(rows), k))
        unearned_now = np.where(on[rows], ssdi[rows], base)
        unearned = np.concatenate([np.repeat(base, 2, axis=1), unearned_now[:, :-2]], axis=1) if k > 2 \
            else np.repeat(base, k, axis=1)
        g = r.ssi_general_exclusion
        cu = np.maximum(0.0, unearned - g)
        left = np.maximum(0.0, g - unearned)
        ce = np.maximum(0.0, earned - left - r.ssi_earned_exclusion) * r.ssi_earned_share_counted
        pay = np.maximum(0.0, r.ssi_federal_benefit_rate - cu - ce)
        ssi[rows] = np.where(on[rows], pay, 0.0)
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
    starts = ends - rows["days"]
    month_start = month_edges(rec.horizon)
    # Each year's months are one slice (month starts increase): [a, z) less 1e-9 at both ends.
    lo = np.searchsorted(month_start, starts - 1e-9, "left")
    hi = np.searchsorted(month_start, ends - 1e-9, "left")

    # Column c of year y's months (month index k: a column of zeros, past the last month).
    width = int((hi - lo).max(initial=0))
    col = lo[:, None] + np.arange(width)[None, :]
    col = np.where(col < hi[:, None], col, len(month_start))

    def by_year(x: np.ndarray) -> np.ndarray:
        """Years x members: each member's sum over the year's months, added month after month, as
        ``x[:, months].sum(axis=1)`` adds them (the zeros past a year's months change no sum)."""
        months_first = np.concatenate([x.T, np.zeros((1, len(x)))])  # a row per month: whole rows gathered
        total = months_first[col[:, 0]] if width else np.zeros((len(lo), len(x)))
        for c in range(1, width):
            total += months_first[col[:, c]]
        return total

    # Every year at once, a row per year (its sums add the same numbers in the same order as year by year).
    e, d, s = by_year(earnings), by_year(months["ssdi"]), by_year(months["ssi"])
    payroll, tax = annual_taxes(e, d, r)
    res = {k: np.zeros(len(lo)) for k in PURSE_COLUMNS}
    res["ssi_paid"][:] = s.sum(axis=1) * to_out
    res["ssdi_paid"][:] = d.sum(axis=1) * to_out
    res["payroll_tax_employee"][:] = payroll.sum(axis=1) * to_out
    if b.employer_payroll_tax:
        res["payroll_tax_employer"][:] = res["payroll_tax_employee"]
    res["income_tax"][:] = tax.sum(axis=1) * to_out
    res["net_income"][:] = (e + d + s - payroll - tax).sum(axis=1) * to_out
    enr = rec.member["enrollment_day"]
    new = np.isfinite(enr) & (enr >= starts[:, None]) & (enr < ends[:, None]) & counselled
    res["members_counselled"][:] = new.sum(axis=1)
    if b.counselling_provider == "counsellor":
        res["counselling_outside"][:] = (res["members_counselled"] * b.counselling_hours_per_beneficiary
                                         * b.counsellor_cost_per_hour * to_out)
    res["payroll_tax"][:] = res["payroll_tax_employee"] + res["payroll_tax_employer"]
    res["qalys"][:] = rows["employed_months"] / 12.0 * b.utility_gain_employed
    merged = dict(rows, **{k: v for k, v in res.items() if k != "public_purse_cost"})
    if "hospital" not in c.offsets:
        merged["hospital"] = np.zeros(len(lo))
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
