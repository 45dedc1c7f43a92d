"""Aggregate checks over one share of the rows: which rows fail each check, how many, and the smallest keys of them.

A check is compiled once against the table's columns (`compile_checks`), then every share computes a
`CheckPartial` per row-by-row check: its failing-row count and the `k` smallest sample keys of its failing rows (a
small Arrow table). Partials merge by summing counts and keeping the `k` smallest keys of both, so the result does
not depend on how tasks were grouped. A `unique` check's column keeps the value hashes its statistics compute anyway
(`ColumnSpec.keep_hashes`); duplicate values are found from the merged hashes (`duplicates`, exact up to 64-bit hash
collisions), and the keys of their rows in a later pass over the shares (`duplicate_keys`). Hashes kept as they are
come with their rows' integer first key, which bounds the keys that pass looks for (`key_bound`), so that it hashes
again only the rows within the bound.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profiler.checks import TableChecks
from profiler.model import ColumnKind
from profiler.partial.column import KeptHashes
from profiler.partial.domain import combined, few_values, tracked
from profiler.partial.hashing import among, row_value_hashes

ROW_KINDS = ("not_null", "accepted_values", "range", "regex", "length", "type_conformance")
"""Checks a share decides row by row."""

_CONFORMING = {
    "integer": r"^\s*[+-]?[0-9]+\s*$",
    "decimal": r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$",
    "boolean": r"^\s*(?i:true|false|t|f|yes|no|y|n|on|off|1|0)\s*$",
    "uuid": r"^\s*\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?\s*$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "timestamp": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?"
                 r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$",
}
"""What text must look like to read as each type; dates are then checked on the calendar."""

_STORED_AS = {"integer": {ColumnKind.INTEGER}, "decimal": {ColumnKind.INTEGER, ColumnKind.DECIMAL},
              "boolean": {ColumnKind.BOOLEAN}, "date": {ColumnKind.DATE}, "timestamp": {ColumnKind.TIMESTAMP}}
"""Column kinds whose values are of a type already: their type conformance holds by construction."""


@dataclass(frozen=True, slots=True)
class Compiled:
    """One check ready for the tasks: its column's index and kind, the columns of its sample keys, and the kind's
    parameters turned into Arrow values; `error` when it cannot apply to its column."""

    kind: str
    column: int | None = None
    column_kind: ColumnKind | None = None
    sample: tuple[int, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def per_row(self) -> bool:
        return self.error is None and self.kind in ROW_KINDS

    @property
    def hashes(self) -> bool:
        return self.error is None and self.kind == "unique"


@dataclass(slots=True)
class CheckPartial:
    """What a share says about one check."""

    failing: int = 0
    keys: pa.Table | None = None
    """The smallest sample keys of failing rows, sorted; None when none failed (or the check samples no keys)."""

    prefix: Prefix | None = None
    """A `unique` check's: the shares' rows of smallest first keys (see `Prefix`)."""

    def merge(self, other: CheckPartial, k: int) -> CheckPartial:
        prefix = other.prefix if self.prefix is None else self.prefix if other.prefix is None else \
            self.prefix.merge(other.prefix)
        return CheckPartial(self.failing + other.failing, merge_keys(self.keys, other.keys, k), prefix)


@dataclass(frozen=True, slots=True)
class Prefix:
    """For a `unique` check, which the statistics pass cannot decide row by row: the sample columns of the rows of
    the smallest first keys of the shares (`_Sampler`), those whose checked value is not null, with their value
    hashes. Every row of a first key below `limit` is among them (or holds a null), so once the driver knows the
    repeated hashes and a bound below `limit` on the `k` smallest failing keys (`key_bound`), the sample comes from
    here and the values pass need not look for it."""

    rows: pa.Table
    hashes: np.ndarray
    limit: Any
    """The smallest first key some share may have left out; -inf when a share kept no prefix."""

    def merge(self, other: Prefix) -> Prefix:
        return Prefix(pa.concat_tables([self.rows, other.rows], promote_options="permissive"),
                      np.concatenate([self.hashes, other.hashes]), min(self.limit, other.limit))

    def sample(self, repeated: np.ndarray, bound: Any, k: int) -> pa.Table | None:
        """The `k` smallest sample keys of the rows holding a `repeated` hash, if `bound` (`key_bound`) is below
        `limit`; else None."""
        if bound is None or not bound < self.limit:
            return None
        first = self.rows.column(0).to_numpy()
        return smallest(self.rows.filter(among(self.hashes, repeated) & (first <= bound)), k)


# -- compiling ----------------------------------------------------------------------------------------------------

def compile_checks(checks: TableChecks, names: list[str], kinds: list[ColumnKind], schema: pa.Schema
                   ) -> list[Compiled]:
    """Every check of `checks` against the table's columns (`names`, their kinds and Arrow types)."""
    index = {name: i for i, name in enumerate(names)}
    key = tuple(index[name] for name in checks.key if name in index)
    return [_compiled(spec.kind, spec.column, dict(spec.params), index, key, kinds, schema) for spec in checks.checks]


