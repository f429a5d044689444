"""Evaluating a state: work units (program x staffing level x chunk of replications) on any executor,
saved in a checkpoint under a hash of what they run, with replications added where a call is too close.
"""

from __future__ import annotations

from typing import Callable

from ips_sim.config import Scenario
from ips_sim.core.hashing import content_hash
from ips_sim.core.version import __version__
from ips_sim.runner.executors import execute
from ips_sim.runner.resume import Checkpoint
from ips_sim.studies.state.evidence import Evaluation, ProgramResults, close_calls
from ips_sim.studies.state.objectives import run_state_unit
from ips_sim.studies.state.statefile import State


def unit_key(scenario: Scenario, seed: int, first: int, n: int, names: tuple[str, ...] | None = None,
             draws: tuple[dict, ...] | None = None) -> str:
    """The name a work unit is saved under: a hash of what it runs, so a unit is reused only for the same work."""
    doc = {"scenario": scenario.model_dump(mode="json"), "seed": seed, "first": first, "n": n,
           "names": names, "ips_sim": __version__}
    if draws:
        doc["draws"] = list(draws)
    return content_hash(doc)


def evaluate(state: State, executor, cache: Checkpoint | None = None, progress: Callable[[int], None] | None = None,
             on_round: Callable[[str], None] | None = None) -> Evaluation:
    """Simulate every program at every level; add replications where a decision is too close to call."""
    results = [ProgramResults(p) for p in state.programs]
    ev = Evaluation(state, results, [])
    want = {i: state.replications for i in range(len(results))}
    _fill(ev, want, executor, cache, progress)
    for _ in range(64):
        more = close_calls(ev)
        grow = {}
        for i in more:
            have = results[i].replications
            if have < state.max_replications:
                grow[i] = min(2 * have, state.max_replications)
        if not grow:
            break
        ev.rounds.append({"programs": {state.programs[i].name: {"replications": grow[i], "why": more[i]}
                                       for i in sorted(grow)}})
        if on_round:
            on_round(", ".join(f"{state.programs[i].name} -> {grow[i]} ({more[i]})" for i in sorted(grow)))
        want.update(grow)
        _fill(ev, want, executor, cache, progress)
    return ev


def _fill(ev: Evaluation, want: dict[int, int], executor, cache, progress) -> None:
    """Run the missing replications so program i has ``want[i]`` at every level."""
    state = ev.state
    units = []
    for i, target in want.items():
        res = ev.results[i]
        p = res.program
        for level in p.levels:
            if level == 0:
                continue
            have = len(res.outcomes.get(level, []))
            res.outcomes.setdefault(level, [])
            if have >= target:
                continue
            sc = p.scenario_at(level)
            names = state.outcome_names
            # Fixed chunks of the state's chunk size, aligned at multiples of it, so the same units
            # come back on resume whatever the executor or the number of workers.
            first = have
            while first < target:
                n = min(state.chunk - first % state.chunk, target - first)
                units.append(((i, level, first), (sc, p.seed, first, n, names, p.draws)))
                first += n
    got: dict[tuple, list] = {}
    todo = []
    for key, args in units:
        ck = unit_key(*args) if cache else None
        hit = cache.load(ck) if cache else None
        if isinstance(hit, list) and len(hit) == args[3]:
            got[key] = hit
            ev.units_cached += 1
            if progress:
                progress(len(hit))
        else:
            todo.append((key, args, ck))

    def on_result(key, outcomes):
        got[key] = outcomes
        ev.units_run += 1
        if cache:
            cache.save(keys[key], outcomes)
        if progress:
            progress(len(outcomes))

    keys = {key: ck for key, _, ck in todo}
    execute(executor, run_state_unit, [(key, args) for key, args, _ in todo], on_result)
    for (i, level, first) in sorted(got):
        outs = ev.results[i].outcomes[level]
        if len(outs) != first:  # pragma: no cover - units are contiguous by construction
            raise RuntimeError(f"replications of {ev.results[i].program.name} at {level} out of order")
        outs.extend(got[(i, level, first)])
