"""A program's history as a scenario: its staffing, referrals and caseload, quarter by quarter.

The fit simulates the program over the quarters of its reports: day 0 is the first
quarter's start, the caseload on day 0 is estimated from the first quarter's report,
referrals follow the reported referrals (or a fitted level when the program does not
report them), and a quarter whose specialist FTE is below the program's largest is
simulated with posts vacant for that share of the quarter (``team.vacancies``). The
local parameters (``PARAMETERS``) are factors on the national fit's rates; their
priors are the national fit's spread widened by the spread between programs.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from ips_sim.config import Scenario, get_dotted, scenario_from_dict
from ips_sim.config.program_records import ProgramRecords

# What a quarter's report can be made of on day 0, when the program does not say:
# members stayed about 21 months on average in the national fit when these were set (about 22 in the
# current fit: calibration/parameters.csv, referrals.rate_per_month note), so about 3 / (21 + 3) = 12.5%
# of a quarter's people served enrolled during it (used only when the records do not report
# enrollments, and for the referral level when they report no referrals or enrollments; kept: on an
# earlier national fit, with 23, 80% of 60 people served working every quarter came within the 90% band
# of a three-post program; on the current fit those records get POOR FIT with 21, 22 or 23: share
# working p = 0.01, 0.02, 0.03, fit-program --population 100 --generations 3, seed 0);
# and about a fifth of a quarter's workers started their job in it (first-job tenure of about 7 months
# in the national fit, calibration/fit_table.csv).
ENROLLED_IN_QUARTER_SHARE = 0.125
STARTED_IN_QUARTER_SHARE = 0.2
MEAN_STAY_MONTHS = 21.0
# Widest prior (log sd): a factor of 0.2 to 5 at two sd. A national rate that trades off against another
# in the national fit (the job-ending rate against the fragile-job share: the draws can move the two
# together to keep first-job tenure on target) can spread widely in the draws without telling how long a
# program's jobs last (current draws: log sd 0.08 for the job-ending rate, so the bound is not reached).
MAX_PRIOR_SD = 0.8


@dataclass(frozen=True)
class LocalParameter:
    """A local parameter: log factor on the national rates at ``paths`` (log rate itself for referrals)."""

    name: str
    paths: tuple[str, ...]
    words: str
    between_sd: float          # log-scale spread between programs (see PRIOR_REASONING)
    draws_column: str | None   # the national draws' column whose spread is the national uncertainty


PARAMETERS = (
    LocalParameter("job_finding", ("job_search.job_rate_own_per_month", "job_search.job_rate_search_per_month",
                                   "job_search.job_rate_development_per_month"),
                   "job finding: factor on the three job-finding rates", 0.45,
                   "ips:job_search.job_rate_search_per_month"),
    LocalParameter("job_ending", ("jobs.end_rate_per_month",), "job ending: factor on the job-ending rate", 0.35,
                   "ips:jobs.end_rate_per_month"),
    LocalParameter("drop_out", ("engagement.disengage_rate_early_per_month", "engagement.disengage_rate_per_month",
                                "engagement.disengage_rate_employed_per_month"),
                   "drop-out: factor on the disengagement rates", 0.45, "ips:engagement.disengage_rate_per_month"),
)
REFERRALS = LocalParameter("referral_level", ("referrals.rate_per_month",),
                           "referral level: referrals a month (log), fitted when the reports have no referrals",
                           0.5, None)

PRIOR_REASONING = (
    "Priors are normal on the log scale, centred on the national fit (factor 1). Their spread adds the national "
    "fit's own uncertainty (the log standard deviation of its parameter draws) to the spread between programs: "
    "programs in the IPS learning community range from about 30% to over 60% of people served working in a "
    "quarter (benchmarks 31% minimum, 41% average, 50% excellent; ipsworks FAQ), and fidelity explains only 7-12% "
    "of the differences between sites (r = .34, Bond et al. 2012; r = .27, Kim et al. 2015), so most of the "
    "spread is local. No source gives its standard deviation: a factor of about 0.6 to 1.7 on job finding spans "
    "the range (log sd 0.45, an assumption); job ending and drop-out vary between programs too (follow-along and "
    "engagement practice), given log sd 0.35 and 0.45 as assumptions. A prior's log sd is at most 0.8 (the "
    "national draws' spread of the job-ending rate reflects its trade-off with the fragile-job share, not how "
    "long jobs last). The referral level, when fitted, is centred on the people served over a 21-month mean "
    "stay (log sd 0.5)."
)


def national_log_sd(draws: list[tuple[dict, dict]], column: str | None) -> float:
    """Log standard deviation of a national draws column (0 when absent)."""
    if not column or not draws:
        return 0.0
    key = column.split(":", 1)[1]
    v = np.array([d[0][key] for d in draws if key in d[0] and d[0][key] > 0])
    return float(np.std(np.log(v), ddof=1)) if len(v) > 2 else 0.0


@dataclass
class ProgramModel:
    """The fitting scenario of a program's history and how a parameter vector changes it."""

    scenario: Scenario                      # the history scenario at the national values
    parameters: tuple[LocalParameter, ...]
    prior_mean: dict[str, float]
    prior_sd: dict[str, float]
    national_sd: dict[str, float]
    quarters: int
    columns: list[str]                      # reported series compared (besides served and working)
    notes: list[str]
    posts: int

    def updates(self, theta: dict[str, float]) -> dict[str, float]:
        """Scenario changes for a parameter vector (log factors; log rate for the referral level)."""
        out = {}
        for p in self.parameters:
            for path in p.paths:
                if p is REFERRALS:
                    out[path] = float(math.exp(theta[p.name]))
                else:
                    out[path] = float(get_dotted_value(self.scenario, path) * math.exp(theta[p.name]))
        return out

    def scenario_for(self, theta: dict[str, float]) -> Scenario:
        return self.scenario.with_updates(self.updates(theta))


