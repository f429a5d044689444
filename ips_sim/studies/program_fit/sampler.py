"""pyabc's ABC-SMC with its simulations run in batches by the project's runner, deterministically.

pyabc hands a sampler a ``simulate_one`` function that proposes a parameter, simulates
and accepts or rejects. :class:`RunnerSampler` calls it in two passes per batch: first
with the model only recording the proposals (from numpy's global generator, seeded by
(seed, generation, batch)), then -- after the runner has simulated the whole batch on
any executor (this process, local processes, a Dask cluster; each simulation a
replication with its own index, so its random numbers do not depend on where it ran) --
again from the same generator state with the model handing back the simulated
statistics. The first ``n`` accepted proposals in proposal order form the generation,
so the result is the same for any executor and worker count. Batches are saved in a
``resume.Checkpoint``; a resumed fit replays pyabc and finds its simulations there.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pyabc


class BatchModel(pyabc.Model):
    """A pyabc model whose simulations are done elsewhere: it records proposals, then replays results."""

    def __init__(self, observed: dict):
        super().__init__(name="program")
        self.observed = observed
        self.recording = True
        self.proposed: list[dict] = []
        self.results: list[dict] = []
        self.position = 0

    def sample(self, pars):
        theta = {k: float(v) for k, v in pars.items()}
        if self.recording:
            self.proposed.append(theta)
            return dict(self.observed)      # a placeholder: this pass only records the proposal
        expected = self.proposed[self.position]
        if any(not math.isclose(theta[k], expected[k], rel_tol=0, abs_tol=1e-12) for k in expected):
            raise RuntimeError("pyabc proposed other parameters on replay: random state not reproduced")
        out = self.results[self.position]
        self.position += 1
        return out


class RunnerSampler(pyabc.sampler.Sampler):
    """Sample a generation in batches whose simulations ``evaluate(thetas, first, name)`` runs.

    ``evaluate`` gets the proposals, the replication index of the first (indices are never
    reused) and a name for the batch's checkpoint part; it returns one statistics dict each.
    """

    def __init__(self, model: BatchModel, evaluate: Callable, seed: int, max_batch: int = 20_000):
        super().__init__()
        self.model = model
        self.evaluate = evaluate
        self.seed = seed
        self.max_batch = max_batch
        self.simulations = 0          # every simulation run (including those past a generation's last acceptance)
        self.rates: list[float] = []  # acceptance rate of each generation
        self.generation = 0

    def _seed(self, batch: int) -> int:
        ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(self.generation, batch))
        return int(ss.generate_state(1)[0])

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        sample = self._create_empty_sample()
        saved = np.random.get_state()
        accepted = evaluations = batch = 0
        rate = 1.0 if all_accepted or not self.rates else max(self.rates[-1], 1e-3)
        try:
            while accepted < n and evaluations < max_eval:
                need = n - accepted
                size = int(min(self.max_batch, max(need, math.ceil(1.2 * need / rate) + 2)))
                np.random.seed(self._seed(batch))
                state = np.random.get_state()
                m = self.model
                m.recording, m.proposed, m.position = True, [], 0
                for _ in range(size):
                    simulate_one()
                m.results = self.evaluate(m.proposed, self.simulations, f"g{self.generation:03d}b{batch:03d}")
                self.simulations += size
                np.random.set_state(state)
                m.recording = False
                batch_evals = batch_accepted = 0
                for _ in range(size):
                    particle = simulate_one()
                    batch_evals += 1
                    sample.append(particle)
                    if particle.accepted:
                        batch_accepted += 1
                        if accepted + batch_accepted == n:
                            break
                accepted += batch_accepted
                evaluations += batch_evals
                rate = max(accepted / evaluations, 1.0 / (evaluations + 1))
                batch += 1
        finally:
            np.random.set_state(saved)
            self.model.recording = True
        self.nr_evaluations_ = evaluations
        self.rates.append(accepted / max(evaluations, 1))
        self.generation += 1
        if accepted < n:
            sample.ok = False
        return sample
