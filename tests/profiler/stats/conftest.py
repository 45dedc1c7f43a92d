"""The rich table profiled once for the statistics tests (DuckDB holds the same rows as the oracle)."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest

from profiler.stats import profile_parquet
from tests.support.profiler_tables import rich_table


@pytest.fixture(scope="package")
def rich(spark, tmp_path_factory) -> dict:
    table = rich_table()
    path = tmp_path_factory.mktemp("rich") / "rich.parquet"
    pq.write_table(table, path)
    profile, sample = profile_parquet(spark, str(path), top_k=5, exact_distinct_threshold=1000, with_sample=True)
    con = duckdb.connect()
    con.register("t", table)
    return {"table": table, "path": path, "profile": profile, "sample": sample, "db": con,
            "pandas": table.to_pandas()}
