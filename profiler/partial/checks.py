"""Aggregate checks over one share of the rows: which rows fail each check, how many, and the smallest keys of them.

A check is compiled once against the table's columns (`compile_checks`), then every share computes a
`CheckPartial` per row-by-row check: its failing-row count (the kernels: `profiler.partial.failing`; a text column
of few values is checked on its distinct values, with the dictionary encoding its statistics made) and the `k`
smallest sample keys of its failing rows (a small Arrow table; `_Sampler` finds them among the share's smallest
keys when it can). Partials merge by summing counts and keeping the `k` smallest keys of both, so the result does
not depend on how tasks were grouped. A `unique` check's column keeps the value hashes its statistics compute anyway
(`ColumnSpec.keep_hashes`); duplicate values are found from the merged hashes (`duplicates`, exact up to 64-bit hash
collisions). The keys of their rows then come from what the statistics pass kept when that proves them (the kept
keys, when the key is the checked column: `keys_only_sample`; the rows of each share's smallest keys: `Prefix`),
else from a later pass over the shares (`duplicate_keys`). Hashes kept as they are come with their rows' integer
first key, which bounds the keys that pass looks for (`key_bound`), so that it hashes again only the rows within
the bound.
"""

from __future__ import annotations

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
from profiler.partial.failing import failing_rows
from profiler.partial.hashing import among, row_value_hashes

ROW_KINDS = ("not_null", "accepted_values", "range", "regex", "length", "type_conformance")
"""Checks a share decides row by row."""

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
                failing = failing_rows(columns[at], check.kind, check.params, check.column_kind)
                partial.failing = int(np.count_nonzero(failing) if isinstance(failing, np.ndarray)
                                      else pc.sum(failing).as_py() or 0)
            else:  # counted on the distinct values; rows are looked at only for the sample keys of failing ones
                failing = np.asarray(
                    failing_rows(values.dictionary, check.kind, check.params, check.column_kind), np.bool_)
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
