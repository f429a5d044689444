"""Figures of docs/benefits.md: the MHTS check, what counselling changes, and the public purse's cost.

    .venv/bin/python benchmarks/benefits_figures.py                 # all three, about 10 s on 2 cores
    .venv/bin/python benchmarks/benefits_figures.py --only counselling

1. A virtual trial of SSDI beneficiaries (IPS vs usual services, 100 per arm, 20 trials,
   24 and 60 months): trial work and suspension/termination shares by arm, over a range
   of ``benefits.counselled_cap_probability``.
2. What counselling changes: the IPS cohort (38 people, 18 months) with an outside counsellor
   against no counselling, paired replications: hours of SSDI beneficiaries' jobs, earnings,
   SSI, SSDI and taxes per participant; and counselling by specialists' intake hours.
3. The speed of the public-purse accounting per replication (it runs after the simulation).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ips_sim.config import scenario_from_dict  # noqa: E402
from ips_sim.core.intervals import mean_ci  # noqa: E402
from ips_sim.economics.costs import economic_outcomes, with_public_purse  # noqa: E402
from ips_sim.runner.experiment import run_replications  # noqa: E402
from ips_sim.studies.trial import virtual_trial  # noqa: E402

SSDI_ONLY = {"benefits.share_ssdi": 1.0, "benefits.share_ssi": 0.0, "benefits.share_both": 0.0}
COHORT = {"referrals": {"cohort_size": 38, "rate_per_month": 0}, "simulation": {"horizon_years": 1.5,
                                                                                "warmup_years": 0}}


def mhts() -> None:
    print("1. Virtual trial of SSDI beneficiaries (100 per arm, 20 trials): share with a trial work month, "
          "share suspended or terminated for work (IPS | usual services)")
    for months in (24, 60):
        for pc in (0.0, 0.7, 0.9, 1.0):
            upd = {**SSDI_ONLY, "benefits.counselled_cap_probability": pc}
            r = virtual_trial(scenario_from_dict({}).with_updates(upd),
                              scenario_from_dict({"arm": "usual_services"}).with_updates(upd),
                              100, follow_up_months=months, replications=20, seed=5)
            d = {row["outcome"]: row for row in r.summary}
            t, s, e = d["ssdi_trial_work_share"], d["ssdi_suspended_or_terminated_share"], d["employment_rate"]
            print(f"  {months} months, counselled_cap_probability {pc:.1f}: employed {e['ips_mean']:.3f} | "
                  f"{e['control_mean']:.3f}; trial work {t['ips_mean']:.3f} | {t['control_mean']:.3f}; "
                  f"suspended/terminated {s['ips_mean']:.4f} | {s['control_mean']:.4f}")


def counselling(replications: int = 100) -> None:
    print(f"2. What counselling changes: IPS cohort of 38, 18 months, {replications} paired replications")

    def arm(provider: str, extra: dict | None = None):
        sc = scenario_from_dict({**COHORT, "benefits": {"counselling_provider": provider}}).with_updates(extra or {})
        out = []
        _, recs = run_replications(sc, replications, 2, keep_records=True)
        for rec in recs:
            j, m = rec.job, rec.member
            ssdi = np.isin(m["benefit_status"][j["member_id"]], (1, 3))
            o = economic_outcomes(rec, sc, with_public_purse(rec, sc))
            o["ssdi_job_hours"] = float(j["hours_per_week"][ssdi].mean()) if ssdi.any() else np.nan
            o["capped_share"] = float(j["hours_capped"][ssdi].mean()) if ssdi.any() else np.nan
            o["counselled_share"] = float(m["counselled"][m["benefit_status"] > 0].mean())
            out.append(o)
        return out

    keys = ("ssdi_job_hours", "capped_share", "counselled_share", "earnings", "ssi_paid", "ssdi_paid", "taxes_paid",
            "net_income", "public_purse_cost", "counselling_outside")
    base = arm("none")
    for label, rows in (("outside counsellor", arm("counsellor")), ("specialists' intake hours", arm("specialist"))):
        print(f"  {label} minus no counselling (mean [95% CI] per participant):")
        for k in keys:
            d = np.array([a[k] - b[k] for a, b in zip(rows, base)], float)
            mean, lo, hi = mean_ci(d[np.isfinite(d)])
            print(f"    {k:22s} {mean:12.3f}  [{lo:.3f}, {hi:.3f}]")


def speed(rounds: int = 5) -> None:
    sc = scenario_from_dict({})
    _, recs = run_replications(sc, 4, 1, keep_records=True)
    with_public_purse(recs[0], sc)  # first call: imports and caches warm

    def per_replication(remake_budget: bool) -> float:
        t = time.perf_counter()
        for rec in recs:
            if remake_budget:  # as from records alone: the budget rows made again
                rec.derived = None
            with_public_purse(rec, sc)  # otherwise on the budget rows the run's metrics kept
        return (time.perf_counter() - t) / len(recs)

    whole, purse = [], []
    for _ in range(rounds):  # alternating, median of rounds
        whole.append(per_replication(True))
        purse.append(per_replication(False))
    t = time.perf_counter()
    run_replications(sc, 4, 1, keep_records=False)
    sim = (time.perf_counter() - t) / 4
    print(f"3. Public-purse accounting of one 15-year replication (default program; median of {rounds} rounds): "
          f"{1000 * np.median(whole):.1f} ms with the budget rows, {1000 * np.median(purse):.1f} ms on the budget "
          f"rows the run kept; the simulation itself {1000 * sim:.0f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=("mhts", "counselling", "speed"))
    a = p.parse_args()
    for name, f in (("mhts", mhts), ("counselling", counselling), ("speed", speed)):
        if a.only in (None, name):
            f()


if __name__ == "__main__":
    main()
