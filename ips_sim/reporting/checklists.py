"""The field's reporting standards, filled from the run itself: STRESS-DES and CHEERS 2022.

STRESS-DES v1.0 (Monks et al. 2019, J Simulation 13(1):55-67, doi 10.1080/17477778.2018.1442155)
for the simulation, CHEERS 2022 (Husereau et al. 2022, Value Health 25(1):3-9) for the economic
evaluation (comparisons and staffing plans, which compare options' costs and effects). Item
wording: ``templates/stress_des_items.csv`` and ``templates/cheers_2022_items.csv`` (verbatim).
Every item gets an answer from the manifest, the scenario and the model's documented logic, or
"Not applicable" with the reason; where the folder lacks the information: "Not reported" and why.
"""

from __future__ import annotations

import csv
import platform
from importlib import resources

from ips_sim.reporting.wording import option_label

NA = "Not applicable"
NR = "Not reported"


def _items(name: str) -> list[dict]:
    text = resources.files("ips_sim.reporting").joinpath("templates", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _facts(kind: str, man: dict, ctx: dict) -> dict:
    scenarios = list((man.get("scenarios") or {}).values()) or [s for s in [ctx.get("scenario")] if s]
    sc = scenarios[0] if scenarios else {}
    sim = sc.get("simulation", {})
    versions = man.get("versions") or {}
    if not versions:
        from ips_sim.reporting.tables import versions as current
        versions = {**current(), "note": "of the environment that built this report"}
    return {
        "sc": sc, "scenarios": scenarios,
        "names": [option_label(s) for s in scenarios] or ["the state's programs"],
        "horizon": sim.get("horizon_years"), "warmup": sim.get("warmup_years", 0),
        "step": sim.get("planning_step_days", 7),
        "reps": man.get("replications") or ctx.get("replications") or "as in the table",
        "seed": ctx["reproduce"]["seed"], "versions": versions,
        "start": (sc.get("start") or {}).get("date"),
        "wall": man.get("wall_time_seconds"), "workers": man.get("workers", 1),
        "executor": man.get("executor", "not recorded"),
        "costs": sc.get("costs", {}), "kind": kind,
    }


def _stress_answers(f: dict, ctx: dict) -> dict[str, str]:
    if not f["horizon"]:
        f = {**f, "horizon": 0.0}
    warm = (f"non-terminating (a running program); a warm-up of {f['warmup']:g} years from an empty program is "
            "discarded, its length chosen from the caseload's approach to steady state (the caseload plot shows it)"
            if f["warmup"] else "")
    if f["start"]:
        warm = (f"terminating: it starts on {f['start']} from today's program (members, waiting list and vacant "
                "posts from the scenario's start section, their elapsed times as given; the remaining times are "
                f"drawn at random) and stops at the {f['horizon']:g}-year horizon; no warm-up")
    elif not f["warmup"] and f["sc"]:
        warm = f"terminating: a cohort or program followed for {f['horizon']:g} years from day 0; no warm-up"
    names = "; ".join(f["names"])
    v = f["versions"]
    libs = ", ".join(f"{k} {x}" for k, x in v.items() if k not in ("ips-sim", "python", "note"))
    return {
        "1.1": ctx["question"] + " The model simulates an IPS supported-employment program's capacity "
               "(specialists' hours) and what it does for the people referred, calibrated to randomized trials.",
        "1.2": "The measures in the outcomes, comparison and budget tables: shares (e.g. members with a competitive "
               "job within 18 months of enrolling = members employed within 18 months / enrolled members with 18 "
               "months of follow-up), counts, means and costs, each computed per replication on the observation "
               "window; 95% confidence intervals are t-intervals over replications, ratio intervals by Fieller's "
               "method on paired replications. Definitions: the metric list of the documentation (Outputs).",
        "1.3": (f"Scenario-based analysis: {names}. " + {
            "comparison": "Options compared with the comparator (usual services) on the same random numbers.",
            "plan": "A staffing search: levels examined in order until every target is met with 95% confidence.",
            "sweep": "A grid of settings (design of experiments by full factorial grid).",
            "state": "An allocation of new posts across programs (greedy search over marginal gains).",
            "sensitivity": "Design of experiments over the assumption ranges: each assumption at its low and high "
                           "end one at a time, and Morris elementary effects (or Sobol indices) of all together.",
        }.get(f["kind"], "A single scenario.")),
        "2.1": "Flow: referral -> waiting list (first come, first served; may give up) -> enrolment with a "
               "specialist -> job search and job development -> job -> follow-along -> job end (back to search) or "
               "step-down / drop-out (leave). Described with a diagram-free walk-through in the documentation "
               "(What the model does).",
        "2.2": f"Every planning step ({f['step']:g} days) each specialist's direct hours are shared among intake, "
               "follow-along, job development and job search by the scenario's policy; the hours each member "
               "receives set the hazards of employer contact, job start, job end and drop-out until the next step. "
               "Staffing changes outcomes only through hours received.",
        "2.3": "Scenarios differ only in their input fields (the scenario section above and the assumptions "
               "table), not in code; the usual-services arm takes its own calibrated defaults.",
        "2.4": "Weekly allocation of hours (priority order or proportional shares); event times from "
               "cumulative-hazard clocks (each member draws an exponential threshold, events fire when the "
               "integrated hazard reaches it); the documentation's architecture page gives the details.",
        "2.5.1": "Entities: referred people / members (attributes: referral, enrolment, contact, job and exit days, "
                 "employability, patience), jobs (hours, wage, preference match), specialist posts (vacancy, "
                 "ramp-up), the supervisor.",
        "2.5.2": "Activities: intake, job search, job development (employer contacts), follow-along; members enter "
                 "on enrolment and leave by step-down, drop-out or at the horizon.",
        "2.5.3": "Resources: specialists' direct hours per planning step (used by all four activities) and the "
                 "supervisor's hours (used by specialists' supervision).",
        "2.5.4": "One queue, the waiting list: first come, first served; reneging with exponentially distributed "
                 "patience (mean in the scenario's referrals section); a place opens when a caseload falls below "
                 "its cap.",
        "2.5.5": "Entry: referrals as a Poisson process at the scenario's monthly rate (with trend, schedule or "
                 "seasonality as set), or a cohort on day 0. Exit: giving up on the waiting list, drop-out, "
                 "step-down to other services, or the horizon (censored).",
        "3.1": "Published sources for every default: randomized trials of IPS (calibration targets), program and "
               "cost studies (e.g. Latimer et al. 2004), BLS CPI-U, the IPS fidelity scale; each listed with its "
               "value in the assumptions table and in the parameter file with author, year and what was measured.",
        "3.2": "Trial outcomes were reduced to calibration targets (rates at the trials' follow-up); money inputs "
               "converted to the price year with CPI-U annual averages; the hospital offset converted from EUR at "
               "the ECB 2016 mean reference rate.",
        "3.3": "Every input with its value, unit and source: the scenario field reference (documentation) and the "
               "assumptions table above; fitted behavioural rates in the calibration file, with their posterior "
               "draws for parameter uncertainty.",
        "3.4": "Named assumptions with ranges in the assumption-ranges file (used by the sensitivity analysis); "
               "the limits section of the documentation lists the model's simplifications.",
        "4.1": warm or NR + ": the folder does not record the scenario.",
        "4.2": (f"{f['horizon']:g} years of simulated time, in days." if f["horizon"] else
                NR + ": the folder does not record the run length."),
        "4.3": f"Independent replications ({f['reps']} per option), each with its own random streams from seed "
               f"{f['seed']}; the confidence intervals show whether that number is enough for the comparison made.",
        "5.1": f"Python {v.get('python', '?')}, ips-sim {v.get('ips-sim', '?')}, {libs}"
               + (f" ({v['note']})" if v.get("note") else "") + f"; operating system of the report build: "
               f"{platform.system()} {platform.release()}.",
        "5.2": "NumPy's default generator (PCG64) with one named stream per random process, seeded from (seed, "
               "replication, stream name): common random numbers across options, independent of worker count.",
        "5.3": "Process interaction in SimPy (event scheduling on one event list); activities compete for a "
               "specialist's hours by the allocation policy; replications run in parallel processes or on a "
               f"Dask cluster with identical results (this run: {f['executor']}).",
        "5.4": (f"Wall time {f['wall']:.1f} s with {f['workers']} worker(s); the hardware is not recorded."
                if f["wall"] is not None else NR + ": the folder does not record run time or hardware."),
        "6.1": "The model is the open-source ips-sim package; the reproduction section gives the command, seed "
               "and version that produce these numbers.",
    }


def _cheers_answers(f: dict, ctx: dict) -> dict[str, str]:
    c = f["costs"]
    rate = c.get("discount_rate", 0.03)
    persp = c.get("perspective", "funder")
    return {
        "1": ctx["title"] + " (a cost-effectiveness analysis).",
        "2": NA + ": a generated report has no abstract; the question and answer paragraphs summarise it.",
        "3": ctx["question"],
        "4": "None: the analysis was generated by ips-sim from the scenario files, without a prior analysis plan.",
        "5": "People referred to the program (adults with serious mental illness wanting competitive work, as in "
             "the IPS trials); no screening out.",
        "6": "A US community mental-health setting; costs in " + ctx["currency"] + ".",
        "7": "; ".join(f["names"]) + ". The comparator is usual vocational services, the trials' control arm.",
        "8": ("The funder's (payer's) perspective: the program's service costs; it is the budget holder's decision."
              if persp == "funder" else "A wider perspective with offsets: " + ", ".join(c.get("offsets", [])) + "."),
        "9": (f"{f['horizon']:g} years simulated" + (f" ({f['warmup']:g} of warm-up)" if f["warmup"] else "")
              + ": long enough for the outcomes measured (18-month employment) to be observed."
              if f["horizon"] else NR + ": the folder does not record the scenario."),
        "10": f"{100 * rate:g}% a year on costs and outcomes (US Second Panel on Cost-Effectiveness).",
        "11": "People employed in competitive jobs (and months worked): the IPS trials' primary outcome; no "
              "quality-adjusted life years.",
        "12": "Simulated from the model's events, calibrated to the employment rates of the IPS randomized trials.",
        "13": NA + ": outcomes are natural units (people employed), not valued (no utilities or money values).",
        "14": "Resource use from the simulation (filled posts, supervisor share, community hours, hires, "
              "member-months) times unit costs from published sources (assumptions table).",
        "15": f"{ctx['currency']}; inputs of other years converted with CPI-U; the Danish hospital cost converted "
              "from EUR at the ECB 2016 mean rate (used only with that offset).",
        "16": "A discrete-event simulation, because waiting, caseload limits and staff hours interact over time; "
              "the model is the open-source ips-sim package (see reproduction).",
        "17": "Behavioural rates calibrated to trial outcomes; paired replications on common random numbers; the "
              "ICERs follow the standard dominance rules and reproduce a published worked example.",
        "18": "No subgroup analysis was done.",
        "19": "No distributional analysis was done.",
        "20": ("Replication noise (confidence intervals)" + (", parameter uncertainty (posterior draws of the "
               "behavioural rates, cost ranges), acceptability curves and EVPI" if ctx.get("parameter_uncertainty")
               else "") + "; one-way sensitivity where the folder has it."),
        "21": "None recorded: the analysis as generated involved no patients, service users or stakeholders; add any "
              "engagement the study team did.",
        "22": "The assumptions table (values, sources) and the scenario field reference (ranges).",
        "23": "The comparison and incremental tables and the answer paragraph.",
        "24": ("The acceptability curves and EVPI above." if ctx.get("parameter_uncertainty") else
               "Only replication noise is shown; rerun with --parameter-uncertainty for the effect of parameter "
               "uncertainty.") + " The discount rate and horizon were not varied.",
        "25": "None recorded (see item 21), so no difference to report.",
        "26": "See the answer; limits: the usual-services cost is an assumption and costs are the funder's only.",
        "27": NR + ": ips-sim does not know who funded this analysis; whoever presents it states the funding and "
              "the funder's role.",
        "28": NR + ": whoever presents this analysis states their conflicts of interest.",
    }


def checklists(folder, kind: str, man: dict, ctx: dict) -> list[dict]:
    """The checklists for this folder: STRESS-DES always, CHEERS 2022 for comparisons and plans."""
    f = _facts(kind, man, ctx)
    out = []
    answers = _stress_answers(f, ctx)
    out.append({"name": "STRESS-DES", "file": "stress_des.md",
                 "title": "STRESS-DES v1.0: reporting a discrete-event simulation",
                 "citation": "Monks T, Currie CSM, Onggo BS, Robinson S, Kunc M, Taylor SJE. Strengthening the "
                             "reporting of empirical simulation studies: Introducing the STRESS guidelines. "
                             "J Simulation 2019;13(1):55-67. doi:10.1080/17477778.2018.1442155",
                 "items": [{**i, "answer": answers[i["item"]]} for i in _items("stress_des_items.csv")]})
    if kind in ("comparison", "plan"):
        answers = _cheers_answers(f, ctx)
        out.append({"name": "CHEERS 2022", "file": "cheers_2022.md",
                     "title": "CHEERS 2022: reporting a health economic evaluation",
                     "citation": "Husereau D, Drummond M, Augustovski F, et al. Consolidated Health Economic "
                                 "Evaluation Reporting Standards 2022 (CHEERS 2022) statement. Value Health "
                                 "2022;25(1):3-9.",
                     "items": [{**i, "answer": answers[i["item"]]} for i in _items("cheers_2022_items.csv")]})
    return out


def checklist_markdown(c: dict) -> str:
    """One checklist as a Markdown file: item, recommendation (verbatim) and this study's answer."""
    lines = [f"# {c['title']}", "", c["citation"], "",
             "Answers filled from this results folder (manifest, scenarios) and the model's documented logic.", "",
             "| item | recommendation | answer |", "|---|---|---|"]
    for i in c["items"]:
        rec = i["recommendation"].replace("|", "/")
        lines.append(f"| {i['item']} {i['name']} | {rec} | {i['answer'].replace('|', '/')} |")
    return "\n".join(lines) + "\n"
