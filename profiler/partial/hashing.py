"""64-bit hashes of column values, vectorised: what distinct-count sketches and the distinct-row sketch keep.

Values hash alike in every share of a table (strings by their bytes, numbers by their bits in the statistics
domain), so sketches built in different tasks merge into the sketch of the whole. A row's hash folds its columns'
value hashes in column order, nulls included (they share one hash).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_PRIME = np.uint64(0x100000001B3)
_NULL_HASH = np.uint64(0x9E3779B97F4A7C15)


def mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: spreads every input bit over the whole 64-bit word."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * _MIX1
        x = x ^ (x >> np.uint64(27))
        x = x * _MIX2
        return x ^ (x >> np.uint64(31))


_INVERSE = np.uint64(pow(int(_PRIME), -1, 2**64))
"""The multiplicative inverse of `_PRIME` modulo 2^64 (odd numbers have one)."""
_POWERS_CACHED = 1 << 22
"""Powers `_powers` keeps between calls (32 MB per base): enough for a batch of a few MB of string data."""
_powers_cache: dict[int, np.ndarray] = {}


def _powers(base: np.uint64, count: int) -> np.ndarray:
    """base^1 ... base^count modulo 2^64 (at least `count` of them)."""
    cached = _powers_cache.get(int(base))
    if cached is not None and len(cached) >= count:
        return cached
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(max(count, 1 << 16), base, np.uint64))
    if count <= _POWERS_CACHED:
        _powers_cache[int(base)] = powers
    return powers


def _bytes_hash(array: pa.Array) -> np.ndarray:
    """64-bit hashes of the values of a string or binary array without nulls: a polynomial over the bytes
    (byte i of a value, plus one, times P^(i + 1)), computed for all values at once, then mixed with the length.

    Each byte is multiplied by the power of its place in the whole data buffer, which needs no per-byte positions;
    a value's sum is then brought back to its own first byte by the inverse power of where it starts."""
    if len(array) == 0:
        return np.zeros(0, np.uint64)
    wide = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
    offsets = np.frombuffer(array.buffers()[1], np.int64 if wide else np.int32)
    offsets = offsets[array.offset:array.offset + len(array) + 1].astype(np.int64)
    first, last = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    sums = np.zeros(len(array), np.uint64)
    if last == first:  # empty strings only
        return mix(sums ^ mix(lengths.astype(np.uint64)))
    size = last - first
    data = np.frombuffer(array.buffers()[2], np.uint8)[first:last]
    starts = offsets[:-1] - first
    up = _powers(_PRIME, size)[:size]
    with np.errstate(over="ignore"):
        terms = data * up
        terms += up  # (byte + 1) * P^(place + 1)
        filled = lengths > 0
        sums[filled] = np.add.reduceat(terms, starts[filled])
        later = starts > 0
        sums[later] *= _powers(_INVERSE, size)[starts[later] - 1]
    return mix(sums ^ mix(lengths.astype(np.uint64)))


def value_hashes(values: pa.Array) -> np.ndarray:
    """64-bit hashes of non-null values in a statistics domain (int64, float64, decimal, string, binary)."""
    kind = values.type
    if _is_text(kind):
        if _repetitive(values):  # hash each distinct value once
            encoded = pc.dictionary_encode(values)
            return _bytes_hash(encoded.dictionary)[encoded.indices.to_numpy(zero_copy_only=False)]
        return _bytes_hash(values)
    if pa.types.is_decimal128(kind):
        words = np.frombuffer(values.buffers()[1], np.uint64).reshape(-1, 2)[values.offset:values.offset + len(values)]
        return mix(words[:, 0] ^ mix(words[:, 1]))
    if pa.types.is_decimal(kind):
        return _bytes_hash(values.cast(pa.string()))
    if pa.types.is_floating(kind):
        return mix(values.to_numpy(zero_copy_only=False).astype(np.float64).view(np.uint64))
    return mix(values.to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64))


_PROBE = 1024
"""Leading values `_repetitive` looks at."""


