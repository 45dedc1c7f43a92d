"""Mergeable sketches: bottom-k sketches of value hashes for distinct counts, DataSketches KLL for quantiles.

Both merge in any order and grouping: the bottom-k of a union is the bottom-k of the parts' bottom-ks, and KLL
sketches merge natively. Sketches travel between tasks as numpy arrays and serialized bytes.
"""

from __future__ import annotations

import math

import numpy as np

# -- distinct counts: a bottom-k sketch ------------------------------------------------------------------------

def bottom_k_size(rsd: float) -> int:
    """Hashes a bottom-k sketch keeps for relative standard error `rsd` (about 1 / sqrt(k - 2))."""
    return math.ceil(1.0 / rsd**2) + 2


def bottom_k(hashes: np.ndarray, k: int) -> np.ndarray:
    """The `k` smallest distinct values of `hashes`, sorted."""
    import pandas as pd

    distinct = pd.unique(hashes)  # a hash table: linear, where sorting all of them is not
    if len(distinct) > k:
        distinct = np.partition(distinct, k - 1)[:k]
    return np.sort(distinct)


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


# -- quantiles: a KLL sketch -------------------------------------------------------------------------------------

def kll_sketch(values: np.ndarray, k: int) -> bytes | None:
    """The serialized KLL sketch of float64 values; None for no values."""
    from datasketches import kll_doubles_sketch

    if not len(values):
        return None
    sketch = kll_doubles_sketch(k)
    values = np.ascontiguousarray(values, np.float64)
    # The sketch's binding accepts writable arrays only; Arrow's zero-copy views are read-only.
    sketch.update(values if values.flags.writeable else values.copy())
    return sketch.serialize()


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
