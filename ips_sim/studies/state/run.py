"""A state run from start to its folder: evaluate, decide, write the tables, report, plots and manifest.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ips_sim.runner.output import OutputFolder
from ips_sim.runner.resume import Checkpoint, partial_dir
from ips_sim.studies.state.decisions import StateResult, decide
from ips_sim.studies.state.evaluate import evaluate
from ips_sim.studies.state.report import (
    allocation_rows,
    candidate_rows,
    frontier_rows,
    plot_state,
    report_markdown,
    summary_lines,
)
from ips_sim.studies.state.statefile import State, StateError

# --------------------------------------------------------------------------- the run and its folder


def state_manifest(r: StateResult, wall: float, executor_text: str) -> dict:
    from ips_sim.reporting.tables import versions
    st = r.evaluation.state
    t = r.total_gain
    return {
        "kind": "state",
        "state": st.name,
        "description": st.description,
        "state_file": st.source,
        "budget": st.budget.model_dump(),
        "objective": st.weights,
        "objective_unit": st.objective_unit,
        "confidence": st.confidence,
        "seed": st.seed,
        "replications": st.replications,
        "max_replications": st.max_replications,
        "chunk": st.chunk,
        "programs": [{"name": p.name, "source": p.source, "seed": p.seed, "posts_now": p.posts_now, "new": p.new,
                      "levels": list(p.levels), "post_cost_per_year": p.post_cost,
                      "constraints": [str(c) for c in p.constraints], "targets": [str(c) for c in p.targets],
                      "scenario": p.scenario.model_dump(mode="json"), "parameter_draws": p.draws_used}
                     for p in st.programs],
        "parameter_uncertainty": st.parameter_uncertainty,
        "common_random_numbers": "within a program, every level uses the program's seed and replication indices "
                                 "0..n-1; programs have their own seeds (independent)",
        "state_gain": {"mean": t.mean, "ci_low": t.low, "ci_high": t.high},
        "state_objective_now": r.total_now.mean,
        "greedy_equals_optimum": r.greedy is not None and r.greedy.choice == r.allocation.choice,
        "not_diminishing": len(r.not_diminishing),
        "constraints_dropped": r.constraints_dropped,
        "smallest_budget_meeting_targets": r.needed_total,
        "added_replications": r.evaluation.rounds,
        "notes": r.notes,
        "fingerprint": st.fingerprint(),
        "versions": versions(),
        "executor": executor_text,
        "units_run": r.evaluation.units_run,
        "units_reused": r.evaluation.units_cached,
        "wall_time_seconds": round(wall, 3),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
    }


def write_state(folder: Path, r: StateResult, manifest_doc: dict, plots: bool = True) -> None:
    """allocation.csv, frontier.csv, candidates.csv, targets.csv, state.txt, report.md, manifest.json, plots."""
    import pandas as pd

    from ips_sim.reporting.tables import write_csv

    write_csv(pd.DataFrame(allocation_rows(r)), folder / "allocation.csv")
    write_csv(pd.DataFrame(frontier_rows(r)), folder / "frontier.csv")
    write_csv(pd.DataFrame(candidate_rows(r.evaluation)), folder / "candidates.csv")
    write_csv(pd.DataFrame(r.needed), folder / "targets.csv")
    (folder / "state.txt").write_text("\n".join(summary_lines(r)) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(report_markdown(r, plots), encoding="utf-8")
    with open(folder / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(_clean(manifest_doc), f, indent=2, sort_keys=True)
        f.write("\n")
    if plots:
        plot_state(r, folder)


def _clean(x):
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, (np.floating,)):
        return _clean(float(x))
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


@dataclass
class StateRun:
    result: StateResult
    out: Path
    wall_seconds: float


def run_state(state: State, out: str | Path, executor, *, resume: bool = False, plots: bool = True,
              progress: Callable[[int], None] | None = None, on_round: Callable[[str], None] | None = None) -> StateRun:
    """Evaluate, decide and write the state's folder; finished units are kept in ``out.partial`` for --resume."""
    out = Path(out)
    work = partial_dir(out)
    started = time.perf_counter()
    fp = state.fingerprint()
    cache = Checkpoint(work, {"fingerprint": fp}, what="state run", error=StateError,
                       settings="state file, budget, seed, replications or parameter uncertainty").open(resume)
    ev = evaluate(state, executor, cache, progress, on_round)
    result = decide(ev)
    wall = time.perf_counter() - started
    doc = state_manifest(result, wall, getattr(executor, "description", ""))
    # The command checked the folder (and holds its lock) before any work; replace only ips-sim's own.
    with OutputFolder(out, {"fingerprint": fp}, kind="state", overwrite=True).write() as tmp:
        write_state(tmp, result, doc, plots)
    cache.discard()
    return StateRun(result, out, wall)
