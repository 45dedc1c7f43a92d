"""Which rows of one share fail a row-by-row check (`profiler.partial.checks.ROW_KINDS`): the vectorised kernels.

Each returns a boolean per row, an Arrow array or a numpy one: numbers are compared in numpy, where a chain of Arrow
kernels cost several times more; text is matched by RE2 through Arrow, after a look at each value's first byte
where that can rule a value out.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profiler.model import ColumnKind

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


def failing_rows(x: pa.Array, kind: str, params: dict[str, Any],
                 column_kind: ColumnKind | None) -> pa.Array | np.ndarray:
    """A boolean per row, true where the row fails the check of `kind` and `params` on a column of `column_kind`
    (never null). Ranges and lengths, and accepted integers of a narrow span, are decided in numpy (one pass over the
    numbers, not a chain of Arrow kernels)."""
    if kind == "not_null":
        return pc.is_null(x)
    if kind in ("range", "length"):
        numbers = _numbers(pc.utf8_length(x) if column_kind is ColumnKind.STRING else pc.binary_length(x)
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
        lengths = pc.utf8_length(x) if column_kind is ColumnKind.STRING else pc.binary_length(x)
        ok = _within(lengths, params.get("min"), params.get("max"), pc.greater_equal, pc.less_equal)
    else:
        ok = _conforms(x, params["type"]) if column_kind is ColumnKind.STRING else pc.is_valid(x)
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
