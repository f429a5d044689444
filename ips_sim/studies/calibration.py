"""Calibration of the behavioural parameters to the IPS randomized trials.

``ips-sim calibrate`` reproduces the design of the IPS trials (a cohort
randomized on day 0, followed 18 months, staffed at IPS fidelity; see
:mod:`ips_sim.studies.trial`) and fits the free behavioural parameters by
simulation-based optimisation:

1. IPS arm: a common scale on the job-finding rates with specialist help
   (``job_rate_search`` and ``job_rate_development`` keep their assumed split),
   ``jobs.end_rate_per_month`` and ``engagement.disengage_rate_per_month``,
   fitted to the IPS targets of ``targets.csv`` (role ``fit``).
2. Usual-services arm (``arm: usual_services``): its own
   ``job_rate_search_per_month``, ``end_rate_per_month`` and
   ``preparation_months``, fitted to the control-arm targets with the IPS fit
   held fixed.

The loss is ``sum(((simulated - target) / sd)^2)`` over the fit targets, with
``sd`` = half the target's range / 1.96. Every evaluation runs the same
replications with the same seed (common random numbers), so the objective is a
deterministic, nearly smooth function of the parameters and Nelder-Mead (scipy)
converges without being driven by noise. Everything starts from the literature
layer (``parameters.csv`` and ``usual_services.yaml``), never from a previous
fit, so a calibration run is reproducible from its command line.

Parameter uncertainty: the fitted targets are themselves uncertain (the trials
vary: US 61%/27%, outside the US 51%/23%). ``draws.csv`` holds parameter sets
that each reproduce one draw of the targets from their ranges, through the
Jacobian of the simulated targets at the fit (finite differences with common
random numbers; a linearised inverse, i.e. a Laplace-style approximation of
the posterior of the parameters given targets with these uncertainties).
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import math
import subprocess
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml
from scipy import optimize

from ips_sim.analysis.metrics import replication_metrics
from ips_sim.config import (
    DAYS_PER_MONTH,
    Scenario,
    calibration_dir,
    defaults_table,
    get_dotted,
    overlay_file,
    parse_value,
    read_yaml_file,
    repository_calibration_dir,
    set_dotted,
)
from ips_sim.core.intervals import mean_ci
from ips_sim.reporting.tenure_plot import plot_first_job_survival
from ips_sim.runner.experiment import run_replications
from ips_sim.runner.output import write_bytes
from ips_sim.sim.tenure import hazard, mean_tenure, mixture, survival
from ips_sim.studies.trial import CONTROL_OFFSET, cohort_scenario, job_end_days, simulate_arm

DEFAULT_SEED = 20261123
DEFAULT_REPLICATIONS = 60
DEFAULT_BUDGET = 100
DEFAULT_DRAWS = 100
TRIAL_N = 120             # per arm: the mean IPS arm of the 28 RCTs is 3187/28 = 114; 120 = 6 specialists x 20
TRIAL_FOLLOW_UP = 18.0    # months: the trials' mean follow-up is 18.6 months (Bond slides)
PROGRAM_REPLICATIONS = 40       # running-program replications in the report
PROGRAM_REPLICATIONS_FIT = 20   # ... and in each evaluation of a fit with program targets (same seed: CRN)
DRAW_CHECKS = 10                # parameter draws re-simulated in the report to check the linearised inverse
ARMS = ("ips", "usual_services")


# --------------------------------------------------------------------------- targets


@dataclass
class Target:
    target: str
    metric: str
    arm: str          # ips, usual_services, difference (usual_services - ips), ratio (ips / usual_services)
    design: str       # trial (cohort) or program (running program, default scenario)
    role: str         # fit (in the loss) or check (reported only)
    value: float
    low: float
    high: float
    population: str = ""
    follow_up_months: str = ""
    source: str = ""
    definition: str = ""

    @property
    def sd(self) -> float:
        return max((self.high - self.low) / (2 * 1.959964), 1e-9)


def default_targets_path() -> Path:
    return calibration_dir() / "targets.csv"


def load_targets(path: str | Path | None = None) -> list[Target]:
    path = Path(path) if path else default_targets_path()
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            lo, hi = (float(x) for x in row["ci_or_range"].split("-", 1))
            out.append(Target(row["target"], row["metric"], row["arm"], row["design"], row["role"],
                              float(row["value"]), lo, hi, row.get("population", ""),
                              row.get("follow_up_months", ""), row.get("source", ""), row.get("definition", "")))
    return out


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- free parameters


@dataclass(frozen=True)
class Free:
    """A free parameter: ``name`` (dotted path, or a scale on ``paths``), bounds, transform."""

    name: str
    lo: float
    hi: float
    log: bool = True
    paths: tuple = ()      # for a scale: the dotted paths it multiplies
    step: float = 0.3      # initial simplex step in the transformed scale

    def to_x(self, value: float) -> float:
        return math.log(value) if self.log else value

    def from_x(self, x: float) -> float:
        v = math.exp(x) if self.log else x
        return min(max(v, self.lo), self.hi)

    def penalty(self, x: float) -> float:
        v = math.exp(x) if self.log else x
        lo, hi = (math.log(self.lo), math.log(self.hi)) if self.log else (self.lo, self.hi)
        return 100.0 * (max(0.0, lo - x) + max(0.0, x - hi)) ** 2 if not (self.lo <= v <= self.hi) else 0.0


FREE = {
    "ips": (
        Free("job_rate_scale", 0.05, 20.0, paths=("job_search.job_rate_search_per_month",
                                                   "job_search.job_rate_development_per_month"), step=0.15),
        Free("jobs.end_rate_per_month", 0.005, 2.0, step=0.2),
        Free("engagement.disengage_rate_per_month", 0.001, 1.0, step=0.2),
        # Latent job classes (tenure.py): share of fragile jobs and how much faster they end.
        Free("jobs.fragile_share", 0.02, 0.98, log=False, step=0.1),
        Free("jobs.fragile_rate_ratio", 1.0, 200.0, step=0.2),
        Free("jobs.hours_per_week_mean", 8.0, 40.0, log=False, step=2.0),
    ),
    "usual_services": (
        Free("job_search.job_rate_search_per_month", 0.001, 3.0),
        Free("jobs.end_rate_per_month", 0.005, 3.0),
        Free("job_search.preparation_months", 0.0, 24.0, log=False, step=1.0),
    ),
}


def literature_data(arm: str = "ips", directory: Path | None = None) -> dict:
    """Defaults without any fitted layer: parameters.csv (+ usual_services.yaml for that arm)."""
    directory = directory or calibration_dir()
    data: dict = {}
    for row in defaults_table(directory):
        set_dotted(data, row["parameter"], parse_value(row["value"]))
    if arm == "usual_services":
        overlay_file(data, directory / "usual_services.yaml")
    data["name"] = f"calibration_{arm}"
    data["arm"] = arm
    return data


def updates_for(arm: str, values: dict[str, float], base: dict) -> dict[str, float]:
    """Dotted-path updates for free-parameter values (a scale multiplies its literature values)."""
    out = {}
    for fp in FREE[arm]:
        v = values[fp.name]
        if fp.paths:
            for p in fp.paths:
                out[p] = float(get_dotted(base, p)) * v
        else:
            out[fp.name] = v
    return out


def start_values(arm: str, base: dict) -> dict[str, float]:
    return {fp.name: (1.0 if fp.paths else float(get_dotted(base, fp.name))) for fp in FREE[arm]}


# --------------------------------------------------------------------------- simulated quantities


class Simulator:
    """Simulates trial arms and the running program for parameter values, with common random numbers."""

    def __init__(self, seed: int, replications: int, directory: Path | None = None, workers: int = 1,
                 n_per_arm: int = TRIAL_N, follow_up_months: float = TRIAL_FOLLOW_UP, executor=None):
        self.seed, self.replications, self.workers, self.executor = seed, replications, workers, executor
        self.n, self.fu = n_per_arm, follow_up_months
        self.base = {arm: literature_data(arm, directory) for arm in ARMS}
        self.evaluations = 0

    def scenario(self, arm: str, ips_updates: dict, us_updates: dict | None = None) -> Scenario:
        data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.base[arm].items()}
        data = yaml.safe_load(yaml.safe_dump(data))  # deep copy
        for p, v in ips_updates.items():
            set_dotted(data, p, v)
        if arm == "usual_services":
            _reapply_overlay(data, self.base)     # usual_services.yaml wins over the IPS fit (layer order)
            for p, v in (us_updates or {}).items():
                set_dotted(data, p, v)
        return Scenario.model_validate(data)

    def arm(self, arm: str, ips_updates: dict, us_updates: dict | None = None, first: int = 0,
            replications: int | None = None) -> list[dict]:
        sc = cohort_scenario(self.scenario(arm, ips_updates, us_updates), self.n, self.fu)
        offset = CONTROL_OFFSET if arm == "usual_services" else 0
        self.evaluations += 1
        return simulate_arm(sc, replications or self.replications, self.seed, self.fu,
                            first=first + offset, workers=self.workers, executor=self.executor)


def _reapply_overlay(data: dict, base: dict) -> None:
    us = base["usual_services"]
    path = calibration_dir() / "usual_services.yaml"
    if path.exists():
        doc = read_yaml_file(path, "calibration overlay") or {}
        for key in (doc.get("parameters") or {}):
            set_dotted(data, key, get_dotted(us, key))


def _values(rows: list[dict], key: str) -> np.ndarray:
    x = np.array([r[key] for r in rows], dtype=float)
    return x


def _mean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else math.nan


def trial_quantity(t: Target, ips_rows: list[dict] | None, us_rows: list[dict] | None) -> float:
    """Simulated value of a trial target from per-replication arm outcomes."""
    if t.arm == "ips":
        return _mean(_values(ips_rows, t.metric))
    if t.arm == "usual_services":
        return _mean(_values(us_rows, t.metric))
    a, c = _mean(_values(ips_rows, t.metric)), _mean(_values(us_rows, t.metric))
    if t.arm == "difference":
        return c - a
    if t.arm == "ratio":
        return a / c if c > 0 else math.nan
    raise ValueError(f"unknown arm {t.arm!r} in target {t.target}")


def target_quantity(sim: "Simulator", t: Target, ips_rows, us_rows, ips_updates: dict, cache: dict) -> float:
    """Simulated value of any target: trial targets from arm rows, program targets from a running program
    (simulated once per call site and kept in ``cache``)."""
    if t.design == "trial":
        return trial_quantity(t, ips_rows, us_rows)
    if "program" not in cache:
        cache["program"] = program_outcomes(sim.scenario("ips", ips_updates), PROGRAM_REPLICATIONS_FIT, sim.seed,
                                            executor=sim.executor)
    return _mean(_values(cache["program"], t.metric))


def trial_interval(t: Target, ips_rows, us_rows) -> tuple[float, float, float, float]:
    """(95% CI low, high of the simulated mean; 2.5 and 97.5 percentiles over single simulated trials)."""
    def t_ci(x):
        return mean_ci(x)[1:]

    if t.arm in ("ips", "usual_services"):
        x = _values(ips_rows if t.arm == "ips" else us_rows, t.metric)
        lo, hi = t_ci(x)
        return lo, hi, float(np.nanpercentile(x, 2.5)), float(np.nanpercentile(x, 97.5))
    a, c = _values(ips_rows, t.metric), _values(us_rows, t.metric)
    ok = np.isfinite(a) & np.isfinite(c)
    a, c = a[ok], c[ok]
    if t.arm == "difference":
        d = c - a
        lo, hi = t_ci(d)
        return lo, hi, float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))
    r = a.mean() / c.mean()
    se = math.sqrt(a.var(ddof=1) / len(a) / a.mean() ** 2 + c.var(ddof=1) / len(c) / c.mean() ** 2)
    per = a / np.where(c > 0, c, np.nan)
    return (r * math.exp(-1.96 * se), r * math.exp(1.96 * se),
            float(np.nanpercentile(per, 2.5)), float(np.nanpercentile(per, 97.5)))


def program_outcomes(scenario: Scenario, replications: int, seed: int, executor=None) -> list[dict]:
    """Running-program quantities per replication (benchmarks: caseload working share, job tenure)."""
    rows, _ = run_replications(scenario, replications, seed, keep_records=False,
                               outcome=partial(_program_row, seed=seed), executor=executor)
    return rows


def _program_row(rec, scenario: Scenario, seed: int) -> dict:
    """One replication's running-program quantities (an outcome function for the runner)."""
    met = replication_metrics(rec, scenario)
    row = {"employed_share_mean": met["employed_share_mean"],
           "quarterly_working_rate": met["quarterly_working_rate"],
           "ever_employed_rate": met["ever_employed_rate"]}
    # Gold et al. 2010 compare trial cumulative rates with programs' quarterly rates.
    row["cumulative_to_point_ratio"] = (met["ever_employed_rate"] / met["quarterly_working_rate"]
                                        if met["quarterly_working_rate"] > 0 else math.nan)
    row.update(first_job_tenure(rec, scenario, seed))
    return row


