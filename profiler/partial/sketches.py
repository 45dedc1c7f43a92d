"""Mergeable sketches: bottom-k sketches of value hashes for distinct counts, the same with row counts for duplicate
rows, and DataSketches KLL for quantiles.

All merge in any order and grouping: the bottom-k of a union is the bottom-k of the parts' bottom-ks, and KLL
sketches merge natively. Sketches travel between tasks as numpy arrays and serialized bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# -- distinct counts: a bottom-k sketch ------------------------------------------------------------------------

def bottom_k_size(rsd: float) -> int:
    """Hashes a bottom-k sketch keeps for relative standard error `rsd` (about 1 / sqrt(k - 2))."""
    return math.ceil(1.0 / rsd**2) + 2


def bottom_k(hashes: np.ndarray, k: int) -> np.ndarray:
    """The `k` smallest distinct values of `hashes`, sorted."""
    import pandas as pd

    if len(hashes) > 4 * k:
        # Mostly distinct hashes (a high-cardinality column): the distinct values among the 2k smallest, when there
        # are k of them, are the k smallest distinct values (every other hash is at least the largest of them).
        # Selecting them is linear and several times cheaper than hashing every value into a table.
        smallest = _firsts(np.sort(np.partition(hashes, 2 * k - 1)[:2 * k]))
        if len(smallest) >= k:
            return smallest[:k]
    distinct = pd.unique(hashes)  # a hash table: linear, where sorting all of them is not
    if len(distinct) > k:
        distinct = np.partition(distinct, k - 1)[:k]
    return np.sort(distinct)


def _firsts(ordered: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array. (numpy's `unique` hashes unsigned integers, over ten times slower
    than this.)"""
    return ordered[_first_of_runs(ordered)]


def _first_of_runs(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array starts."""
    return np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]])) if len(ordered) else \
        np.zeros(0, np.int64)


def merge_bottom_k(first: np.ndarray | None, second: np.ndarray | None, k: int) -> np.ndarray | None:
    """The bottom-k sketch of the union of two sketches' values (None stands for no sketch)."""
    bottoms = [b for b in (first, second) if b is not None]
    if len(bottoms) == 2:
        return bottom_k(np.concatenate(bottoms), k)
    return bottoms[0] if bottoms else None


def distinct_estimate(bottom: np.ndarray, k: int) -> int:
    """Distinct values behind a bottom-k sketch: exact while it holds fewer than k hashes."""
    if len(bottom) < k:
        return len(bottom)
    return round((k - 1) / ((float(bottom[k - 1]) + 1.0) / 2.0**64))


# -- duplicate rows: a bottom-k sketch that counts -------------------------------------------------------------

@dataclass(slots=True)
class RowSketch:
    """The `k` smallest distinct row hashes, sorted, each with the number of rows that have it.

    The kept hashes are a uniform sample of the distinct rows (a hash does not depend on how often its row occurs),
    and their counts are exact in the whole table: a hash among the k smallest of the table is among the k
    smallest of every share that holds it, so no share drops any of its rows. While it keeps fewer than k hashes,
    it holds every distinct row.
    """

    hashes: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, row_hashes: np.ndarray, k: int) -> RowSketch:
        ordered = np.sort(row_hashes)
        starts = _first_of_runs(ordered)
        counts = np.diff(np.append(starts, len(ordered)))
        return cls(ordered[starts][:k], counts[:k].astype(np.int64))

    def merge(self, other: RowSketch, k: int) -> RowSketch:
        hashes = np.concatenate([self.hashes, other.hashes])
        counts = np.concatenate([self.counts, other.counts])
        order = np.argsort(hashes, kind="stable")
        hashes, counts = hashes[order], counts[order]
        if not len(hashes):
            return RowSketch(hashes, counts)
        starts = _first_of_runs(hashes)
        return RowSketch(hashes[starts][:k], np.add.reduceat(counts, starts)[:k])

    @classmethod
    def empty(cls) -> RowSketch:
        return cls(np.zeros(0, np.uint64), np.zeros(0, np.int64))


