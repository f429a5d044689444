"""Calibration of the behavioural parameters to the IPS randomized trials.

Modules: ``targets`` (the targets table and the trial design), ``simulator`` (free
parameters, simulated trial arms and running program), ``fitting`` (Nelder-Mead per arm),
``draws`` (parameter uncertainty), ``run`` (the whole calibration), ``report`` and
``plots`` (what it writes).

``ips-sim calibrate`` reproduces the design of the IPS trials (a cohort
randomized on day 0, followed 18 months, staffed at IPS fidelity; see
:mod:`ips_sim.studies.trial`) and fits the free behavioural parameters by
simulation-based optimisation:

1. IPS arm: a common scale on the job-finding rates with specialist help
   (``job_rate_search`` and ``job_rate_development`` keep their assumed split),
   job tenure, drop-out, hours, employability spread, the later-job rate and the
   first search's shape (``simulator.FREE``), fitted to the IPS targets of
   ``targets.csv`` (role ``fit``, with role ``bound`` rows kept inside their ranges).
2. Usual-services arm (``arm: usual_services``): its own job finding, job
   ending, preparation, drop-out, case closure and employability spread, fitted
   to the control-arm and comparison targets with the IPS fit held fixed.

The loss is ``sum(((simulated - target) / sd)^2)`` over the fit targets, with
``sd`` = half the target's range / 1.96, plus a steep cost outside any fit
target's or bound's range (``fitting.RANGE_PENALTY``). Every evaluation runs the same
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

from ips_sim.studies.calibration.draws import (
    default_draws_path,
    draw_updates,
    draws_csv,
    explicit_paths,
    load_draws,
    parameter_draws,
    run_with_draws,
    scenario_draw_updates,
    scenario_draws,
)
from ips_sim.studies.calibration.fitting import ArmFit, fit_arm
from ips_sim.studies.calibration.report import fit_table, report_files
from ips_sim.studies.calibration.run import calibrate, calibration_key
from ips_sim.studies.calibration.simulator import (
    FREE,
    Free,
    Simulator,
    first_job_tenure,
    literature_data,
    program_outcomes,
    start_values,
    updates_for,
)
from ips_sim.studies.calibration.targets import (
    ARMS,
    DEFAULT_BUDGET,
    DEFAULT_DRAWS,
    DEFAULT_REPLICATIONS,
    DEFAULT_SEED,
    TRIAL_FOLLOW_UP,
    TRIAL_N,
    Target,
    default_targets_path,
    load_targets,
    sha256,
)

__all__ = [
    "ARMS", "DEFAULT_BUDGET", "DEFAULT_DRAWS", "DEFAULT_REPLICATIONS", "DEFAULT_SEED", "FREE", "TRIAL_FOLLOW_UP",
    "TRIAL_N", "ArmFit", "Free", "Simulator", "Target", "calibrate", "calibration_key", "default_draws_path",
    "default_targets_path", "draw_updates", "draws_csv", "explicit_paths", "first_job_tenure", "fit_arm",
    "fit_table", "literature_data", "load_draws", "load_targets", "parameter_draws", "program_outcomes",
    "report_files", "run_with_draws", "scenario_draw_updates", "scenario_draws", "sha256", "start_values", "updates_for",
]