def first_job_tenure(rec, scenario: Scenario, seed: int, months: float = 24.0) -> dict:
    """Bond & Kukla 2011 design: the 24 months after the start of a first job (first jobs started
    after warm-up, with 24 months left to the horizon): months in the first job and months worked."""
    j = rec.job
    window = months * DAYS_PER_MONTH
    end = job_end_days(rec, scenario, seed)
    first = (j["job_number"] == 1) & (j["start_day"] >= scenario.warmup_days) & (
        j["start_day"] + window <= rec.horizon)
    if not first.any():
        return {"first_job_tenure_months": math.nan, "months_worked_24m_after_first_job": math.nan,
                "jobs_24m_after_first_job": math.nan, "first_job_days": np.zeros(0)}
    s0 = j["start_day"][first]
    tenure = np.minimum(end[first], s0 + window) - s0
    start_of = np.full(len(rec.member["member_id"]), np.nan)
    start_of[j["member_id"][first]] = s0
    ws = start_of[j["member_id"]]
    ok = np.isfinite(ws)
    worked = np.where(ok, np.clip(np.minimum(end, ws + window) - j["start_day"], 0, None), 0.0)
    per_member = np.bincount(j["member_id"][ok], weights=worked[ok], minlength=len(start_of))
    in_win = ok & (j["start_day"] < ws + window)
    n_jobs = np.bincount(j["member_id"][in_win], minlength=len(start_of))
    return {"first_job_tenure_months": float(tenure.mean() / DAYS_PER_MONTH),
            "months_worked_24m_after_first_job": float(per_member[j["member_id"][first]].mean() / DAYS_PER_MONTH),
            "jobs_24m_after_first_job": float(n_jobs[j["member_id"][first]].mean()),
            # each first job's days within the window (= the window if it lasted through it): for the KM plot
            "first_job_days": tenure}