def merge_row_sketches(first: RowSketch | None, second: RowSketch | None, k: int) -> RowSketch | None:
    """The row sketch of the union of two shares (None: a share whose rows cannot be compared)."""
    if first is None or second is None:
        return None
    return first.merge(second, k)


# -- quantiles: a KLL sketch -------------------------------------------------------------------------------------

def kll_sketch(values: np.ndarray, k: int) -> bytes | None:
    """The serialized KLL sketch of float64 values; None for no values.

    More than `2k` values are compacted in bulk (`_compacted_kll`) rather than fed one by one, which costs a sort
    instead of a sketch update per value; fewer go through the sketch's own update."""
    from datasketches import kll_doubles_sketch

    if not len(values):
        return None
    values = np.ascontiguousarray(values, np.float64)
    if len(values) > 2 * k:
        return _compacted_kll(np.sort(values), k)
    sketch = kll_doubles_sketch(k)
    # The sketch's binding accepts writable arrays only; Arrow's zero-copy views are read-only.
    sketch.update(values if values.flags.writeable else values.copy())
    return sketch.serialize()


_KLL_M = 8
"""The least capacity of a KLL level (DataSketches' default `m`)."""


def _kll_capacity(k: int, depth: int) -> int:
    """Items a KLL level `depth` levels below the top holds before it compacts (DataSketches' `level_capacity`)."""
    return max(_KLL_M, int(k * (2.0 / 3.0) ** depth + 0.5))


def _compacted_kll(ordered: np.ndarray, k: int) -> bytes:
    """The serialized KLL sketch of sorted values, built as the sketch's own compactions would leave it: the values
    cut into consecutive blocks of 2^h (h the least level whose blocks number at most k), each block kept as one
    item of weight 2^h at level h, picked at a random offset as a compaction picks its odd or even items; the
    fewer than 2^h values left over go, in blocks of the powers of two that sum to their number, one item to each
    lower level. Weights sum to the number of values exactly, and a rank query is off by less than one block
    (2^h <= 2n / k), within the 99 % error bound of a sketch fed value by value (about 2.3 / k^0.97).

    The bytes follow DataSketches' KLL serialization (version 1, shared by all its languages), so the sketches
    merge with, and are read by, `kll_doubles_sketch` like any other."""
    import struct

    n = len(ordered)
    top = max(0, int(n - 1).bit_length() - int(k).bit_length())
    while n >> top > k:
        top += 1
    block = 1 << top
    rng = np.random.default_rng()
    kept = ordered[rng.integers(block) + block * np.arange(n >> top)]
    start = (n >> top) << top
    levels: list[np.ndarray] = [np.zeros(0)] * (top + 1)
    levels[top] = kept
    for level in range(top - 1, -1, -1):  # the leftover, in blocks from the largest power of two down
        if n >> level & 1:
            levels[level] = ordered[start + rng.integers(1 << level):][:1]
            start += 1 << level
    retained = sum(len(items) for items in levels)
    capacity = sum(_kll_capacity(k, depth) for depth in range(top + 1))
    offsets, position = [], capacity - retained
    for items in levels:
        offsets.append(position)
        position += len(items)
    header = struct.pack("<BBBBHBBQHBB", 5, 1, 15, 0, k, _KLL_M, 0, n, k, top + 1, 0)
    return b"".join([header, struct.pack(f"<{top + 1}I", *offsets), struct.pack("<dd", ordered[0], ordered[-1]),
                     *(items.tobytes() for items in levels)])


def merge_kll(first: bytes | None, second: bytes | None) -> bytes | None:
    from datasketches import kll_doubles_sketch

    if first is None or second is None:
        return first if second is None else second
    merged = kll_doubles_sketch.deserialize(first)
    merged.merge(kll_doubles_sketch.deserialize(second))
    return merged.serialize()


def kll_quantiles(sketch: bytes, points: tuple[float, ...]) -> list[float]:
    from datasketches import kll_doubles_sketch

    kll = kll_doubles_sketch.deserialize(sketch)
    return [kll.get_quantile(p) for p in points]
