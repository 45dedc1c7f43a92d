"""The statistics domain of a column: the values its statistics are computed on, whatever its Arrow type."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from profiler.model import ColumnKind


def domain(array: pa.Array | pa.ChunkedArray, kind: ColumnKind) -> pa.Array:
    """The column as the values its statistics are computed on: int64 integers, float64 floats, decimals as they
    are, strings, int32 epoch days for dates, int64 epoch microseconds for timestamps (zoned or not)."""
    array = combined(array)
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


def combined(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One array of the values of `array`; a chunked array of one chunk is that chunk, not a copy of it (as
    `combine_chunks` makes)."""
    if isinstance(array, pa.ChunkedArray):
        return array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    return array


def tracked(array: pa.Array | pa.ChunkedArray, kind: ColumnKind) -> pa.Array:
    """The values whose distinct count, top values and histogram a profile reports: the domain, with the NaN and
    infinities of float columns set aside (they are counted apart) and -0.0 folded into 0.0."""
    x = domain(array, kind)
    return finite_only(x) if kind is ColumnKind.FLOAT else x


def finite_only(x: pa.Array) -> pa.Array:
    """A float64 array with NaN and infinities turned into nulls and -0.0 into 0.0."""
    return pc.add(pc.if_else(pc.is_finite(x), x, pa.scalar(None, pa.float64())), 0.0)


_PROBE = 4096
"""How many leading values tell whether a text column has few values (at most one distinct in 8)."""


def few_values(column: pa.Array | pa.ChunkedArray, values: pa.Array) -> pa.DictionaryArray | None:
    """A text column's `values` (plain) dictionary-encoded when the column comes so or its leading values repeat
    much; else None. The statistics hash its distinct values once, and checks of a value test each once."""
    if isinstance(column, pa.ChunkedArray) and column.num_chunks == 1:
        column = column.chunk(0)
    if isinstance(column, pa.DictionaryArray):
        return column
    if len(values) < 2 * _PROBE or len(pc.unique(values.slice(0, _PROBE))) > _PROBE // 8:
        return None
    return pc.dictionary_encode(values)