# --------------------------------------------------------------------------- fitting


@dataclass
class ArmFit:
    arm: str
    values: dict[str, float]
    updates: dict[str, float]
    loss: float
    evaluations: int
    success: bool
    message: str
    history: list = field(default_factory=list)


def _loss(targets: list[Target], sims: dict[str, float]) -> float:
    total = 0.0
    for t in targets:
        v = sims[t.target]
        if not math.isfinite(v):
            return 1e6
        total += ((v - t.value) / t.sd) ** 2
    return total


def _unit_name(*what) -> str:
    """A saved evaluation's name: a hash of what it evaluated (arm, point, fixed updates)."""
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:24]


def _remembered(checkpoint, name: str, evaluate: Callable[[], Any]) -> Any:
    """``evaluate()``, or its value saved in ``checkpoint`` by an interrupted calibration (JSON: exact floats)."""
    if checkpoint is not None:
        saved = checkpoint.load(name)
        if saved is not None:
            return saved
    value = evaluate()
    if checkpoint is not None:
        checkpoint.save(name, value)
    return value


def fit_arm(sim: Simulator, arm: str, targets: list[Target], budget: int, ips_updates: dict | None = None,
            log: Callable[[str], None] | None = None, checkpoint=None) -> ArmFit:
    """Nelder-Mead on the transformed free parameters of one arm (deterministic: fixed seed and replications).

    ``checkpoint`` (a :class:`resume.Checkpoint`, JSON): each evaluation is saved; the search is
    deterministic, so a resumed calibration takes the same steps and finds them there.
    """
    free = FREE[arm]
    base = sim.base[arm]
    x0 = np.array([fp.to_x(v) for fp, v in zip(free, start_values(arm, base).values())])
    if arm == "usual_services":
        x0 = np.array([fp.to_x(max(v, 0.0)) for fp, v in zip(free, start_values(arm, base).values())])
    simplex = [x0] + [x0 + np.eye(len(free))[k] * free[k].step for k in range(len(free))]
    history = []
    cache: dict[tuple, float] = {}
    ips_rows_fixed = sim.arm("ips", ips_updates) if arm == "usual_services" else None

    def evaluate(values: dict, pen: float) -> float:
        if arm == "ips":
            upd = updates_for("ips", values, base)
            rows_i, rows_u = sim.arm("ips", upd), None
        else:
            upd = updates_for("usual_services", values, base)
            rows_i, rows_u = ips_rows_fixed, sim.arm("usual_services", ips_updates, upd)
        pc: dict = {}
        ipsu = upd if arm == "ips" else ips_updates
        sims = {t.target: target_quantity(sim, t, rows_i, rows_u, ipsu, pc) for t in targets}
        return _loss(targets, sims) + pen

    def objective(x):
        key = tuple(np.round(x, 12))
        if key in cache:
            return cache[key]
        values = {fp.name: fp.from_x(xi) for fp, xi in zip(free, x)}
        pen = sum(fp.penalty(xi) for fp, xi in zip(free, x))
        name = _unit_name("fit", arm, [float(k) for k in key], ips_updates or {})
        val = _remembered(checkpoint, name, lambda: evaluate(values, pen))
        cache[key] = val
        history.append({**values, "loss": val})
        if log:
            log(f"  {arm} eval {len(history):3d}: " + ", ".join(f"{k}={v:.4g}" for k, v in values.items())
                + f" loss={val:.4f}")
        return val

    res = optimize.minimize(objective, x0, method="Nelder-Mead",
                            options={"maxfev": budget, "initial_simplex": np.array(simplex),
                                     "xatol": 0.01, "fatol": 0.01})
    best = min(history, key=lambda h: h["loss"])  # the best point evaluated (NM may stop mid-step)
    values = {fp.name: best[fp.name] for fp in free}
    return ArmFit(arm, values, updates_for(arm, values, base), float(best["loss"]), len(history),
                  bool(res.success), str(res.message), history)


