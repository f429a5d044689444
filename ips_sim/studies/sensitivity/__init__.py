"""Which assumptions matter: global sensitivity analysis over the assumed parameters.

The parameters marked *assumption* in ``calibration/parameters.csv`` are varied
over the plausible ranges stated, with their reasoning, in
``calibration/assumption_ranges.csv``. Three designs answer three questions:

* **Morris elementary effects** (SALib) screen every ranged assumption: mu* is
  the mean absolute change in an outcome when one assumption moves, scaled to
  a move across its whole range; sigma shows non-linearity and interactions.
* **Sobol indices** (SALib, Saltelli/Jansen estimators) for the few that
  matter: the share of the outcome's variance due to each one alone (S1) and
  with its interactions (ST).
* **One at a time**: each assumption at its low and its high end, the others at
  their defaults -- the tornado plot, and (with a planning question) the
  smallest staffing meeting every target, re-planned at each end.

Every sample point runs the same seed and replication indices (common random
numbers), so an assumption that changes nothing gives exactly the same
numbers and differences between points are the assumption, not noise.
Points are evaluated in work units through an executor (this process, local
processes or Dask, :mod:`ips_sim.runner.executors`) and put back in point order, so
results do not depend on where they ran.

The package, by concern: ``ranges`` (the assumptions and their ranges), ``points``
(work units of sample points), ``analyses`` (Morris, Sobol, one at a time, what they
say), ``planning`` (re-planning at each end) and ``output`` (plots and files).
"""

from ips_sim.studies.sensitivity.analyses import (
    OutcomeResult,
    SensitivityResult,
    morris_design,
    morris_indices,
    negligible,
    oat_points,
    outcome_sentence,
    ranked,
    run_sensitivity,
    sobol_design,
    sobol_indices,
    table_rows,
)
from ips_sim.studies.sensitivity.output import plot_outcome, plot_plan, summary_lines, write_sensitivity
from ips_sim.studies.sensitivity.planning import PlanSensitivity, plan_rank, plan_sensitivity, plan_sentence
from ips_sim.studies.sensitivity.points import evaluate, ishigami_unit, model_unit
from ips_sim.studies.sensitivity.ranges import (
    CONFIDENCE,
    METHODS,
    MORRIS_LEVELS,
    NOISE_MU_STAR,
    RANGE_COLUMNS,
    AssumptionRange,
    Ranges,
    SensitivityError,
    assumption_parameters,
    check_outcomes,
    default_ranges_path,
    load_ranges,
    point_updates,
    salib_problem,
    select,
)

__all__ = [
    "CONFIDENCE", "METHODS", "MORRIS_LEVELS", "NOISE_MU_STAR", "RANGE_COLUMNS", "AssumptionRange", "OutcomeResult",
    "PlanSensitivity", "Ranges", "SensitivityError", "SensitivityResult", "assumption_parameters", "check_outcomes",
    "default_ranges_path", "evaluate", "ishigami_unit", "load_ranges", "model_unit", "morris_design",
    "morris_indices", "negligible", "oat_points", "outcome_sentence", "plan_rank", "plan_sensitivity",
    "plan_sentence", "plot_outcome", "plot_plan", "point_updates", "ranked", "run_sensitivity", "salib_problem",
    "select", "sobol_design", "sobol_indices", "summary_lines", "table_rows", "write_sensitivity",
]
