"""The values pass over one share of the rows: exact value counts, counts of frequent-value candidates and
equi-width histograms, merged by summing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profiler.model import ColumnKind
from profiler.partial.domain import tracked


@dataclass(slots=True)
class ValueCounts:
    """Exact counts per value (Arrow values, numpy counts)."""

    values: pa.Array
    counts: np.ndarray

    @classmethod
    def of(cls, values: pa.Array) -> ValueCounts:
        encoded = pc.dictionary_encode(values.drop_null())
        return cls(encoded.dictionary, np.bincount(encoded.indices.to_numpy(zero_copy_only=False),
                                                   minlength=len(encoded.dictionary)))

    def merge(self, other: ValueCounts) -> ValueCounts:
        if not len(other.values):
            return self
        if not len(self.values):
            return other
        table = pa.table({"v": pa.concat_arrays([self.values, other.values]),
                          "n": np.concatenate([self.counts, other.counts])})
        summed = table.group_by("v").aggregate([("n", "sum")])
        return ValueCounts(summed.column("v").combine_chunks(), summed.column("n_sum").to_numpy())


@dataclass(frozen=True, slots=True)
class ValuesRequest:
    """What the values pass computes for one column: exact counts of all its values (`limit` > 0: at most that
    many distinct) or of `candidates` only, and/or a histogram `(low, high, bins)`."""

    index: int
    kind: ColumnKind
    limit: int = 0
    candidates: pa.Array | None = None
    histogram: tuple[float, float, int] | None = None


@dataclass(slots=True)
class ValuesPartial:
    """What the values pass found about one column in a share of the rows."""

    counts: ValueCounts | None = None
    """None when the column has more distinct values than its request's limit."""
    histogram: np.ndarray | None = None

    def merge(self, other: ValuesPartial, limit: int) -> ValuesPartial:
        counts = None
        if self.counts is not None and other.counts is not None:
            counts = self.counts.merge(other.counts)
            if limit and len(counts.values) > limit:
                counts = None
        histogram = self.histogram if other.histogram is None else \
            other.histogram if self.histogram is None else self.histogram + other.histogram
        return ValuesPartial(counts, histogram)


def empty_values(requests: list[ValuesRequest]) -> dict[int, ValuesPartial]:
    """The values pass over no rows (the zero of its tree aggregation)."""
    return {r.index: ValuesPartial(ValueCounts(pa.array([], pa.null()), np.zeros(0, np.int64)),
                                   np.zeros(r.histogram[2], np.int64) if r.histogram else None) for r in requests}


def histogram_bins(values: np.ndarray, low: float, high: float, bins: int) -> np.ndarray:
    """The equi-width bin of each finite value; the top edge falls in the last bin, one bin when low == high."""
    if high == low:
        return np.zeros(len(values), np.int64)
    width = (high - low) / bins
    return np.clip(np.floor((values - low) / width), 0, bins - 1).astype(np.int64)


def values_partial(rows: pa.Table, requests: list[ValuesRequest]) -> dict[int, ValuesPartial]:
    """The values pass over one share of the rows."""
    found: dict[int, ValuesPartial] = {}
    for request in requests:
        x = tracked(rows.column(request.index), request.kind)
        partial = ValuesPartial()
        if request.limit:
            counts = ValueCounts.of(x)
            partial.counts = counts if len(counts.values) <= request.limit else None
        elif request.candidates is not None:
            partial.counts = ValueCounts.of(x.filter(pc.is_in(x, value_set=request.candidates)))
        if request.histogram is not None:
            low, high, bins = request.histogram
            numbers = x.drop_null().cast(pa.float64()).to_numpy(zero_copy_only=False)
            partial.histogram = np.bincount(histogram_bins(numbers, low, high, bins), minlength=bins)
        found[request.index] = partial
    return found


def merge_values(first: dict[int, ValuesPartial], second: dict[int, ValuesPartial],
                 requests: list[ValuesRequest]) -> dict[int, ValuesPartial]:
    return {r.index: first[r.index].merge(second[r.index], r.limit) for r in requests}