# --------------------------------------------------------------------------- parameter draws


def _fit_vector(sim: Simulator, targets: list[Target], ips_upd: dict, us_upd: dict, checkpoint=None) -> np.ndarray:
    def evaluate() -> list[float]:
        rows_i = sim.arm("ips", ips_upd)
        rows_u = sim.arm("usual_services", ips_upd, us_upd)
        pc: dict = {}
        return [float(target_quantity(sim, t, rows_i, rows_u, ips_upd, pc)) for t in targets]

    name = _unit_name("draws", ips_upd, us_upd, [t.target for t in targets])
    return np.array(_remembered(checkpoint, name, evaluate), dtype=float)


def parameter_draws(sim: Simulator, targets: list[Target], ips_fit: ArmFit, us_fit: ArmFit, n_draws: int,
                    seed: int, step: float = 0.1, checkpoint=None) -> tuple[list[dict], np.ndarray]:
    """Parameter sets reproducing draws of the fit targets (linearised inverse of the simulator at the fit).

    Returns (draws, Jacobian). Each draw: {"ips": updates, "usual_services": updates, "target:<name>": value}.
    """
    params = [("ips", fp) for fp in FREE["ips"]] + [("usual_services", fp) for fp in FREE["usual_services"]]
    x_star = np.array([fp.to_x(ips_fit.values[fp.name] if arm == "ips" else us_fit.values[fp.name])
                       for arm, fp in params])
    def upd(x):
        vi = {fp.name: fp.from_x(xi) for (arm, fp), xi in zip(params, x) if arm == "ips"}
        vu = {fp.name: fp.from_x(xi) for (arm, fp), xi in zip(params, x) if arm == "usual_services"}
        return updates_for("ips", vi, sim.base["ips"]), updates_for("usual_services", vu, sim.base["usual_services"])

    steps = np.array([step if fp.log else 0.5 for _, fp in params])
    jac = np.zeros((len(targets), len(params)))
    for k in range(len(params)):
        xp, xm = x_star.copy(), x_star.copy()
        xp[k] += steps[k]
        xm[k] -= steps[k]
        if not params[k][1].log:
            xm[k] = max(xm[k], params[k][1].lo)
        yp = _fit_vector(sim, targets, *upd(xp), checkpoint=checkpoint)
        ym = _fit_vector(sim, targets, *upd(xm), checkpoint=checkpoint)
        jac[:, k] = (yp - ym) / (xp[k] - xm[k])
    sd = np.array([t.sd for t in targets])
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(zlib_crc("parameter_draws"),)))
    shared = [t.metric == "employment_rate" for t in targets]
    draws = []
    w = np.diag(1.0 / sd)
    for _ in range(n_draws):
        z = rng.standard_normal(len(targets))
        z_common = rng.standard_normal()
        z = np.where(shared, z_common, z)  # US vs non-US: both arms' employment rates move together
        y = np.array([t.value for t in targets]) + z * sd
        # Move from the fit's simulated values towards the drawn targets (the fit's residual is kept).
        dx, *_ = np.linalg.lstsq(w @ jac, w @ (y - np.array([t.value for t in targets])), rcond=None)
        x = x_star + dx
        x = np.array([min(max(xi, fp.to_x(fp.lo) if fp.log else fp.lo), fp.to_x(fp.hi) if fp.log else fp.hi)
                      for xi, (_, fp) in zip(x, params)])
        ui, uu = upd(x)
        draws.append({"ips": ui, "usual_services": uu, **{f"target:{t.target}": yi for t, yi in zip(targets, y)}})
    return draws, jac


def zlib_crc(name: str) -> int:
    import zlib
    return zlib.crc32(name.encode())


def draws_csv(draws: list[dict]) -> bytes:
    """draws.csv: one row per parameter draw (both arms' values and the targets it was drawn for)."""
    keys_i = list(draws[0]["ips"])
    keys_u = list(draws[0]["usual_services"])
    tkeys = [k for k in draws[0] if k.startswith("target:")]
    f = io.StringIO(newline="")
    w = csv.writer(f)
    w.writerow(["draw"] + [f"ips:{k}" for k in keys_i] + [f"usual_services:{k}" for k in keys_u] + tkeys)
    for i, d in enumerate(draws):
        w.writerow([i] + [f"{d['ips'][k]:.6g}" for k in keys_i] + [f"{d['usual_services'][k]:.6g}" for k in keys_u]
                   + [f"{d[k]:.6g}" for k in tkeys])
    return f.getvalue().encode()


def default_draws_path() -> Path:
    return calibration_dir() / "draws.csv"


def load_draws(path: str | Path | None = None) -> list[tuple[dict, dict]]:
    """Parameter draws as (IPS-arm updates, usual-services-arm updates); the latter include the IPS ones."""
    path = Path(path) if path else default_draws_path()
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            ips = {k[4:]: float(v) for k, v in row.items() if k.startswith("ips:")}
            us = {k[len("usual_services:"):]: float(v) for k, v in row.items() if k.startswith("usual_services:")}
            out.append((ips, {**ips, **us}))
    return out


