"""Splitting a table into shares without Spark, as the tests of mergeable partials do."""

from __future__ import annotations

import pyarrow as pa
from pyspark.sql.pandas.types import from_arrow_schema

from profiler.kinds import column_kind
from profiler.model import ColumnKind
from profiler.partial import ColumnSpec, PartialOptions, bottom_k_size

OPTIONS = PartialOptions(bottom_k=bottom_k_size(0.02), row_bottom_k=bottom_k_size(0.01), kll_k=200,
                         sample_rows=500, seed=1)


def specs_of(table: pa.Table) -> list[ColumnSpec]:
    kinds = [column_kind(f.dataType) for f in from_arrow_schema(table.schema).fields]
    return [ColumnSpec(kind, hashed=kind is not ColumnKind.OTHER) for kind in kinds]


def shares(table: pa.Table, cuts: list[int]) -> list[pa.Table]:
    edges = [0, *cuts, table.num_rows]
    return [table.slice(a, b - a) for a, b in zip(edges, edges[1:])]