def get_dotted_value(sc: Scenario, path: str) -> float:
    return get_dotted(sc.model_dump(mode="json"), path)


def _team(records: ProgramRecords, team: dict, quarters: int, notes: list[str]) -> tuple[dict, int]:
    """Posts and the vacancy periods of the quarters whose FTE in post is below the posts' total."""
    fte_per = float(team["fte_per_specialist"])
    if not records.has("specialist_fte"):
        # Without staffing records: the base scenario's posts, every one filled all along.
        notes.append(f"note: no specialist_fte column: the base scenario's {team['specialists']} posts, every post "
                     f"filled in every quarter")
        return {**team, "vacancies": []}, int(team["specialists"])
    fte = records.values["specialist_fte"][:quarters]
    posts = max(1, int(math.ceil(fte.max() / fte_per - 1e-9)))
    return {**team, "specialists": posts, "vacancies": vacancies_from_fte(fte, posts, fte_per)}, posts


def vacancies_from_fte(fte, posts: int, fte_per: float) -> list[dict]:
    """``team.vacancies`` for FTE in post per quarter: the posts' worth short in a quarter is vacant from its
    start (the last posts first); a post vacant across quarters is one vacancy."""
    vacancies = []
    for q, f in enumerate(fte):
        short = posts - f / fte_per          # posts' worth vacant over the quarter
        for k in range(posts):
            share = min(1.0, max(0.0, short - k))
            if share > 1e-9:
                vacancies.append({"post": posts - k, "from_month": 3.0 * q, "to_month": 3.0 * q + 3.0 * share})
    return _merge(vacancies)


def _merge(vacancies: list[dict]) -> list[dict]:
    """Consecutive vacancy periods of one post as one (the post stays vacant across quarters)."""
    out: list[dict] = []
    for v in sorted(vacancies, key=lambda v: (v["post"], v["from_month"])):
        if out and out[-1]["post"] == v["post"] and abs(out[-1]["to_month"] - v["from_month"]) < 1e-9:
            out[-1]["to_month"] = v["to_month"]
        else:
            out.append(dict(v))
    return out


