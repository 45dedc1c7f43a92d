"""Mergeable column statistics of Arrow data: what one Spark task computes over its share of a table.

Spark schedules the work and moves the data; each task turns its Arrow record batches into a `TablePartial` with
vectorised Arrow and numpy kernels, and partials merge pairwise (`TablePartial.merge`) in any order and grouping,
so the same code serves one process or a cluster's tree reduction. Spark SQL evaluated the same statistics row
by row, with sketches outside its code generation: on one million rows x 200 columns the aggregation alone took
84 s on two cores, where these kernels need a few seconds.

Every exact statistic stays exact across merges: integer and decimal sums are carried as Python integers,
standard deviations as (count, mean, M2) triples merged with Chan's formula, value counts (the values pass) as
Arrow tables summed by value. Distinct counts come from bottom-k sketches of 64-bit value hashes until the values
pass counts them exactly, quantiles from DataSketches KLL sketches unless exact counts give them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profiler.model import ColumnKind

_BLANK = " \t\n\r\f\v"
"""The characters a blank string consists of (Spark's and Python's ASCII whitespace)."""

_INT64 = (-(2**63), 2**63 - 1)
_WIDE = Context(prec=100)
"""Decimal arithmetic wide enough for any Spark decimal (38 digits) and its sums."""


# -- hashing ------------------------------------------------------------------------------------------------------

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_PRIME = np.uint64(0x100000001B3)
_NULL_HASH = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: spreads every input bit over the whole 64-bit word."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * _MIX1
        x = x ^ (x >> np.uint64(27))
        x = x * _MIX2
        return x ^ (x >> np.uint64(31))


def _bytes_hash(array: pa.Array) -> np.ndarray:
    """64-bit hashes of the values of a string or binary array without nulls: a polynomial over the bytes,
    computed for all values at once, then mixed with the length."""
    if len(array) == 0:
        return np.zeros(0, np.uint64)
    wide = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
    offsets = np.frombuffer(array.buffers()[1], np.int64 if wide else np.int32)
    offsets = offsets[array.offset:array.offset + len(array) + 1].astype(np.int64)
    first, last = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    sums = np.zeros(len(array), np.uint64)
    if last == first:  # empty strings only
        return _mix(sums ^ _mix(lengths.astype(np.uint64)))
    data = np.frombuffer(array.buffers()[2], np.uint8)[first:last].astype(np.uint64) + np.uint64(1)
    starts = offsets[:-1] - first
    position = np.arange(last - first, dtype=np.int64) - np.repeat(starts, lengths)
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(int(lengths.max()), _PRIME, np.uint64))
        terms = data * powers[position]
    filled = lengths > 0
    sums[filled] = np.add.reduceat(terms, starts[filled])
    return _mix(sums ^ _mix(lengths.astype(np.uint64)))


def value_hashes(values: pa.Array) -> np.ndarray:
    """64-bit hashes of non-null values in a statistics domain (int64, float64, decimal, string, binary)."""
    kind = values.type
    if _is_text(kind):
        return _bytes_hash(values)
    if pa.types.is_decimal128(kind):
        words = np.frombuffer(values.buffers()[1], np.uint64).reshape(-1, 2)[values.offset:values.offset + len(values)]
        return _mix(words[:, 0] ^ _mix(words[:, 1]))
    if pa.types.is_decimal(kind):
        return _bytes_hash(values.cast(pa.string()))
    if pa.types.is_floating(kind):
        return _mix(values.to_numpy(zero_copy_only=False).astype(np.float64).view(np.uint64))
    return _mix(values.to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64))


def row_value_hashes(values: pa.Array) -> np.ndarray:
    """64-bit hashes of every slot of `values`, nulls included (they share one hash)."""
    if values.null_count:
        valid = values.is_valid().to_numpy(zero_copy_only=False)
        kind = values.type
        zero: Any = (b"" if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) else "" if _is_text(kind)
                     else Decimal(0) if pa.types.is_decimal(kind) else 0)
        hashes = value_hashes(pc.fill_null(values, pa.scalar(zero, values.type)))
        hashes[~valid] = _NULL_HASH
        return hashes
    return value_hashes(values)


def _is_text(data_type: pa.DataType) -> bool:
    return (pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or pa.types.is_binary(data_type)
            or pa.types.is_large_binary(data_type))


# -- distinct counts: a bottom-k sketch ------------------------------------------------------------------------

def bottom_k_size(rsd: float) -> int:
    """Hashes a bottom-k sketch keeps for relative standard error `rsd` (about 1 / sqrt(k - 2))."""
    return math.ceil(1.0 / rsd**2) + 2


def _bottom(hashes: np.ndarray, k: int) -> np.ndarray:
    """The `k` smallest distinct values of `hashes`, sorted."""
    import pandas as pd

    distinct = pd.unique(hashes)  # a hash table: linear, where sorting all of them is not
    if len(distinct) > k:
        distinct = np.partition(distinct, k - 1)[:k]
    return np.sort(distinct)


def distinct_estimate(bottom: np.ndarray, k: int) -> int:
    """Distinct values behind a bottom-k sketch: exact while it holds fewer than k hashes."""
    if len(bottom) < k:
        return len(bottom)
    return round((k - 1) / ((float(bottom[k - 1]) + 1.0) / 2.0**64))


# -- one column ---------------------------------------------------------------------------------------------------

def domain(array: pa.Array | pa.ChunkedArray, kind: ColumnKind) -> pa.Array:
    """The column as the values its statistics are computed on: int64 integers, float64 floats, decimals as they
    are, strings, int32 epoch days for dates, int64 epoch microseconds for timestamps (zoned or not)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if isinstance(array.type, pa.DictionaryType):
        array = array.dictionary_decode()
    if kind is ColumnKind.INTEGER:
        return array.cast(pa.int64())
    if kind is ColumnKind.FLOAT:
        return array.cast(pa.float64())
    if kind is ColumnKind.STRING and not pa.types.is_string(array.type):
        return array.cast(pa.large_string() if pa.types.is_large_string(array.type) else pa.string())
    if kind is ColumnKind.DATE:
        return array.cast(pa.date32()).cast(pa.int32())
    if kind is ColumnKind.TIMESTAMP:
        if pa.types.is_timestamp(array.type) and array.type.unit != "us":
            array = array.cast(pa.timestamp("us", tz=array.type.tz), safe=False)
        return array.cast(pa.int64())
    return array


