"""SqliteConnector against real SQLite files, checked against SQLite's own per-table pragmas as the oracle."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from crawlers import diff, get_connector_class
from crawlers.connector import ConnectionCheck
from crawlers.connectors.sqlite import SqliteConfig, SqliteConnector
from crawlers.errors import InvalidSourceConfig, SourceNotFound, SourceUnreachable
from crawlers.scope import Scope
from crawlers.snapshot import SourceSnapshot, TableKind, TableSnapshot
from tests.support.sqlite import build_database, oracle, quote

UNICODE_TABLE = 'Größe "quoted" table'

SHOP_DDL = """
CREATE TABLE countries (code TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email VARCHAR(255) NOT NULL CONSTRAINT uq_customers_email UNIQUE,
    country_code TEXT REFERENCES countries ON DELETE SET NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
    notes
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL,
    amount NUMERIC(12, 2) NOT NULL DEFAULT 0,
    -- a comment with a stray ) and 'quote' must not confuse the parser
    tax NUMERIC(12,2) GENERATED ALWAYS AS (round(amount * 0.2, 2)) STORED,
    total NUMERIC(12,2) AS (amount + tax) VIRTUAL,
    CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
        ON DELETE CASCADE ON UPDATE RESTRICT
);
CREATE INDEX ix_orders_customer ON orders (customer_id, amount DESC);
CREATE UNIQUE INDEX ux_orders_lower ON orders (lower(customer_id) COLLATE NOCASE, id) WHERE amount > 0;
CREATE TABLE order_lines (
    order_id INTEGER NOT NULL REFERENCES orders (id),
    line_no INTEGER NOT NULL,
    sku TEXT NOT NULL,
    qty INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT pk_order_lines PRIMARY KEY (order_id, line_no),
    UNIQUE (order_id, sku)
);
CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
CREATE TABLE "Größe ""quoted"" table" (
    "Spalte mit Leerzeichen" TEXT, [bracket col] INT, `tick` REAL, "ünïcode" TEXT DEFAULT 'ä'
);
CREATE TABLE shipments (
    id INT PRIMARY KEY,
    order_id INT,
    line_no INT,
    FOREIGN KEY (order_id, line_no) REFERENCES order_lines
);
CREATE VIEW customer_totals AS
    SELECT c.id, c.email, sum(o.amount) AS total
    FROM customers AS c LEFT JOIN orders AS o ON o.customer_id = c.id
    GROUP BY c.id;
"""

SHOP_DATA = """
INSERT INTO countries VALUES ('DE', 'Germany'), ('FR', 'France');
INSERT INTO customers (email, country_code) VALUES ('a@example.com', 'DE'), ('b@example.com', 'FR'),
    ('c@example.com', NULL);