def start_state(records: ProgramRecords) -> dict:
    """The caseload on day 0 from the first quarter's report (enrolled during it, or a documented share)."""
    v = {c: a[0] for c, a in records.values.items()}
    served, working = v["people_served"], v["people_working"]
    members = served - v["enrollments"] if "enrollments" in v else round(served * (1 - ENROLLED_IN_QUARTER_SHARE))
    workers = working - v["job_starts"] if "job_starts" in v else round(working * (1 - STARTED_IN_QUARTER_SHARE))
    members = int(max(0, members))
    workers = int(min(members, max(0, workers)))
    return {"date": records.quarters[0].isoformat(), "job_seekers": members - workers, "workers": workers,
            "waitlist": int(v.get("waiting", 0))}


def program_model(base_raw: dict, base: Scenario, records: ProgramRecords, quarters: int | None = None,
                  ahead: int = 0, national_draws: list | None = None) -> ProgramModel:
    """The history scenario of the first ``quarters`` quarters (all by default), simulated ``ahead`` more.

    Quarters ahead (a forecast) have what the program would know at the end of its last fitted
    quarter: the mean referrals of its last four quarters and the staffing of its last quarter.
    """
    T = len(records) if quarters is None else quarters
    rec = records.head(T)
    notes: list[str] = []
    data = copy.deepcopy(base_raw)
    data.pop("name", None)
    data["name"] = "program_history"
    sim = data.setdefault("simulation", {})
    sim.update({"horizon_years": (T + ahead) / 4.0, "warmup_years": 0.0, "replications": 1})
    data["start"] = start_state(rec)
    team = base.team.model_dump(mode="json")
    ext = _extend(rec, ahead)
    data["team"], posts = _team(ext, team, T + ahead, notes)
    data["turnover"] = {**base.turnover.model_dump(mode="json"), "enabled": False}
    ref = {**base.referrals.model_dump(mode="json"), "schedule": [], "trend_per_year": 0.0, "seasonality": None,
           "base_date": None}
    parameters = list(PARAMETERS)
    prior_mean = {p.name: 0.0 for p in PARAMETERS}
    if rec.has("referrals"):
        r = ext.values["referrals"] / 3.0
        ref["rate_per_month"] = float(r[0])
        ref["schedule"] = [{"from_month": 3.0 * q, "rate_per_month": float(x)} for q, x in enumerate(r) if q > 0]
    else:
        parameters.append(REFERRALS)
        served = rec.values["people_served"].mean()
        level = rec.values["enrollments"].mean() / 3.0 if rec.has("enrollments") else served / (MEAN_STAY_MONTHS + 3)
        prior_mean[REFERRALS.name] = math.log(max(level, 0.1))
        ref["rate_per_month"] = float(math.exp(prior_mean[REFERRALS.name]))
        notes.append("note: no referrals column: the referral level is fitted (constant over the history)")
    data["referrals"] = ref
    scenario = scenario_from_dict(data)
    nat = {p.name: national_log_sd(national_draws or [], p.draws_column) for p in parameters}
    prior_sd = {p.name: min(MAX_PRIOR_SD, math.hypot(nat[p.name], p.between_sd)) for p in parameters}
    columns = [c for c in ("job_starts", "enrollments", "closures", "waiting") if rec.has(c)]
    return ProgramModel(scenario, tuple(parameters), prior_mean, prior_sd, nat, T, columns, notes, posts)


def _extend(rec: ProgramRecords, ahead: int) -> ProgramRecords:
    """Records with ``ahead`` quarters appended: last-four-quarter mean referrals, last quarter's staffing."""
    if ahead <= 0:
        return rec
    values = {}
    for c, v in rec.values.items():
        if c == "referrals":
            extra = np.full(ahead, v[-4:].mean())
        elif c == "specialist_fte":
            extra = np.full(ahead, v[-1])
        else:
            extra = np.full(ahead, v[-1])
        values[c] = np.concatenate([v, extra])
    return ProgramRecords(rec.source, rec.quarters, values, rec.notes)
