"""Named random-number streams.

Each random process (referral arrivals, patience, job finding, ...) draws from
its own stream, seeded from ``(seed, replication, name)`` only. Adding a stream
or editing a scenario never reshuffles another stream, and two scenarios run
with the same seed see the same referrals: common random numbers.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from itertools import chain

import numpy as np

_BLOCK = 512


def stream_seed(seed: int, replication: int, name: str) -> np.random.SeedSequence:
    """Seed of one stream: independent of worker, order of use and other streams."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(replication, zlib.crc32(name.encode())))


Draw = Callable[[], float]


def stream(rng: np.random.Generator, draw: Callable[[np.random.Generator, int], np.ndarray]) -> Draw:
    """Buffered draws of one distribution from one named stream, one float per call.

    Draws are made in blocks of ``_BLOCK`` with numpy and handed out by a C-level
    iterator (``chain.__next__``), so the event loop pays neither a numpy call nor a
    Python frame per draw; the values are the blocks' in order, so they do not
    depend on how draws are handed out.
    """

    def blocks():
        while True:
            yield draw(rng, _BLOCK).tolist()

    return chain.from_iterable(blocks()).__next__


class Streams:
    """The streams of one replication, created on first use by name."""

    def __init__(self, seed: int, replication: int):
        self.seed = seed
        self.replication = replication

    def generator(self, name: str) -> np.random.Generator:
        return np.random.default_rng(stream_seed(self.seed, self.replication, name))

    def exponential(self, name: str) -> Draw:
        """Standard exponential draws (mean 1)."""
        return stream(self.generator(name), lambda g, n: g.standard_exponential(n))

    def uniform(self, name: str) -> Draw:
        return stream(self.generator(name), lambda g, n: g.random(n))

    def normal(self, name: str) -> Draw:
        return stream(self.generator(name), lambda g, n: g.standard_normal(n))

    def gamma_mean_one(self, name: str, cv: float) -> Draw:
        """Gamma draws with mean 1 and coefficient of variation ``cv`` (all 1.0 when cv is 0)."""
        if cv <= 0:
            return stream(self.generator(name), lambda g, n: np.ones(n))
        shape = 1.0 / (cv * cv)
        return stream(self.generator(name), lambda g, n: g.gamma(shape, 1.0 / shape, n))