def tracked(array: pa.Array | pa.ChunkedArray, kind: ColumnKind) -> pa.Array:
    """The values whose distinct count, top values and histogram a profile reports: the domain, with the NaN and
    infinities of float columns set aside (they are counted apart) and -0.0 folded into 0.0."""
    x = domain(array, kind)
    return _finite_only(x) if kind is ColumnKind.FLOAT else x


def _finite_only(x: pa.Array) -> pa.Array:
    """A float64 array with NaN and infinities turned into nulls and -0.0 into 0.0."""
    return pc.add(pc.if_else(pc.is_finite(x), x, pa.scalar(None, pa.float64())), 0.0)


def _exact_int_sum(values: np.ndarray) -> int:
    """The exact sum of int64 values, whatever their number and size: 32-bit halves summed apart."""
    low = (values & np.int64(0xFFFFFFFF)).sum(dtype=np.int64)
    high = (values >> np.int64(32)).sum(dtype=np.int64)
    return int(high) * 2**32 + int(low)


def _exact_decimal_sum(values: pa.Array) -> int:
    """The exact sum of a decimal128 array's unscaled integers (nulls count as 0)."""
    filled = pc.fill_null(values, pa.scalar(Decimal(0), values.type))
    words = np.frombuffer(filled.buffers()[1], np.int64).reshape(-1, 2)[filled.offset:filled.offset + len(filled)]
    low = words[:, 0].view(np.uint64)
    low_sum = int((low & np.uint64(0xFFFFFFFF)).sum(dtype=np.uint64)) + \
        (int((low >> np.uint64(32)).sum(dtype=np.uint64)) << 32)
    return low_sum + (_exact_int_sum(words[:, 1]) << 64)


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


def _kll(values: np.ndarray, k: int) -> bytes | None:
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


