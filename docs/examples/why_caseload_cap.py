"""A busy two-specialist team lets each specialist take 30 people: what changes, and why."""

import pandas as pd

import ips_sim

busy = ips_sim.load("scenarios/two_specialists_38_members.yaml", changes={"referrals.rate_per_month": 2.5})
cmp = ips_sim.compare(busy, changes={"team.caseload_cap": 30}, replications=20, seed=1)
pd.set_option("display.width", 200)
print(cmp.table.loc[["mean_wait_days", "share_gave_up_waiting"], ["baseline", "variant", "difference"]].round(3))
print()
why = cmp.why.set_index("label")[["baseline", "variant", "difference", "diff_ci_low", "diff_ci_high"]]
print(why.rename(columns={"diff_ci_low": "ci_low", "diff_ci_high": "ci_high"}).round(3).to_string())
