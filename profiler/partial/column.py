"""One column in one share of the rows: the per-kind Arrow kernels and the mergeable `ColumnPartial` they fill."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profiler.model import ColumnKind
from profiler.partial.domain import domain, few_values, finite_only
from profiler.partial.exact import Moments, exact_decimal_sum, exact_int_sum
from profiler.partial.hashing import float_row_values, fold_into_rows, row_value_hashes
from profiler.partial.sketches import bottom_k, kll_sketch, merge_bottom_k, merge_kll

_BLANK = " \t\n\r\f\v"
"""The characters a blank string consists of (Spark's and Python's ASCII whitespace)."""


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
    kept: list[KeptHashes] | None = None
    """The hashes of the tracked values, share by share, when the spec keeps them (a `unique` check's duplicates)."""

    def merge(self, other: ColumnPartial, *, k: int) -> ColumnPartial:
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
            bottom=merge_bottom_k(self.bottom, other.bottom, k),
            kll=merge_kll(self.kll, other.kll),
            kept=None if self.kept is None and other.kept is None else (self.kept or []) + (other.kept or []),
        )


class KeptHashes(NamedTuple):
    """One share's hashes of a column's non-null values: its distinct hashes and how often each occurs, so that a
    column of few values hands over little, or (`counts` None) the hashes as they are."""

    hashes: np.ndarray
    counts: np.ndarray | None
    keys: np.ndarray | None = None
    """With hashes as they are, in row order: the integer key of each one's row (`ColumnSpec.keep_keys`)."""


def counted(hashes: np.ndarray, keys: np.ndarray | None = None) -> KeptHashes:
    """`hashes`' distinct values, sorted, and how often each occurs; `hashes` as they are (with their rows' `keys`)
    when their leading 4096 repeat little, as counting would not shrink them."""
    probe = hashes[:4096]
    if len(hashes) > 2 * len(probe) and len(np.unique(probe)) > len(probe) // 2:
        return KeptHashes(hashes, None, keys)
    distinct, counts = np.unique(hashes, return_counts=True)
    return KeptHashes(distinct, None if len(distinct) == len(hashes) else counts.astype(np.uint32))


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
    keep_hashes: bool = False
    """Keep the hashes of the tracked non-null values (`ColumnPartial.kept`); a hashed column only."""
    keep_keys: int | None = None
    """With `keep_hashes`: the position of an integer column (the rows' first key) whose values are kept beside
    hashes kept as they are, so that the keys of the rows holding a repeated value can be bounded before the values
    pass looks for them (`profiler.partial.checks.key_bound`)."""


def column_partial(array: pa.Array | pa.ChunkedArray, spec: ColumnSpec, *, k: int, kll_k: int,
                   row_hashes: np.ndarray | None, keys: np.ndarray | None = None,
                   encodings: dict[int, pa.DictionaryArray] | None = None, at: int = 0) -> ColumnPartial:
    """The statistics of one column in one share of the rows; mixes the column into `row_hashes`. `keys`: the
    values of the spec's `keep_keys` column when it has no nulls in this share. A text column of few values is
    hashed on its distinct values (`few_values`); that encoding goes into `encodings` (if given) under `at`, the
    column's position, for the share's checks to reuse."""
    kind = spec.kind
    x = domain(array, kind)
    encoded = few_values(array, x) if kind is ColumnKind.STRING and spec.hashed else None
    if encoded is not None and encodings is not None:
        encodings[at] = encoded
    p = ColumnPartial(count=len(x) - x.null_count)
    values = x  # what the distinct sketch and the row hashes see
    if kind.numeric:
        values = _numeric(p, x, kind, kll_k)
    elif kind is ColumnKind.STRING:
        _string(p, x)
    elif kind is ColumnKind.BINARY:
        if p.count:
            _lengths(p, pc.binary_length(x))
    elif kind is ColumnKind.BOOLEAN:
        p.true = pc.sum(x).as_py() or 0
        values = x.cast(pa.int8())
    elif kind.temporal:
        if p.count:
            p.min, p.max = _extremes(x)

    if spec.hashed:
        hashes = row_value_hashes(values, encoded)
        valid = values.is_valid().to_numpy(zero_copy_only=False) if values.null_count else slice(None)
        if kind is not ColumnKind.BOOLEAN:
            p.bottom = bottom_k(hashes[valid], k)
        if spec.keep_hashes:
            p.kept = [counted(hashes[valid], None if keys is None else keys[valid])]
        if row_hashes is not None:
            # The distinct sketch of a float column sets NaN and infinities aside; rows keep them apart from nulls
            # (without any, both see the same values).
            special = kind is ColumnKind.FLOAT and p.nan + p.pos_inf + p.neg_inf > 0
            fold_into_rows(row_hashes, row_value_hashes(float_row_values(x)) if special else hashes)
    return p


# -- the kernels of each kind -------------------------------------------------------------------------------------

def _extremes(x: pa.Array) -> tuple[Any, Any]:
    """The smallest and largest non-null value of `x`."""
    extremes = pc.min_max(x).as_py()
    return extremes["min"], extremes["max"]


def _numeric(p: ColumnPartial, x: pa.Array, kind: ColumnKind, kll_k: int) -> pa.Array:
    """Integers, floats and decimals: the statistics of their finite values, NaN and infinities counted apart.
    Returns the values the distinct sketch tracks."""
    values = x
    if kind is ColumnKind.FLOAT:
        p.nan = pc.sum(pc.is_nan(x)).as_py() or 0
        inf = pc.is_inf(x)
        p.pos_inf = pc.sum(pc.and_(inf, pc.greater(x, 0.0))).as_py() or 0
        p.neg_inf = pc.sum(pc.and_(inf, pc.less(x, 0.0))).as_py() or 0
        values = finite_only(x)  # x is already in its domain
        p.finite = len(values) - values.null_count
    present = values.drop_null()
    numbers = present.cast(pa.float64()).to_numpy(zero_copy_only=False)
    if len(present):
        p.min, p.max = _extremes(present)
    if kind is ColumnKind.INTEGER:
        p.sum = exact_int_sum(present.to_numpy(zero_copy_only=False))
    elif kind is ColumnKind.DECIMAL:
        p.sum = exact_decimal_sum(present)
    else:
        p.sum = float(numbers.sum())
    p.moments = Moments.of(numbers)
    p.zeros = int((numbers == 0).sum())
    p.negatives = int((numbers < 0).sum())
    p.kll = kll_sketch(numbers, kll_k)
    return values


def _string(p: ColumnPartial, x: pa.Array) -> None:
    """Strings: extremes, lengths in characters, empty and blank values."""
    if not p.count:
        return
    p.min, p.max = _extremes(x)
    _lengths(p, pc.utf8_length(x))
    empty = pc.equal(x, "")
    p.empty = pc.sum(empty).as_py() or 0
    # Non-empty and ASCII whitespace only (the characters of `_BLANK`), without trimming copies of the strings.
    p.blank = pc.sum(pc.ascii_is_space(x)).as_py() or 0


def _lengths(p: ColumnPartial, lengths: pa.Array) -> None:
    p.min_length, p.max_length = _extremes(lengths)
    p.sum_length = pc.sum(lengths).as_py() or 0
