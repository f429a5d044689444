"""Named random-number streams.

Each random process (referral arrivals, patience, job finding, ...) draws from
its own stream, seeded from ``(seed, replication, name)`` only. Adding a stream
or editing a scenario never reshuffles another stream, and two scenarios run
with the same seed see the same referrals: common random numbers.
"""

from __future__ import annotations

import zlib

import numpy as np

_BLOCK = 512


def stream_seed(seed: int, replication: int, name: str) -> np.random.SeedSequence:
    """Seed of one stream: independent of worker, order of use and other streams."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(replication, zlib.crc32(name.encode())))


class Stream:
    """Buffered draws of one distribution from one named stream.

    Draws are made in blocks with numpy and handed out one float at a time, so
    the event loop pays a list index, not a numpy call, per draw.
    """

    __slots__ = ("_rng", "_draw", "_buf", "_i")

    def __init__(self, rng: np.random.Generator, draw):
        self._rng = rng
        self._draw = draw
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i == len(self._buf):
            self._buf = self._draw(self._rng, _BLOCK).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


class Streams:
    """The streams of one replication, created on first use by name."""

    def __init__(self, seed: int, replication: int):
        self.seed = seed
        self.replication = replication

    def generator(self, name: str) -> np.random.Generator:
        return np.random.default_rng(stream_seed(self.seed, self.replication, name))

    def exponential(self, name: str) -> Stream:
        """Standard exponential draws (mean 1)."""
        return Stream(self.generator(name), lambda g, n: g.standard_exponential(n))

    def uniform(self, name: str) -> Stream:
        return Stream(self.generator(name), lambda g, n: g.random(n))

    def normal(self, name: str) -> Stream:
        return Stream(self.generator(name), lambda g, n: g.standard_normal(n))

    def gamma_mean_one(self, name: str, cv: float) -> Stream:
        """Gamma draws with mean 1 and coefficient of variation ``cv`` (all 1.0 when cv is 0)."""
        if cv <= 0:
            return Stream(self.generator(name), lambda g, n: np.ones(n))
        shape = 1.0 / (cv * cv)
        return Stream(self.generator(name), lambda g, n: g.gamma(shape, 1.0 / shape, n))
