"""Exact, mergeable numeric statistics: integer and decimal sums carried as Python integers, and standard
deviations as (count, mean, M2) triples merged with Chan's formula."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Context, Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_INT64 = (-(2**63), 2**63 - 1)
_WIDE = Context(prec=100)
"""Decimal arithmetic wide enough for any Spark decimal (38 digits) and its sums."""


def exact_int_sum(values: np.ndarray) -> int:
    """The exact sum of int64 values, whatever their number and size: 32-bit halves summed apart."""
    low = (values & np.int64(0xFFFFFFFF)).sum(dtype=np.int64)
    high = (values >> np.int64(32)).sum(dtype=np.int64)
    return int(high) * 2**32 + int(low)


def exact_decimal_sum(values: pa.Array) -> int:
    """The exact sum of a decimal array's unscaled integers (nulls count as 0): decimal128 words summed as
    integers, wider decimals value by value."""
    if not pa.types.is_decimal128(values.type):
        return sum(int(v.scaleb(values.type.scale, context=_WIDE)) for v in values.to_pylist() if v is not None)
    filled = pc.fill_null(values, pa.scalar(Decimal(0), values.type))
    words = np.frombuffer(filled.buffers()[1], np.int64).reshape(-1, 2)[filled.offset:filled.offset + len(filled)]
    low = words[:, 0].view(np.uint64)
    low_sum = int((low & np.uint64(0xFFFFFFFF)).sum(dtype=np.uint64)) + \
        (int((low >> np.uint64(32)).sum(dtype=np.uint64)) << 32)
    return low_sum + (exact_int_sum(words[:, 1]) << 64)


def int64_or_none(total: int | None) -> int | None:
    """An integer sum as Spark reports it: null once it leaves the 64-bit range."""
    if total is None or not _INT64[0] <= total <= _INT64[1]:
        return None
    return total


@dataclass(slots=True)
class Moments:
    """Count, mean and sum of squared deviations: merged exactly in any order (Chan et al.)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @classmethod
    def of(cls, values: np.ndarray) -> Moments:
        if len(values) == 0:
            return cls()
        mean = float(values.mean())
        return cls(len(values), mean, float(np.square(values - mean).sum()))

    def merge(self, other: Moments) -> Moments:
        if not other.n:
            return self
        if not self.n:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        return Moments(n, self.mean + delta * other.n / n, self.m2 + other.m2 + delta * delta * self.n * other.n / n)

    @property
    def stddev(self) -> float | None:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None
