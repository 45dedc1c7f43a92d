"""Candidate keys found in the data: primary keys (unique, non-null) and foreign keys (value containment).

Profiles propose, the data decides. A profile's distinct counts may be sketch estimates, so every candidate
is verified exactly on the data before it is reported as verified:

- primary keys: one aggregation computes, for every candidate (single columns the profile suggests plus the
  declared composites), the exact count of distinct key values and the rows with a null key part;
- foreign keys: the profiles choose the pairs worth checking (`profiler.key_candidates.foreign_key_pairs`: a
  key-like parent key, a compatible child whose name points at it, distinct counts, min/max and bottom-k
  sketches that allow containment), then one query, a single join of every surviving pair's values tagged with
  the pair, counts the child's distinct values missing from the parent. A name proposes, the data confirms:
  `customer_id` is linked to `customers.id` only when its values are all there, and `quantity` never is,
  whatever its values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from profiler.key_candidates import foreign_key_verdicts, key_verdicts, pairs_to_check, primary_key_candidates
from profiler.model import CandidateForeignKey, CandidateKey, TableProfile


def _positional(df: DataFrame) -> tuple[DataFrame, dict[str, str]]:
    names = list(df.columns)
    return df.toDF(*[f"c{i}" for i in range(len(names))]), {n: f"c{i}" for i, n in enumerate(names)}


def candidate_primary_keys(df: DataFrame, profile: TableProfile, *, declared: Sequence[Sequence[str]] = (),
                           estimate_slack: float = 0.1) -> list[CandidateKey]:
    """Verified single-column keys suggested by the profile, plus every declared key with its verdict.

    `estimate_slack` is how far below the row count a sketch's distinct estimate may be for the column to be
    worth checking (estimates are within a few percent). One Spark aggregation checks all candidates.
    """
    work, names = _positional(df)
    keys, declared_keys = primary_key_candidates(list(names), profile, declared, estimate_slack)
    if not keys:
        return []

    exprs: list[Column] = [F.count(F.lit(1)).alias("rows")]
    for i, key in enumerate(keys):
        cols = [F.col(names[c]) for c in key]
        exprs.append(F.count_distinct(*cols).alias(f"d{i}"))
        any_null = cols[0].isNull()
        for col in cols[1:]:
            any_null = any_null | col.isNull()
        exprs.append(F.count_if(any_null).alias(f"n{i}"))
    row = work.agg(*exprs).collect()[0]
    counts = [(int(row[f"d{i}"]), int(row[f"n{i}"])) for i in range(len(keys))]
    return key_verdicts(keys, declared_keys, int(row["rows"]), counts)


def candidate_foreign_keys(tables: Mapping[str, DataFrame], profiles: Mapping[str, TableProfile], *,
                           parent_keys: Mapping[str, Sequence[CandidateKey]] | None = None,
                           min_child_distinct: int = 2, estimate_slack: float = 0.1,
                           include_rejected: bool = False,
                           names: Mapping[str, str] | None = None) -> list[CandidateForeignKey]:
    """Single-column foreign keys between tables of one source, confirmed by containment on the data.

    Parents are the verified single-column keys in `parent_keys` (from `candidate_primary_keys`); without it,
    `candidate_primary_keys` runs on every table first (one aggregation each), since a distinct estimate
    cannot tell a unique column from an almost unique one. A child column qualifies when its kind is compatible,
    its name points at the parent (see `profiler.key_names`; `names` gives the tables' own names when the keys
    of `tables` are URNs or paths), it has at least `min_child_distinct` distinct values (a constant column is
    contained in anything), no more distinct values than the parent, its min/max lie inside the parent's and its
    sketch allows containment. One Spark query then counts, per pair, the child's distinct non-null values
    absent from the parent; zero confirms the foreign key (`foreign_key_verdicts` settles children contained in
    several parents).
    """
    pairs = pairs_to_check(tables, profiles, parent_keys, candidate_primary_keys,
                           min_child_distinct=min_child_distinct, estimate_slack=estimate_slack, names=names)
    if not pairs:
        return []

    # All pairs in one query: every child's distinct values cast to its parent's type (try_cast: a value the
    # parent's type cannot hold turns null, never joins, and so counts as an orphan, as it should), tagged with
    # the pair and carried as strings so that pairs of different types share one left-anti join.
    positional = {name: _positional(df) for name, df in tables.items()}
    child_branches: list[DataFrame] = []
    parent_branches: list[DataFrame] = []
    for i, pair in enumerate(pairs):
        child_df, child_names = positional[pair.child_table]
        parent_df, parent_names = positional[pair.parent_table]
        parent_type = parent_df.schema[parent_names[pair.parent.name]].dataType
        child_col = F.col(child_names[pair.child.name])
        child_branches.append(child_df.where(child_col.isNotNull()).select(
            F.lit(i).alias("pair"), child_col.try_cast(parent_type).cast("string").alias("v")))
        parent_branches.append(parent_df.select(
            F.lit(i).alias("pair"), F.col(parent_names[pair.parent.name]).cast("string").alias("v")))
    children = _union(child_branches).distinct()
    parents = _union(parent_branches).distinct().withColumn("found", F.lit(True))
    per_pair = (children.join(parents, ["pair", "v"], "left").groupBy("pair")
                .agg(F.count(F.lit(1)).alias("distinct"), F.count_if(F.col("found").isNull()).alias("orphans")))
    counts = {row["pair"]: (int(row["orphans"]), int(row["distinct"])) for row in per_pair.collect()}
    return foreign_key_verdicts(pairs, [counts.get(i, (0, 0)) for i in range(len(pairs))],
                                include_rejected=include_rejected)


def _union(frames: Sequence[DataFrame]) -> DataFrame:
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    return union