@dataclass(slots=True)
class ColumnPartial:
    """What a share of the rows says about one column. Fields a kind does not use stay at their defaults."""

    count: int = 0
    finite: int = 0
    nan: int = 0
    pos_inf: int = 0
    neg_inf: int = 0
    min: Any = None
    max: Any = None
    sum: Any = 0
    moments: Moments = field(default_factory=Moments)
    zeros: int = 0
    negatives: int = 0
    min_length: int | None = None
    max_length: int | None = None
    sum_length: int = 0
    empty: int = 0
    blank: int = 0
    true: int = 0
    bottom: np.ndarray | None = None
    """The bottom-k sketch of the tracked values' hashes."""
    kll: bytes | None = None
    """The KLL quantile sketch of a numeric column's finite values."""

    def merge(self, other: ColumnPartial, *, k: int) -> ColumnPartial:
        bottoms = [b for b in (self.bottom, other.bottom) if b is not None]
        return ColumnPartial(
            count=self.count + other.count, finite=self.finite + other.finite, nan=self.nan + other.nan,
            pos_inf=self.pos_inf + other.pos_inf, neg_inf=self.neg_inf + other.neg_inf,
            min=_pick(min, self.min, other.min), max=_pick(max, self.max, other.max),
            sum=None if self.sum is None or other.sum is None else self.sum + other.sum,
            moments=self.moments.merge(other.moments), zeros=self.zeros + other.zeros,
            negatives=self.negatives + other.negatives,
            min_length=_pick(min, self.min_length, other.min_length),
            max_length=_pick(max, self.max_length, other.max_length),
            sum_length=self.sum_length + other.sum_length, empty=self.empty + other.empty,
            blank=self.blank + other.blank, true=self.true + other.true,
            bottom=_bottom(np.concatenate(bottoms), k) if len(bottoms) == 2 else (bottoms[0] if bottoms else None),
            kll=merge_kll(self.kll, other.kll),
        )


def _pick(choose: Any, first: Any, second: Any) -> Any:
    if first is None:
        return second
    if second is None:
        return first
    return choose(first, second)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """How to profile one column: its kind, and whether its values are hashed (distinct counts, duplicate rows)."""

    kind: ColumnKind
    hashed: bool


def column_partial(array: pa.Array | pa.ChunkedArray, spec: ColumnSpec, *, k: int, kll_k: int,
                   row_hashes: np.ndarray | None) -> ColumnPartial:
    """The statistics of one column in one share of the rows; mixes the column into `row_hashes`."""
    kind = spec.kind
    x = domain(array, kind)
    p = ColumnPartial(count=len(x) - x.null_count)
    values = x
    if kind.numeric:
        if kind is ColumnKind.FLOAT:
            p.nan = pc.sum(pc.is_nan(x)).as_py() or 0
            inf = pc.is_inf(x)
            p.pos_inf = pc.sum(pc.and_(inf, pc.greater(x, 0.0))).as_py() or 0
            p.neg_inf = pc.sum(pc.and_(inf, pc.less(x, 0.0))).as_py() or 0
            values = _finite_only(x)  # x is already in its domain
            p.finite = len(values) - values.null_count
        present = values.drop_null()
        numbers = present.cast(pa.float64()).to_numpy(zero_copy_only=False)
        if len(present):
            extremes = pc.min_max(present).as_py()
            p.min, p.max = extremes["min"], extremes["max"]
        if kind is ColumnKind.INTEGER:
            p.sum = _exact_int_sum(present.to_numpy(zero_copy_only=False))
        elif kind is ColumnKind.DECIMAL:
            p.sum = _exact_decimal_sum(present) if pa.types.is_decimal128(present.type) \
                else sum(int(v.scaleb(present.type.scale, context=_WIDE)) for v in present.to_pylist())
        else:
            p.sum = float(numbers.sum())
        p.moments = Moments.of(numbers)
        p.zeros = int((numbers == 0).sum())
        p.negatives = int((numbers < 0).sum())
        p.kll = _kll(numbers, kll_k)
    elif kind is ColumnKind.STRING:
        if p.count:
            extremes = pc.min_max(x).as_py()
            p.min, p.max = extremes["min"], extremes["max"]
            lengths = pc.utf8_length(x)
            bounds = pc.min_max(lengths).as_py()
            p.min_length, p.max_length = bounds["min"], bounds["max"]
            p.sum_length = pc.sum(lengths).as_py() or 0
            empty = pc.equal(x, "")
            p.empty = pc.sum(empty).as_py() or 0
            p.blank = pc.sum(pc.and_(pc.invert(empty), pc.equal(pc.utf8_trim(x, characters=_BLANK), ""))).as_py() or 0
    elif kind is ColumnKind.BINARY:
        if p.count:
            lengths = pc.binary_length(x)
            bounds = pc.min_max(lengths).as_py()
            p.min_length, p.max_length = bounds["min"], bounds["max"]
            p.sum_length = pc.sum(lengths).as_py() or 0
    elif kind is ColumnKind.BOOLEAN:
        p.true = pc.sum(x).as_py() or 0
        values = x.cast(pa.int8())
    elif kind.temporal:
        if p.count:
            extremes = pc.min_max(x).as_py()
            p.min, p.max = extremes["min"], extremes["max"]

    if spec.hashed:
        hashes = row_value_hashes(values)
        if kind is not ColumnKind.BOOLEAN:
            valid = values.is_valid().to_numpy(zero_copy_only=False) if values.null_count else slice(None)
            p.bottom = _bottom(hashes[valid], k)
        if row_hashes is not None:
            with np.errstate(over="ignore"):
                row_hashes *= _PRIME
                row_hashes ^= hashes
    return p


