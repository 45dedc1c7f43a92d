"""Candidate keys verified in this process on Parquet files, without Spark: what `profiler.keys` checks with
Spark, for tables small enough to be profiled in-process (`profiler.stats.profile_parquet_in_process`).

The candidates and verdicts are the ones of `profiler.keys` (`profiler.key_candidates`); the counts follow Spark's
semantics: a key's distinct values are counted over the rows without a null part (`count(distinct a, b)`), and a
child value is compared with the parent's after Spark's `try_cast` to the parent's type (a decimal child truncated
towards zero into an integer parent, rounded half up to a decimal parent's scale, null when out of range, where
a null counts once as an orphan).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import pyarrow.compute as pc
from pyspark.sql import types as T

from profiler.key_candidates import foreign_key_verdicts, key_verdicts, pairs_to_check, primary_key_candidates
from profiler.model import CandidateForeignKey, CandidateKey, TableProfile
from profiler.stats.shares import ParquetFiles

_WIDE = Context(prec=100)
_INTEGRAL_BITS = {T.ByteType: 8, T.ShortType: 16, T.IntegerType: 32, T.LongType: 64}


def candidate_primary_keys_in_process(table: ParquetFiles, profile: TableProfile, *,
                                      declared: Sequence[Sequence[str]] = (),
                                      estimate_slack: float = 0.1) -> list[CandidateKey]:
    """`profiler.keys.candidate_primary_keys` on Parquet files read in this process."""
    keys, declared_keys = primary_key_candidates(table.arrow_schema.names, profile, declared, estimate_slack)
    if not keys:
        return []
    data = table.read(list(dict.fromkeys(name for key in keys for name in key)))
    counts = []
    for key in keys:
        any_null = pc.is_null(data.column(key[0]))
        for name in key[1:]:
            any_null = pc.or_(any_null, pc.is_null(data.column(name)))
        nulls = pc.sum(any_null).as_py() or 0
        complete = data.select(list(key)).filter(pc.invert(any_null))
        distinct = complete.group_by(list(key)).aggregate([]).num_rows
        counts.append((distinct, nulls))
    return key_verdicts(keys, declared_keys, data.num_rows, counts)


def candidate_foreign_keys_in_process(tables: Mapping[str, ParquetFiles], profiles: Mapping[str, TableProfile], *,
                                      parent_keys: Mapping[str, Sequence[CandidateKey]] | None = None,
                                      min_child_distinct: int = 2, estimate_slack: float = 0.1,
                                      include_rejected: bool = False,
                                      names: Mapping[str, str] | None = None) -> list[CandidateForeignKey]:
    """`profiler.keys.candidate_foreign_keys` on Parquet files read in this process, a column at a time."""
    pairs = pairs_to_check(tables, profiles, parent_keys, candidate_primary_keys_in_process,
                           min_child_distinct=min_child_distinct, estimate_slack=estimate_slack, names=names)
    needed: dict[str, set[str]] = {}
    for pair in pairs:
        needed.setdefault(pair.child_table, set()).add(pair.child.name)
        needed.setdefault(pair.parent_table, set()).add(pair.parent.name)
    distinct: dict[tuple[str, str], list[Any]] = {}
    for table, columns in needed.items():  # one read per table
        data = tables[table].read(sorted(columns))
        for column in columns:
            distinct[(table, column)] = pc.unique(data.column(column).drop_null()).to_pylist()
    cast: dict[tuple[str, str, str], frozenset[Any]] = {}

    def values(table: str, column: str) -> list[Any]:
        return distinct[(table, column)]

    def values_as(table: str, column: str, data_type: T.DataType) -> frozenset[Any]:
        """The distinct values of a column cast to `data_type` (None standing for those that do not fit)."""
        key = (table, column, data_type.simpleString())
        if key not in cast:
            found = values(table, column)
            same = tables[table].schema[column].dataType == data_type
            cast[key] = frozenset(found if same else (spark_try_cast(v, data_type) for v in found))
        return cast[key]

    counts = []
    for pair in pairs:
        parent_type = tables[pair.parent_table].schema[pair.parent.name].dataType
        child = values_as(pair.child_table, pair.child.name, parent_type)
        parent = values_as(pair.parent_table, pair.parent.name, parent_type)
        counts.append((len(child - parent), len(child)))  # a None (values that do not fit) is never a parent
    return foreign_key_verdicts(pairs, counts, include_rejected=include_rejected)


def spark_try_cast(value: Any, data_type: T.DataType) -> Any:
    """A key value (int, Decimal or str) as Spark's `try_cast` to `data_type` gives it, None where it gives null."""
    bits = next((b for t, b in _INTEGRAL_BITS.items() if isinstance(data_type, t)), None)
    if bits is not None:
        number = int(value)  # a Decimal is truncated towards zero, as Spark casts it
        return number if -(2 ** (bits - 1)) <= number < 2 ** (bits - 1) else None
    if isinstance(data_type, T.DecimalType):
        exact = Decimal(value).quantize(Decimal(1).scaleb(-data_type.scale), rounding=ROUND_HALF_UP, context=_WIDE)
        return exact if abs(exact) < Decimal(10) ** (data_type.precision - data_type.scale) else None
    return value


__all__ = ["candidate_foreign_keys_in_process", "candidate_primary_keys_in_process", "spark_try_cast"]
