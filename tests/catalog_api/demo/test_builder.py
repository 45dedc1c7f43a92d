"""The demo ERP database: it builds fast, deterministically, consistently, and the SQLite connector reads all of it."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

import catalog_api.demo.builder as builder
from catalog_api.demo import build_demo_database
from crawlers.connectors.sqlite import SqliteConnector
from crawlers.snapshot import SourceSnapshot, TableKind
from tests.support.sqlite import oracle as query

TABLES = {
    "item_categories", "customers", "vendors", "items", "sales_orders", "sales_order_lines", "invoices",
    "invoice_lines", "payments", "purchase_orders", "purchase_order_lines",
}
VIEWS = {"sales_order_totals", "customer_balances", "open_invoices", "monthly_revenue", "vendor_spend"}


def row_counts(path: Path) -> dict[str, int]:
    return {name: query(path, f"SELECT count(*) FROM {name}")[0][0] for name in sorted(TABLES)}


def checksum(path: Path, table: str) -> str:
    digest = hashlib.sha256()
    for row in query(path, f"SELECT * FROM {table} ORDER BY 1, 2"):
        digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_database(tmp_path_factory.mktemp("demo") / "erp.db")


@pytest.fixture(scope="module")
def demo_snapshot(demo_db: Path) -> SourceSnapshot:
    return SqliteConnector.from_mapping({"path": str(demo_db)}).discover()


def test_builds_with_the_expected_volume(tmp_path: Path) -> None:
    path = build_demo_database(tmp_path / "erp.db")
    assert path == tmp_path / "erp.db"
    counts = row_counts(path)
    assert counts["customers"] == 200 and counts["vendors"] == 50 and counts["items"] == 300
    assert counts["sales_orders"] == 2000
    assert 5000 <= counts["sales_order_lines"] <= 8000
    assert 1500 <= counts["invoices"] < counts["sales_orders"]
    assert counts["invoice_lines"] <= counts["sales_order_lines"]
    assert counts["payments"] >= 1000
    assert counts["purchase_orders"] == 400 and counts["purchase_order_lines"] > 400


def test_scale_multiplies_the_volume(tmp_path: Path) -> None:
    counts = row_counts(build_demo_database(tmp_path / "erp.db", scale=2))
    assert (counts["customers"], counts["sales_orders"], counts["items"]) == (400, 4000, 600)
    assert counts["item_categories"] == len(builder.CATEGORIES)


def test_scale_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        build_demo_database(tmp_path / "erp.db", scale=0)
    assert list(tmp_path.iterdir()) == []


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    first = build_demo_database(tmp_path / "a.db", seed=11)
    second = build_demo_database(tmp_path / "b.db", seed=11)
    other = build_demo_database(tmp_path / "c.db", seed=12)
    assert row_counts(first) == row_counts(second)
    for table in ("customers", "sales_order_lines", "invoices", "payments", "purchase_order_lines"):
        assert checksum(first, table) == checksum(second, table), table
    assert checksum(first, "customers") != checksum(other, "customers")
    assert checksum(first, "sales_order_lines") != checksum(other, "sales_order_lines")


def test_referential_integrity_and_file_integrity(demo_db: Path) -> None:
    assert query(demo_db, "PRAGMA foreign_key_check") == []
    assert query(demo_db, "PRAGMA integrity_check") == [("ok",)]
    assert query(demo_db, "PRAGMA user_version") == [(builder.SCHEMA_VERSION,)]


def test_documents_add_up(demo_db: Path) -> None:
    # Every invoice's subtotal is the sum of its lines, and its total the subtotal plus tax.
    assert query(
        demo_db,
        "SELECT count(*) FROM invoices AS i WHERE abs(i.subtotal - "
        "(SELECT coalesce(sum(line_total), 0) FROM invoice_lines WHERE invoice_id = i.id)) > 0.005 "
        "OR abs(i.total_amount - i.subtotal - i.tax_amount) > 0.005",
    ) == [(0,)]
    # An invoice bills exactly its order's lines.
    assert query(
        demo_db,
        "SELECT count(*) FROM invoices AS i JOIN sales_order_totals AS o ON o.order_id = i.order_id "
        "WHERE abs(o.order_total - i.subtotal) > 0.005 OR o.customer_id <> i.customer_id OR o.currency <> i.currency",
    ) == [(0,)]
    # Only shipped or delivered orders are invoiced, never before they were placed.
    assert query(
        demo_db,
        "SELECT count(*) FROM invoices AS i JOIN sales_orders AS o ON o.id = i.order_id "
        "WHERE o.status NOT IN ('shipped', 'delivered') OR i.invoice_date < o.order_date",
    ) == [(0,)]
    # Payments never exceed the invoice, and the invoice status says how much was paid.
    rows = query(
        demo_db,
        "SELECT i.status, i.total_amount, coalesce(sum(p.amount), 0), count(p.id), min(p.payment_date), "
        "i.invoice_date, max(p.currency <> i.currency OR p.customer_id <> i.customer_id) "
        "FROM invoices AS i LEFT JOIN payments AS p ON p.invoice_id = i.id GROUP BY i.id",
    )
    statuses = {row[0] for row in rows}
    assert statuses == {"open", "partially_paid", "paid", "void"}
    for status, total, paid, payments, first_payment, invoiced, mismatch in rows:
        assert round(paid, 2) <= round(total, 2) + 0.001
        assert not mismatch
        if payments:
            assert first_payment >= invoiced
        if not payments:
            assert status in ("open", "void"), (status, total, paid)
        else:
            assert status == ("paid" if abs(paid - total) < 0.005 else "partially_paid"), (status, total, paid)


def test_generated_line_total(demo_db: Path) -> None:
    # Rounding to the cent moves a value by at most half a cent.
    assert query(
        demo_db,
        "SELECT count(*) FROM sales_order_lines "
        "WHERE abs(line_total - quantity * unit_price * (100 - discount_pct) / 100.0) > 0.00501",
    ) == [(0,)]


def test_views_return_rows(demo_db: Path) -> None:
    for view in sorted(VIEWS):
        assert query(demo_db, f"SELECT count(*) FROM {view}")[0][0] > 0, view
    balances = query(demo_db, "SELECT round(sum(balance), 2), min(balance) FROM customer_balances")[0]
    assert balances[0] > 0 and balances[1] >= 0
    assert query(demo_db, "SELECT min(amount_due) > 0 FROM open_invoices") == [(1,)]
    months = query(demo_db, "SELECT min(month), max(month) FROM monthly_revenue")[0]
    assert months[0].startswith("2023-") and months[1] >= "2024-12"


def test_realistic_values(demo_db: Path) -> None:
    assert query(demo_db, "SELECT count(*) FROM customers WHERE email NOT LIKE '%_@_%._%'") == [(0,)]
    assert query(demo_db, "SELECT count(DISTINCT country), count(DISTINCT currency) FROM customers")[0] >= (5, 4)
    # Dates and timestamps are ISO-8601 text.
    assert query(
        demo_db,
        "SELECT count(*) FROM sales_orders WHERE order_date <> date(order_date) "
        "OR created_at NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'",
    ) == [(0,)]
    # Orders follow their customer's currency; prices are never negative and carry at most two decimals.
    assert query(
        demo_db,
        "SELECT count(*) FROM sales_orders AS o JOIN customers AS c ON c.id = o.customer_id "
        "WHERE o.currency <> c.currency",
    ) == [(0,)]
    assert query(
        demo_db, "SELECT count(*) FROM sales_order_lines WHERE unit_price < 0 OR abs(unit_price * 100 - "
        "round(unit_price * 100)) > 0.0001",
    ) == [(0,)]


def test_check_constraints_are_enforced(tmp_path: Path) -> None:
    path = build_demo_database(tmp_path / "erp.db")
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute("UPDATE sales_orders SET status = 'lost' WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute("UPDATE sales_order_lines SET quantity = 0 WHERE order_id = 1")
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            conn.execute("UPDATE customers SET email = (SELECT email FROM customers WHERE id = 2) WHERE id = 1")
    finally:
        conn.close()


def test_analyze_leaves_row_estimates(demo_db: Path, demo_snapshot: SourceSnapshot) -> None:
    assert query(demo_db, "SELECT count(DISTINCT tbl) FROM sqlite_stat1")[0][0] == len(TABLES)
    counts = row_counts(demo_db)
    for table in demo_snapshot.tables:
        if table.kind is TableKind.TABLE:
            assert table.row_estimate == counts[table.name], table.name


def test_the_connector_discovers_every_table_and_view(demo_snapshot: SourceSnapshot) -> None:
    kinds = {t.name: t.kind for t in demo_snapshot.tables}
    assert kinds == {**{n: TableKind.TABLE for n in TABLES}, **{n: TableKind.VIEW for n in VIEWS}}
    for table in demo_snapshot.tables:
        assert table.columns, table.name
        if table.kind is TableKind.VIEW:
            assert table.view_definition.startswith("CREATE VIEW")
        else:
            assert table.primary_key is not None, table.name


def test_the_connector_sees_the_foreign_keys(demo_snapshot: SourceSnapshot) -> None:
    tables = demo_snapshot.table_map()
    edges = {
        (name, fk.columns, fk.referred_table, fk.referred_columns)
        for (_, name), table in tables.items()
        for fk in table.foreign_keys
    }
    assert edges == {
        ("item_categories", ("parent_id",), "item_categories", ("id",)),
        ("items", ("category_id",), "item_categories", ("id",)),
        ("items", ("preferred_vendor_id",), "vendors", ("id",)),
        ("sales_orders", ("customer_id",), "customers", ("id",)),
        ("sales_order_lines", ("order_id",), "sales_orders", ("id",)),
        ("sales_order_lines", ("item_id",), "items", ("id",)),
        ("invoices", ("order_id",), "sales_orders", ("id",)),
        ("invoices", ("customer_id",), "customers", ("id",)),
        ("invoice_lines", ("invoice_id",), "invoices", ("id",)),
        ("invoice_lines", ("item_id",), "items", ("id",)),
        ("invoice_lines", ("order_id", "order_line_no"), "sales_order_lines", ("order_id", "line_no")),
        ("payments", ("invoice_id",), "invoices", ("id",)),
        ("payments", ("customer_id",), "customers", ("id",)),
        ("purchase_orders", ("vendor_id",), "vendors", ("id",)),
        ("purchase_order_lines", ("po_id",), "purchase_orders", ("id",)),
        ("purchase_order_lines", ("item_id",), "items", ("id",)),
    }
    names = {fk.name for fk in tables[("main", "sales_orders")].foreign_keys}
    assert names == {"fk_sales_orders_customer"}
    assert {fk.name for fk in tables[("main", "invoices")].foreign_keys} == {
        "fk_invoices_order", "fk_invoices_customer",
    }


def test_the_connector_sees_constraints_indexes_and_generated_columns(demo_snapshot: SourceSnapshot) -> None:
    tables = demo_snapshot.table_map()
    lines = tables[("main", "sales_order_lines")]
    assert lines.primary_key.name == "pk_sales_order_lines"
    assert lines.primary_key.columns == ("order_id", "line_no")
    assert lines.column("line_total").generated.startswith("round(quantity * unit_price")
    assert lines.column("discount_pct").default == "0"
    assert [(u.name, u.columns) for u in lines.unique_constraints] == [
        ("uq_sales_order_lines_item", ("order_id", "item_id"))
    ]
    customers = tables[("main", "customers")]
    assert customers.column("id").nullable is False
    assert customers.column("email").data_type == "TEXT" and customers.column("country").data_type == "CHAR(2)"
    assert {u.name for u in customers.unique_constraints} == {"uq_customers_number", "uq_customers_email"}
    assert {i.name for i in customers.indexes} == {"ix_customers_country", "ix_customers_email_domain"}
    assert tables[("main", "invoices")].column("subtotal").data_type == "NUMERIC(12,2)"
    assert tables[("main", "purchase_order_lines")].properties.get("without_rowid") is True
    assert tables[("main", "sales_orders")].column("status").default == "'draft'"


def test_rebuild_replaces_the_database_atomically(tmp_path: Path) -> None:
    path = tmp_path / "erp.db"
    path.write_bytes(b"an old file that is not even a database")
    (tmp_path / "erp.db-journal").write_bytes(b"stale journal")
    build_demo_database(path, seed=3)
    first = checksum(path, "payments")
    build_demo_database(path, seed=3)
    assert checksum(path, "payments") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["erp.db"]


def test_a_failed_build_keeps_the_previous_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = build_demo_database(tmp_path / "erp.db")
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(builder, "_insert_payments", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        build_demo_database(path, seed=99)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["erp.db"]


def test_builds_into_a_new_folder(tmp_path: Path) -> None:
    path = build_demo_database(tmp_path / "nested" / "folder" / "erp.db")
    assert path.is_file() and path.stat().st_mode & 0o777 == 0o644