def int64_or_none(total: int | None) -> int | None:
    """An integer sum as Spark reports it: null once it leaves the 64-bit range."""
    if total is None or not _INT64[0] <= total <= _INT64[1]:
        return None
    return total


# -- the sample ---------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Sample:
    """The rows with the smallest random keys seen so far: merging two keeps the smallest overall, so the result is
    a uniform sample without replacement whatever the split of the rows."""

    keys: np.ndarray
    rows: pa.Table

    def merge(self, other: Sample, size: int) -> Sample:
        if other.rows.num_rows == 0:
            return self
        if self.rows.num_rows == 0:
            return other
        keys = np.concatenate([self.keys, other.keys])
        rows = pa.concat_tables([self.rows, other.rows], promote_options="permissive")
        return _smallest(keys, rows, size)


def _smallest(keys: np.ndarray, rows: pa.Table, size: int) -> Sample:
    if len(keys) > size:
        chosen = np.argpartition(keys, size)[:size]
    else:
        chosen = np.arange(len(keys))
    chosen = chosen[np.argsort(keys[chosen], kind="stable")]
    return Sample(keys[chosen], rows.take(pa.array(chosen)))


def sample_rows(rows: pa.Table, size: int, seed: int, share: int) -> Sample:
    """At most `size` rows of `rows`, keyed by random numbers drawn from (`seed`, `share`)."""
    keys = np.random.default_rng([seed, share]).random(rows.num_rows)
    return _smallest(keys, rows, size)


# -- one share of a table ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PartialOptions:
    """What a task needs from `ProfileOptions`, small enough to ship with every task."""

    bottom_k: int
    row_bottom_k: int
    kll_k: int
    sample_rows: int
    seed: int


@dataclass(slots=True)
class TablePartial:
    rows: int
    columns: list[ColumnPartial]
    row_bottom: np.ndarray | None
    sample: Sample

    def merge(self, other: TablePartial, options: PartialOptions) -> TablePartial:
        bottoms = [b for b in (self.row_bottom, other.row_bottom) if b is not None]
        return TablePartial(
            self.rows + other.rows,
            [a.merge(b, k=options.bottom_k) for a, b in zip(self.columns, other.columns, strict=True)],
            _bottom(np.concatenate(bottoms), options.row_bottom_k) if bottoms else None,
            self.sample.merge(other.sample, options.sample_rows),
        )


def empty_partial(columns: int, schema: pa.Schema) -> TablePartial:
    """The partial of no rows: merging it changes nothing (the zero of the tree aggregation)."""
    return TablePartial(0, [ColumnPartial() for _ in range(columns)], None, Sample(np.zeros(0), schema.empty_table()))


def table_partial(rows: pa.Table, specs: list[ColumnSpec], options: PartialOptions, share: int) -> TablePartial:
    """The partial statistics of `rows` (the table's columns in profile order), the `share`-th part of a table."""
    hashed = any(s.hashed for s in specs)
    row_hashes = np.full(rows.num_rows, _NULL_HASH, np.uint64) if hashed else None
    columns = [column_partial(rows.column(i), spec, k=options.bottom_k, kll_k=options.kll_k, row_hashes=row_hashes)
               for i, spec in enumerate(specs)]
    return TablePartial(
        rows.num_rows, columns,
        _bottom(_mix(row_hashes), options.row_bottom_k) if row_hashes is not None else None,
        sample_rows(rows, options.sample_rows, options.seed, share),
    )


# -- the values pass: exact value counts, histograms, counts of frequent-value candidates ------------------------

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
