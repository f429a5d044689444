"""Words and numbers for people: labels of options, metrics and parameters, numbers formatted, scenarios described.

What a board member reads (reports, the printed summary, the app) uses these; the
CSV files keep the ids and full precision.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from ips_sim.analysis.metrics import METRICS, metric_label
from ips_sim.config.prices import currency_label
from ips_sim.core.names import readable

# Plain-language labels of the metrics a board reads (name -> (label, kind)).
LABELS = {
    "ever_employed_rate": ("members with a competitive job within 18 months of enrolling", "share"),
    "quarterly_working_rate": ("members served in a quarter who worked in it", "share"),
    "employed_members_mean": ("members working at any one time", "number"),
    "placements": ("jobs started (whole observation window)", "number"),
    "mean_wait_days": ("days a new referral waits for a place (mean, people who enrolled)", "number"),
    "prob_wait": ("referrals who had to wait for a place", "share"),
    "share_gave_up_waiting": ("referrals who gave up waiting", "share"),
    "enrolled_within_30_days_share": ("referrals enrolled within 30 days", "share"),
    "waitlist_max": ("largest waiting list at a month end (people)", "number"),
    "caseload_per_specialist_mean": ("members per specialist (mean caseload)", "number"),
    "specialist_utilisation": ("specialists' direct hours in use", "share"),
    "program_cost_per_year": ("program cost per year", "money"),
    "cost_per_member_served": ("cost per member served", "money"),
    "cost_per_placement": ("cost per job started", "money"),
    "cost_per_employed_month": ("cost per month a member worked", "money"),
    "member_earnings_per_year": ("members' earnings per year", "money"),
    "people_employed_per_year": ("people employed in a year", "number"),
    "cost": ("cost (chosen perspective, discounted)", "money"),
    "service_cost": ("program service cost (discounted)", "money"),
    "people_employed": ("people employed", "number"),
    "employed_months": ("months worked (discounted)", "number"),
    "earnings": ("members' earnings (discounted)", "money"),
}

# Plain words for the parameters of the assumptions table (others: the last part of the id in words).
PARAMETER_LABELS = {
    "costs.price_year": "price year of the results",
    "costs.specialist_cost_per_fte_year": "specialist cost per full-time year",
    "costs.supervisor_cost_per_fte_year": "supervisor salary per full-time year",
    "costs.supervisor_fringe_rate": "supervisor fringe benefits (share of salary)",
    "costs.overhead_rate": "overhead (share of direct costs)",
    "costs.travel_miles_per_community_hour": "miles driven per hour of community work",
    "costs.travel_cost_per_mile": "cost per mile driven",
    "costs.hire_cost_share_of_specialist_year": "recruiting and training a new hire (share of a specialist year)",
    "costs.benefits_counselling_cost_per_new_member": "benefits counselling per new member",
    "costs.fixed_cost_per_year": "fixed program costs per year",
    "costs.cost_per_member_month": "service cost per member-month on the caseload",
    "costs.discount_rate": "discount rate per year",
    "costs.perspective": "whose costs are counted",
    "costs.offsets": "offsets counted",
    "costs.hospital_cost_per_member_month": "mental-health hospital cost per member-month",
    "costs.price_years": "price year of each cost input",
    "team.caseload_cap": "most members per specialist",
    "referrals.rate_per_month": "new referrals per month",
    "jobs.hourly_wage_mean": "members' mean hourly wage",
    "jobs.hours_per_week_mean": "members' mean hours worked per week",
    "turnover.annual_rate": "specialists leaving per year (with turnover on)",
    "supervision.supervisor_fte": "supervisor post (FTE)",
}


def option_label(sc: dict | None, name: str = "") -> str:
    """What people call an option: its ``label``, else its name in words."""
    sc = sc or {}
    return (sc.get("label") or "").strip() or readable(sc.get("name") or name)


def in_sentence(label: str) -> str:
    """A label inside a sentence: a leading "The" in lower case ("for the county program")."""
    return "t" + label[1:] if label.startswith("The ") else label


def parameter_label(path: str) -> str:
    """Plain words for a scenario field ("time_use.documentation_share" -> "Time use: documentation share")."""
    if path in PARAMETER_LABELS:
        return PARAMETER_LABELS[path]
    if path in ("team.specialists",):
        return "specialists"
    section, _, field = path.rpartition(".")
    if not section:
        return readable(path)
    return f"{readable(section.split('.')[0])}: {field.replace('_', ' ')}"


# --------------------------------------------------------------------------- numbers


def _no_negative_zero(text: str) -> str:
    """'-0.00' and '-$0' read as 0."""
    if text.startswith("-") and not any(c in "123456789" for c in text):
        return text[1:]
    return text


def fmt(x, kind: str = "number", currency: str = "") -> str:
    """A number for people: shares as %, money with $ and thousands separators, counts with sensible precision."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return {"share": "0%", "money": "$0"}.get(kind, "0")
    if kind == "share":
        text = f"{100 * x:.0f}%" if abs(x) >= 0.1 else f"{100 * x:.1f}%"
    elif kind == "money":
        text = f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"
    elif abs(x) >= 100:
        text = f"{x:,.0f}"
    else:
        text = f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"
    return _no_negative_zero(text)


