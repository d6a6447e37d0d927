"""Counter-based random draws: every random value is a pure function of (seed, table, field, row).

A row's values never depend on which chunk generated it, so chunks are independent, can be made in
any order or size, and a reference (an enterprise's legal representative, a claimant) can be
resolved by recomputing the referenced row instead of holding the population in memory.
The generator is SplitMix64 over ``key(seed, table, field) + row · golden``, vectorised with numpy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bits = npt.NDArray[np.uint64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SHIFT_30, _SHIFT_27, _SHIFT_31, _SHIFT_11 = (np.uint64(s) for s in (30, 27, 31, 11))
_UNIT = 1.0 / float(1 << 53)


def _key(*parts: object) -> np.uint64:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


class Stream:
    """Random draws for one table; ``field`` names the variable, ``rows`` the row numbers."""

    def __init__(self, seed: int, table: str) -> None:
        self.seed = seed
        self.table = table
        self._keys: dict[str, np.uint64] = {}

    def bits(self, field: str, rows: npt.ArrayLike) -> Bits:
        key = self._keys.get(field)
        if key is None:
            key = self._keys[field] = _key(self.seed, self.table, field)
        z = np.asarray(rows).astype(np.uint64) * _GOLDEN + key
        z = (z ^ (z >> _SHIFT_30)) * _MIX1
        z = (z ^ (z >> _SHIFT_27)) * _MIX2
        return z ^ (z >> _SHIFT_31)

    def uniform(self, field: str, rows: npt.ArrayLike) -> Floats:
        """Uniform in [0, 1)."""
        return (self.bits(field, rows) >> _SHIFT_11).astype(np.float64) * _UNIT

    def below(self, field: str, rows: npt.ArrayLike, bound: npt.ArrayLike) -> Ints:
        """Uniform integer in [0, bound); bound may be an array."""
        upper = np.asarray(bound, dtype=np.float64)
        drawn = (self.uniform(field, rows) * upper).astype(np.int64)
        return np.minimum(drawn, np.maximum(upper - 1, 0).astype(np.int64))

    def chance(self, field: str, rows: npt.ArrayLike, probability: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        return self.uniform(field, rows) < np.asarray(probability)

    def choice(self, field: str, rows: npt.ArrayLike, weights: Sequence[float] | Floats) -> Ints:
        """Index into ``weights`` drawn with probability proportional to the weight."""
        cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
        picked = np.searchsorted(cumulative, self.uniform(field, rows) * cumulative[-1], side="right")
        return np.minimum(picked, len(cumulative) - 1).astype(np.int64)

    def normal(self, field: str, rows: npt.ArrayLike) -> Floats:
        """Standard normal (Box–Muller)."""
        u1 = 1.0 - self.uniform(field + "#1", rows)
        u2 = self.uniform(field + "#2", rows)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

    def lognormal(self, field: str, rows: npt.ArrayLike, median: npt.ArrayLike, sigma: float) -> Floats:
        return np.asarray(median, dtype=np.float64) * np.exp(sigma * self.normal(field, rows))

    def stochastic_round(self, field: str, rows: npt.ArrayLike, expected: Floats) -> Ints:
        """An integer whose mean is ``expected`` (floor plus a Bernoulli remainder)."""
        base = np.floor(expected)
        return (base + (self.uniform(field, rows) < expected - base)).astype(np.int64)


def child_rows(parents: Ints, ordinal: Ints | int, fanout: int = 64) -> Ints:
    """Row numbers for the ``ordinal``-th child of each parent (unique while ordinal < fanout)."""
    return parents * fanout + ordinal


def systematic_counts(weights: Floats, total: int, offset: float) -> Ints:
    """Split ``total`` into integer counts proportional to ``weights`` (systematic sampling).

    Exact total, unbiased per cell, and rare cells still get a row with probability equal to
    their quota, so small scales keep rare groups (centenarians, foundations) in proportion.
    """
    cumulative = np.concatenate(([0.0], np.cumsum(weights / weights.sum()) * total))
    edges = np.floor(cumulative + offset).astype(np.int64)
    edges[0] = 0
    edges[-1] = total
    return np.diff(edges)


def expand(counts: Ints) -> tuple[Ints, Ints]:
    """Positions repeated ``counts`` times, and each copy's ordinal (0, 1, …) within its position."""
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    ordinal = np.arange(len(parent), dtype=np.int64) - np.repeat(starts, counts)
    return parent, ordinal
