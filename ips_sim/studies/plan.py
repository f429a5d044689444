"""Capacity planning: the smallest staffing that meets every target with stated confidence.

``ips-sim plan SCENARIO --vary team.specialists=1..6 --target "mean_wait_days<=30"``
examines the values of the varied field in the order given (``1..6``: smallest
first) and answers with the first value whose confidence interval lies on the
right side of every threshold -- ``ci_high <= 30`` for ``<=``, ``ci_low >= t``
for ``>=`` -- not merely its mean. A value whose interval straddles a
threshold is too close to call: its replications are doubled (indices
``n .. 2n-1`` are added, so common random numbers still hold across values) up
to ``--max-replications``; if it is still undecided it does not count as
meeting the target, and the search moves on.

All values use the same seed and replication indices (common random numbers).
The intervals are per target and per value (t-based, two-sided); with several
targets and values the joint confidence is lower than the stated level, and
adding replications to a close call is a sequential look: treat answers at the
edge of a target with that in mind.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ips_sim.analysis.metrics import METRIC_NAMES, summarise
from ips_sim.config import Scenario, get_dotted
from ips_sim.core.echo import shown
from ips_sim.studies.sweep import check_path, chunk_size, execute, parse_range

TARGET_PATTERN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")
MEETS, FAILS, UNSURE = "meets", "fails", "too close"
NOT_APPLICABLE = "does not apply"   # the metric has no value in any replication: more replications cannot help


@dataclass(frozen=True)
class Target:
    metric: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.threshold:g}"

    def verdict(self, mean: float, lo: float, hi: float) -> str:
        """meets: the CI is on the right side; fails: on the wrong side; too close: it straddles."""
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return UNSURE
        t = self.threshold
        if self.op == "<=":
            return MEETS if hi <= t else FAILS if lo > t else UNSURE
        if self.op == "<":
            return MEETS if hi < t else FAILS if lo >= t else UNSURE
        if self.op == ">=":
            return MEETS if lo >= t else FAILS if hi < t else UNSURE
        return MEETS if lo > t else FAILS if hi <= t else UNSURE


def parse_target(text: str) -> Target:
    """``"mean_wait_days<=30"`` -> Target; ValueError says what is allowed."""
    m = TARGET_PATTERN.match(text or "")
    if not m:
        raise ValueError("expected METRIC<=VALUE, METRIC>=VALUE, METRIC<VALUE or METRIC>VALUE, "
                         "e.g. mean_wait_days<=30")
    metric, op, value = m.groups()
    if metric not in METRIC_NAMES:
        raise ValueError(f"unknown metric {metric}; allowed: {', '.join(METRIC_NAMES)}")
    try:
        threshold = float(value)
    except ValueError:
        raise ValueError(f"threshold {shown(value)} is not a number") from None
    if not math.isfinite(threshold):
        raise ValueError("the threshold must be a finite number")
    return Target(metric, op, threshold)


def parse_targets(texts, option: str, errors: list[str]) -> list[Target]:
    """Each target text parsed; a bad one adds one line to ``errors`` naming ``option`` and the text."""
    targets = []
    for text in texts:
        try:
            targets.append(parse_target(text))
        except ValueError as exc:
            errors.append(f"{option}: {shown(text)}: {exc}")
    return targets


def parse_vary(text: str) -> tuple[str, list]:
    """``"team.specialists=1..6"`` -> (path, values); ValueError says what is allowed."""
    if not text or "=" not in text:
        raise ValueError("expected FIELD=VALUES, e.g. team.specialists=1..6 or team.caseload_cap=25,20,15")
    path, _, spec = text.partition("=")
    path = path.strip()
    why = check_path(path)
    if why:
        raise ValueError(why)
    values = parse_range(spec)
    if len({repr(v) for v in values}) != len(values):
        raise ValueError("values must be distinct")
    return path, values


@dataclass
class PointResult:
    value: Any
    replications: int
    rows: dict[str, dict]                 # metric -> summary row
    verdicts: dict[str, str]              # target text -> verdict
    status: str                           # meets / fails / too close
    per_rep: list[dict[str, float]] = field(default_factory=list, repr=False)


@dataclass
class PlanResult:
    path: str
    values: list
    targets: list[Target]
    confidence: float
    points: list[PointResult]
    answer: Any | None
    max_replications: int

    @property
    def found(self) -> bool:
        return self.answer is not None


def _run_block(executor, scenario: Scenario, seed: int, first: int, n: int,
               draws: list[dict] | None = None) -> list[dict[str, float]]:
    """Metrics of replications first .. first+n-1, in index order, whatever the executor.

    With ``draws`` (parameter uncertainty), replication i uses draw i (cycled) through the runner."""
    if draws:
        from ips_sim.runner.experiment import cycled_draws, run_replications

        metrics, _ = run_replications(scenario, n, seed, first=first, executor=executor, keep_records=False,
                                      scenario_for=cycled_draws(scenario, draws))
        return metrics
    size = chunk_size(n, 1, executor.capacity)
    got: dict[int, list] = {}

    def units():
        for f in range(first, first + n, size):
            yield f, (scenario, seed, f, min(size, first + n - f), False)

    execute(executor, units(), lambda f, res: got.__setitem__(f, res[0]))
    return [m for f in sorted(got) for m in got[f]]


def plan(base: Scenario, path: str, values: list, targets: list[Target], executor, *,
         replications: int, max_replications: int, confidence: float = 0.95, seed: int | None = None,
         progress=None, draws: list[dict] | None = None) -> PlanResult:
    """Examine ``values`` of ``path`` in order; stop at the first meeting every target with confidence.

    ``draws``: parameter uncertainty (replication i of every value uses draw i: paired across values)."""
    seed = base.simulation.seed if seed is None else seed
    points: list[PointResult] = []
    answer = None
    for value in values:
        sc = base.with_updates({path: value})
        if draws:
            draws = [{k: v for k, v in d.items() if k != path} for d in draws]
        per_rep = _run_block(executor, sc, seed, 0, replications, draws)
        if progress:
            progress(replications)
        while True:
            rows = {r["metric"]: r for r in summarise(per_rep, confidence)}
            verdicts = {str(t): NOT_APPLICABLE if rows[t.metric]["replications"] == 0 else
                        t.verdict(rows[t.metric]["mean"], rows[t.metric]["ci_low"], rows[t.metric]["ci_high"])
                        for t in targets}
            if NOT_APPLICABLE in verdicts.values():
                status = NOT_APPLICABLE
                break
            if FAILS in verdicts.values():
                status = FAILS
            elif all(v == MEETS for v in verdicts.values()):
                status = MEETS
            else:
                status = UNSURE
            n = len(per_rep)
            if status != UNSURE or n >= max_replications:
                break
            more = min(2 * n, max_replications) - n
            per_rep = per_rep + _run_block(executor, sc, seed, n, more, draws)
            if progress:
                progress(more)
        shown = get_dotted(sc.model_dump(mode="json"), path)
        points.append(PointResult(shown, len(per_rep), rows, verdicts, status, per_rep))
        if status == MEETS:
            answer = shown
            break
    return PlanResult(path, values, targets, confidence, points, answer, max_replications)


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def _values_text(values: list) -> str:
    nums = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if nums and len(values) > 2:
        step = values[1] - values[0]
        if all(math.isclose(values[k + 1] - values[k], step) for k in range(len(values) - 1)):
            return f"{values[0]}..{values[-1]}" + ("" if abs(step) == 1 else f" (step {abs(step):g})")
    return ", ".join(str(v) for v in values)


def _order_word(values: list) -> str:
    nums = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if nums and values == sorted(values):
        return "smallest"
    if nums and values == sorted(values, reverse=True):
        return "largest"
    return "first"


def not_applicable(res: PlanResult) -> list[Target]:
    """Targets whose metric had no value in any replication of any value examined."""
    return [t for t in res.targets
            if res.points and all(p.verdicts[str(t)] == NOT_APPLICABLE for p in res.points)]


def sentence(res: PlanResult) -> str:
    conf = f"{res.confidence:.0%}".replace(".0%", "%")
    word = _order_word(res.values)
    where = _values_text(res.values)
    empty = not_applicable(res)
    if empty and not res.found:
        names = ", ".join(sorted({t.metric for t in empty}))
        reps = sum(p.replications for p in res.points)
        return (f"{names} does not apply to this scenario: it has no value in any of the {reps} replications "
                f"at {res.path} = {where} (the scenario never produces what it measures), so no staffing can be "
                "judged on it; choose a target on another metric.")
    undecided = [p for p in res.points if p.status == UNSURE]
    if res.found:
        p = res.points[-1]
        parts = []
        for t in res.targets:
            r = p.rows[t.metric]
            parts.append(f"{t.metric} {_fmt(r['mean'])} ({conf} CI {_fmt(r['ci_low'])} to {_fmt(r['ci_high'])}, "
                         f"target {t.op} {t.threshold:g})")
        note = ""
        if undecided:
            note = (f"; {', '.join(str(u.value) for u in undecided)} could not be decided within "
                    f"{res.max_replications} replications")
        return (f"{res.path} = {res.answer} is the {word} value in {where} that meets every target with {conf} "
                f"confidence, after {p.replications} replications: {'; '.join(parts)}{note}.")
    if undecided:
        return (f"No value of {res.path} in {where} meets every target with {conf} confidence: "
                f"{', '.join(str(u.value) for u in undecided)} stayed too close to call after "
                f"{res.max_replications} replications (raise --max-replications) and the rest fail.")
    last = res.points[-1] if res.points else None
    hint = ""
    if last is not None:
        failing = [t for t in res.targets if last.verdicts[str(t)] == FAILS]
        hint = f"; even {res.path} = {last.value} fails {', '.join(str(t) for t in failing)}" if failing else ""
    return f"No value of {res.path} in {where} meets every target with {conf} confidence{hint}."


GIVE_UP_LIMIT = 0.10  # above this share giving up, a met mean-wait target hides the people who left


def give_up_warning(res: PlanResult) -> str | None:
    """One line when a mean-wait target is met while more than 10% of referrals give up waiting.

    The mean wait counts only people who enrolled; those who gave up are not in it, so a
    short mean wait can sit beside a long queue that people leave.
    """
    waits = [t for t in res.targets if t.metric == "mean_wait_days"]
    if not waits:
        return None
    answer = [p for p in res.points if p.status == MEETS]
    candidates = answer or res.points
    for p in candidates:
        gave_up = p.rows.get("share_gave_up_waiting", {}).get("mean", math.nan)
        for t in waits:
            if p.verdicts[str(t)] == MEETS and math.isfinite(gave_up) and gave_up > GIVE_UP_LIMIT:
                return (f"warning: {t} is met at {res.path} = {p.value} while {gave_up:.0%} of referrals give up "
                        f"waiting (share_gave_up_waiting): the mean wait counts only people who enrolled; add a "
                        f"target such as share_gave_up_waiting<=0.1 or enrolled_within_30_days_share>=0.8")
    return None


def _mean(per_rep: list[dict], name: str, n: int) -> float:
    x = [r.get(name, math.nan) for r in per_rep[:n]]
    x = [v for v in x if math.isfinite(v)]
    return sum(x) / len(x) if x else math.nan


def point_costs(res: PlanResult, years: float) -> list[dict]:
    """Per value examined: cost per year, people employed in a year, the budget over the observed years, and the
    cost per additional person employed against the previous value examined (paired on the replications both ran)."""
    out = []
    prev = None
    for p in res.points:
        cost = p.rows.get("program_cost_per_year", {})
        people = p.rows.get("people_employed_per_year", {})
        ratio = math.nan
        if prev is not None:
            n = min(len(p.per_rep), len(prev.per_rep))
            dc = _mean(p.per_rep, "program_cost_per_year", n) - _mean(prev.per_rep, "program_cost_per_year", n)
            de = _mean(p.per_rep, "people_employed_per_year", n) - _mean(prev.per_rep, "people_employed_per_year", n)
            ratio = dc / de if de > 0 else math.nan
        out.append({"cost_per_year": cost.get("mean", math.nan), "cost_per_year_ci_low": cost.get("ci_low", math.nan),
                    "cost_per_year_ci_high": cost.get("ci_high", math.nan),
                    "people_employed_per_year": people.get("mean", math.nan),
                    "cost_per_additional_person_employed": ratio,
                    "compared_with": "" if prev is None else str(prev.value),
                    "budget_over_horizon": cost.get("mean", math.nan) * years, "budget_years": years})
        prev = p
    return out


def plan_rows(res: PlanResult, years: float | None = None, currency: str = "") -> list[dict]:
    """One row per value examined and target: the numbers behind the verdicts, then what the value costs."""
    rows = []
    costs = point_costs(res, years) if years is not None else [{} for _ in res.points]
    for p, c in zip(res.points, costs):
        for t in res.targets:
            r = p.rows[t.metric]
            rows.append({res.path: p.value, "replications": p.replications, "metric": t.metric, "op": t.op,
                         "threshold": t.threshold, "mean": r["mean"], "ci_low": r["ci_low"],
                         "ci_high": r["ci_high"], "target_verdict": p.verdicts[str(t)], "value_verdict": p.status,
                         **c, **({"currency": currency} if c else {})})
    return rows


def write_plan(folder: Path, res: PlanResult, text: list[str], years: float | None = None,
               currency: str = "") -> None:
    """plan.csv and plan.txt into ``folder`` (a temporary folder that ips_sim.runner.output promotes)."""
    import pandas as pd

    from ips_sim.reporting.tables import write_csv

    write_csv(pd.DataFrame(plan_rows(res, years, currency)), folder / "plan.csv")
    (folder / "plan.txt").write_text("\n".join(text) + "\n", encoding="utf-8")


def _money(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"${x:,.0f}"


def table_lines(res: PlanResult, years: float | None = None) -> list[str]:
    conf = f"{res.confidence:.0%}".replace(".0%", "%")
    header = [res.path, "replications"] + [f"{t} (mean [{conf} CI])" for t in res.targets] + ["verdict"]
    if years is not None:
        header += ["cost per year", "people employed a year", "cost per additional person employed",
                   f"budget over {years:g} years"]
    costs = point_costs(res, years) if years is not None else [None] * len(res.points)
    rows = []
    for p, c in zip(res.points, costs):
        cells = [str(p.value), str(p.replications)]
        for t in res.targets:
            r = p.rows[t.metric]
            cells.append(f"{_fmt(r['mean'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}] {p.verdicts[str(t)]}")
        cells.append(p.status)
        if c is not None:
            cells += [_money(c["cost_per_year"]), _fmt(c["people_employed_per_year"]),
                      _money(c["cost_per_additional_person_employed"]), _money(c["budget_over_horizon"])]
        rows.append(cells)
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return out
