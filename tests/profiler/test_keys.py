"""Candidate keys are verified on the data: unique and non-null primary keys, foreign keys by containment; on Spark
and in-process (for tables profiled without Spark) alike."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from profiler.errors import InvalidProfileInput
from profiler.keys import candidate_foreign_keys, candidate_primary_keys
from profiler.keys_in_process import (
    candidate_foreign_keys_in_process,
    candidate_primary_keys_in_process,
    spark_try_cast,
)
from profiler.stats import parquet_files, profile_parquet

CUSTOMERS = 400
ORDERS = 1500


@pytest.fixture(scope="module")
def shop(spark, tmp_path_factory) -> dict:
    rng = np.random.default_rng(21)
    ids = np.arange(1000, 1000 + 2 * CUSTOMERS, 2)  # even numbers: odd ones inside the range are orphans
    near_unique = np.arange(CUSTOMERS)
    near_unique[-1] = 0  # one duplicate among 400: a distinct-count sketch cannot tell
    customers = pa.table({
        "id": rng.permutation(ids),
        "email": [f"c{i}@shop.example" for i in range(CUSTOMERS)],
        "country": rng.choice(["FR", "DE", "NL", "US"], CUSTOMERS),
        "near_unique": near_unique,
    })
    order_ref = np.repeat(np.arange(500_000, 500_000 + ORDERS // 3), 3)
    customer_id = rng.choice(ids, ORDERS)
    bad = customer_id.copy()
    bad[:40] = 2 * rng.integers(600, 620, 40) + 1  # odd ids inside the customers' range, which no one has
    orders = pa.table({
        "order_ref": order_ref,
        "line_no": np.tile([1, 2, 3], ORDERS // 3),
        "customer_id": pa.array(customer_id, mask=rng.random(ORDERS) < 0.05),
        "bad_customer_id": bad,
        "quantity": rng.integers(1, 6, ORDERS),
    })
    folder = tmp_path_factory.mktemp("shop")
    paths = {}
    for name, table in (("customers", customers), ("orders", orders)):
        paths[name] = str(folder / f"{name}.parquet")
        pq.write_table(table, paths[name])
    frames = {name: spark.read.parquet(path) for name, path in paths.items()}
    # exact_distinct_threshold=0: distinct counts stay sketch estimates, so verification has work to do.
    profiles = {name: profile_parquet(spark, path, exact_distinct_threshold=0, top_k=3) for name, path in paths.items()}
    return {"frames": frames, "files": {name: parquet_files([path]) for name, path in paths.items()},
            "profiles": profiles, "bad_values": len(set(bad[:40])), "orders": orders}


class _OnSpark:
    def __init__(self, shop: dict) -> None:
        self.tables = shop["frames"]

    def primary(self, name, profile, **options):
        return candidate_primary_keys(self.tables[name], profile, **options)

    def foreign(self, profiles, **options):
        return candidate_foreign_keys(self.tables, profiles, **options)


class _InProcess(_OnSpark):
    def __init__(self, shop: dict) -> None:
        self.tables = shop["files"]

    def primary(self, name, profile, **options):
        return candidate_primary_keys_in_process(self.tables[name], profile, **options)

    def foreign(self, profiles, **options):
        return candidate_foreign_keys_in_process(self.tables, profiles, **options)


@pytest.fixture(params=[_OnSpark, _InProcess], ids=["spark", "in_process"])
def keys(request, shop):
    return request.param(shop)


def test_primary_keys_are_verified_exactly(shop, keys):
    profile = shop["profiles"]["customers"]
    assert profile.column("near_unique").distinct_count >= 0.9 * CUSTOMERS  # the estimate made it a candidate
    found_keys = keys.primary("customers", profile, declared=[("id",), ("country",)])
    found = {k.columns: (k.verified, k.declared) for k in found_keys}
    assert found == {("id",): (True, True), ("email",): (True, False), ("country",): (False, True)}
    country = next(k for k in found_keys if k.columns == ("country",))
    assert (country.row_count, country.distinct_count, country.null_rows) == (CUSTOMERS, 4, 0)


def test_declared_composite_keys(shop, keys):
    found = keys.primary("orders", shop["profiles"]["orders"],
                         declared=[("order_ref", "line_no"), ("order_ref",), ("customer_id", "line_no")])
    verdicts = {k.columns: k.verified for k in found if k.declared}
    assert verdicts == {("order_ref", "line_no"): True, ("order_ref",): False, ("customer_id", "line_no"): False}
    with_nulls = next(k for k in found if k.columns == ("customer_id", "line_no"))
    orders = shop["orders"].to_pandas()
    complete = orders.dropna(subset=["customer_id"])
    assert with_nulls.null_rows == orders["customer_id"].isna().sum() > 0
    assert with_nulls.distinct_count == len(complete[["customer_id", "line_no"]].drop_duplicates())
    with pytest.raises(InvalidProfileInput) as error:
        keys.primary("orders", shop["profiles"]["orders"], declared=[("nope",)])
    assert error.value.field == "declared"


def test_foreign_keys_by_containment(shop, keys):
    found = keys.foreign(shop["profiles"], include_rejected=True)
    verdicts = {(f.child_table, f.child_columns, f.parent_table, f.parent_columns): (f.confirmed, f.orphan_values)
                for f in found}
    assert verdicts == {
        ("orders", ("customer_id",), "customers", ("id",)): (True, 0),
        ("orders", ("bad_customer_id",), "customers", ("id",)): (False, shop["bad_values"]),
    }
    confirmed = keys.foreign(shop["profiles"])
    assert [(f.child_columns, f.parent_columns, f.child_distinct) for f in confirmed] == [
        (("customer_id",), ("id",), len(set(shop["orders"].to_pandas()["customer_id"].dropna())))]


def test_foreign_key_parents_can_come_from_verified_keys(shop, keys):
    parents = {name: keys.primary(name, profile) for name, profile in shop["profiles"].items()}
    found = keys.foreign(shop["profiles"], parent_keys=parents)
    assert [(f.child_table, f.child_columns, f.parent_columns) for f in found] == [
        ("orders", ("customer_id",), ("id",))]


CAST_VALUES = [7, -129, 128, 2**31, Decimal("1.5"), Decimal("-1.5"), Decimal("2.45"), Decimal("2.449"),
               Decimal("99.95"), Decimal("-300.7")]


@pytest.mark.parametrize("target", ["tinyint", "int", "bigint", "decimal(4,1)", "decimal(3,0)"])
def test_child_values_are_cast_to_the_parent_type_as_spark_casts_them(spark, target):
    literals = [f"cast('{v}' as decimal(20,3))" if isinstance(v, Decimal) else f"cast({v} as bigint)"
                for v in CAST_VALUES]
    row = spark.sql("select " + ", ".join(f"try_cast({lit} as {target}) as v{i}"
                                          for i, lit in enumerate(literals))).collect()[0]
    data_type = spark.sql(f"select cast(null as {target}) as v").schema["v"].dataType
    assert [spark_try_cast(v, data_type) for v in CAST_VALUES] == list(row)


def test_foreign_keys_across_types_are_the_same_both_ways(spark, tmp_path):
    # Children of other types than their parent: Spark casts them to the parent's type before comparing, so that
    # 4.50 truncates to 4 (a confirmed key, both ways) and 0.15 rounds to 0.2.
    parents = pa.table({"id": pa.array(range(2, 602, 2), pa.int64()),
                        "code": pa.array([Decimal(i) / 10 for i in range(1, 301)], pa.decimal128(6, 1))})
    rng = np.random.default_rng(5)
    ids = rng.choice(np.arange(2, 600, 2), 200)  # below the largest id: 598.50 stays inside the range
    children = pa.table({
        "small_id": pa.array(np.where(np.arange(200) % 50 == 0, ids + 1, ids), pa.int32()),
        "money_id": pa.array([Decimal(int(v)) + Decimal("0.5") * (i % 2) for i, v in enumerate(ids)],
                             pa.decimal128(8, 2)),
        "fine_code": pa.array([Decimal(int(v)) / 100 for v in rng.integers(10, 3001, 200)], pa.decimal128(9, 3)),
        "int_code": pa.array(rng.integers(1, 29, 200), pa.int64()),
    })
    paths = {}
    for name, table in (("parents", parents), ("children", children)):
        paths[name] = str(tmp_path / f"{name}.parquet")
        pq.write_table(table, paths[name])
    profiles = {name: profile_parquet(spark, path) for name, path in paths.items()}
    on_spark = candidate_foreign_keys({name: spark.read.parquet(path) for name, path in paths.items()}, profiles,
                                      include_rejected=True)
    in_process = candidate_foreign_keys_in_process({name: parquet_files([path]) for name, path in paths.items()},
                                                   profiles, include_rejected=True)
    verdicts = {(f.child_columns[0], f.parent_columns[0]): f.confirmed for f in on_spark}
    assert verdicts == {("small_id", "id"): False, ("money_id", "id"): True, ("fine_code", "code"): True,
                        ("int_code", "code"): True}
    assert sorted(in_process, key=repr) == sorted(on_spark, key=repr)