def _compiled(kind: str, column: str | None, params: dict[str, Any], index: dict[str, int], key: tuple[int, ...],
              kinds: list[ColumnKind], schema: pa.Schema) -> Compiled:
    if column is None:
        return Compiled(kind, params=params)
    if column not in index:
        return Compiled(kind, error=f"the profiled data has no column {column!r}")
    at = index[column]
    ck = kinds[at]
    sample = key if kind == "not_null" or at in key else (*key, at)
    compiled = Compiled(kind, at, ck, sample, params)
    problem = _inapplicable(kind, ck, params)
    if problem is not None:
        return Compiled(kind, at, ck, error=f"{kind} cannot check {column!r} ({ck.value}): {problem}")
    if kind == "accepted_values":
        value_type = _value_type(schema.field(at).type)
        allowed = [v for v in (_as_type(v, value_type) for v in params["values"]) if v is not None]
        return Compiled(kind, at, ck, sample, {"values": pa.array(allowed, value_type)})
    if kind == "regex":
        try:
            pc.match_substring_regex(pa.array([""]), params["pattern"])
        except pa.ArrowInvalid:  # a pattern RE2 does not take (backreferences, lookarounds): Python's `re` decides
            return Compiled(kind, at, ck, sample, {**params, "python": re.compile(params["pattern"])})
    return compiled


def _inapplicable(kind: str, ck: ColumnKind, params: dict[str, Any]) -> str | None:
    if kind == "range" and not ck.numeric:
        return "a range needs a numeric column"
    if kind == "regex" and ck is not ColumnKind.STRING:
        return "a pattern needs a text column"
    if kind == "length" and ck not in (ColumnKind.STRING, ColumnKind.BINARY):
        return "a length needs a text or binary column"
    if kind == "unique" and ck is ColumnKind.OTHER:
        return "its values cannot be compared"
    if kind == "type_conformance" and ck is not ColumnKind.STRING and ck not in _STORED_AS.get(params["type"], ()):
        return f"it is stored as {ck.value}, not as text"
    return None


def _value_type(data_type: pa.DataType) -> pa.DataType:
    return data_type.value_type if pa.types.is_dictionary(data_type) else data_type


def _as_type(value: Any, data_type: pa.DataType) -> Any:
    """An accepted value as a value of the column's type (a number for a text column is its text); None when it
    cannot be one, so that no value of the column can equal it."""
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return ("true" if value else "false") if isinstance(value, bool) else str(value)
    if isinstance(value, bool) != pa.types.is_boolean(data_type):
        return None
    if pa.types.is_decimal(data_type) and isinstance(value, float):
        value = Decimal(repr(value))
    try:
        return pa.array([value]).cast(data_type).to_pylist()[0]  # safe casts: 2.5 is no value of an integer column
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


# -- one share ----------------------------------------------------------------------------------------------------

