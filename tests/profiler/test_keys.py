"""Candidate keys are verified on the data: unique and non-null primary keys, foreign keys by containment."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from profiler.errors import InvalidProfileInput
from profiler.keys import candidate_foreign_keys, candidate_primary_keys
from profiler.stats import profile_dataframe

CUSTOMERS = 400
ORDERS = 1500


@pytest.fixture(scope="module")
def shop(spark) -> dict:
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
    frames = {"customers": spark.createDataFrame(customers), "orders": spark.createDataFrame(orders)}
    # exact_distinct_threshold=0: distinct counts stay sketch estimates, so verification has work to do.
    profiles = {name: profile_dataframe(df, exact_distinct_threshold=0, top_k=3) for name, df in frames.items()}
    return {"frames": frames, "profiles": profiles, "bad_values": len(set(bad[:40]))}


def test_primary_keys_are_verified_exactly(shop):
    profile = shop["profiles"]["customers"]
    assert profile.column("near_unique").distinct_count >= 0.9 * CUSTOMERS  # the estimate made it a candidate
    keys = candidate_primary_keys(shop["frames"]["customers"], profile, declared=[("id",), ("country",)])
    found = {k.columns: (k.verified, k.declared) for k in keys}
    assert found == {("id",): (True, True), ("email",): (True, False), ("country",): (False, True)}
    country = next(k for k in keys if k.columns == ("country",))
    assert (country.row_count, country.distinct_count, country.null_rows) == (CUSTOMERS, 4, 0)


def test_declared_composite_keys(shop):
    keys = candidate_primary_keys(shop["frames"]["orders"], shop["profiles"]["orders"],
                                  declared=[("order_ref", "line_no"), ("order_ref",), ("customer_id", "line_no")])
    verdicts = {k.columns: k.verified for k in keys if k.declared}
    assert verdicts == {("order_ref", "line_no"): True, ("order_ref",): False, ("customer_id", "line_no"): False}
    with_nulls = next(k for k in keys if k.columns == ("customer_id", "line_no"))
    assert with_nulls.null_rows > 0
    with pytest.raises(InvalidProfileInput) as error:
        candidate_primary_keys(shop["frames"]["orders"], shop["profiles"]["orders"], declared=[("nope",)])
    assert error.value.field == "declared"


def test_foreign_keys_by_containment(shop):
    found = candidate_foreign_keys(shop["frames"], shop["profiles"], include_rejected=True)
    verdicts = {(f.child_table, f.child_columns, f.parent_table, f.parent_columns): (f.confirmed, f.orphan_values)
                for f in found}
    assert verdicts == {
        ("orders", ("customer_id",), "customers", ("id",)): (True, 0),
        ("orders", ("bad_customer_id",), "customers", ("id",)): (False, shop["bad_values"]),
    }
    confirmed = candidate_foreign_keys(shop["frames"], shop["profiles"])
    assert [(f.child_columns, f.parent_columns, f.child_distinct) for f in confirmed] == [
        (("customer_id",), ("id",), len(set(shop["frames"]["orders"].toPandas()["customer_id"].dropna())))]


def test_foreign_key_parents_can_come_from_verified_keys(shop):
    keys = {name: candidate_primary_keys(shop["frames"][name], profile)
            for name, profile in shop["profiles"].items()}
    found = candidate_foreign_keys(shop["frames"], shop["profiles"], parent_keys=keys)
    assert [(f.child_table, f.child_columns, f.parent_columns) for f in found] == [
        ("orders", ("customer_id",), ("id",))]
