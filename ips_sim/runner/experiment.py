"""Replications of a scenario, run in one process or many, always with the same result.

A replication's random numbers depend only on (seed, replication index,
stream name), so which worker runs it, and in what order, cannot change
anything. Results are put back in replication order before anything is
aggregated or written. A long run can keep a checkpoint: every finished chunk
of replications is saved, and a resumed run only simulates what is missing.
"""

from __future__ import annotations

from typing import Callable

from ips_sim.analysis.metrics import replication_metrics
from ips_sim.config import Scenario
from ips_sim.runner.executors import execute, make_executor
from ips_sim.runner.resume import Checkpoint
from ips_sim.sim.model import run_replication
from ips_sim.sim.records import FrozenRecords


def _keep(keep_records: bool | int, i: int) -> bool:
    """Records of replication ``i`` are kept: all (True), none (False) or the first N (an int)."""
    if keep_records is True or keep_records is False:
        return keep_records
    return i < keep_records


def _run_chunk(tasks: list[tuple[int, Scenario]], seed: int, keep_records: bool | int, outcome: Callable):
    out = []
    for i, scenario in tasks:
        rec = run_replication(scenario, i, seed).freeze()
        out.append((i, outcome(rec, scenario), rec if _keep(keep_records, i) else None))
    return out


def chunks(indices: list[int], n_chunks: int) -> list[list[int]]:
    """Split indices into contiguous chunks of near-equal size."""
    n_chunks = max(1, min(n_chunks, len(indices)))
    size, extra = divmod(len(indices), n_chunks)
    out, start = [], 0
    for k in range(n_chunks):
        end = start + size + (1 if k < extra else 0)
        out.append(indices[start:end])
        start = end
    return out


def _saved_chunks(checkpoint: Checkpoint) -> dict[int, tuple]:
    """Replications already saved in ``checkpoint``: index -> (metrics, records)."""
    done: dict[int, tuple] = {}
    for name in checkpoint.names():
        for i, met, rec in checkpoint.load(name) or ():  # an unreadable chunk is simply run again
            done[i] = (met, rec)
    return done


def _spans(indices: list[int]) -> str:
    """Sorted indices as runs: [0, 1, 2, 5] -> "0-2, 5"."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)


def _save_chunk(checkpoint: Checkpoint, results: list[tuple]) -> None:
    checkpoint.save(f"r{results[0][0]:07d}-{results[-1][0]:07d}", results)


def cycled_draws(scenario: Scenario, draws, fixed: dict | None = None) -> Callable[[int], Scenario]:
    """``scenario_for`` for parameter uncertainty: replication i runs ``scenario`` with parameter draw i
    (cycled); ``fixed`` updates win over every draw. Each draw's scenario is made once."""
    made: dict[int, Scenario] = {}

    def scenario_for(i: int) -> Scenario:
        d = i % len(draws)
        if d not in made:
            upd = draws[d] if not fixed else {**{k: v for k, v in draws[d].items() if k not in fixed}, **fixed}
            made[d] = scenario.with_updates(upd)
        return made[d]
    return scenario_for


def run_replications(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    keep_records: bool = True,
    progress=None,
    first: int = 0,
    scenario_for: Callable[[int], Scenario] | None = None,
    checkpoint: Checkpoint | None = None,
    outcome: Callable[[FrozenRecords, Scenario], dict] = replication_metrics,
    executor=None,
) -> tuple[list[dict[str, float]], list[FrozenRecords | None]]:
    """Run replications ``first .. first+replications-1``; return metrics and records in index order.

    ``scenario_for(i)``, if given, is the scenario of replication ``i`` (e.g. parameter
    draw i). ``outcome(records, scenario)`` turns a replication into its numbers (default:
    the run metrics; a module-level function or ``functools.partial`` so it can be sent
    to worker processes). ``progress``, if given, is called with the number of replications just
    finished. With a ``checkpoint`` (:class:`ips_sim.runner.resume.Checkpoint`, pickle codec), chunks
    already saved are not run again and every newly finished chunk is saved. ``executor`` (see
    :mod:`ips_sim.runner.executors`: this process, local processes or a Dask cluster) runs the chunks;
    without one, ``workers`` local processes do (this process when 1). ``keep_records``: True, False, or keep only the first N
    replications' records (bounded memory for long runs).
    """
    n = scenario.simulation.replications if replications is None else replications
    seed = scenario.simulation.seed if seed is None else seed
    indices = list(range(first, first + n))
    results: dict[int, tuple] = _saved_chunks(checkpoint) if checkpoint else {}
    if progress and results:
        progress(sum(1 for i in indices if i in results))
    todo = [i for i in indices if i not in results]
    # Several chunks per worker so progress moves and the load evens out; bounded size for checkpoints.
    capacity = executor.capacity if executor is not None else workers
    n_chunks = max(capacity * 4, len(todo) // 50) if todo else 0
    parts = [[(i, scenario_for(i) if scenario_for else scenario) for i in part]
             for part in chunks(todo, n_chunks)] if todo else []

    def finished(_key, done):
        for idx, met, rec in done:
            results[idx] = (met, rec)
        if checkpoint:
            _save_chunk(checkpoint, done)
        if progress:
            progress(len(done))

    own = executor is None
    if own:
        executor = make_executor(workers if len(parts) > 1 else 1)
    try:
        execute(executor, _run_chunk, ((k, (part, seed, keep_records, outcome)) for k, part in enumerate(parts)),
                finished, describe=lambda keys: "replications " + _spans(sorted(i for k in keys for i, _ in parts[k])))
    finally:
        if own:
            executor.close()
    metrics = [results[i][0] for i in indices]
    records = [results[i][1] for i in indices]
    return metrics, records