INSERT INTO orders (customer_id, amount) VALUES (1, 10), (1, 20), (2, 30), (3, 40), (3, 50);
INSERT INTO order_lines VALUES (1, 1, 'A', 1), (1, 2, 'B', 2), (2, 1, 'A', 3);
"""


# -- factories --------------------------------------------------------------------------------------------------------


@pytest.fixture
def make_connector() -> Callable[..., SqliteConnector]:
    def make(path: Path, **config) -> SqliteConnector:
        return SqliteConnector.from_mapping({"path": str(path), **config})

    return make


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    return build_database(tmp_path / "shop.db", SHOP_DDL, SHOP_DATA)


@pytest.fixture
def shop_snapshot(shop_db: Path, make_connector) -> SourceSnapshot:
    return make_connector(shop_db).discover()


# -- the oracle: SQLite's own per-table pragmas, asked one table at a time --------------------------------------------


def oracle_relations(path: Path) -> dict[str, tuple[str, str]]:
    rows = oracle(path, "SELECT name, type, sql FROM sqlite_schema WHERE type IN ('table', 'view')")
    return {name: (kind, sql) for name, kind, sql in rows if not name.startswith("sqlite_")}


def table(snapshot: SourceSnapshot, name: str) -> TableSnapshot:
    found = snapshot.table_map().get(("main", name))
    assert found is not None, f"{name} missing from {sorted(snapshot.table_map())}"
    return found


# -- discovery ---------------------------------------------------------------------------------------------------------


def test_one_schema_main_without_comment(shop_snapshot: SourceSnapshot) -> None:
    assert [(s.name, s.comment) for s in shop_snapshot.schemas] == [("main", None)]


def test_tables_and_views_are_those_of_sqlite_schema(shop_db: Path, shop_snapshot: SourceSnapshot) -> None:
    expected = oracle_relations(shop_db)
    assert "sqlite_sequence" in {r[0] for r in oracle(shop_db, "SELECT name FROM sqlite_schema")}
    assert {t.name: t.kind.value for t in shop_snapshot.tables} == {n: k for n, (k, _) in expected.items()}
    assert [t.name for t in shop_snapshot.tables] == sorted(expected)
    for t in shop_snapshot.tables:
        assert t.schema == "main" and t.comment is None


def test_columns_match_pragma_table_info(shop_db: Path, shop_snapshot: SourceSnapshot) -> None:
    for name in oracle_relations(shop_db):
        snap = table(shop_snapshot, name)
        info = oracle(shop_db, f"PRAGMA table_info({quote(name)})")
        xinfo = oracle(shop_db, f"PRAGMA table_xinfo({quote(name)})")
        without_rowid = "WITHOUT ROWID" in oracle_relations(shop_db)[name][1].upper()
        pk_columns = [row for row in info if row[5]]
        # table_xinfo numbers every column; table_info skips generated ones, so ordinals come from xinfo.
        ordinal = {row[1]: row[0] + 1 for row in xinfo}
        generated = {row[1] for row in xinfo if row[6] in (2, 3)}
        assert [c.name for c in snap.columns] == [row[1] for row in xinfo]
        assert {c.name for c in snap.columns if c.generated} == generated
        for cid, col_name, col_type, notnull, default, pk in info:
            column = snap.column(col_name)
            assert column is not None, (name, col_name)
            rowid_alias = (
                snap.kind is TableKind.TABLE
                and len(pk_columns) == 1
                and pk
                and col_type.upper() == "INTEGER"
                and not without_rowid
            )
            assert (column.ordinal, column.data_type, column.default) == (ordinal[col_name], col_type, default)
            assert column.nullable is (not notnull and not rowid_alias), (name, col_name)
            assert column.comment is None and column.generated is None


def test_declared_types_are_kept_as_written(shop_snapshot: SourceSnapshot) -> None:
    orders = table(shop_snapshot, "orders")
    assert orders.column("amount").data_type == "NUMERIC(12, 2)"
    assert table(shop_snapshot, "customers").column("notes").data_type == ""
    assert table(shop_snapshot, "customers").column("email").data_type == "VARCHAR(255)"


def test_defaults_are_the_declared_expressions(shop_snapshot: SourceSnapshot) -> None:
    customers = table(shop_snapshot, "customers")
    assert customers.column("created_at").default == "datetime('now')"
    assert customers.column("status").default == "'active'"
    assert customers.column("notes").default is None


def test_generated_columns_carry_their_expression(shop_snapshot: SourceSnapshot) -> None:
    orders = table(shop_snapshot, "orders")
    assert orders.column("tax").generated == "round(amount * 0.2, 2)"
    assert orders.column("total").generated == "amount + tax"
    assert [c.ordinal for c in orders.columns] == [1, 2, 3, 4, 5]


def test_integer_primary_key_is_not_nullable_but_other_rowid_table_keys_are(shop_snapshot: SourceSnapshot) -> None:
    assert table(shop_snapshot, "customers").column("id").nullable is False
    # SQLite lets NULL into a non-INTEGER primary key of a rowid table; the catalog reports what SQLite enforces.
    assert table(shop_snapshot, "countries").column("code").nullable is True
    assert table(shop_snapshot, "shipments").column("id").nullable is True
    assert table(shop_snapshot, "kv").column("k").nullable is False


def test_primary_keys(shop_snapshot: SourceSnapshot) -> None:
    assert table(shop_snapshot, "customers").primary_key.columns == ("id",)
    assert table(shop_snapshot, "customers").primary_key.name == "pk_customers"
    lines = table(shop_snapshot, "order_lines").primary_key
    assert (lines.name, lines.columns) == ("pk_order_lines", ("order_id", "line_no"))
    assert table(shop_snapshot, "kv").primary_key.columns == ("k",)
    assert table(shop_snapshot, UNICODE_TABLE).primary_key is None
    assert table(shop_snapshot, "customer_totals").primary_key is None


def test_primary_keys_match_pragma(shop_db: Path, shop_snapshot: SourceSnapshot) -> None:
    for name, (kind, _sql) in oracle_relations(shop_db).items():
        info = oracle(shop_db, f"PRAGMA table_info({quote(name)})")
        expected = tuple(row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        pk = table(shop_snapshot, name).primary_key
        assert (pk.columns if pk else ()) == expected, name


def test_without_rowid_and_plain_tables_are_told_apart(shop_snapshot: SourceSnapshot) -> None:
    assert table(shop_snapshot, "kv").properties.get("without_rowid") is True
    assert "without_rowid" not in table(shop_snapshot, "orders").properties


def test_foreign_keys(shop_snapshot: SourceSnapshot) -> None:
    orders_fk = table(shop_snapshot, "orders").foreign_keys
    assert len(orders_fk) == 1
    fk = orders_fk[0]
    assert (fk.name, fk.columns, fk.referred_schema, fk.referred_table, fk.referred_columns) == (
        "fk_orders_customer", ("customer_id",), "main", "customers", ("id",),
    )
    assert (fk.on_delete, fk.on_update) == ("CASCADE", "RESTRICT")

    (country,) = table(shop_snapshot, "customers").foreign_keys
    # `REFERENCES countries` names no column: it points at the parent's primary key.
    assert (country.columns, country.referred_table, country.referred_columns) == (
        ("country_code",), "countries", ("code",),
    )
    assert (country.on_delete, country.on_update) == ("SET NULL", "NO ACTION")

    (composite,) = table(shop_snapshot, "shipments").foreign_keys
    assert (composite.columns, composite.referred_table, composite.referred_columns) == (
        ("order_id", "line_no"), "order_lines", ("order_id", "line_no"),
    )
    assert table(shop_snapshot, "customer_totals").foreign_keys == ()


def test_foreign_keys_match_pragma(shop_db: Path, shop_snapshot: SourceSnapshot) -> None:
    for name, (kind, _sql) in oracle_relations(shop_db).items():
        if kind != "table":
            continue
        rows = oracle(shop_db, f"PRAGMA foreign_key_list({quote(name)})")
        expected: dict[int, list[tuple]] = {}
        for fk_id, seq, parent, from_, to, on_update, on_delete, _match in rows:
            expected.setdefault(fk_id, []).append((parent, from_, to, on_update, on_delete))
        discovered = table(shop_snapshot, name).foreign_keys
        assert len(discovered) == len(expected), name
        for fk in discovered:
            match = next(v for v in expected.values() if tuple(r[1] for r in v) == fk.columns)
            assert fk.referred_table == match[0][0]
            assert (fk.on_update, fk.on_delete) == (match[0][3], match[0][4])
            named = [r[2] for r in match if r[2] is not None]
            if named:
                assert list(fk.referred_columns) == named


def test_unique_constraints_and_indexes(shop_db: Path, shop_snapshot: SourceSnapshot) -> None:
    customers = table(shop_snapshot, "customers")
    assert [(u.name, u.columns) for u in customers.unique_constraints] == [("uq_customers_email", ("email",))]
    countries = table(shop_snapshot, "countries")
    assert [u.columns for u in countries.unique_constraints] == [("name",)]
    assert countries.unique_constraints[0].name.startswith("sqlite_autoindex_countries_")
    assert [u.columns for u in table(shop_snapshot, "order_lines").unique_constraints] == [("order_id", "sku")]

    orders = table(shop_snapshot, "orders")
    assert orders.unique_constraints == ()
    by_name = {i.name: i for i in orders.indexes}
    assert set(by_name) == {"ix_orders_customer", "ux_orders_lower"}
    assert by_name["ix_orders_customer"].columns == ("customer_id", "amount")
    assert by_name["ix_orders_customer"].unique is False
    assert by_name["ux_orders_lower"].columns == ("lower(customer_id)", "id")
    assert by_name["ux_orders_lower"].unique is True
    for index in orders.indexes:
        (sql,) = oracle(shop_db, f"SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = '{index.name}'")[0]
        assert index.definition == sql


def test_indexes_match_pragma_index_list(shop_db: Path, shop_snapshot: SourceSnapshot) -> None:
    for name, (kind, _sql) in oracle_relations(shop_db).items():
        if kind != "table":
            continue
        rows = oracle(shop_db, f"PRAGMA index_list({quote(name)})")
        snap = table(shop_snapshot, name)
        assert {u.columns for u in snap.unique_constraints} == {
            tuple(r[2] for r in oracle(shop_db, f"PRAGMA index_info({quote(row[1])})"))
            for row in rows
            if row[3] == "u"
        }, name
        assert {i.name for i in snap.indexes} == {row[1] for row in rows if row[3] == "c"}, name


def test_views_keep_their_sql(shop_db: Path, shop_snapshot: SourceSnapshot) -> None:
    view = table(shop_snapshot, "customer_totals")
    assert view.kind is TableKind.VIEW
    assert view.view_definition == oracle_relations(shop_db)["customer_totals"][1]
    assert [c.name for c in view.columns] == ["id", "email", "total"]
    assert view.row_estimate is None and view.indexes == () and view.unique_constraints == ()
    for t in shop_snapshot.tables:
        if t.kind is TableKind.TABLE:
            assert t.view_definition is None


def test_unicode_and_quoted_names(shop_snapshot: SourceSnapshot) -> None:
    odd = table(shop_snapshot, UNICODE_TABLE)
    assert [c.name for c in odd.columns] == ["Spalte mit Leerzeichen", "bracket col", "tick", "ünïcode"]
    assert odd.column("ünïcode").default == "'ä'"


def test_internal_tables_are_left_out(shop_snapshot: SourceSnapshot) -> None:
    assert not [t for t in shop_snapshot.tables if t.name.lower().startswith("sqlite_")]


def test_row_estimates_come_from_analyze(tmp_path: Path, make_connector) -> None:
    path = build_database(tmp_path / "shop.db", SHOP_DDL, SHOP_DATA)
    before = make_connector(path).discover()
    assert all(t.row_estimate is None for t in before.tables)

    conn = sqlite3.connect(path)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    after = make_connector(path).discover()
    for name in ("countries", "customers", "orders", "order_lines"):
        (count,) = oracle(path, f"SELECT count(*) FROM {quote(name)}")[0]
        assert table(after, name).row_estimate == count, name
    # Empty tables get no sqlite_stat1 row, so SQLite has no estimate to give.
    assert table(after, "kv").row_estimate is None
    assert "sqlite_stat1" not in {t.name for t in after.tables}
    # The estimate is volatile and is not part of the definition.
    assert table(before, "orders").definition_hash() == table(after, "orders").definition_hash()


def test_discovery_is_deterministic_and_diffs_to_nothing(shop_db: Path, make_connector) -> None:
    first, second = make_connector(shop_db).discover(), make_connector(shop_db).discover()
    assert first == second
    assert diff(first, second).empty
    for t in first.tables:
        assert isinstance(t.columns, tuple) and isinstance(t.foreign_keys, tuple) and isinstance(t.indexes, tuple)
        assert t.indexes == tuple(sorted(t.indexes, key=lambda i: i.name))


def test_diff_sees_a_new_column(shop_db: Path, make_connector) -> None:
    before = make_connector(shop_db).discover()
    conn = sqlite3.connect(shop_db)
    conn.execute("ALTER TABLE customers ADD COLUMN phone TEXT DEFAULT 'n/a'")
    conn.commit()
    conn.close()
    changes = diff(before, make_connector(shop_db).discover())
    assert [(c.type.value, c.table, c.column) for c in changes.changes] == [("column_added", "customers", "phone")]


def test_broken_view_does_not_hide_the_rest(tmp_path: Path, make_connector) -> None:
    path = build_database(
        tmp_path / "broken.db",
        "CREATE TABLE gone (x); CREATE TABLE kept (y INTEGER); CREATE VIEW v_broken AS SELECT x FROM gone;"
        "CREATE VIEW v_fine AS SELECT y FROM kept; DROP TABLE gone;",
    )
    snapshot = make_connector(path).discover()
    assert [c.name for c in table(snapshot, "kept").columns] == ["y"]
    assert [c.name for c in table(snapshot, "v_fine").columns] == ["y"]
    broken = table(snapshot, "v_broken")
    assert broken.columns == () and "gone" in broken.properties["discovery_error"]
    # Out of scope, the broken view is never compiled, so the bulk statement succeeds.
    scoped = make_connector(path, exclude_tables=["v_broken"]).discover()
    clean = make_connector(build_database(tmp_path / "clean.db", "CREATE TABLE kept (y INTEGER);")).discover()
    assert scoped.queries == clean.queries


# -- scope ---------------------------------------------------------------------------------------------------------


def names(snapshot: SourceSnapshot) -> list[str]:
    return [t.name for t in snapshot.tables]


def test_scope_patterns(shop_db: Path, make_connector) -> None:
    assert names(make_connector(shop_db, include_tables=["order*"]).discover()) == ["order_lines", "orders"]
    assert "orders" not in names(make_connector(shop_db, exclude_tables=["orders"]).discover())
    assert names(make_connector(shop_db, include_tables=["main.c*"], exclude_tables=["*totals"]).discover()) == [
        "countries", "customers",
    ]
    assert names(make_connector(shop_db, include_schemas=["other"]).discover()) == []
    excluded = make_connector(shop_db, exclude_schemas=["main"]).discover()
    assert excluded.schemas == () and excluded.tables == ()


def test_scope_argument_overrides_config(shop_db: Path, make_connector) -> None:
    connector = make_connector(shop_db, include_tables=["orders"])
    assert names(connector.discover(Scope(include_tables=("kv",)))) == ["kv"]


def test_foreign_key_to_a_table_out_of_scope_is_still_resolved(shop_db: Path, make_connector) -> None:
    snapshot = make_connector(shop_db, include_tables=["customers", "shipments"]).discover()
    (country,) = table(snapshot, "customers").foreign_keys
    assert country.referred_columns == ("code",)
    assert table(snapshot, "shipments").foreign_keys[0].referred_columns == ("order_id", "line_no")


# -- read-only ------------------------------------------------------------------------------------------------------


def fingerprint(path: Path) -> tuple[str, int, int]:
    info = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), info.st_mtime_ns, info.st_size


def test_discover_leaves_the_file_unchanged(tmp_path: Path, make_connector) -> None:
    path = build_database(tmp_path / "shop.db", SHOP_DDL, SHOP_DATA, analyze=True)
    before = fingerprint(path)
    siblings = sorted(p.name for p in tmp_path.iterdir())
    connector = make_connector(path)
    connector.test_connection()
    connector.discover()
    assert fingerprint(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings


def test_discover_leaves_a_wal_database_unchanged(tmp_path: Path, make_connector) -> None:
    path = tmp_path / "wal.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SHOP_DDL + SHOP_DATA)
    conn.commit()
    conn.close()
    before = fingerprint(path)
    snapshot = make_connector(path).discover()
    assert table(snapshot, "orders").columns
    assert fingerprint(path) == before


def test_missing_file_is_not_found_and_not_created(tmp_path: Path, make_connector) -> None:
    path = tmp_path / "missing.db"
    connector = make_connector(path)
    for call in (connector.discover, connector.test_connection):
        with pytest.raises(SourceNotFound) as caught:
            call()
        assert caught.value.field == "config.path"
        assert str(path) in caught.value.message
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_parent_directory_is_not_found(tmp_path: Path, make_connector) -> None:
    with pytest.raises(SourceNotFound):
        make_connector(tmp_path / "no" / "such" / "dir.db").discover()
    assert not (tmp_path / "no").exists()


def test_a_file_that_is_not_a_database_is_an_invalid_config(tmp_path: Path, make_connector) -> None:
    path = tmp_path / "notes.db"
    path.write_text("this is a text file, not a database\n" * 50)
    before = fingerprint(path)
    for call in (make_connector(path).discover, make_connector(path).test_connection):
        with pytest.raises(InvalidSourceConfig) as caught:
            call()
        assert caught.value.field == "config.path"
        assert "not a SQLite database" in caught.value.message
    assert fingerprint(path) == before


def test_a_directory_is_an_invalid_config(tmp_path: Path, make_connector) -> None:
    folder = tmp_path / "folder.db"
    folder.mkdir()
    for call in (make_connector(folder).discover, make_connector(folder).test_connection):
        with pytest.raises(InvalidSourceConfig) as caught:
            call()
        assert caught.value.field == "config.path"
        assert "directory" in caught.value.message


def test_path_with_uri_characters(tmp_path: Path, make_connector) -> None:
    path = build_database(tmp_path / "odd name #1 ?x=%20.db", "CREATE TABLE t (x);")
    assert names(make_connector(path).discover()) == ["t"]


def test_home_directory_is_expanded_but_stored_as_given(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    build_database(tmp_path / "home.db", "CREATE TABLE t (x);")
    connector = SqliteConnector.from_mapping({"path": "~/home.db"})
    assert connector.config.path == "~/home.db"
    assert names(connector.discover()) == ["t"]
    assert connector.lineage_namespace().namespace == f"sqlite://{tmp_path / 'home.db'}"


# -- timeouts and locks ---------------------------------------------------------------------------------------------


def test_a_locked_database_is_unreachable_within_the_timeout(shop_db: Path, make_connector) -> None:
    writer = sqlite3.connect(shop_db, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(SourceUnreachable) as caught:
            make_connector(shop_db, statement_timeout_ms=100).discover()
        assert "locked" in caught.value.message
    finally:
        writer.execute("ROLLBACK")
        writer.close()


# -- connection test, config, registry ------------------------------------------------------------------------------


def test_connection_check(shop_db: Path, make_connector) -> None:
    check = make_connector(shop_db).test_connection()
    assert isinstance(check, ConnectionCheck)
    assert check.server == f"SQLite {sqlite3.sqlite_version}"
    assert check.elapsed_ms >= 0


def test_lineage_namespace(shop_db: Path, make_connector, monkeypatch) -> None:
    monkeypatch.chdir(shop_db.parent)
    namespace = make_connector(Path("shop.db")).lineage_namespace()
    assert namespace.namespace == f"sqlite://{shop_db}"
    assert namespace.name_prefix == ""


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"path": ""},
        {"path": "x" * 4097},
        {"path": "a\x00b"},
        {"path": "a.db", "statement_timeout_ms": 99},
        {"path": "a.db", "statement_timeout_ms": 3_600_001},
        {"path": "a.db", "password": "nope"},
        {"path": "a.db", "include_tables": ["x'; DROP TABLE y"]},
    ],
)
def test_invalid_configs_are_rejected(values: dict) -> None:
    with pytest.raises(ValidationError):
        SqliteConfig.model_validate(values)


def test_config_defaults() -> None:
    config = SqliteConfig.model_validate({"path": "data/app.db"})
    assert config.statement_timeout_ms == 30_000
    assert config.scope() == Scope()
    assert config.resolved_path() == Path(os.path.abspath("data/app.db"))


def test_registered_under_its_kind() -> None:
    assert get_connector_class("sqlite") is SqliteConnector
    assert SqliteConnector.kind == "sqlite"
    assert SqliteConnector.secret_fields == frozenset()
    assert SqliteConnector.config_model is SqliteConfig


# -- virtual tables ---------------------------------------------------------------------------------------------------


def test_virtual_tables_and_their_shadow_tables(tmp_path: Path, make_connector) -> None:
    path = build_database(tmp_path / "fts.db", "CREATE VIRTUAL TABLE docs USING fts5(title, body); CREATE TABLE t (x);")
    snapshot = make_connector(path).discover()
    docs = table(snapshot, "docs")
    assert docs.kind is TableKind.TABLE and docs.properties["virtual_module"] == "fts5"
    # FTS5's hidden columns (the table-named column, rank) are the module's plumbing, not declared columns.
    assert [(c.name, c.ordinal) for c in docs.columns] == [("title", 1), ("body", 2)]
    assert {"docs_config", "docs_data", "docs_idx"} <= set(names(snapshot))


def test_a_virtual_table_whose_module_is_missing_does_not_hide_the_rest(tmp_path: Path, make_connector) -> None:
    path = build_database(tmp_path / "vt.db", "CREATE TABLE t (x);")
    conn = sqlite3.connect(path)
    # Simulates a file written by an application that loaded an extension this process does not have.
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "INSERT INTO sqlite_schema (type, name, tbl_name, rootpage, sql) "
        "VALUES ('table', 'ext', 'ext', 0, 'CREATE VIRTUAL TABLE ext USING no_such_module(a, b)')"
    )
    conn.commit()
    conn.close()
    snapshot = make_connector(path).discover()
    assert [c.name for c in table(snapshot, "t").columns] == ["x"]
    ext = table(snapshot, "ext")
    assert ext.columns == () and "no_such_module" in ext.properties["discovery_error"]