def checks_partial(rows: pa.Table, compiled: list[Compiled], k: int,
                   encodings: dict[int, pa.DictionaryArray] | None = None) -> list[CheckPartial]:
    """What one share of the rows says about each check. `encodings`: the text columns of few values the share's
    statistics dictionary-encoded already (`few_values`), by position."""
    found = []
    columns: dict[int, pa.Array] = {}  # a column several checks read is combined once
    distinct: dict[int, _Distinct | None] = {}
    sampler = _Sampler(rows, k)
    for check in compiled:
        partial = CheckPartial()
        if check.per_row:
            at = check.column
            if at not in columns:
                columns[at] = plain(rows.column(at))
            values = None
            if check.kind in _PER_VALUE and check.column_kind is ColumnKind.STRING:
                if at not in distinct:
                    encoded = (encodings or {}).get(at)
                    if encoded is None:
                        encoded = few_values(rows.column(at), columns[at])
                    distinct[at] = None if encoded is None else _Distinct(encoded)
                values = distinct[at]
            if values is None:
                failing = failing_rows(columns[at], check)
                partial.failing = int(np.count_nonzero(failing) if isinstance(failing, np.ndarray)
                                      else pc.sum(failing).as_py() or 0)
            else:  # counted on the distinct values; rows are looked at only for the sample keys of failing ones
                failing = np.asarray(failing_rows(values.dictionary, check), np.bool_)
                partial.failing = int(values.counts[failing].sum())
            if partial.failing and check.sample:
                partial.keys = sampler.failing_keys(check.sample, failing if values is None else values.rows(failing))
        elif check.hashes and check.sample:
            partial.prefix = sampler.prefix(check)
        found.append(partial)
    return found


class _Distinct:
    """A text column of few values in one share: its distinct values, how many rows hold each, and which rows."""

    def __init__(self, encoded: pa.DictionaryArray) -> None:
        self.dictionary = encoded.dictionary
        indices = encoded.indices
        # Null rows point one past the dictionary, at a value that never fails.
        self.indices = (pc.fill_null(indices, len(self.dictionary)) if indices.null_count else indices).to_numpy()
        self.counts = np.bincount(self.indices, minlength=len(self.dictionary) + 1)[:len(self.dictionary)]

    def rows(self, failing: np.ndarray) -> np.ndarray:
        """Whether each row fails, from whether each distinct value does."""
        return np.append(failing, False)[self.indices]


class _Sampler:
    """Picks a share's sample keys of failing rows. With an integer first key column without nulls, the rows of its
    `_PREFIX` smallest keys, sorted, are found once per share: a check whose failing rows include `k` of them
    (whose `k`-th key is below the largest there) has its sample among them, looked up at a cost of `_PREFIX`."""

    def __init__(self, rows: pa.Table, k: int) -> None:
        self.rows, self.k = rows, k
        self.prefixes: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}

    def _prefix(self, first: int) -> tuple[np.ndarray, np.ndarray] | None:
        if first not in self.prefixes:
            self.prefixes[first] = _prefix(self.rows.column(first), self.k)
        return self.prefixes[first]

    def prefix(self, check: Compiled) -> Prefix:
        """A `unique` check's `Prefix` of this share: the rows of its `_PREFIX * k` smallest first keys, or all
        its rows when it has few; none (a limit of -inf) when the first key column is no integer column without
        nulls."""
        first = self.rows.column(check.sample[0])
        found = self._prefix(check.sample[0])
        if found is not None:
            order, keys = found
            limit = keys[-1].item()
        elif pa.types.is_integer(first.type) and not first.null_count:
            order, limit = np.arange(self.rows.num_rows), float("inf")
        else:
            return Prefix(self.rows.select(list(check.sample)).slice(0, 0), np.zeros(0, np.uint64), float("-inf"))
        values = tracked(self.rows.column(check.column).take(order), check.column_kind)
        if check.column_kind is ColumnKind.BOOLEAN:
            values = values.cast(pa.int8())
        valid = values.is_valid().to_numpy(zero_copy_only=False)
        return Prefix(self.rows.select(list(check.sample)).take(order[valid]), row_value_hashes(values)[valid], limit)

    def failing_keys(self, sample: tuple[int, ...], failing: pa.Array | np.ndarray) -> pa.Table:
        keys = self.rows.select(list(sample))
        k = self.k
        prefix = self._prefix(sample[0])
        if prefix is not None:
            order, smallest_keys = prefix
            mask = failing if isinstance(failing, np.ndarray) else failing.to_numpy(zero_copy_only=False)
            hits = mask[order]
            found = smallest_keys[hits]
            if len(found) >= k and found[k - 1] < smallest_keys[-1]:
                return smallest(keys.take(order[hits & (smallest_keys <= found[k - 1])]), k)
        return failing_keys(keys, failing, k)


