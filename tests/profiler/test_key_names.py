"""What names say about keys: which columns are named like keys, and which child names point at which parent."""

from __future__ import annotations

import pytest

from profiler.key_names import key_named, name_evidence, singular, words

# child column, parent table, parent key, same table, whether the name points at the parent
POINTS_AT = [
    ("customer_id", "customers", "id", False, True),
    ("customers_id", "customers", "id", False, True),
    ("CustomerID", "Customers", "ID", False, True),
    ("preferred_vendor_id", "vendors", "id", False, True),
    ("order_id", "sales_orders", "id", False, True),
    ("category_id", "item_categories", "id", False, True),
    ("po_id", "purchase_orders", "id", False, True),
    ("parent_id", "item_categories", "id", True, True),
    ("customer_number", "customers", "customer_number", False, True),
    ("billing_customer_number", "accounts", "customer_number", False, True),
    ("address_id", "addresses", "id", False, True),
    ("status_id", "statuses", "id", False, True),
    ("quantity", "customers", "id", False, False),
    ("line_no", "vendors", "id", False, False),
    ("id", "customers", "id", False, False),
    ("vendor_id", "customers", "id", False, False),
    ("parent_id", "item_categories", "id", False, False),  # parent_id of another table says nothing
    ("id", "customers", "id", True, False),  # a key is not its own foreign key
    ("code", "countries", "code", False, False),  # a generic key name alone says nothing
    ("year", "customers", "id", False, False),
]


@pytest.mark.parametrize(("child", "table", "key", "same_table", "points"), POINTS_AT)
def test_child_names_point_at_their_parents(child, table, key, same_table, points):
    assert bool(name_evidence(child, table, key, same_table=same_table)) is points


def test_a_name_that_spells_out_more_of_the_table_points_more_strongly():
    def evidence(child: str, table: str) -> int:
        return name_evidence(child, table, "id", same_table=False)

    assert evidence("owner_sales_order_id", "sales_orders") > evidence("owner_sales_order_id", "work_orders") > 0
    assert evidence("customer_id", "customers") > evidence("preferred_customer_id", "customers") > 0
    assert evidence("order_id", "sales_orders") > evidence("so_id", "sales_orders") > 0


@pytest.mark.parametrize(("name", "keyed"), [
    ("id", True), ("customer_id", True), ("sku_code", True), ("line_no", True), ("invoice_number", True),
    ("api_key", True), ("CustomerID", True), ("created_at", False), ("name", False), ("email", False),
    ("quantity", False), ("idea", False), ("paid", False),
])
def test_key_names(name, keyed):
    assert key_named(name) is keyed


def test_words_and_singulars():
    assert words("preferredVendorID") == words("PREFERRED-VENDOR-ID") == ("preferred", "vendor", "id")
    assert [singular(w) for w in ("categories", "addresses", "statuses", "items", "boxes", "class", "data")] == [
        "category", "address", "status", "item", "box", "class", "data"]
