"""Measure Dask per-task overhead on a 2-worker LocalCluster, and project a big state run.

    .venv/bin/python benchmarks/bench_dask_overhead.py
    .venv/bin/python benchmarks/bench_dask_overhead.py --tasks 2000 --programs 100 --candidates 6 \\
        --replications 500 --workers 50 --chunk 10

1. Overhead: ``--tasks`` work units that do no simulation but take and return what a
   real unit does (a program's scenario in; ``--chunk`` replications of outcomes out)
   go through the same submit/wait loop as ``ips-sim state`` on a LocalCluster of 2
   single-threaded worker processes. Wall time / tasks = the per-task cost the
   scheduler and transport add (with 2 workers sharing it).
2. Task size: replications of every example-state program at its current staffing and
   at +2 posts (the example's 10 simulated years), timed one at a time in this process.
3. Projection for PROGRAMS x CANDIDATES x REPLICATIONS on WORKERS workers with CHUNK
   replications a task: tasks, work, and wall time = max(work / workers, tasks x the
   scheduler's own time per task) plus the per-task latency each worker sees.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ips_sim.runner.executors import DaskExecutor, execute  # noqa: E402
from ips_sim.studies.state import load_state, state_outcome  # noqa: E402

STATE = REPO / "scenarios" / "state" / "example_state.yaml"


def fake_unit(scenario, seed, first, n, names, payload):
    """Takes what a real unit takes, returns what it returns; no simulation."""
    return [dict(payload) for _ in range(n)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--programs", type=int, default=100)
    ap.add_argument("--candidates", type=int, default=6)
    ap.add_argument("--replications", type=int, default=500)
    ap.add_argument("--workers", type=int, default=50)
    ap.add_argument("--chunk", type=int, default=10)
    args = ap.parse_args()

    from distributed import LocalCluster

    from ips_sim.sim.model import run_replication

    st = load_state(STATE)
    sc = st.programs[1].scenario_at(st.programs[1].posts_now)
    rec = run_replication(sc, 0, 1).freeze()
    full = state_outcome(rec, sc)
    payload = {k: full[k] for k in st.outcome_names}   # what a unit sends back: the outcomes the state uses

    # 2. Task size first (this process only, so the cluster does not compete for the CPU).
    per_rep, cpu_rep = [], []
    for p in st.programs:
        for lv in {p.levels[1] if p.new else p.posts_now, min(p.levels[-1], (p.posts_now or 2) + 2)}:
            s = p.scenario_at(lv)
            for i in range(2):
                t0, c0 = time.perf_counter(), time.process_time()
                state_outcome(run_replication(s, i, p.seed).freeze(), s)
                per_rep.append(time.perf_counter() - t0)
                cpu_rep.append(time.process_time() - c0)
    t_rep = statistics.mean(cpu_rep)
    print(f"replication of an example program (10 simulated years, outcomes included): CPU mean {1000 * t_rep:.0f} ms, "
          f"median {1000 * statistics.median(cpu_rep):.0f} ms, max {1000 * max(cpu_rep):.0f} ms; wall mean "
          f"{1000 * statistics.mean(per_rep):.0f} ms ({len(per_rep)} timed)")

    # 1. Overhead on a 2-worker LocalCluster.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        ex = DaskExecutor(cluster.scheduler_address)
        try:
            got = []
            warm = [(k, (sc, 1, 0, args.chunk, st.outcome_names, payload)) for k in range(20)]
            execute(ex, fake_unit, warm, lambda k, r: None)
            units = [(k, (sc, 1, 0, args.chunk, st.outcome_names, payload)) for k in range(args.tasks)]
            t0, c0 = time.perf_counter(), time.process_time()
            execute(ex, fake_unit, units, lambda k, r: got.append(len(r)))
            wall, central = time.perf_counter() - t0, time.process_time() - c0
        finally:
            ex.close()
    per_task = wall / args.tasks
    central_task = central / args.tasks
    assert sum(got) == args.tasks * args.chunk
    print(f"Dask LocalCluster, 2 worker processes: {args.tasks} no-simulation tasks (a scenario in, {args.chunk} "
          f"replications of outcomes out) in {wall:.2f} s = {1000 * per_task:.2f} ms a task (wall); "
          f"scheduler + client CPU {1000 * central_task:.2f} ms a task")

    # 3. Projection.
    reps = args.programs * args.candidates * args.replications
    work = reps * t_rep
    compute = work / args.workers
    print(f"projection by chunk size (replications a task), {reps:,} replications on {args.workers} workers: "
          f"simulation {compute / 60:.1f} min")
    for chunk in sorted({10, 25, 50, 100, args.chunk}):
        n_tasks = reps // chunk
        cpu_bound = max(compute, n_tasks * central_task) + chunk * t_rep
        print(f"  chunk {chunk:>3}: {n_tasks:>6,} tasks of {chunk * t_rep:.1f} CPU-s; scheduler CPU "
              f"{n_tasks * central_task / 60:.1f} min; wall at the scheduler's CPU cost about {cpu_bound / 60:.1f} "
              f"min, at this machine's contended dispatch rate about {max(compute, n_tasks * per_task) / 60:.1f} min")
    tasks = reps // args.chunk
    # The scheduler and client handle tasks one after another: at the measured wall time a task they can
    # dispatch at most 1/per_task tasks a second whatever the number of workers (pessimistic: this machine is
    # shared, and its scheduler, client and workers compete for 2 cores).
    sched = tasks * per_task
    task_seconds = args.chunk * t_rep
    print(f"projection: {args.programs} programs x {args.candidates} candidates x {args.replications} replications "
          f"= {reps:,} replications in {tasks:,} tasks of {args.chunk} ({task_seconds:.1f} s each)")
    print(f"  work {work / 3600:.1f} CPU-hours; on {args.workers} workers {compute / 60:.1f} min of simulation; "
          f"dispatching the tasks at the measured rate {sched / 60:.1f} min (overlaps the simulation; "
          f"{tasks * central_task / 60:.1f} min of scheduler CPU); "
          f"overhead share of a task {100 * per_task / (task_seconds + per_task):.1f}%")
    wall_proj = max(compute, sched) + task_seconds
    print(f"  expected wall time about {wall_proj / 60:.0f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