def _repetitive(values: pa.Array) -> bool:
    """Whether a long array's leading values repeat enough (at most a quarter distinct) that hashing its distinct
    values and looking them up costs less than hashing every value's bytes."""
    return len(values) > 8 * _PROBE and pc.count_distinct(values.slice(0, _PROBE)).as_py() <= _PROBE // 4


def row_value_hashes(values: pa.Array, encoded: pa.DictionaryArray | None = None) -> np.ndarray:
    """64-bit hashes of every slot of `values`, nulls included (they share one hash). `encoded`: text `values`
    dictionary-encoded already (`domain.few_values`), whose distinct values are then hashed once."""
    if encoded is not None:
        hashes = _bytes_hash(encoded.dictionary)
        indices = encoded.indices
        if not indices.null_count:
            return hashes[indices.to_numpy()]
        return np.append(hashes, _NULL_HASH)[pc.fill_null(indices, len(hashes)).to_numpy()]
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


# -- row hashes ---------------------------------------------------------------------------------------------------

def new_row_hashes(rows: int) -> np.ndarray:
    """The running hashes of `rows` rows before any column is folded in."""
    return np.full(rows, _NULL_HASH, np.uint64)


def fold_into_rows(row_hashes: np.ndarray, hashes: np.ndarray) -> None:
    """Folds one column's slot hashes (`row_value_hashes`) into the running row hashes, in place."""
    with np.errstate(over="ignore"):
        row_hashes *= _PRIME
        row_hashes ^= hashes


def float_row_values(x: pa.Array) -> pa.Array:
    """A float64 column as rows compare it: -0.0 equal to 0.0 and every NaN to every other (as pandas compares
    rows), infinities and NaN kept apart from nulls."""
    canonical = pc.add(x, 0.0)
    return pc.if_else(pc.is_nan(canonical), pa.scalar(float("nan")), canonical)


def other_row_hashes(array: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """Slot hashes of a column no statistic covers: a column of nulls only hashes alike everywhere, times and
    durations by their integers; None for values rows cannot be compared by (nested values, intervals)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    if pa.types.is_null(kind):
        return np.full(len(array), _NULL_HASH, np.uint64)
    if pa.types.is_time(kind) or pa.types.is_duration(kind) or pa.types.is_date64(kind):
        integers = array.cast(pa.int32() if kind.bit_width == 32 else pa.int64())  # time32 casts to int32 only
        return row_value_hashes(integers.cast(pa.int64()))
    return None


# -- membership ---------------------------------------------------------------------------------------------------

_SMALL_SET = 1 << 16
"""Up to this many hashes, Arrow's hash-set lookup is the fastest exact test; more make building its set dearer than
a sorted search."""


def among(hashes: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Whether each of `hashes` is one of `chosen` (sorted, distinct), exactly. A bitmap of the chosen hashes' low
    bits (64 slots per hash, at most 4 MB) rules most other hashes out at one lookup each; only the rest are looked
    up exactly, which a sorted search alone made several times dearer."""
    found = np.zeros(len(hashes), np.bool_)
    if not len(chosen) or not len(hashes):
        return found
    slots = max(1 << 16, min(1 << 22, 1 << (64 * len(chosen)).bit_length()))
    low = np.uint64(slots - 1)
    bitmap = np.zeros(slots, np.bool_)
    bitmap[(chosen & low).astype(np.intp)] = True
    candidates = np.flatnonzero(bitmap[(hashes & low).astype(np.intp)])
    if len(candidates) > len(hashes) // 4:  # most of them may be chosen: look every one up
        candidates = slice(None)
    probed = hashes[candidates]
    if len(chosen) <= _SMALL_SET:
        found[candidates] = pc.is_in(pa.array(probed), value_set=pa.array(chosen)).to_numpy(zero_copy_only=False)
    else:  # a sorted search is fast on sorted keys
        order = np.argsort(probed)
        keys = probed[order]
        hit = np.empty(len(keys), np.bool_)
        hit[order] = chosen[np.minimum(np.searchsorted(chosen, keys), len(chosen) - 1)] == keys
        found[candidates] = hit
    return found
