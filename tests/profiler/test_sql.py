"""A Spark SQL query over Parquet files: its count and first rows checked against pyarrow on the same file, its views
private to the query, Spark's refusal as a one-line `QueryFailed`, and bad arguments refused before Spark runs."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from profiler.errors import InvalidProfileInput
from profiler.sql import QueryFailed, query_parquet


@pytest.fixture
def orders(tmp_path) -> str:
    path = str(tmp_path / "orders.parquet")
    pq.write_table(pa.table({"id": list(range(1, 301)), "total": [(i % 37) * 1.5 - 3 for i in range(1, 301)]}), path)
    return path


def test_the_count_and_first_rows_are_pyarrows(spark, orders):
    found = query_parquet(spark, {"orders": [orders]}, "SELECT id, total FROM orders WHERE total < 0 ORDER BY id",
                          sample=5, timeout_s=300)
    table = pq.read_table(orders)
    failing = table.filter(pc.less(table["total"], 0))
    assert found.count == failing.num_rows > 5
    assert found.columns == ["id", "total"]
    assert found.rows == list(zip(failing["id"].to_pylist()[:5], failing["total"].to_pylist()[:5], strict=True))
    with pytest.raises(QueryFailed, match="TABLE_OR_VIEW_NOT_FOUND"):  # the view belonged to that query alone
        query_parquet(spark, {}, "SELECT id FROM orders", sample=1, timeout_s=300)


def test_spark_refusing_a_query_is_one_line(spark, orders):
    with pytest.raises(QueryFailed) as refused:
        query_parquet(spark, {"orders": [orders]}, "SELECT totl FROM orders", sample=1, timeout_s=300)
    assert "UNRESOLVED_COLUMN" in refused.value.message and "\n" not in refused.value.message


@pytest.mark.parametrize(("views", "sample", "timeout_s", "field"), [
    ({"orders": []}, 1, 10, "views"), ({}, -1, 10, "sample"), ({}, 1, 0, "timeout_s")])
def test_bad_arguments_are_refused_before_spark_runs(views, sample, timeout_s, field):
    with pytest.raises(InvalidProfileInput) as refused:
        query_parquet(None, views, "SELECT 1", sample=sample, timeout_s=timeout_s)
    assert refused.value.field == field
