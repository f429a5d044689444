"""Parameter draws (a linearised inverse of the simulator at the fit) and runs that use them."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ips_sim.config import Scenario, calibration_dir, read_yaml_file
from ips_sim.core.echo import shown
from ips_sim.core.errors import UserError
from ips_sim.runner.experiment import cycled_draws, run_replications
from ips_sim.studies.calibration.fitting import ArmFit, _remembered, _unit_name
from ips_sim.studies.calibration.simulator import FREE, Simulator, target_quantity, updates_for
from ips_sim.studies.calibration.targets import Target

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

    # Central differences: 0.1 on the log scale; half the initial simplex step on a linear scale (a share,
    # hours, months, a coefficient of variation: a step of 0.5 crossed most of their ranges).
    steps = np.array([step if fp.log else fp.step / 2 for _, fp in params])
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
    shared = [t.metric == "employment_rate_28_trials" for t in targets]
    draws = []
    w = np.diag(1.0 / sd)
    a = w @ jac
    # A weak Gaussian prior around the fit (sd twice each parameter's initial simplex step, transformed
    # scale): with eleven parameters some directions are barely identified by the targets, and a plain
    # least-squares inverse sent them to their bounds. Posterior mode of the linearised model.
    prior = np.diag(1.0 / (2.0 * np.array([fp.step for _, fp in params])) ** 2)
    normal = a.T @ a + prior
    for _ in range(n_draws):
        z = rng.standard_normal(len(targets))
        z_common = rng.standard_normal()
        z = np.where(shared, z_common, z)  # US vs non-US: both arms' employment rates move together
        y = np.array([t.value for t in targets]) + z * sd
        # Move from the fit's simulated values towards the drawn targets (the fit's residual is kept).
        dx = np.linalg.solve(normal, a.T @ (w @ (y - np.array([t.value for t in targets]))))
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
        for n, row in enumerate(csv.DictReader(f), start=2):
            ips = {k[4:]: _number(path, n, k, v) for k, v in row.items() if k and k.startswith("ips:")}
            us = {k[len("usual_services:"):]: _number(path, n, k, v) for k, v in row.items()
                  if k and k.startswith("usual_services:")}
            out.append((ips, {**ips, **us}))
    if not out:
        raise UserError([f"{path}: no parameter draws (expected a header row and one row per draw, with "
                         "ips:FIELD columns)"])
    return out


def _number(path: Path, row: int, column: str, value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x):
        raise UserError([f"{path}: row {row}, {column}: {shown(value)}: expected a finite number"])
    return x


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


def scenario_draw_updates(scenario: Scenario, scenario_path: str | Path, draws_path: str | Path | None = None
                          ) -> list[dict]:
    """Per draw, the changes to ``scenario`` for --parameter-uncertainty: from its own ``parameter_draws``
    (a program's posterior from ``ips-sim fit-program``; its draws win over the values the file sets, which
    are the posterior means) or from the national draws (fields the file sets win over them)."""
    return scenario_draws(scenario, scenario_path, draws_path)[0]


def scenario_draws(scenario: Scenario, scenario_path: str | Path, draws_path: str | Path | None = None, *,
                   raw: dict | None = None, keep: Iterable[str] = ()) -> tuple[list[dict], dict]:
    """:func:`scenario_draw_updates` and what a manifest records about them (source, kind, count).

    ``raw``: the scenario as written, when it is not the file at ``scenario_path`` (a state file's inline
    program; ``parameter_draws`` is then relative to ``scenario_path``'s folder); ``keep``: fields set
    elsewhere (a state file's overrides) that win over every draw."""
    from ips_sim.studies.program_fit.draws import draws_used, scenario_draws_path

    path, own = scenario_draws_path(scenario, scenario_path, draws_path)
    draws = load_draws(path)
    explicit = explicit_paths((read_yaml_file(scenario_path) or {}) if raw is None else raw)
    if own:
        explicit -= set(draws[0][0])
    explicit |= set(keep)
    return ([draw_updates(scenario, draws, i, explicit) for i in range(len(draws))],
            draws_used(path, own, len(draws)))


def run_with_draws(scenario: Scenario, scenario_path: str | Path, replications: int, seed: int, workers: int = 1,
                   progress=None, draws_path: str | Path | None = None, checkpoint=None, executor=None,
                   keep_records: bool | int = True):
    """Like ``experiment.run_replications`` but replication ``i`` uses parameter draw ``i`` (cycled); the
    draws are the scenario's own (``parameter_draws``) or the national ones (:func:`scenario_draw_updates`)."""
    updates = scenario_draw_updates(scenario, scenario_path, draws_path)
    return run_replications(scenario, replications, seed, workers, progress=progress,
                            scenario_for=cycled_draws(scenario, updates), checkpoint=checkpoint,
                            executor=executor, keep_records=keep_records)