def fmt_ci(lo, hi, kind: str = "number") -> str:
    return f"{fmt(lo, kind)} to {fmt(hi, kind)}"


_UNITS = {m.name: m.unit for m in METRICS}


def metric_kind(name: str) -> str:
    """share, money or number: how a metric's value is shown."""
    if name in LABELS:
        return LABELS[name][1]
    unit = _UNITS.get(name, "")
    return {"share": "share", "money": "money"}.get(unit, "number")


def summary_lines(table, currency: str, period: str) -> list[str]:
    """The printed summary of a run: plain-word label, value and 95% CI for people, unit (ids stay in the CSV)."""
    rows = []
    for r in table.itertuples():
        kind = metric_kind(r.metric)
        unit = "" if kind in ("share", "money") else r.unit
        rows.append((metric_label(r.metric), fmt(r.mean, kind), f"[{fmt_ci(r.ci_low, r.ci_high, kind)}]",
                     currency if kind == "money" else unit))
    width = max((len(a) for a, *_ in rows), default=10)
    value_w = max((len(b) for _, b, *_ in rows), default=8)
    out = [f"  {period}; mean and 95% confidence interval over replications"]
    out += [f"  {a:{width}s}  {b:>{value_w}s}  {c} {d}".rstrip() for a, b, c, d in rows]
    return out


def period_words(sc: dict) -> str:
    """The period a run's figures cover ("over 10 observed years after a 5-year warm-up")."""
    s = sc.get("simulation", {})
    h, w = s.get("horizon_years", 0), s.get("warmup_years", 0)
    start = (sc.get("start") or {}).get("date")
    if start:
        return f"Counts cover the {h - w:g} years from {long_date(start)}; rates per year or month as labelled"
    if w:
        return (f"Counts cover the {h - w:g} observed years after a {w:g}-year warm-up; "
                "rates per year or month as labelled")
    return f"Counts cover {h:g} years; rates per year or month as labelled"


def long_date(iso: str) -> str:
    d = dt.date.fromisoformat(str(iso))
    return f"{d.day} {d.strftime('%B')} {d.year}"


# --------------------------------------------------------------------------- scenarios in words


def _start_words(sc: dict) -> str:
    st = sc.get("start") or {}
    if not st:
        return ""

    def count(k):
        v = st.get(k)
        return (v or {}).get("count", 0) if isinstance(v, dict) else (v or 0)

    seekers, workers, waiting, vacant = count("job_seekers"), count("workers"), count("waitlist"), \
        count("vacant_posts")
    parts = [f"{seekers + workers} members ({seekers} searching, {workers} working)", f"{waiting} people waiting"]
    if vacant:
        parts.append(f"{vacant} of the {sc['team']['specialists']} specialist posts vacant (filled after about "
                     f"{sc['turnover']['hiring_delay_days']:g} days)")
    when = f" on {long_date(st['date'])}" if st.get("date") else ""
    return f"It starts from the program as it is today{when}: " + ", ".join(parts) + ". "


