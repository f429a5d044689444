"""Named random-number streams.

Each random process (referral arrivals, patience, job finding, ...) draws from
its own stream, seeded from ``(seed, replication, name)`` only. Adding a stream
or editing a scenario never reshuffles another stream, and two scenarios run
with the same seed see the same referrals: common random numbers.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from itertools import chain

import numpy as np
from numpy.random.bit_generator import ISeedSequence

_BLOCK = 512


def stream_seed(seed: int, replication: int, name: str) -> np.random.SeedSequence:
    """Seed of one stream: independent of worker, order of use and other streams."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(replication, zlib.crc32(name.encode())))


# numpy's SeedSequence hash (numpy/random/bit_generator.pyx; its output is part of numpy's
# stream-compatibility promise): 32-bit words, a pool of 4.
_M32 = 0xFFFFFFFF
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_U64 = np.dtype(np.uint64)


def _constants(h: int, mult: int, n: int) -> list[int]:
    """The hash constant's values h, h x mult, h x mult^2, ... (n + 1 of them, 32 bits)."""
    out = [h]
    for _ in range(n):
        h = (h * mult) & _M32
        out.append(h)
    return out


_STATE_H = _constants(_INIT_B, _MULT_B, 16)  # generate_state's constants, word by word


def _hash(word: int, h: list[int], i: int) -> int:
    """SeedSequence's hashmix of ``word`` with the constant's i-th value (then its (i+1)-th)."""
    v = ((word ^ h[i]) * h[i + 1]) & _M32
    return v ^ (v >> 16)


def _mix(x: int, y: int) -> int:
    r = (_MIX_L * x - _MIX_R * y) & _M32
    return r ^ (r >> 16)


def _pool_after(seed: int, replication: int) -> tuple[list[int], list[int]]:
    """SeedSequence(entropy=seed, spawn_key=(replication, last))'s pool before the last spawn-key word.

    For a seed and replication under 2**32 (one word each): the seed padded to the pool size,
    mixed, then the replication's word. Returned with the hash constants that mix in the last
    word: every stream of a replication shares them.
    """
    h = _constants(_INIT_A, _MULT_A, 4 + 12 + 4 + 4)
    pool = [_hash(word, h, i) for i, word in enumerate((seed, 0, 0, 0))]
    i = 4
    for src in range(4):
        for d in range(4):
            if src != d:
                pool[d] = _mix(pool[d], _hash(pool[src], h, i))
                i += 1
    for d in range(4):
        pool[d] = _mix(pool[d], _hash(replication, h, i + d))
    return pool, h[i + 4:]


class _StreamSeed(ISeedSequence):
    """The seed :func:`stream_seed` makes, for a bit generator, from the replication's shared pool.

    ``generate_state`` gives the words ``stream_seed(...).generate_state`` gives (tested against
    numpy for many seeds, replications and names) at a fraction of the cost: seeding a
    replication's fifteen or so streams was about 5% of its time.
    """

    __slots__ = ("pool",)

    def __init__(self, shared: tuple[list[int], list[int]], name: str):
        pool, h = shared
        word = zlib.crc32(name.encode())
        self.pool = [_mix(pool[d], _hash(word, h, d)) for d in range(4)]

    def generate_state(self, n_words: int, dtype=np.uint32) -> np.ndarray:
        wide = dtype is np.uint64 or np.dtype(dtype) == _U64
        n = 2 * n_words if wide else n_words
        h = _STATE_H if n < len(_STATE_H) else _constants(_INIT_B, _MULT_B, n)
        pool = self.pool
        out = [_hash(pool[i & 3], h, i) for i in range(n)]
        if wide:  # pairs of 32-bit words read as little-endian 64-bit words, as SeedSequence does
            return np.frombuffer(struct.pack(f"<{n}I", *out), dtype="<u8").astype(np.uint64)
        return np.array(out, dtype=np.uint32)


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
        one_word = all(isinstance(x, int) and 0 <= x <= _M32 for x in (seed, replication))
        self._shared = _pool_after(seed, replication) if one_word else None

    def generator(self, name: str) -> np.random.Generator:
        """The generator of stream ``name``: ``default_rng(stream_seed(seed, replication, name))``."""
        if self._shared is None:
            return np.random.default_rng(stream_seed(self.seed, self.replication, name))
        return np.random.Generator(np.random.PCG64(_StreamSeed(self._shared, name)))

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
