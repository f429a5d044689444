"""Members' income by month: earnings, SSI, SSDI, taxes and net income (``member_income.csv``).

Built after the run from the records (``economics/public_purse.py``), one row per member and
month on the caseload, so a reader can see why some members keep their hours low: the SSI
check falls by half of each dollar earned past $85 two months later, and an SSDI check stops
only above SGA after the trial work period and grace months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ips_sim.config import DAYS_PER_MONTH, Scenario, prices
from ips_sim.config.benefit_rules import rules
from ips_sim.economics.benefits import SSDIMonth
from ips_sim.economics.costs import replication_budget
from ips_sim.economics.public_purse import annual_taxes, public_purse
from ips_sim.sim.benefit_choice import Benefit
from ips_sim.sim.records import FrozenRecords

_BENEFIT = np.array([b.label for b in Benefit], dtype=object)
_SSDI = np.array(["", *(s.name.lower() for s in SSDIMonth)], dtype=object)  # -1: no SSDI


def member_income_table(records: list[FrozenRecords], scenario: Scenario) -> pd.DataFrame:
    """Per member and month on the caseload (output price year): earnings, benefits, taxes, net income.

    Income tax is a year's tax (12-month blocks from day 0) spread evenly over its months; it is
    negative when the earned income tax credit exceeds it.
    """
    r = rules(scenario.benefits.rules_year)
    frames = []
    for rec in records:
        d = _detail(rec, scenario)
        e, ssi, ssdi, code = d["_earnings"], d["_ssi"], d["_ssdi"], d["_ssdi_code"]
        n, k = e.shape
        to_rules = d["to_rules"]
        payroll = np.zeros((n, k))
        tax = np.zeros((n, k))
        for a in range(0, k, 12):
            cols = slice(a, min(a + 12, k))
            p, t = annual_taxes(e[:, cols].sum(axis=1) * to_rules, ssdi[:, cols].sum(axis=1) * to_rules, r)
            total = e[:, cols].sum(axis=1, keepdims=True)
            payroll[:, cols] = p[:, None] * (e[:, cols] / np.where(total > 0, total, 1.0)) / to_rules  # by earnings
            tax[:, cols] = t[:, None] / 12.0 / to_rules
        enr, ex = rec.member["enrollment_day"], rec.member["exit_day"]
        start = d["_month_start"]
        stop = np.where(np.isfinite(ex), ex, rec.horizon)
        on = np.isfinite(enr)[:, None] & (start[None, :] + DAYS_PER_MONTH > enr[:, None]) & \
            (start[None, :] < stop[:, None]) & d["_on"]  # and from the first whole month after referral
        i, m = np.nonzero(on)
        # SSI members whose cash stopped because of earnings: Medicaid continues under section 1619(b)
        # while a year's earnings stay under the state threshold (benefits.medicaid_1619b_threshold)
        ssi_member = np.isin(d["_status"], (int(Benefit.SSI), int(Benefit.BOTH)))[:, None]
        cash_stopped = ssi_member & d["_on"] & (ssi <= 0) & (e > 0)
        over = 12.0 * e * to_rules >= scenario.benefits.medicaid_1619b_threshold
        frames.append(pd.DataFrame({
            "replication": rec.replication,
            "member_id": rec.member["member_id"][i],
            "month": m,
            "month_start_day": start[m],
            "benefit": _BENEFIT[d["_status"][i].astype(int)],
            "counselled": d["_counselled"][i],
            "earnings": e[i, m],
            "ssi": ssi[i, m],
            "ssdi": ssdi[i, m],
            "ssdi_month": _SSDI[code[i, m].astype(int) + 1],
            "medicaid_1619b": cash_stopped[i, m] & ~over[i, m],
            "medicaid_lost": cash_stopped[i, m] & over[i, m],
            "payroll_tax": payroll[i, m],
            "income_tax": tax[i, m],
            "net_income": e[i, m] + ssi[i, m] + ssdi[i, m] - payroll[i, m] - tax[i, m],
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _detail(rec: FrozenRecords, scenario: Scenario) -> dict:
    d = public_purse(rec, scenario, replication_budget(rec, scenario), detail=True)
    out_year = prices.output_year(scenario.costs.price_year)
    d["to_rules"] = prices.convert(1.0, out_year, scenario.benefits.rules_year)
    return d