_PREFIX = 32
"""Smallest keys per sample key `_Sampler` keeps per share (320 for 10 sample keys)."""


def _prefix(first: pa.ChunkedArray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The positions of the `_PREFIX * k` smallest values of `first`, in value order, and those values; None when
    it is no integer column without nulls, or too short for the prefix to save work."""
    size = _PREFIX * k
    if not k or not pa.types.is_integer(first.type) or first.null_count or len(first) <= 4 * size:
        return None
    values = combined(first).to_numpy()
    order = np.argpartition(values, size - 1)[:size]
    order = order[np.argsort(values[order], kind="stable")]
    return order, values[order]


def merge_checks(first: list[CheckPartial], second: list[CheckPartial], k: int) -> list[CheckPartial]:
    return [a.merge(b, k) for a, b in zip(first, second, strict=True)]


def plain(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One array of plain (not dictionary-encoded) values."""
    array = combined(array)
    return array.dictionary_decode() if pa.types.is_dictionary(array.type) else array


_PER_VALUE = ("accepted_values", "regex", "length", "type_conformance")
"""Checks whose outcome on a non-null row depends on its value alone: a text column of few values is checked on
its distinct values once, the rows then looking up their value's outcome."""


def failing_rows(x: pa.Array, check: Compiled) -> pa.Array | np.ndarray:
    """A boolean per row, true where the row fails the check (never null). Ranges and lengths, and accepted
    integers of a narrow span, are decided in numpy (one pass over the numbers, not a chain of Arrow kernels)."""
    kind, params = check.kind, check.params
    if kind == "not_null":
        return pc.is_null(x)
    if kind in ("range", "length"):
        numbers = _numbers(pc.utf8_length(x) if check.column_kind is ColumnKind.STRING else pc.binary_length(x)
                           ) if kind == "length" else _numbers(x)
        if numbers is not None:
            return _failing(_outside(*numbers, params.get("min"), params.get("max")), x)
    if kind == "accepted_values" and pa.types.is_integer(x.type):
        outside = _not_among(x, params["values"])
        if outside is not None:
            return _failing(outside, x)
    if kind == "accepted_values":
        ok = pc.is_in(x, value_set=params["values"])
    elif kind == "range":
        ok = _within(x, params.get("min"), params.get("max"), pc.greater_equal, pc.less_equal,
                     decimal=pa.types.is_decimal(x.type))
        if pa.types.is_floating(x.type):
            ok = pc.and_(ok, pc.invert(pc.is_nan(x)))
    elif kind == "regex":
        ok = _matches(x, params)
    elif kind == "length":
        lengths = pc.utf8_length(x) if check.column_kind is ColumnKind.STRING else pc.binary_length(x)
        ok = _within(lengths, params.get("min"), params.get("max"), pc.greater_equal, pc.less_equal)
    else:
        ok = _conforms(x, params["type"]) if check.column_kind is ColumnKind.STRING else pc.is_valid(x)
    return pc.fill_null(pc.and_(pc.is_valid(x), pc.invert(ok)), False)


def _failing(outside: np.ndarray, x: pa.Array) -> np.ndarray:
    return outside & x.is_valid().to_numpy(zero_copy_only=False) if x.null_count else outside


_INT64 = np.iinfo(np.int64)


def _numbers(x: pa.Array) -> tuple[np.ndarray, int | None] | None:
    """The values of a numeric array as int64 (integers; decimals of up to 18 digits as their unscaled integers,
    with their scale) or float64 (scale None), whatever sits in null slots; None for other types."""
    kind = x.type
    if pa.types.is_decimal128(kind) and kind.precision <= 18:  # the low 64 bits hold the whole two's complement
        return np.frombuffer(x.buffers()[1], np.int64).reshape(-1, 2)[x.offset:x.offset + len(x), 0], kind.scale
    if pa.types.is_floating(kind) or (pa.types.is_integer(kind) and not pa.types.is_uint64(kind)):
        floating = pa.types.is_floating(kind)
        filled = pc.fill_null(x, 0.0 if floating else 0) if x.null_count else x
        return filled.to_numpy().astype(np.float64 if floating else np.int64, copy=False), None if floating else 0
    return None


def _outside(values: np.ndarray, scale: int | None, low: Any, high: Any) -> np.ndarray:
    """Whether each of `values` (`_numbers`) is below `low`, above `high`, or NaN. For integers (of `scale`
    decimal places) the bounds become the nearest integers within them, exactly."""
    if scale is None:
        outside = np.isnan(values)
        for bound, beyond in ((low, np.less), (high, np.greater)):
            if bound is not None:
                outside |= beyond(values, bound)
        return outside
    outside = np.zeros(len(values), np.bool_)
    for bound, beyond, rounded in ((low, np.less, math.ceil), (high, np.greater, math.floor)):
        if bound is None:
            continue
        at = rounded(Decimal(repr(bound)).scaleb(scale))
        if (at > _INT64.max) if beyond is np.less else (at < _INT64.min):
            return np.ones(len(values), np.bool_)  # no int64 lies within
        if _INT64.min <= at <= _INT64.max:
            outside |= beyond(values, at)
    return outside


_SPAN = 1 << 20
"""Integers spanning up to this many values are looked up in a table of the accepted ones."""


def _not_among(x: pa.Array, accepted: pa.Array) -> np.ndarray | None:
    """Whether each integer of `x` is not one of `accepted`, through a table over its span; None when the span is
    wider than `_SPAN` (or `x` holds no number)."""
    extremes = pc.min_max(x).as_py()
    low, high = extremes["min"], extremes["max"]
    numbers = _numbers(x)
    if low is None or high - low >= _SPAN or numbers is None:
        return None
    table = ~np.isin(np.arange(low, high + 1), accepted.to_numpy(zero_copy_only=False))
    return table[np.clip(numbers[0] - low, 0, high - low)]  # null slots' filler may lie outside the span


def _within(x: pa.Array, low: Any, high: Any, at_least: Any, at_most: Any, *, decimal: bool = False) -> pa.Array:
    ok = pc.is_valid(x)
    for bound, compare in ((low, at_least), (high, at_most)):
        if bound is not None:
            ok = pc.and_(ok, compare(x, pa.scalar(Decimal(repr(bound)) if decimal else bound)))
    return ok


def _matches(x: pa.Array, params: dict[str, Any]) -> pa.Array:
    pattern = params.get("python")
    if pattern is None:
        return pc.match_substring_regex(x, params["pattern"])
    distinct = pc.unique(x.drop_null())  # Python's `re` on each distinct value only
    matched = pa.array([pattern.search(v) is not None for v in distinct.to_pylist()], pa.bool_())
    return pc.is_in(x, value_set=distinct.filter(matched)) if len(distinct) else pc.is_valid(x)


def _conforms(x: pa.Array, type_name: str) -> pa.Array:
    maybe = _may_conform(x, type_name)
    if maybe is None:
        return _conforming(x, type_name)
    ok = np.zeros(len(x), np.bool_)  # the patterns run on the rows whose first byte may start a match only
    if maybe.any():
        at = np.flatnonzero(maybe)
        ok[at] = pc.fill_null(_conforming(x.take(at), type_name), False).to_numpy(zero_copy_only=False)
    return pa.array(ok)


_BLANKS = b" \t\n\r\f\v"
_DIGITS = b"0123456789"
_STARTS = {"integer": _BLANKS + b"+-" + _DIGITS, "decimal": _BLANKS + b"+-." + _DIGITS,
           "boolean": _BLANKS + b"tTfFyYnNoO01", "uuid": _BLANKS + b"{abcdefABCDEF" + _DIGITS,
           "date": _DIGITS, "timestamp": _DIGITS}
"""The bytes a text conforming to each type (`_CONFORMING`) may start with."""


def _may_conform(x: pa.Array, type_name: str) -> np.ndarray | None:
    """Whether each value of a text array is non-empty and starts with a byte that `type_name`'s text may start
    with, from the offsets and data buffers (one byte per value: text of another type mostly fails here, at far
    less than a regular expression costs); None when every value may conform."""
    if len(x) == 0 or x.buffers()[1] is None:
        return None
    wide = pa.types.is_large_string(x.type)
    offsets = np.frombuffer(x.buffers()[1], np.int64 if wide else np.int32)[x.offset:x.offset + len(x) + 1]
    data = x.buffers()[2]
    if data is None or data.size == 0:
        return np.zeros(len(x), np.bool_)
    data = np.frombuffer(data, np.uint8)
    starts = offsets[:-1]
    firsts = data[np.minimum(starts, len(data) - 1)]
    maybe = (offsets[1:] > starts) & np.isin(firsts, np.frombuffer(_STARTS[type_name], np.uint8))
    return None if maybe.all() else maybe


def _conforming(x: pa.Array, type_name: str) -> pa.Array:
    ok = pc.match_substring_regex(x, _CONFORMING[type_name])
    if type_name in ("date", "timestamp"):  # the shape, then the calendar: 2024-02-30 is no date
        day = pc.utf8_slice_codeunits(x, 0, 10)
        parsed = pc.strptime(day, format="%Y-%m-%d", unit="s", error_is_null=True)
        ok = pc.and_(ok, pc.fill_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), day), False))
    return ok


