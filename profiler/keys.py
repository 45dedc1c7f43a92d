"""Candidate keys found in the data: primary keys (unique, non-null) and foreign keys (value containment).

Profiles propose, the data decides. A profile's distinct counts may be sketch estimates, so every candidate
is verified exactly on the data before it is reported as verified:

- primary keys: one aggregation computes, for every candidate (single columns the profile suggests plus the
  declared composites), the exact count of distinct key values and the rows with a null key part;
- foreign keys: one query of left-anti joins counts, for every type-compatible (child, parent) pair that the
  profiles allow (child distinct <= parent distinct, child range inside the parent's), the child's distinct
  values missing from the parent. Names play no part: `customer_id` is not linked to `customers.id` because
  of its name, only because its values are all there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from profiler.errors import InvalidProfileInput
from profiler.model import CandidateForeignKey, CandidateKey, ColumnKind, ColumnProfile, TableProfile

KEY_KINDS = frozenset({ColumnKind.INTEGER, ColumnKind.DECIMAL, ColumnKind.STRING, ColumnKind.DATE,
                       ColumnKind.TIMESTAMP})
"""Kinds that can hold identifiers; floats, booleans, binaries and nested values never do."""

FK_KINDS = frozenset({ColumnKind.INTEGER, ColumnKind.DECIMAL, ColumnKind.STRING})


def _positional(df: DataFrame) -> tuple[DataFrame, dict[str, str]]:
    names = list(df.columns)
    return df.toDF(*[f"c{i}" for i in range(len(names))]), {n: f"c{i}" for i, n in enumerate(names)}


def _resolve(names: Mapping[str, str], columns: Sequence[str], what: str) -> list[str]:
    missing = [c for c in columns if c not in names]
    if missing:
        raise InvalidProfileInput(f"{what}: no column named {missing[0]!r}", field=what)
    return [names[c] for c in columns]


def _looks_unique(column: ColumnProfile, row_count: int, slack: float) -> bool:
    if column.kind not in KEY_KINDS or column.null_count or not row_count or column.distinct_count is None:
        return False
    if column.distinct_exact:
        return column.distinct_count == row_count
    return column.distinct_count >= row_count * (1 - slack)


def candidate_primary_keys(df: DataFrame, profile: TableProfile, *, declared: Sequence[Sequence[str]] = (),
                           estimate_slack: float = 0.1) -> list[CandidateKey]:
    """Verified single-column keys suggested by the profile, plus every declared key with its verdict.

    `estimate_slack` is how far below the row count a sketch's distinct estimate may be for the column to be
    worth checking (estimates are within a few percent). One Spark aggregation checks all candidates.
    """
    if not 0 <= estimate_slack < 1:
        raise InvalidProfileInput("estimate_slack must be in [0, 1)", field="estimate_slack")
    work, names = _positional(df)
    suggested = [(c.name,) for c in profile.columns if _looks_unique(c, profile.row_count, estimate_slack)]
    declared_keys = [tuple(key) for key in declared]
    for key in declared_keys:
        if not key:
            raise InvalidProfileInput("declared keys need at least one column", field="declared")
        _resolve(names, key, "declared")
    keys = list(dict.fromkeys(declared_keys + suggested))
    if not keys:
        return []

    exprs: list[Column] = [F.count(F.lit(1)).alias("rows")]
    for i, key in enumerate(keys):
        cols = [F.col(c) for c in _resolve(names, key, "declared")]
        exprs.append(F.count_distinct(*cols).alias(f"d{i}"))
        any_null = cols[0].isNull()
        for col in cols[1:]:
            any_null = any_null | col.isNull()
        exprs.append(F.count_if(any_null).alias(f"n{i}"))
    row = work.agg(*exprs).collect()[0]
    rows = int(row["rows"])
    result: list[CandidateKey] = []
    for i, key in enumerate(keys):
        distinct, nulls = int(row[f"d{i}"]), int(row[f"n{i}"])
        verified = rows > 0 and nulls == 0 and distinct == rows
        is_declared = key in declared_keys
        if verified or is_declared:
            result.append(CandidateKey(key, verified, is_declared, rows, distinct, nulls))
    return result


@dataclass(frozen=True, slots=True)
class _Pair:
    child_table: str
    child: ColumnProfile
    parent_table: str
    parent: ColumnProfile


def _comparable(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _contained_range(child: ColumnProfile, parent: ColumnProfile) -> bool:
    if None in (child.min, child.max, parent.min, parent.max):
        return False
    try:
        return (_comparable(parent.min) <= _comparable(child.min)
                and _comparable(child.max) <= _comparable(parent.max))
    except TypeError:
        return False


def _compatible(child: ColumnProfile, parent: ColumnProfile) -> bool:
    if child.kind not in FK_KINDS or parent.kind not in FK_KINDS:
        return False
    numeric = {ColumnKind.INTEGER, ColumnKind.DECIMAL}
    return child.kind == parent.kind or (child.kind in numeric and parent.kind in numeric)


def candidate_foreign_keys(tables: Mapping[str, DataFrame], profiles: Mapping[str, TableProfile], *,
                           parent_keys: Mapping[str, Sequence[CandidateKey]] | None = None,
                           min_child_distinct: int = 2, estimate_slack: float = 0.1,
                           include_rejected: bool = False) -> list[CandidateForeignKey]:
    """Single-column foreign keys between tables of one source, confirmed by containment on the data.

    Parents are the verified single-column keys in `parent_keys` (from `candidate_primary_keys`); without it,
    `candidate_primary_keys` runs on every table first (one aggregation each), since a distinct estimate
    cannot tell a unique column from an almost unique one. A child column qualifies when its kind is compatible,
    it has at least `min_child_distinct` distinct values (a constant column is contained in anything), no more
    distinct values than the parent, and its min/max lie inside the parent's. One Spark query then counts, per
    pair, the child's distinct non-null values absent from the parent; zero confirms the foreign key.
    """
    missing = set(tables) ^ set(profiles)
    if missing:
        raise InvalidProfileInput(f"tables and profiles must name the same tables; {sorted(missing)[0]!r} is in "
                                  "only one", field="tables")
    if parent_keys is None:
        parent_keys = {name: candidate_primary_keys(tables[name], profile, estimate_slack=estimate_slack)
                       for name, profile in profiles.items()}
    parents: list[tuple[str, ColumnProfile]] = []
    for table, profile in profiles.items():
        for column in profile.columns:
            keyed = any(k.verified and k.columns == (column.name,) for k in parent_keys.get(table, ()))
            if keyed and column.kind in FK_KINDS:
                parents.append((table, column))

    pairs: list[_Pair] = []
    for parent_table, parent in parents:
        for child_table, profile in profiles.items():
            for child in profile.columns:
                if child_table == parent_table and child.name == parent.name:
                    continue
                if not _compatible(child, parent) or child.distinct_count is None or parent.distinct_count is None:
                    continue
                if child.distinct_count < min_child_distinct:
                    continue
                limit = parent.distinct_count * (1 + (0 if parent.distinct_exact else estimate_slack))
                if child.distinct_count > limit or not _contained_range(child, parent):
                    continue
                pairs.append(_Pair(child_table, child, parent_table, parent))
    if not pairs:
        return []

    positional = {name: _positional(df) for name, df in tables.items()}
    branches: list[DataFrame] = []
    for i, pair in enumerate(pairs):
        child_df, child_names = positional[pair.child_table]
        parent_df, parent_names = positional[pair.parent_table]
        parent_type = parent_df.schema[parent_names[pair.parent.name]].dataType
        child_col = F.col(child_names[pair.child.name])
        # A child value the parent's type cannot hold stays null after try_cast, never joins, and so counts as
        # an orphan, as it should.
        child_values = child_df.where(child_col.isNotNull()).select(child_col.try_cast(parent_type).alias("v"))
        child_values = child_values.distinct()
        parent_values = parent_df.select(F.col(parent_names[pair.parent.name]).alias("v")).distinct()
        orphans = child_values.join(parent_values, "v", "left_anti").agg(F.count(F.lit(1)).alias("orphans"))
        distinct = child_values.agg(F.count(F.lit(1)).alias("distinct"))
        branches.append(orphans.crossJoin(distinct).select(F.lit(i).alias("pair"), "orphans", "distinct"))
    union = branches[0]
    for branch in branches[1:]:
        union = union.unionByName(branch)

    result: list[CandidateForeignKey] = []
    for row in sorted(union.collect(), key=lambda r: r["pair"]):
        pair = pairs[row["pair"]]
        orphans = int(row["orphans"])
        if orphans == 0 or include_rejected:
            result.append(CandidateForeignKey(
                child_table=pair.child_table, child_columns=(pair.child.name,), parent_table=pair.parent_table,
                parent_columns=(pair.parent.name,), confirmed=orphans == 0, child_distinct=int(row["distinct"]),
                orphan_values=orphans))
    return result