def _referral_words(sc: dict) -> str:
    r, s = sc["referrals"], sc["simulation"]
    if r["cohort_size"] and not r["rate_per_month"]:
        return f"{r['cohort_size']} people referred together and followed for {12 * s['horizon_years']:g} months"
    rate = r["rate_per_month"]
    text = f"about {rate:.1f} new referrals a month" if rate < 10 else f"about {rate:,.0f} new referrals a month"
    trend = r.get("trend_per_year") or 0.0
    if trend:
        text += f", {'rising' if trend > 0 else 'falling'} about {abs(math.expm1(trend)) * 100:.0f}% a year"
    if r.get("schedule"):
        text += " (changing on a schedule)"
    return text


def scenario_words(sc: dict) -> str:
    """A scenario in plain words (from its resolved JSON form), from the fields that apply to its arm."""
    if not sc:
        return "The folder does not record the scenario."
    t, s, c = sc["team"], sc["simulation"], sc["costs"]
    desc = f" ({sc['description']})" if sc.get("description") else ""
    who = _referral_words(sc)
    if sc.get("arm") == "usual_services":
        places = t["specialists"] * t["caseload_cap"]
        per_mm = c.get("cost_per_member_month", 0.0)
        year = (c.get("price_years") or {}).get("cost_per_member_month")
        body = (f"usual vocational services (preparation before any job search, placement without job "
                f"development, support ending after a few months), with places for {places} members at a time, "
                f"{who}; costed all-in at ${per_mm:,.2f} per member-month on the caseload"
                + (f" ({year} dollars)" if year else ""))
    else:
        sup = sc["supervision"]
        span = sup.get("specialists_per_supervisor")
        sup_words = ""
        if sup.get("enabled", True):
            sup_words = (f", a supervisor ({sup['supervisor_fte']:g} FTE) who also covers other teams "
                         f"({span} specialists in all)" if span and span > t["specialists"] else
                         f", a supervisor ({sup['supervisor_fte']:g} FTE) for this team")
        n = t["specialists"]
        turnover = (f"; specialists leave at {100 * sc['turnover']['annual_rate']:.0f}% a year and posts stay empty "
                    f"about {sc['turnover']['hiring_delay_days']:g} days" if sc["turnover"]["enabled"] else "")
        body = (f"an IPS supported-employment team of {n} employment specialist{'s' if n != 1 else ''} "
                f"({t['fte_per_specialist']:g} FTE each, at most {t['caseload_cap']} members each){sup_words}, "
                f"{who}{turnover}")
    warm = (f", the first {s['warmup_years']:g} as warm-up (not counted)" if s["warmup_years"] else "")
    persp = ("the funder's perspective (service costs only)" if c["perspective"] == "funder" else
             "a wider perspective (offsets: " + ", ".join(c["offsets"]) + ")")
    return (f"{option_label(sc)}{desc}: {body}. {_start_words(sc)}The simulation runs {s['horizon_years']:g} "
            f"years{warm}. Costs are in {currency_label(c['price_year'])} from {persp}, discounted at "
            f"{100 * c['discount_rate']:g}% a year.")


_FIELD_ID = re.compile(r"(?<![\w/.])((?:simulation|referrals|team|time_use|service|engagement|job_search|jobs|"
                       r"follow_along|costs|supervision|turnover|start)\.[a-z_]+\*?(?:\.[a-z_]+\*?)*)")
_SNAKE = re.compile(r"(?<![\w/.])([a-z]+(?:_[a-z0-9]+)+)(?![\w/]|\.(?:yaml|csv|py|png|md|json)\b)")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def plain_ids(text: str) -> str:
    """Field ids and snake_case names in a text (say a source) as words; file paths are left alone."""
    text = _FIELD_ID.sub(lambda m: _lower_first(parameter_label(m.group(1).rstrip("*_."))), str(text))
    return _SNAKE.sub(lambda m: m.group(1).replace("_", " "), text)
