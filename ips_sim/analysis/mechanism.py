""""Why did this change?": the chain from a staffing lever to employment, measured.

In the model, staffing changes outcomes through one path (planning.PlanningStep._planning_step):
members per specialist set how many hours each job seeker's share of the week
is; the share of demanded job-search hours received sets the job-finding
hazard; the job-finding hazard sets who is employed within 18 months. Each link
here is a metric of both runs with its paired difference and CI, so a student
sees where the change starts and where it fades.
"""

from __future__ import annotations

import pandas as pd

from ips_sim.analysis.paired import comparison_table

# (metric, the question this link answers)
CHAIN = (
    ("caseload_per_specialist_mean", "How many people does each specialist carry?"),
    ("job_search_service_share", "What share of the job-search help they need do job seekers get?"),
    ("job_search_hours_per_seeker_week", "How many hours of job-search help does a job seeker get a week?"),
    ("job_finding_rate_per_seeker_month", "How often does a job seeker find a job?"),
    ("ever_employed_rate", "How many are employed within 18 months of enrolling?"),
)


def why_chain(baseline: list[dict[str, float]], variant: list[dict[str, float]],
              confidence: float = 0.95) -> pd.DataFrame:
    """The links of :data:`CHAIN`, lever first: means of both runs, paired difference, CI, verdict.

    ``baseline`` and ``variant`` are per-replication metrics of two runs with the same seed.
    """
    table = comparison_table(baseline, variant, confidence).set_index("metric")
    rows = []
    for step, (name, question) in enumerate(CHAIN, start=1):
        if name not in table.index:
            continue
        r = table.loc[name]
        rows.append({"step": step, "metric": name, "label": r["label"], "question": question,
                     "unit": r["unit"], "baseline": r["baseline"], "variant": r["variant"],
                     "difference": r["difference"], "diff_ci_low": r["diff_ci_low"],
                     "diff_ci_high": r["diff_ci_high"], "variant_is": r["variant_is"]})
    return pd.DataFrame(rows)
