"""State-wide planning: which programs should get new specialist posts, and what the state gains.

A state file (``scenarios/state/*.yaml``) lists programs -- each an ordinary
scenario, inline or by path, with its own referrals, team, supervision and
costs -- and state-level settings: the budget (posts or dollars a year),
per-program limits, the objective, constraints and targets.

Each program is simulated at its candidate staffing levels (posts now + 0 ..
``max_added_posts``; a new program at 0 or at least ``min_new_team``). Work
units are (program, level, chunk of replications) and run on any executor of
:mod:`ips_sim.runner.executors`; results are put back in replication order, so they
do not depend on the executor or the number of workers. Within a program every
level uses the same seed and replication indices (common random numbers), so a
level's gain over the current staffing is a paired difference. Programs get
seeds of their own (from the state seed and the program name): different
counties are independent, and the state-wide gain's variance is the sum of
the programs'.

Replications are added (doubling, as ``ips-sim plan`` does) where a decision
is too close to call: the weakest post given and the strongest post refused
have gains per unit whose difference is not resolved, or a constraint or
target is straddled by its confidence interval at the level that would decide
it. Allocation is by :mod:`ips_sim.studies.allocation` (exact optimum; greedy marginal
analysis reported next to it).

The package, by concern: ``statefile`` (the file, its checks, the programs it
resolves to), ``objectives`` (what is counted, one work unit), ``evaluate`` (work
units on an executor, more replications where a call is close), ``evidence``
(estimates and the calls they support), ``decisions`` (allocation, frontier, reverse
question), ``report`` (tables, text, plots) and ``run`` (a state run into its folder).
"""

from ips_sim.runner.resume import partial_dir
from ips_sim.studies.state.decisions import StateResult, decide, reverse_question
from ips_sim.studies.state.evaluate import evaluate, unit_key
from ips_sim.studies.state.evidence import Estimate, Evaluation, ProgramResults, sum_estimates
from ips_sim.studies.state.objectives import OBJECTIVES, OUTCOME_NAMES, run_state_unit, state_outcome
from ips_sim.studies.state.report import report_markdown
from ips_sim.studies.state.run import StateRun, run_state, state_manifest, write_state
from ips_sim.studies.state.statefile import (
    Budget,
    Limits,
    Program,
    ProgramSpec,
    State,
    StateError,
    StateFile,
    load_state,
    post_cost_per_year,
    program_seed,
)

__all__ = [
    "OBJECTIVES", "OUTCOME_NAMES", "Budget", "Estimate", "Evaluation", "Limits", "Program", "ProgramResults",
    "ProgramSpec", "State", "StateError", "StateFile", "StateResult", "StateRun", "decide", "evaluate",
    "load_state", "partial_dir", "post_cost_per_year", "program_seed", "report_markdown", "reverse_question",
    "run_state", "run_state_unit", "state_manifest", "state_outcome", "sum_estimates", "unit_key", "write_state",
]