def smallest(keys: pa.Table, k: int) -> pa.Table:
    """The `k` smallest rows of `keys` in the order of its columns (nulls last), sorted: a selection in linear
    time, then a sort of those `k` only."""
    order = [(name, "ascending") for name in keys.column_names]
    if keys.num_rows > k:
        keys = keys.take(pc.select_k_unstable(keys, k=k, sort_keys=order))
    return keys.take(pc.sort_indices(keys, sort_keys=order)) if keys.num_rows > 1 else keys


def failing_keys(keys: pa.Table, failing: pa.Array | np.ndarray, k: int) -> pa.Table:
    """`smallest` of the rows of `keys` where `failing` is true. When the first key column is of integers without
    nulls, only the failing rows whose first key is at most the `k`-th smallest failing one are taken (a linear
    selection in numpy): the `k` smallest rows are among them."""
    first = keys.column(0)
    if k and pa.types.is_integer(first.type) and first.null_count == 0 and keys.num_rows > 4 * k:
        mask = failing if isinstance(failing, np.ndarray) else failing.to_numpy(zero_copy_only=False)
        values = first.to_numpy()
        chosen = values[mask]
        if len(chosen) > k:
            mask = mask & (values <= np.partition(chosen, k - 1)[k - 1])
        return smallest(keys.take(np.flatnonzero(mask)), k)
    return smallest(keys.filter(failing), k)