# --------------------------------------------------------------------------- parameter uncertainty in `run`


def explicit_paths(raw: Any, prefix: str = "") -> set[str]:
    """Dotted paths a scenario file sets itself (these win over parameter draws)."""
    out = set()
    if isinstance(raw, dict):
        for k, v in raw.items():
            p = f"{prefix}{k}"
            if isinstance(v, dict) and k != "end_reason_shares":
                out |= explicit_paths(v, p + ".")
            else:
                out.add(p)
    return out


def draw_updates(scenario: Scenario, draws: list[tuple[dict, dict]], i: int, explicit: set[str]) -> dict:
    ips, us = draws[i % len(draws)]
    upd = us if scenario.arm == "usual_services" else ips
    return {k: v for k, v in upd.items() if k not in explicit}


def run_with_draws(scenario: Scenario, scenario_path: str | Path, replications: int, seed: int, workers: int = 1,
                   progress=None, draws_path: str | Path | None = None, checkpoint=None, executor=None,
                   keep_records: bool | int = True):
    """Like ``experiment.run_replications`` but replication ``i`` uses parameter draw ``i`` (cycled)."""
    draws = load_draws(draws_path)
    explicit = explicit_paths(read_yaml_file(scenario_path) or {})
    per_draw = {d: scenario.with_updates(draw_updates(scenario, draws, d, explicit))
                for d in range(min(len(draws), replications))}
    return run_replications(scenario, replications, seed, workers, progress=progress,
                            scenario_for=lambda i: per_draw[i % len(draws)], checkpoint=checkpoint, executor=executor,
                            keep_records=keep_records)


# --------------------------------------------------------------------------- the whole calibration


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).resolve().parent).stdout.strip() or "unknown"
    except Exception:  # pragma: no cover
        return "unknown"


def _yaml_bytes(header: str, parameters: dict, provenance: dict) -> bytes:
    doc = {"parameters": {k: float(f"{v:.6g}") for k, v in parameters.items()}, "provenance": provenance}
    return (header + yaml.safe_dump(doc, sort_keys=False)).encode()


def calibration_key(targets_path: str | Path | None, seed: int, replications: int, budget: int, n_draws: int,
                    directory: Path | None = None) -> dict:
    """What a calibration's evaluations depend on: a saved one is reused only under the same key."""
    targets_path = Path(targets_path) if targets_path else default_targets_path()
    return {"targets_sha256": sha256(targets_path), "seed": seed, "replications": replications, "budget": budget,
            "draws": n_draws, "literature": {arm: literature_data(arm, directory) for arm in ARMS},
            "trial": {"n_per_arm": TRIAL_N, "follow_up_months": TRIAL_FOLLOW_UP}}


def calibrate(targets_path: str | Path | None = None, out: str | Path | None = None, seed: int = DEFAULT_SEED,
              replications: int = DEFAULT_REPLICATIONS, budget: int = DEFAULT_BUDGET, n_draws: int = DEFAULT_DRAWS,
              workers: int = 1, log: Callable[[str], None] | None = None, report: bool = True,
              command: str = "", executor=None, checkpoint=None) -> dict:
    """Fit both arms, write fitted.yaml, fitted_usual_services.yaml, draws.csv, report.md and the PNG to ``out``.

    ``checkpoint``: an opened :class:`resume.Checkpoint` (JSON, keyed by :func:`calibration_key`)
    keeping every evaluation of the fit and of the draws' Jacobian, so an interrupted calibration
    resumes where it stopped (the report is computed again).
    """
    import time
    started = time.perf_counter()
    targets_path = Path(targets_path) if targets_path else default_targets_path()
    out = Path(out) if out else repository_calibration_dir()
    out.mkdir(parents=True, exist_ok=True)
    targets = load_targets(targets_path)
    trial_t = [t for t in targets if t.design == "trial"]
    # Program targets (running program, IPS arm) may be fitted too if targets.csv gives them role `fit`.
    fit_ips = [t for t in targets if t.role == "fit" and t.arm == "ips"]
    fit_us = [t for t in trial_t if t.role == "fit" and t.arm != "ips"]
    sim = Simulator(seed, replications, workers=workers, executor=executor)
    say = log or (lambda s: None)
    say(f"fitting the IPS arm to {', '.join(t.target for t in fit_ips)}")
    ips = fit_arm(sim, "ips", fit_ips, budget, log=log, checkpoint=checkpoint)
    say(f"fitting the usual-services arm to {', '.join(t.target for t in fit_us)}")
    us = fit_arm(sim, "usual_services", fit_us, budget, ips_updates=ips.updates, log=log, checkpoint=checkpoint)
    draws, jac = ([], None)
    if n_draws > 0:
        say(f"drawing {n_draws} parameter sets")
        draws, jac = parameter_draws(sim, fit_ips + fit_us, ips, us, n_draws, seed, checkpoint=checkpoint)
    sha = sha256(targets_path)
    prov = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command or f"ips-sim calibrate --seed {seed} --replications {replications} --budget {budget}",
        "seed": seed, "replications": replications, "budget": budget,
        "design": f"cohort of {TRIAL_N} per arm on day 0, {TRIAL_FOLLOW_UP:g} months follow-up, caseload cap 20",
        "targets_file": targets_path.name, "targets_sha256": sha, "git_commit": _git_commit(),
    }
    # Every file is made first and written at the end, each atomically (output.write_bytes): an
    # interrupted calibration leaves the previous fit whole, never a new fit with an old report.
    files: dict[str, bytes] = {}
    written_by = "# Written by `ips-sim calibrate` (ips_sim/studies/calibration.py); do not edit by hand.\n"
    for fit, targets_fitted, name, about in (
        (ips, fit_ips, "fitted.yaml",
         "# Behavioural parameters fitted to the IPS arms of the RCTs (see calibration/report.md,\n"
         "# docs/calibration.md and calibration/targets.csv for targets and sources).\n"),
        (us, fit_us, "fitted_usual_services.yaml",
         "# Usual-services arm parameters fitted to the control arms of the same RCTs, applied\n"
         "# over calibration/usual_services.yaml for scenarios with `arm: usual_services`.\n"),
    ):
        files[name] = _yaml_bytes(written_by + about, fit.updates,
                                  {**prov, "arm": fit.arm, "loss": round(fit.loss, 6), "evaluations": fit.evaluations,
                                   "free": {k: float(f"{v:.6g}") for k, v in fit.values.items()},
                                   "fit_targets": [t.target for t in targets_fitted]})
    if draws:
        files["draws.csv"] = draws_csv(draws)
    result = {"ips": ips, "usual_services": us, "draws": draws, "jacobian": jac, "targets": targets,
              "provenance": prov, "seconds": time.perf_counter() - started}
    if report:
        say("evaluating the fit on fresh replications for the report")
        files.update(report_files(sim, targets, ips, us, draws, prov))
    for name, data in files.items():
        write_bytes(out / name, data)
    say(f"written to {out}/: {', '.join(files)}")
    result["seconds"] = time.perf_counter() - started
    return result


