"""Replications of a scenario, run in one process or many, always with the same result.

A replication's random numbers depend only on (seed, replication index,
stream name), so which worker runs it, and in what order, cannot change
anything. Results are put back in replication order before anything is
aggregated or written.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from .metrics import replication_metrics
from .model import run_replication
from .records import FrozenRecords
from .scenario import Scenario


def _run_chunk(scenario: Scenario, seed: int, indices: list[int], keep_records: bool):
    out = []
    for i in indices:
        rec = run_replication(scenario, i, seed).freeze()
        out.append((i, replication_metrics(rec, scenario), rec if keep_records else None))
    return out


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


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


def run_replications(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    keep_records: bool = True,
    progress=None,
    first: int = 0,
) -> tuple[list[dict[str, float]], list[FrozenRecords | None]]:
    """Run replications ``first .. first+replications-1``; return metrics and records in index order.

    ``progress``, if given, is called with the number of replications just finished.
    """
    n = scenario.simulation.replications if replications is None else replications
    seed = scenario.simulation.seed if seed is None else seed
    indices = list(range(first, first + n))
    results: dict[int, tuple] = {}
    if workers <= 1 or n == 1:
        for i in indices:
            for idx, met, rec in _run_chunk(scenario, seed, [i], keep_records):
                results[idx] = (met, rec)
            if progress:
                progress(1)
    else:
        # Several chunks per worker so progress moves and the load evens out.
        parts = chunks(indices, workers * 4)
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_run_chunk, scenario, seed, part, keep_records) for part in parts]
            for fut in as_completed(futures):
                done = fut.result()
                for idx, met, rec in done:
                    results[idx] = (met, rec)
                if progress:
                    progress(len(done))
    metrics = [results[i][0] for i in indices]
    records = [results[i][1] for i in indices]
    return metrics, records
