"""IPS fidelity items measured from a simulated program's operations.

A fidelity reviewer rates a program on the IPS Fidelity Scale (IPS-25, 2008
revision; 25 items scored 1-5). Six items concern things the simulation
observes; this module computes their values from one replication's records
(:class:`ips_sim.sim.records.FrozenRecords`) and the score each value gets.

Items and anchors (which anchors were read in a source and which are from memory
is stated per item, in ``ITEMS`` and in every output row):

* ``caseload_size`` (IPS-25 item 1): mean members per full-time specialist in
  post, over planning steps after warm-up. Anchors read in the 2008 scale text:
  5 = 20 or fewer, 4 = 21-25, 3 = 26-30, 2 = 31-40, 1 = 41 or more.
* ``rapid_job_search`` (services item "rapid search for competitive job"): mean
  days from enrollment to the first face-to-face employer contact, members
  enrolled after warm-up who had one. 5 = within 30 days is verified (What is
  IPS; the older IPS-15 anchor is "within one month"); 4 = 31-60, 3 = 61-150,
  2 = 151-270, 1 = 271 or more days are the 2008 anchors from memory, unverified.
* ``job_development_frequency`` (services item "job development - frequent
  employer contact"): face-to-face employer contacts per specialist-week in post.
  Anchors from memory, unverified: 5 = 6 or more, 4 = 5, 3 = 4, 2 = 2-3, 1 = fewer
  than 2 (value rounded to the closest whole contact).
* ``community_based_services`` (services item "community-based services"): share
  of paid hours spent outside the office. Derived from hours: job-search,
  follow-along and job-development hours received are taken as community time,
  intake as office time, plus the travel share of the week in proportion to the
  direct hours used in the community; meetings and documentation are office
  time. This is an upper bound: the VA IPS implementation (Psychiatr Serv 2007
  58(3):325) found only 27-46% of member contacts in the community. 5 = 65% or
  more is verified (Bond, IPS practice principles; ipsworks FAQ "about two-thirds");
  4 = 50-64%, 3 = 40-49%, 2 = 30-39%, 1 = under 30% are from memory, unverified.
* ``time_unlimited_follow_along`` (services item "follow-along supports - time
  unlimited"): months of continuous work after which follow-along ended, the
  shortest observed among members who stepped down after warm-up (infinite when
  nobody's follow-along was ended by a time limit). Scored (memory, unverified,
  simplified to what the model resolves): 5 = 12 months or more (IPS allows step
  down to other staff after about a year of steady work: Bond, IPS practice
  principles), 3 = 6-11 months, 2 = under 6 months, 1 = no follow-along hours at
  all. Score 4 turns on contact timing (within 3 days of a job start, etc.) that
  the model does not resolve, so it is not used.
* ``supervision`` (organization item "role of employment supervisor"): value =
  specialists supervised per supervisor FTE. The item (memory, unverified) counts
  five elements: (1) one full-time supervisor for at most 10 specialists,
  (2) weekly supervision, (3) contact with mental health team leaders,
  (4) field mentoring of new or struggling specialists, (5) quarterly outcome
  review; 0-1 elements = 1, 2 = 2, ... 5 = 5. Here (1) is the ratio, (2) and (4)
  count as present when the supervisor gave at least ``ELEMENT_COVERAGE`` of the
  hours needed (an assumption), and (3) and (5) are not simulated and assumed present.

Unscored rows, for reading the mechanism: ``supervision_coverage``,
``practice_quality`` (the share of specialists' job-development contacts and
hours that are effective), ``effective_employer_contacts_per_specialist_week``
and ``follow_along_consistency`` (follow-along hours received over demanded,
times practice quality).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ips_sim.analysis.metrics import employer_contacts_per_specialist_week
from ips_sim.config import DAYS_PER_MONTH, Scenario
from ips_sim.core.intervals import t_half_width
from ips_sim.sim.records import ExitReason, FrozenRecords, JobEnd
from ips_sim.sim.workforce import supervision_coverage

# Supervision elements "weekly supervision" and "field mentoring" count as present when the
# supervisor gives at least this share of the hours needed (assumption, no source).
ELEMENT_COVERAGE = 0.9
SPECIALISTS_PER_SUPERVISOR_MAX = 10  # IPS-25 supervision item (memory, unverified); DHCS slides: 5 teams of 2

VERIFIED = "IPS-25 2008 scale text (verified)"
MEMORY = ("full-score criterion sourced; the lower anchors are an assumption (the 2008 scale text could not be "
          "checked; see ips_sim/analysis/fidelity.py)")


@dataclass(frozen=True)
class Item:
    name: str
    unit: str
    anchors: str  # provenance of the anchors; "" for unscored rows


ITEMS = (
    Item("caseload_size", "members per full-time specialist", VERIFIED),
    Item("rapid_job_search", "days from enrollment to first employer contact (mean)", MEMORY),
    Item("job_development_frequency", "employer contacts per specialist-week", MEMORY),
    Item("community_based_services", "share of paid hours outside the office", MEMORY),
    Item("time_unlimited_follow_along", "months of work before follow-along ends (inf: no limit)", MEMORY),
    Item("supervision", "specialists per supervisor FTE", MEMORY),
    Item("supervision_coverage", "supervisor hours received / needed", ""),
    Item("practice_quality", "share of specialist practice that is effective", ""),
    Item("effective_employer_contacts_per_specialist_week", "contacts", ""),
    Item("follow_along_consistency", "follow-along hours received / demanded x practice quality", ""),
)
SCORED = tuple(i.name for i in ITEMS if i.anchors)


# --------------------------------------------------------------------------- anchors


def score_caseload(members_per_fte: float) -> float:
    """IPS-25 item 1 (value rounded to whole members).

    >>> [score_caseload(x) for x in (18, 20, 20.4, 21, 25, 26, 30, 31, 40, 41)]
    [5, 5, 5, 4, 4, 3, 3, 2, 2, 1]
    """
    if not math.isfinite(members_per_fte):
        return math.nan
    x = _round(members_per_fte)
    return 5 if x <= 20 else 4 if x <= 25 else 3 if x <= 30 else 2 if x <= 40 else 1


def score_rapid_search(days: float) -> float:
    """Rapid search for a competitive job (mean days, rounded).

    >>> [score_rapid_search(x) for x in (14, 30, 31, 60, 61, 150, 151, 270, 271)]
    [5, 5, 4, 4, 3, 3, 2, 2, 1]
    """
    if not math.isfinite(days):
        return math.nan
    x = _round(days)
    return 5 if x <= 30 else 4 if x <= 60 else 3 if x <= 150 else 2 if x <= 270 else 1


def score_job_development(contacts: float) -> float:
    """Job development, frequent employer contact (contacts per week, rounded).

    >>> [score_job_development(x) for x in (7, 6, 5.6, 5, 4, 3, 2, 1.4)]
    [5, 5, 5, 4, 3, 2, 2, 1]
    """
    if not math.isfinite(contacts):
        return math.nan
    x = _round(contacts)
    return 5 if x >= 6 else 4 if x == 5 else 3 if x == 4 else 2 if x >= 2 else 1


def score_community(share: float) -> float:
    """Community-based services (share of paid hours, in whole percent).

    >>> [score_community(x) for x in (0.8, 0.65, 0.64, 0.5, 0.49, 0.4, 0.39, 0.3, 0.29)]
    [5, 5, 4, 4, 3, 3, 2, 2, 1]
    """
    if not math.isfinite(share):
        return math.nan
    pct = _round(100.0 * share)
    return 5 if pct >= 65 else 4 if pct >= 50 else 3 if pct >= 40 else 2 if pct >= 30 else 1


def score_follow_along(months: float, any_follow_along: bool = True) -> float:
    """Time-unlimited follow-along (months of work before follow-along ends).

    >>> [score_follow_along(x) for x in (math.inf, 12, 11.9, 6, 5.9)], score_follow_along(12, False)
    ([5, 5, 3, 3, 2], 1)
    """
    if not any_follow_along:
        return 1
    if math.isnan(months):
        return math.nan
    months = round(months, 3)  # step-down at exactly 12 months may come out a hair under in floating point
    return 5 if months >= 12 else 3 if months >= 6 else 2


def score_supervision(specialists_per_fte: float, cover: float) -> float:
    """Elements present: ratio (1), weekly supervision (2) and field mentoring (4) by coverage, 3 and 5 assumed.

    >>> score_supervision(2, 1.0), score_supervision(10, 0.95), score_supervision(16, 1.0), score_supervision(16, 0.6)
    (5, 5, 4, 2)
    """
    elements = 2  # (3) liaison with mental health teams and (5) outcome review: not simulated, assumed present
    if specialists_per_fte <= SPECIALISTS_PER_SUPERVISOR_MAX:
        elements += 1
    if cover >= ELEMENT_COVERAGE:
        elements += 2
    return elements


def _round(x: float) -> int:
    return int(math.floor(x + 0.5))  # half up, so 20.5 members counts as 21


# --------------------------------------------------------------------------- items of one replication


def replication_fidelity(rec: FrozenRecords, scenario: Scenario) -> list[dict]:
    """Rows (item, value, unit, score, anchors) of one replication."""
    warm = scenario.warmup_days
    step = scenario.simulation.planning_step_days
    wf = step / 7.0
    fte = scenario.team.fte_per_specialist
    tu = scenario.time_use

    w = rec.weeks(warm, in_post_only=True)  # specialist-weeks in post (vacant posts are not specialists)
    quality = w["practice_quality"]
    cover = supervision_coverage(rec, warm)

    values: dict[str, float] = {}
    values["caseload_size"] = _mean(w["caseload"]) / fte
    m = rec.member
    enr, contact = m["enrollment_day"], m["first_employer_contact_day"]
    ok = rec.enrolled_from(warm) & np.isfinite(contact)
    values["rapid_job_search"] = _mean(contact[ok] - enr[ok])
    values["job_development_frequency"] = employer_contacts_per_specialist_week(rec, scenario)

    # Community time: job search, follow-along and job development received, plus the
    # travel that goes with them; paid hours = paid hours per week x FTE.
    community = w["hours_follow_along"] + w["hours_job_search"] + w["hours_job_development"]
    avail = w["hours_available"]
    travel_week = fte * (tu.paid_hours_per_week - tu.meeting_hours_per_week) * tu.travel_share * wf
    with np.errstate(invalid="ignore", divide="ignore"):
        travel = np.where(avail > 0, travel_week * community / avail, 0.0)
    paid = len(avail) * tu.paid_hours_per_week * fte * wf
    values["community_based_services"] = float((community + travel).sum() / paid) if paid > 0 else math.nan

    values["time_unlimited_follow_along"] = _follow_along_limit_months(rec, warm)
    n_sup = scenario.supervision.specialists_per_supervisor or scenario.team.specialists
    sfte = scenario.supervision.supervisor_fte
    values["supervision"] = n_sup / sfte if sfte > 0 else math.inf

    values["supervision_coverage"] = cover
    values["practice_quality"] = _mean(quality)
    values["effective_employer_contacts_per_specialist_week"] = _mean(w["employer_contacts"] * quality) / wf
    fd = w["demand_follow_along"]
    fg = w["hours_follow_along"]
    values["follow_along_consistency"] = float((fg * quality).sum() / fd.sum()) if fd.sum() > 0 else math.nan

    sv = scenario.service
    any_follow = sv.follow_along_hours_per_member_week > 0 or sv.follow_along_hours_per_member_week_first_month > 0
    scores = {
        "caseload_size": score_caseload(values["caseload_size"]),
        "rapid_job_search": score_rapid_search(values["rapid_job_search"]),
        "job_development_frequency": score_job_development(values["job_development_frequency"]),
        "community_based_services": score_community(values["community_based_services"]),
        "time_unlimited_follow_along": score_follow_along(values["time_unlimited_follow_along"], any_follow),
        "supervision": score_supervision(values["supervision"], cover if scenario.supervision.enabled else 1.0),
    }
    return [{"replication": rec.replication, "item": it.name, "value": values[it.name], "unit": it.unit,
             "score": float(scores.get(it.name, math.nan)), "anchors": it.anchors} for it in ITEMS]


def _follow_along_limit_months(rec: FrozenRecords, warm: float) -> float:
    """Shortest spell of continuous work after which follow-along was ended (step-down), in months."""
    m, j = rec.member, rec.job
    stepped = rec.exit_is(ExitReason.STEPPED_DOWN) & (m["exit_day"] >= warm)
    if not stepped.any():
        return math.inf
    ids = m["member_id"][stepped]
    # the job held when leaving services
    censored = rec.job_end_is(JobEnd.LEFT_SERVICES_WHILE_WORKING) & np.isin(j["member_id"], ids)
    spells = j["observed_until_day"][censored] - j["start_day"][censored]
    return float(spells.min() / DAYS_PER_MONTH) if len(spells) else math.inf


def _mean(x) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else math.nan


# --------------------------------------------------------------------------- tables and plot


def fidelity_table(records: list[FrozenRecords], scenario: Scenario) -> pd.DataFrame:
    """fidelity.csv: per replication and item, the value and the score (NaN for unscored rows)."""
    rows = [row for r in records for row in replication_fidelity(r, scenario)]
    return pd.DataFrame(rows, columns=["replication", "item", "value", "unit", "score", "anchors"])


def fidelity_summary(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean score (and value) per item with a t-based confidence interval of the mean score."""

    out = []
    for item in [i.name for i in ITEMS]:
        g = table[table["item"] == item]
        sc = g["score"].to_numpy(dtype=float)
        sc = sc[np.isfinite(sc)]
        val = g["value"].to_numpy(dtype=float)
        val = val[np.isfinite(val)]
        n = len(sc)
        mean = float(sc.mean()) if n else math.nan
        half = t_half_width(float(sc.std(ddof=1)), n, confidence) if n > 1 else math.nan
        out.append({"item": item, "value_mean": float(val.mean()) if len(val) else math.nan,
                    "score_mean": mean, "score_ci_low": mean - half, "score_ci_high": mean + half,
                    "replications": int(len(g))})
    return pd.DataFrame(out)