# --------------------------------------------------------------------------- report


def fit_table(sim: Simulator, targets: list[Target], ips_upd: dict, us_upd: dict,
              draws: list[dict] | None = None, first: int | None = None,
              program_rows: list[dict] | None = None) -> list[dict]:
    """Every target with its simulated mean, 95% CI, spread over single trials, coverage.

    Trial targets use fresh replications (``first`` = the fit's replication count by default), so the
    check is not on the random numbers the fit was tuned on.
    """
    first = sim.replications if first is None else first
    rows_i = sim.arm("ips", ips_upd, first=first)
    rows_u = sim.arm("usual_services", ips_upd, us_upd, first=first)
    unc_i = unc_u = None
    if draws:
        unc_i, unc_u = [], []
        fu = sim.fu
        for k in range(sim.replications):
            d = draws[k % len(draws)]
            sc_i = cohort_scenario(sim.scenario("ips", d["ips"]), sim.n, fu)
            sc_u = cohort_scenario(sim.scenario("usual_services", d["ips"], d["usual_services"]), sim.n, fu)
            unc_i += simulate_arm(sc_i, 1, sim.seed, fu, first=first + k)
            unc_u += simulate_arm(sc_u, 1, sim.seed, fu, first=first + k + CONTROL_OFFSET)
    prog = program_rows if program_rows is not None else fitted_program(sim, ips_upd)
    out = []
    for t in targets:
        if t.design == "trial":
            mean = trial_quantity(t, rows_i, rows_u)
            lo, hi, p_lo, p_hi = trial_interval(t, rows_i, rows_u)
            n_rep = len(rows_i)
            if unc_i is not None:
                u_mean = trial_quantity(t, unc_i, unc_u)
                _, _, u_lo, u_hi = trial_interval(t, unc_i, unc_u)
            else:
                u_mean = u_lo = u_hi = math.nan
        else:
            x = np.array([r[t.metric] for r in prog], float)
            x = x[np.isfinite(x)]
            mean, lo, hi = mean_ci(x)
            p_lo, p_hi = float(np.percentile(x, 2.5)), float(np.percentile(x, 97.5))
            n_rep = len(x)
            u_mean = u_lo = u_hi = math.nan
        out.append({
            "target": t.target, "role": t.role, "design": t.design, "arm": t.arm, "metric": t.metric,
            "target_value": t.value, "target_low": t.low, "target_high": t.high,
            "simulated": mean, "ci_low": lo, "ci_high": hi,
            "ci_covers_target": bool(lo <= t.value <= hi),
            "in_target_range": bool(t.low <= mean <= t.high),
            "single_trial_p2.5": p_lo, "single_trial_p97.5": p_hi,
            "z": (mean - t.value) / t.sd,
            "with_parameter_uncertainty": u_mean, "uncertainty_p2.5": u_lo, "uncertainty_p97.5": u_hi,
            "replications": n_rep, "source": t.source,
        })
    return out


def fitted_program(sim: Simulator, ips_upd: dict) -> list[dict]:
    """Running-program rows of the default program with the IPS fit (benchmark checks, tenure plot)."""
    program_sc = sim.scenario("ips", ips_upd).with_updates({"name": "calibration_program"})
    return program_outcomes(program_sc, PROGRAM_REPLICATIONS, sim.seed, executor=sim.executor)


def check_draws(sim: Simulator, targets: list[Target], draws: list[dict], n_check: int = DRAW_CHECKS,
                replications: int = 30) -> list[dict]:
    """How well the linearised draws hit their drawn targets: simulate the first ``n_check`` draws.

    Returns per fit target: mean drawn value, mean simulated value, mean absolute error, correlation
    of simulated with drawn values, and the Monte Carlo SE of one draw's simulated value.
    """
    first = 2 * sim.replications  # yet other replications than the fit and the report
    sims, drawn = [], []
    for d in draws[:n_check]:
        rows_i = sim.arm("ips", d["ips"], first=first, replications=replications)
        rows_u = sim.arm("usual_services", d["ips"], d["usual_services"], first=first, replications=replications)
        pc: dict = {}
        sims.append([target_quantity(sim, t, rows_i, rows_u, d["ips"], pc) for t in targets])
        drawn.append([d[f"target:{t.target}"] for t in targets])
    s, y = np.array(sims), np.array(drawn)
    out = []
    for k, t in enumerate(targets):
        r = float(np.corrcoef(s[:, k], y[:, k])[0, 1]) if np.std(y[:, k]) > 0 else math.nan
        out.append({"target": t.target, "drawn_mean": float(y[:, k].mean()), "drawn_sd": float(y[:, k].std(ddof=1)),
                    "simulated_mean": float(s[:, k].mean()), "simulated_sd": float(s[:, k].std(ddof=1)),
                    "mean_abs_error": float(np.abs(s[:, k] - y[:, k]).mean()), "correlation": r})
    return out


