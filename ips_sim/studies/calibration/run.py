"""The whole calibration: both arms' fits, the draws, the overlays and the report, written at the end."""

from __future__ import annotations

import datetime as _dt
import subprocess
from pathlib import Path
from typing import Callable

import yaml

from ips_sim.config import repository_calibration_dir
from ips_sim.runner.output import write_bytes
from ips_sim.studies.calibration import report as _report
from ips_sim.studies.calibration.draws import draws_csv, parameter_draws
from ips_sim.studies.calibration.fitting import fit_arm
from ips_sim.studies.calibration.simulator import Simulator, literature_data
from ips_sim.studies.calibration.targets import (
    ARMS,
    DEFAULT_BUDGET,
    DEFAULT_DRAWS,
    DEFAULT_REPLICATIONS,
    DEFAULT_SEED,
    TRIAL_FOLLOW_UP,
    TRIAL_N,
    default_targets_path,
    load_targets,
    sha256,
)

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
    # Role `bound` targets are in the loss only outside their range (fitting._loss); the parameter draws
    # reproduce the `fit` targets alone.
    in_loss = ("fit", "bound")
    fit_ips = [t for t in targets if t.role in in_loss and t.arm == "ips"]
    fit_us = [t for t in trial_t if t.role in in_loss and t.arm != "ips"]
    sim = Simulator(seed, replications, workers=workers, executor=executor)
    say = log or (lambda s: None)
    say(f"fitting the IPS arm to {', '.join(t.target for t in fit_ips)}")
    ips = fit_arm(sim, "ips", fit_ips, budget, log=log, checkpoint=checkpoint)
    say(f"fitting the usual-services arm to {', '.join(t.target for t in fit_us)}")
    us = fit_arm(sim, "usual_services", fit_us, budget, ips_updates=ips.updates, log=log, checkpoint=checkpoint)
    draws, jac = ([], None)
    if n_draws > 0:
        say(f"drawing {n_draws} parameter sets")
        draws, jac = parameter_draws(sim, [t for t in fit_ips + fit_us if t.role == "fit"], ips, us, n_draws, seed,
                                     checkpoint=checkpoint)
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
    written_by = "# Written by `ips-sim calibrate` (ips_sim/studies/calibration/); do not edit by hand.\n"
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
        files.update(_report.report_files(sim, targets, ips, us, draws, prov))
    for name, data in files.items():
        write_bytes(out / name, data)
    say(f"written to {out}/: {', '.join(files)}")
    result["seconds"] = time.perf_counter() - started
    return result

