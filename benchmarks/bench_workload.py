"""How well the work estimate (ips_sim.config.workload) predicts the time of one replication.

Prints, for scenarios that stress referrals or specialists, the CPU seconds
of one replication, the estimate, and the fitted cost per referral and per
specialist planning step; asserts nothing. The estimate's constants should stay
above the fitted ones (the estimate errs on the long side).

    nice .venv/bin/python benchmarks/bench_workload.py
"""

from __future__ import annotations

import time

import numpy as np

from ips_sim.config import scenario_from_dict, workload
from ips_sim.sim.model import run_replication

CASES = [  # (referrals per month, specialists, years)
    (4, 2, 15), (40, 2, 15), (40, 20, 15), (400, 200, 5), (4, 200, 15), (2000, 4, 3), (4, 1000, 3),
]


def main() -> None:
    rows = []
    print(f"{'rate':>6} {'spec':>5} {'years':>5} {'referrals':>10} {'steps':>9} {'CPU s':>11} "
          f"{'estimate s':>11} {'ratio':>6}")
    for rate, specialists, years in CASES:
        sc = scenario_from_dict({"referrals": {"rate_per_month": rate, "schedule": []},
                                 "team": {"specialists": specialists},
                                 "supervision": {"specialists_per_supervisor": None},
                                 "simulation": {"horizon_years": years, "warmup_years": 1}}, "bench")
        w = workload.estimate(sc, 1)
        t = time.process_time()  # CPU time: less disturbed by other work on a shared machine than wall time
        run_replication(sc, 0, 1)
        dt = time.process_time() - t
        rows.append((w.referrals, w.specialist_steps, dt))
        print(f"{rate:>6} {specialists:>5} {years:>5} {w.referrals:>10,.0f} {w.specialist_steps:>9,.0f} "
              f"{dt:>11.2f} {w.cpu_seconds:>11.2f} {w.cpu_seconds / dt:>6.2f}")
    a = np.array([[r, s] for r, s, _ in rows])
    y = np.array([t for _, _, t in rows])
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    print(f"fitted: {coef[0] * 1e6:.0f} us per referral, {coef[1] * 1e6:.0f} us per specialist planning step "
          f"(estimate uses {workload.SECONDS_PER_REFERRAL * 1e6:.0f} and "
          f"{workload.SECONDS_PER_SPECIALIST_STEP * 1e6:.0f})")


if __name__ == "__main__":
    main()