def _fmt(x: float, ref: float) -> str:
    if not math.isfinite(x):
        return ""
    if abs(ref) < 1.5:
        return f"{x:.3f}"
    return f"{x:.1f}"


def fit_markdown(rows: list[dict]) -> str:
    lines = ["| target | role | target value [range] | simulated mean [95% CI] | CI covers target | mean in range "
             "| single trials 2.5-97.5% | with parameter uncertainty 2.5-97.5% | source |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        v = r["target_value"]
        unc = (f"{_fmt(r['uncertainty_p2.5'], v)} - {_fmt(r['uncertainty_p97.5'], v)}"
               if math.isfinite(r["uncertainty_p2.5"]) else "")
        lines.append(
            f"| {r['target']} | {r['role']} | {_fmt(v, v)} [{_fmt(r['target_low'], v)}, {_fmt(r['target_high'], v)}] "
            f"| {_fmt(r['simulated'], v)} [{_fmt(r['ci_low'], v)}, {_fmt(r['ci_high'], v)}] "
            f"| {'yes' if r['ci_covers_target'] else 'no'} | {'yes' if r['in_target_range'] else 'no'} "
            f"| {_fmt(r['single_trial_p2.5'], v)} - {_fmt(r['single_trial_p97.5'], v)} | {unc} | {r['source']} |")
    return "\n".join(lines) + "\n"


def fit_csv(rows: list[dict]) -> bytes:
    f = io.StringIO(newline="")
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return f.getvalue().encode()


def plot_fit(path, rows: list[dict]) -> None:
    """calibration_fit.png (``path``: a file name or a binary file object)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.42 * len(rows) + 1.2))
    for k, r in enumerate(rows[::-1]):
        v = r["target_value"]
        ax.plot([r["target_low"] / v, r["target_high"] / v], [k, k], color="0.8", lw=8, solid_capstyle="butt")
        ax.plot([1], [k], "|", color="k", ms=14)
        if math.isfinite(r["uncertainty_p2.5"]):
            ax.plot([r["uncertainty_p2.5"] / v, r["uncertainty_p97.5"] / v], [k - 0.22] * 2, color="tab:orange", lw=1)
        ax.plot([r["single_trial_p2.5"] / v, r["single_trial_p97.5"] / v], [k + 0.22] * 2, color="tab:blue", lw=1,
                alpha=0.5)
        col = "tab:green" if r["role"] == "fit" else "tab:purple"
        ax.errorbar([r["simulated"] / v], [k], xerr=[[max(0, (r["simulated"] - r["ci_low"]) / v)],
                                                     [max(0, (r["ci_high"] - r["simulated"]) / v)]],
                    fmt="o", color=col, ms=5)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r['target']} ({r['role']})" for r in rows[::-1]], fontsize=8)
    ax.axvline(1, color="k", lw=0.5)
    ax.set_xlabel("simulated / target\n(grey: target range; dot: simulated mean and 95% CI; blue: 95% of single "
                  "simulated trials;\norange: the same with parameter uncertainty)", fontsize=7)
    ax.set_title("ips-sim calibration: simulated vs published targets", fontsize=10)
    ax.set_xlim(0, 3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def _png(plot, *args):
    """A plot function's PNG as bytes (it draws into a buffer instead of a file)."""
    buf = io.BytesIO()
    out = plot(buf, *args)
    return buf.getvalue(), out


def report_files(sim: Simulator, targets: list[Target], ips: ArmFit, us: ArmFit, draws: list[dict],
                 prov: dict) -> dict[str, bytes]:
    """The report's files by name: fit_table.csv, calibration_fit.png, tenure_survival.png, report.md."""
    prog = fitted_program(sim, ips.updates)
    rows = fit_table(sim, targets, ips.updates, us.updates, draws, program_rows=prog)
    files = {"fit_table.csv": fit_csv(rows), "calibration_fit.png": _png(plot_fit, rows)[0]}
    program = sim.scenario("ips", {})
    fitted_sc = sim.scenario("ips", ips.updates)
    first_days = np.concatenate([r["first_job_days"] for r in prog])
    files["tenure_survival.png"], km = _png(plot_first_job_survival, first_days, fitted_sc)
    lines = [
        "# Calibration report",
        "",
        f"Written by `{prov['command']}` on {prov['date']} (git {prov['git_commit'][:10]}). "
        f"Targets: `{prov['targets_file']}` (sha256 `{prov['targets_sha256'][:16]}...`).",
        "",
        f"Design: {prov['design']}; {sim.replications} replications per evaluation, seed {prov['seed']}, "
        f"Nelder-Mead budget {prov['budget']} evaluations per arm. The table is computed on "
        f"{sim.replications} fresh replications (not those used in the fit); running-program rows on "
        f"{PROGRAM_REPLICATIONS} replications of the default program ({program.team.specialists} specialists, "
        f"{program.referrals.rate_per_month:g} referrals a month, {program.simulation.horizon_years:g} years, "
        f"{program.simulation.warmup_years:g} warm-up).",
        "",
        "## Fitted parameters",
        "",
        "| arm | parameter | fitted | loss | evaluations | converged |",
        "|---|---|---|---|---|---|",
    ]
    for fit in (ips, us):
        for k, v in fit.values.items():
            lines.append(f"| {fit.arm} | `{k}` | {v:.4g} | {fit.loss:.3f} | {fit.evaluations} | {fit.success} |")
    lines += ["", "Resulting values written to the overlays:", ""]
    for fit in (ips, us):
        for k, v in fit.updates.items():
            lines.append(f"- {fit.arm}: `{k}` = {v:.4g}")
    lines += ["", "## Fit table", "",
              "Role `fit`: in the loss; `check`: not fitted, reported to show what the model does with it. "
              "`CI covers target`: the 95% CI of the simulated mean contains the published value. "
              "`mean in range`: the simulated mean lies inside the target's range (`ci_or_range` in targets.csv).",
              "", fit_markdown(rows), "", "![fit](calibration_fit.png)", ""]
    lines += tenure_section(rows, km, fitted_sc, len(prog))
    lines += misfit_section(rows)
    if draws:
        fit_t = [t for t in targets if t.role == "fit" and (t.design == "trial" or t.arm == "ips")]
        chk = check_draws(sim, fit_t, draws)
        lines += ["## Parameter draws", "",
                  f"{len(draws)} draws in `draws.csv` (see docs/calibration.md); the column 'with parameter "
                  "uncertainty' above runs replication i with draw i. Check of the linearised inverse: the first "
                  f"{min(DRAW_CHECKS, len(draws))} draws simulated with 30 trials each (fresh replications): does each draw "
                  "reproduce the targets it was drawn for?", "",
                  "| fit target | drawn mean (sd) | simulated mean (sd) | mean abs error | correlation drawn vs simulated |",
                  "|---|---|---|---|---|"]
        for c in chk:
            ref = c["drawn_mean"]
            lines.append(f"| {c['target']} | {_fmt(c['drawn_mean'], ref)} ({_fmt(c['drawn_sd'], ref)}) | "
                         f"{_fmt(c['simulated_mean'], ref)} ({_fmt(c['simulated_sd'], ref)}) | "
                         f"{_fmt(c['mean_abs_error'], ref)} | {c['correlation']:.2f} |")
        lines += ["", "A draw's simulated value carries Monte Carlo noise of its 30 trials as well as the "
                  "linearisation error, so the correlation is below 1 even for an exact inverse.", ""]
    files["report.md"] = "\n".join(lines).encode()
    return files


TENURE_TARGETS = ("first_job_tenure_months_program", "months_worked_24m_after_first_job_program",
                  "jobs_24m_after_first_job_program", "worked_20h_share_of_employed_ips")


def tenure_section(rows: list[dict], km: dict, scenario: Scenario, n_reps: int) -> list[str]:
    """The report's job-tenure section: the four tenure targets, the KM plot, the fitted mixture."""
    jb = scenario.jobs
    weights, rates = mixture(scenario)
    m = DAYS_PER_MONTH
    by = {r["target"]: r for r in rows}
    lines = ["## Job tenure", "",
             "Jobs are fragile or stable (a latent class drawn at the job's start; odds of a fragile job times "
             f"{jb.fragile_odds_ratio_short_hours:g} for jobs of 20 hours a week or less), ending at constant hazards "
             "given their class and preference match: a mixture of exponentials with a falling hazard (see "
             "docs/calibration.md). Fitted: fragile share of jobs over 20 h "
             f"{jb.fragile_share:.3g}, fragile hazard {jb.fragile_rate_ratio:.3g} x the stable one, stable hazard "
             f"{jb.end_rate_per_month:.3g} per month (jobs not meeting preferences), hours a week "
             f"truncated normal with mean {jb.hours_per_week_mean:.3g} (sd {jb.hours_per_week_sd:g}).", "",
             "| quantity | target [range] | simulated mean [95% CI] | source |", "|---|---|---|---|"]
    for name in TENURE_TARGETS:
        r = by.get(name)
        if r is None:
            continue
        v = r["target_value"]
        lines.append(f"| {name} | {_fmt(v, v)} [{_fmt(r['target_low'], v)}, {_fmt(r['target_high'], v)}] | "
                     f"{_fmt(r['simulated'], v)} [{_fmt(r['ci_low'], v)}, {_fmt(r['ci_high'], v)}] | {r['source']} |")
    h0 = float(hazard(weights, rates, 0.0)[0]) * m
    h6 = float(hazard(weights, rates, 6 * m)[0]) * m
    lines += ["", f"Mixture at full follow-along (closed form, `ips_sim.sim.tenure`): job-ending hazard {h0:.3f} per month "
              f"at the start of a job, {h6:.3f} after six months; median job {_median_months(weights, rates):.1f} "
              f"months, mean {mean_tenure(weights, rates) / m:.1f} months.", "",
              "![first-job survival](tenure_survival.png)", "",
              f"Kaplan-Meier of {km['n']} simulated first jobs (default program, {n_reps} replications; first jobs "
              "started after warm-up with 24 months left; jobs held when a member leaves services continue, see "
              "trial.py) with a 95% Greenwood band. Still in the first job at 3, 6, 12 and 24 months: "
              + ", ".join(f"{s:.2f}" for s in km["at"]) + f"; area under the curve to 24 months "
              f"{km['restricted_mean_months']:.2f} months (the first-job target).", ""]
    return lines


def _median_months(weights, rates) -> float:
    from scipy.optimize import brentq
    return brentq(lambda u: float(survival(weights, rates, u)) - 0.5, 0.0, 1e6) / DAYS_PER_MONTH


def misfit_section(rows: list[dict]) -> list[str]:
    """What does not fit: every target whose simulated mean is outside its range or whose CI misses it."""
    out = [r for r in rows if not r["in_target_range"]]
    near = [r for r in rows if r["in_target_range"] and not r["ci_covers_target"]]
    lines = ["## What does not fit", ""]
    if not out:
        lines.append("Every target's simulated mean lies inside its range.")
    for r in out:
        v = r["target_value"]
        lines.append(f"- **{r['target']}** ({r['role']}): simulated {_fmt(r['simulated'], v)} "
                     f"[{_fmt(r['ci_low'], v)}, {_fmt(r['ci_high'], v)}], outside the range "
                     f"[{_fmt(r['target_low'], v)}, {_fmt(r['target_high'], v)}].")
    if near:
        lines += ["", "Inside the range but with a 95% CI that misses the published value: "
                  + ", ".join(f"{r['target']} ({_fmt(r['simulated'], r['target_value'])} vs "
                              f"{_fmt(r['target_value'], r['target_value'])})" for r in near) + "."]
    lines += ["", "See docs/calibration.md for why, and what it means for planning.", ""]
    return lines