def merge_keys(first: pa.Table | None, second: pa.Table | None, k: int) -> pa.Table | None:
    if first is None or second is None:
        return first if second is None else second
    return smallest(pa.concat_tables([first, second], promote_options="permissive"), k)


# -- duplicates (`unique`) ----------------------------------------------------------------------------------------

def duplicates(hashes: list[KeptHashes]) -> tuple[np.ndarray, int, int]:
    """From the merged hashes of a column's non-null values (`ColumnPartial.kept`): the sorted hashes that occur
    more than once, the rows holding them, and the duplicate count (values minus distinct values)."""
    if not hashes:
        return np.zeros(0, np.uint64), 0, 0
    values = np.concatenate([h.hashes for h in hashes])
    if all(h.counts is None for h in hashes):
        values.sort()
        counts = None
    else:
        counts = np.concatenate([np.ones(len(h.hashes), np.int64) if h.counts is None else h.counts.astype(np.int64)
                                 for h in hashes])
        order = np.argsort(values)
        values, counts = values[order], counts[order]
    if not len(values):
        return values, 0, 0
    if counts is None:  # mostly distinct: the few equal neighbours, not every run's start, are what is looked at
        equal = np.flatnonzero(values[1:] == values[:-1])
        runs = int(len(equal) and 1 + np.count_nonzero(np.diff(equal) != 1))
        return np.unique(values[equal]), len(equal) + runs, len(equal)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    counts = np.add.reduceat(counts, starts)
    repeated = counts > 1
    return values[starts][repeated], int(counts[repeated].sum()), int((counts[repeated] - 1).sum())


