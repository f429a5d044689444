"""Running a sweep: work units (point x chunk of replications) on any executor, each finished point
saved in a checkpoint and handed over into the results folder with ``sweep.csv``, plots and manifest.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from ips_sim.analysis.metrics import summarise, unit_label
from ips_sim.config import Scenario
from ips_sim.config.prices import currency_label
from ips_sim.runner.executors import execute as run_units
from ips_sim.runner.experiment import run_replications
from ips_sim.runner.output import OutputFolder, write_json
from ips_sim.runner.resume import Checkpoint, partial_dir
from ips_sim.studies.sweep.fields import value_label
from ips_sim.studies.sweep.plots import plot_sweep
from ips_sim.studies.sweep.sweepfile import CONFIDENCE, Sweep, SweepError

MAX_CHUNK = 50

# --------------------------------------------------------------------------- running units


def run_unit(scenario: Scenario, seed: int, first: int, n: int, keep_records: bool):
    """One work unit: replications ``first .. first+n-1`` of a scenario (metrics, records)."""
    return run_replications(scenario, n, seed, workers=1, keep_records=keep_records, first=first)


def chunk_size(replications: int, n_points: int, capacity: int) -> int:
    """Replications per work unit: enough units to keep every worker busy, none too long."""
    total = replications * n_points
    size = math.ceil(total / max(1, capacity * 8))
    return max(1, min(size, MAX_CHUNK, replications))


def execute(executor, units: Iterable[tuple[Any, tuple]], on_result: Callable[[Any, Any], None],
            window: int | None = None) -> None:
    """Run :func:`run_unit` for each ``(key, args)`` (see :func:`ips_sim.runner.executors.execute`)."""
    run_units(executor, run_unit, units, on_result, window)


# --------------------------------------------------------------------------- the working folder


def _point_metrics(doc: Any, sweep: Sweep, i: int) -> list[dict[str, float]] | None:
    """Per-replication metrics of a saved point, or None if it is not a complete point of this sweep."""
    try:
        if doc.get("point_hash") != sweep.point_hash(i) or doc.get("replications") != sweep.replications:
            return None
        cols = doc["metrics"]
        n = sweep.replications
        if doc.get("replication_indices") != [0, n - 1] or any(len(v) != n for v in cols.values()):
            return None
        names = list(cols)
        return [{k: float(cols[k][r]) for k in names} for r in range(n)]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _point_doc(sweep: Sweep, i: int, metrics: list[dict[str, float]]) -> dict:
    names = list(metrics[0])
    return {
        "point": sweep.point_id(i),
        "index": i,
        "values": sweep.values[i],
        "seed": sweep.seed,
        "replications": sweep.replications,
        "replication_indices": [0, sweep.replications - 1],
        "point_hash": sweep.point_hash(i),
        "summary": summarise(metrics, CONFIDENCE),
        "metrics": {k: [m[k] for m in metrics] for k in names},
    }


def _write_records(folder: Path, records: list) -> None:
    """Per-member, per-job and monthly tables of a point (``--keep-records``), written whole or not at all."""
    from ips_sim.reporting.tables import jobs_table, members_table, monthly_table, write_csv
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    write_csv(monthly_table(records), tmp / "monthly.csv")
    write_csv(members_table(records), tmp / "members.csv")
    write_csv(jobs_table(records), tmp / "jobs.csv")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepRun:
    out: Path
    points: int
    ran: int           # points run now (the rest were finished before, with --resume)
    replications: int
    wall_seconds: float
    already_complete: bool = False


def sweep_manifest(sweep: Sweep, keep_records: bool, **extra) -> dict:
    from ips_sim.reporting.tables import versions
    v = versions()
    try:
        from importlib import metadata
        for dist in ("dask", "distributed"):
            v[dist] = metadata.version(dist)
    except Exception:  # noqa: BLE001 - dask is optional
        pass
    return {
        "sweep": sweep.name,
        "description": sweep.description,
        "sweep_file": sweep.source,
        "base_scenario": sweep.base.model_dump(mode="json"),
        "varied_fields": sweep.fields,
        **sweep.spec,
        "points": [{"point": sweep.point_id(i), **v_} for i, v_ in enumerate(sweep.values)],
        "seed": sweep.seed,
        "replications": sweep.replications,
        "confidence": CONFIDENCE,
        "common_random_numbers": "every point uses the same seed and replication indices 0..replications-1",
        "keep_records": keep_records,
        "fingerprint": sweep.fingerprint(keep_records),
        "versions": v,
        **extra,
    }


def _already_complete(out: Path, fingerprint: str) -> bool:
    """``out`` holds the finished results of this very sweep."""
    try:
        with open(out / "manifest.json", encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(old, dict) and old.get("fingerprint") == fingerprint and (out / "sweep.csv").exists()


def run_sweep(sweep: Sweep, out: str | Path, executor, *, resume: bool = False, keep_records: bool = False,
              progress: Callable[[int], None] | None = None, plots: bool = True,
              chunk: int | None = None, on_start: Callable[[int, int], None] | None = None) -> SweepRun:
    """Run the missing points of ``sweep`` (each saved in ``out.partial`` as it finishes); write ``out`` at the end.

    ``on_start(points_to_run, replications_to_run)`` is called once the work is known.
    """
    out = Path(out)
    fingerprint = sweep.fingerprint(keep_records)
    started = time.perf_counter()
    if resume and not partial_dir(out).exists() and _already_complete(out, fingerprint):
        return SweepRun(out, len(sweep), 0, sweep.replications, 0.0, already_complete=True)
    store = Checkpoint(partial_dir(out), {"fingerprint": fingerprint}, units="points", what="sweep",
                       settings="base scenario, grid, seed, replications, --keep-records or ips-sim version",
                       error=SweepError).open(resume)
    pending = [i for i in range(len(sweep)) if _point_metrics(store.load(sweep.point_id(i)), sweep, i) is None]
    if on_start:
        on_start(len(pending), len(pending) * sweep.replications)
    if pending:
        _run_points(sweep, pending, store, executor, keep_records, progress, chunk)

    # Every point is done: read them back one at a time (the same floats whether run now
    # or before a resume; only one point's replications in memory).
    def per_point():
        for i in range(len(sweep)):
            mets = _point_metrics(store.load(sweep.point_id(i)), sweep, i)
            if mets is None:  # pragma: no cover - would be a bug above
                raise RuntimeError(f"point {sweep.point_id(i)} is missing after the run")
            yield mets

    table = sweep_table(sweep, per_point())
    from ips_sim.reporting.tables import write_csv
    folder = OutputFolder(out, {"fingerprint": fingerprint}, kind="sweep", overwrite=True)
    with folder.write() as tmp:
        store.hand_over(tmp / "points")
        write_csv(table, tmp / "sweep.csv")
        if plots:
            plot_sweep(table, sweep, tmp / "plots")
        wall = time.perf_counter() - started
        write_json(tmp / "manifest.json", sweep_manifest(
            sweep, keep_records, status="complete", wall_time_seconds=round(wall, 3),
            points_run_in_last_session=len(pending), executor=getattr(executor, "description", ""),
            command=" ".join([Path(sys.argv[0]).name] + sys.argv[1:])))
    store.discard()
    return SweepRun(out, len(sweep), len(pending), sweep.replications, wall)


def _run_points(sweep: Sweep, pending: list[int], store: Checkpoint, executor, keep_records: bool,
                progress: Callable[[int], None] | None, chunk: int | None) -> None:
    """Run the ``pending`` points in units of replications; save each point once all its units are back."""
    n = sweep.replications
    size = chunk or chunk_size(n, len(pending), executor.capacity)
    parts = [(first, min(size, n - first)) for first in range(0, n, size)]
    collected: dict[int, dict[int, tuple]] = {}

    def units():
        for i in pending:
            for first, k in parts:
                yield (i, first), (sweep.scenarios[i], sweep.seed, first, k, keep_records)

    def on_result(key, result):
        i, first = key
        metrics, records = result
        got = collected.setdefault(i, {})
        got[first] = (metrics, records)
        if progress:
            progress(len(metrics))
        if len(got) == len(parts):
            del collected[i]
            ordered = [got[f] for f, _ in parts]
            per_rep = [m for mets, _ in ordered for m in mets]
            if keep_records:  # before the point itself: a saved point always has its tables
                _write_records(store.units / sweep.point_id(i), [r for _, recs in ordered for r in recs])
            store.save(sweep.point_id(i), _point_doc(sweep, i, per_rep))

    execute(executor, units(), on_result)


def sweep_table(sweep: Sweep, per_point: Iterable[list[dict[str, float]]]):
    """One row per point and metric: point, varied values, metric, unit, mean, CI, sd, replications."""
    import pandas as pd
    rows = []
    for i, mets in enumerate(per_point):
        vals = {k: (value_label(v) if isinstance(v, (list, dict)) else v) for k, v in sweep.values[i].items()}
        for r in summarise(mets, CONFIDENCE):
            rows.append({"point": sweep.point_id(i), **vals, "metric": r["metric"],
                         "unit": unit_label(r["unit"], currency_label(sweep.base.costs.price_year)),
                         "mean": r["mean"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "std": r["std"],
                         "replications": r["replications"]})
    cols = ["point", *sweep.fields, "metric", "unit", "mean", "ci_low", "ci_high", "std", "replications"]
    return pd.DataFrame(rows, columns=cols)
