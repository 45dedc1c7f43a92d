"""Candidate keys are verified on the data: unique and non-null primary keys, foreign keys by containment; on Spark
and in-process (for tables profiled without Spark) alike."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from profiler.errors import InvalidProfileInput
from profiler.key_candidates import contained_in_sketch
from profiler.keys import candidate_foreign_keys, candidate_primary_keys
from profiler.keys_in_process import (
    candidate_foreign_keys_in_process,
    candidate_primary_keys_in_process,
    spark_try_cast,
)
from profiler.stats import parquet_files, profile_parquet, profile_parquet_in_process
from tests.support.foreign_keys import build_generated_schema, declared_foreign_keys, export_tables, score

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
            "profiles": profiles, "orders": orders, "customers": customers}


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
    customers = shop["customers"].to_pandas()
    unique = {name for name in customers if customers[name].is_unique and customers[name].notna().all()}
    # A table without a declared key: its unique columns of key-like types are proposed, and verified exactly.
    found = {k.columns: (k.verified, k.declared) for k in keys.primary("customers", profile)}
    assert found == {(name,): (True, False) for name in unique} == {("id",): (True, False), ("email",): (True, False)}

    found_keys = keys.primary("customers", profile, declared=[("id",), ("country",)])
    found = {k.columns: (k.verified, k.declared) for k in found_keys}
    assert found == {("id",): (True, True), ("country",): (False, True)}  # email is unique, but no key by name
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


def _orphans(child, parent) -> int:
    return len(set(child.dropna()) - set(parent))


def test_foreign_keys_by_containment(shop, keys):
    found = keys.foreign(shop["profiles"], include_rejected=True)
    orders, customers = shop["orders"].to_pandas(), shop["customers"].to_pandas()
    assert {(f.child_table, f.child_columns, f.parent_table, f.parent_columns) for f in found if f.confirmed} == {
        ("orders", (name,), "customers", ("id",)) for name in ("customer_id", "bad_customer_id")
        if _orphans(orders[name], customers["id"]) == 0} == {("orders", ("customer_id",), "customers", ("id",))}
    for rejected in (f for f in found if not f.confirmed):  # those the sketches let through to the exact check
        assert rejected.orphan_values == _orphans(orders[rejected.child_columns[0]], customers["id"]) > 0
    confirmed = keys.foreign(shop["profiles"])
    assert [(f.child_columns, f.parent_columns, f.child_distinct) for f in confirmed] == [
        (("customer_id",), ("id",), len(set(orders["customer_id"].dropna())))]


def test_foreign_key_parents_can_come_from_verified_keys(shop, keys):
    parents = {name: keys.primary(name, profile) for name, profile in shop["profiles"].items()}
    found = keys.foreign(shop["profiles"], parent_keys=parents)
    assert [(f.child_table, f.child_columns, f.parent_columns) for f in found] == [
        ("orders", ("customer_id",), ("id",))]


def test_sketches_reject_children_with_missing_values_and_never_a_contained_one(tmp_path):
    # 5,000 parent keys: more than a default sketch keeps, so the sketch sees part of them only.
    rng = np.random.default_rng(3)
    parent_ids = np.arange(1, 10_001, 2)
    contained = rng.choice(parent_ids, 4000)
    orphaned = np.concatenate([rng.choice(parent_ids, 3500), np.arange(2, 1002, 2)])  # 500 even values: orphans
    paths = {"parents": pa.table({"id": parent_ids}), "children": pa.table({"a": contained, "b": orphaned})}
    for name, table in paths.items():
        pq.write_table(table, tmp_path / f"{name}.parquet")
    profiles = {name: profile_parquet_in_process(str(tmp_path / f"{name}.parquet")) for name in paths}
    parent, children = profiles["parents"].column("id"), profiles["children"]
    assert len(parent.distinct_sketch) // 8 < parent.distinct_count  # a partial view of the parent
    assert contained_in_sketch(children.column("a"), parent)
    assert not contained_in_sketch(children.column("b"), parent)


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
    # Children of another numeric type than their parent skip the sketches (values hash by kind) and are cast to
    # the parent's type by the exact check, as Spark casts them. Decimals with a fraction never hold keys.
    accounts = pa.table({"id": pa.array(range(2, 602, 2), pa.int64()),
                         "account_code": pa.array([Decimal(i) for i in range(1, 301)], pa.decimal128(6, 0))})
    rng = np.random.default_rng(5)
    ids = rng.choice(np.arange(2, 600, 2), 200)
    odd = np.where(np.arange(200) % 50 == 0, ids + 1, ids)  # four values no account has
    entries = pa.table({
        "account_id": pa.array(odd, pa.int32()),
        "main_account_id": pa.array([Decimal(int(v)) for v in ids], pa.decimal128(10, 0)),
        "old_account_id": pa.array([Decimal(int(v)) for v in odd], pa.decimal128(10, 0)),
        "fee_account_id": pa.array([Decimal(int(v)) + Decimal("0.5") * (i % 2) for i, v in enumerate(ids)],
                                   pa.decimal128(8, 2)),
        "account_code": pa.array(rng.integers(1, 29, 200), pa.int64()),
    })
    paths = {}
    for name, table in (("accounts", accounts), ("entries", entries)):
        paths[name] = str(tmp_path / f"{name}.parquet")
        pq.write_table(table, paths[name])
    profiles = {name: profile_parquet(spark, path) for name, path in paths.items()}
    on_spark = candidate_foreign_keys({name: spark.read.parquet(path) for name, path in paths.items()}, profiles,
                                      include_rejected=True)
    in_process = candidate_foreign_keys_in_process({name: parquet_files([path]) for name, path in paths.items()},
                                                   profiles, include_rejected=True)
    verdicts = {(f.child_columns[0], f.parent_columns[0]): (f.confirmed, f.orphan_values) for f in on_spark}
    # account_id's orphans show in the sketches; old_account_id's only in the exact check.
    orphans = len(set(odd) - set(accounts["id"].to_pylist()))
    assert verdicts == {("main_account_id", "id"): (True, 0), ("old_account_id", "id"): (False, orphans),
                        ("account_code", "account_code"): (True, 0)}
    assert sorted(in_process, key=repr) == sorted(on_spark, key=repr)


# -- the demo and a generated schema, against the foreign keys SQLite declares ----------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    from catalog_api.demo.builder import build_demo_database

    folder = tmp_path_factory.mktemp("demo")
    database = build_demo_database(folder / "erp.db")
    tables = export_tables(database, folder)
    files = {name: parquet_files(t.files) for name, t in tables.items()}
    profiles = {name: profile_parquet_in_process(f) for name, f in files.items()}  # the same both ways
    return {"database": database, "tables": tables, "files": files, "profiles": profiles}


def _search_on_spark(spark, demo: dict) -> tuple[dict, list]:
    frames = {name: spark.read.parquet(*t.files) for name, t in demo["tables"].items()}
    keys = {name: candidate_primary_keys(frames[name], profile, declared=demo["tables"][name].declared_keys)
            for name, profile in demo["profiles"].items()}
    return keys, candidate_foreign_keys(frames, demo["profiles"], parent_keys=keys, include_rejected=True)


def _search_in_process(demo: dict) -> tuple[dict, list]:
    keys = {name: candidate_primary_keys_in_process(demo["files"][name], profile,
                                                    declared=demo["tables"][name].declared_keys)
            for name, profile in demo["profiles"].items()}
    return keys, candidate_foreign_keys_in_process(demo["files"], demo["profiles"], parent_keys=keys,
                                                   include_rejected=True)


def _links(found) -> set:
    return {(f.child_table, f.child_columns, f.parent_table, f.parent_columns) for f in found if f.confirmed}


def test_demo_foreign_keys_match_the_ones_sqlite_declares(demo):
    _, found = _search_in_process(demo)
    precision, recall = score(_links(found), declared_foreign_keys(demo["database"]))
    assert precision >= 0.9 and recall >= 0.9, (precision, recall, sorted(_links(found)))


def test_demo_decoys_are_not_proposed(demo):
    keys, found = _search_in_process(demo)
    children = {(f.child_table, f.child_columns[0]) for f in found}
    assert not {c for c in children if c[1] in ("quantity", "line_no", "order_line_no", "rating")}
    suggested = {(name, k.columns[0]) for name, found_keys in keys.items() for k in found_keys if not k.declared}
    assert not {s for s in suggested if s[1] in ("created_at", "name", "email", "description")}, suggested


def test_demo_search_gives_the_same_candidates_on_spark_and_in_process(spark, demo):
    spark_keys, on_spark = _search_on_spark(spark, demo)
    keys, in_process = _search_in_process(demo)
    assert spark_keys == keys
    assert sorted(on_spark, key=repr) == sorted(in_process, key=repr)
    assert _links(in_process)  # the search found something to agree on


def test_generated_schema_foreign_keys_match_the_declared_ones(tmp_path):
    database = build_generated_schema(tmp_path / "generated.db", tables=50)
    tables = export_tables(database, tmp_path)
    files = {name: parquet_files(t.files) for name, t in tables.items()}
    demo = {"tables": tables, "files": files,
            "profiles": {name: profile_parquet_in_process(f) for name, f in files.items()}}
    _, found = _search_in_process(demo)
    declared = declared_foreign_keys(database)
    assert len(declared) >= 50
    precision, recall = score(_links(found), declared)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