def key_bound(hashes: list[KeptHashes], repeated: np.ndarray, k: int, prefix: Prefix | None = None) -> Any:
    """A first key that the `k` smallest keys of the rows holding a `repeated` hash do not exceed: the `k`-th
    smallest among the rows whose keys were kept with their hashes, or among the check's `prefix` rows, whichever
    is smaller (any `k` such rows bound the smallest `k`; the two may hold the same rows, so they are not pooled),
    or None when neither knows `k` such rows."""
    known = [h for h in hashes if h.keys is not None]
    bounds = []
    if known:
        bounds.append(_kth_key(np.concatenate([h.keys for h in known]), np.concatenate([h.hashes for h in known]),
                               repeated, k))
    if prefix is not None and prefix.rows.num_rows and pa.types.is_integer(prefix.rows.schema.field(0).type):
        bounds.append(_kth_key(prefix.rows.column(0).to_numpy(), prefix.hashes, repeated, k))
    bounds = [b for b in bounds if b is not None]
    return min(bounds) if bounds else None


def keys_only_sample(hashes: list[KeptHashes], repeated: np.ndarray, k: int, key: pa.Field) -> pa.Table | None:
    """The sample of a `unique` check whose sample is its first key alone (the checked column is the key), when
    every share kept its hashes as they are with that key: the `k` smallest keys of the rows holding a `repeated`
    hash. None when some share did not."""
    if not hashes or any(h.keys is None for h in hashes):
        return None
    keys = np.concatenate([h.keys for h in hashes])[among(np.concatenate([h.hashes for h in hashes]), repeated)]
    chosen = np.partition(keys, k - 1)[:k] if len(keys) > k else keys
    return pa.table({key.name: pa.array(np.sort(chosen)).cast(key.type)})


def _kth_key(keys: np.ndarray, hashes: np.ndarray, repeated: np.ndarray, k: int) -> Any:
    if not len(repeated) or not k:
        return None
    keys = keys[among(hashes, repeated)]
    return np.partition(keys, k - 1)[k - 1].item() if len(keys) >= k else None


def duplicate_keys(rows: pa.Table, lookups: list[tuple[int, Compiled, np.ndarray, Any]], k: int
                   ) -> dict[int, pa.Table | None]:
    """The smallest sample keys of the rows of a share whose value is one of the duplicated hashes, per check. With
    a bound on their first key (`key_bound`), only the rows within it are hashed and looked up."""
    found: dict[int, pa.Table | None] = {}
    for number, check, repeated, bound in lookups:
        values = tracked(rows.column(check.column), check.column_kind)
        if check.column_kind is ColumnKind.BOOLEAN:
            values = values.cast(pa.int8())
        keys = rows.select(list(check.sample))
        if bound is None:
            failing = among(row_value_hashes(values), repeated)
        else:
            within = pc.less_equal(keys.column(0), pa.scalar(bound, keys.schema.field(0).type))
            at = np.flatnonzero(pc.fill_null(within, False).to_numpy(zero_copy_only=False))
            values, keys = values.take(at), keys.take(at)
            failing = among(row_value_hashes(values), repeated)
        if values.null_count:
            failing &= values.is_valid().to_numpy(zero_copy_only=False)
        found[number] = failing_keys(keys, failing, k) if failing.any() and check.sample else None
    return found
