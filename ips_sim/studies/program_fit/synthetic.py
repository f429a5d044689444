"""Synthetic programs with known parameters: quarterly reports made by the model itself.

Used for the shipped example history (clearly labelled synthetic), the simulation-based
calibration test and the benchmark: a program is the base scenario with its own factors on
job finding, job ending and drop-out, a referral rate, a caseload on day 0 and a staffing
history; one replication of it over the quarters, counted as programs report
(:mod:`.series`), is its records.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from ips_sim.config import Scenario
from ips_sim.config.program_records import ProgramRecords, quarter_after, quarter_label
from ips_sim.sim.model import run_replication
from ips_sim.studies.program_fit.history import PARAMETERS, get_dotted_value, vacancies_from_fte
from ips_sim.studies.program_fit.series import quarterly_series

COLUMNS = ("people_served", "people_working", "job_starts", "enrollments", "referrals", "closures", "waiting")


def program_scenario(base: Scenario, theta: dict[str, float], quarters: int, referrals_per_month: float,
                     start: dict, first: dt.date, fte: list[float] | None = None) -> Scenario:
    """The base scenario as a program with factors ``theta`` (log), over ``quarters`` from ``first``."""
    upd = {"simulation.horizon_years": quarters / 4.0, "simulation.warmup_years": 0.0,
           "referrals.rate_per_month": referrals_per_month, "turnover.enabled": False}
    for p in PARAMETERS:
        for path in p.paths:
            upd[path] = get_dotted_value(base, path) * math.exp(theta.get(p.name, 0.0))
    data = base.model_dump(mode="json")
    data["start"] = {"date": first.isoformat(), **start}
    sc = Scenario.model_validate(data).with_updates(upd)
    if fte is not None:
        sc = sc.with_updates({"team.vacancies": vacancies_from_fte(fte, sc.team.specialists,
                                                                   sc.team.fte_per_specialist)})
    return sc


def synthetic_records(scenario: Scenario, seed: int, replication: int = 0, first: dt.date | None = None,
                      columns=COLUMNS, fte: list[float] | None = None, source: str = "<synthetic>") -> ProgramRecords:
    """One replication of ``scenario`` counted as a program's quarterly reports."""
    quarters = int(round(scenario.simulation.horizon_years * 4))
    rec = run_replication(scenario, replication, seed).freeze()
    s = quarterly_series(rec, quarters=quarters)
    first = first or scenario.start.date
    qs = [first]
    for _ in range(quarters - 1):
        qs.append(quarter_after(qs[-1]))
    values = {c: np.array(s[c], dtype=float) for c in columns}
    if fte is not None:
        values["specialist_fte"] = np.array(fte, dtype=float)
    return ProgramRecords(source, qs, values)


def records_csv(records: ProgramRecords, header: list[str] | None = None) -> str:
    """The records as a reports CSV (``header``: comment lines written first)."""
    cols = list(records.values)
    lines = [f"# {h}" for h in header or []]
    lines.append(",".join(["quarter"] + cols))
    for k, q in enumerate(records.quarters):
        cells = [quarter_label(q)]
        for c in cols:
            x = records.values[c][k]
            cells.append(f"{x:g}" if c == "specialist_fte" else str(int(x)))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


# The shipped example (scenarios/example_program_reports.csv): a synthetic program made by the model
# with these parameters, so its fit can be checked against the truth. Below the national average at
# finding jobs (factor 0.75), its jobs end faster (1.3) and people drop out a little more (1.1); five
# referrals a month; three specialist posts, one vacant from January 2024 for seven and a half months.
EXAMPLE = {
    "theta": {"job_finding": math.log(0.75), "job_ending": math.log(1.3), "drop_out": math.log(1.1)},
    "referrals_per_month": 5.0,
    "start": {"job_seekers": 34, "workers": 18, "waitlist": 3},
    "first": dt.date(2023, 1, 1),
    "fte": [3, 3, 3, 3, 2, 2, 2.5, 3, 3, 3, 3, 3],
    "seed": 11,
}
EXAMPLE_SCENARIO = {"name": "example_program", "team": {"specialists": 3}}


def example_records(base: Scenario) -> ProgramRecords:
    """The example program's 12 quarters of reports (base: scenarios/example_program.yaml)."""
    e = EXAMPLE
    sc = program_scenario(base, e["theta"], len(e["fte"]), e["referrals_per_month"], e["start"], e["first"],
                          fte=e["fte"])
    return synthetic_records(sc, seed=e["seed"], fte=e["fte"])


def example_header() -> list[str]:
    e = EXAMPLE
    factors = ", ".join(f"{k} x{math.exp(v):.2f}" for k, v in e["theta"].items())
    return ["SYNTHETIC example program: made by the ips-sim model itself, not a real program.",
            f"Parameters: {factors} (factors on the national fit's rates); {e['referrals_per_month']:g} referrals "
            f"a month;",
            f"day 0 ({e['first']}): {e['start']['job_seekers']} job seekers, {e['start']['workers']} working, "
            f"{e['start']['waitlist']} waiting; 3 specialist posts (scenarios/example_program.yaml),",
            "one vacant from January 2024 for 7.5 months (specialist_fte); one replication, seed "
            f"{e['seed']} (ips_sim.studies.program_fit.synthetic.EXAMPLE; tests/test_fit_program.py remakes it)."]
