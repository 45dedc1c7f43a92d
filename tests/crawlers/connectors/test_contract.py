"""The contract every SQL connector keeps (see `crawlers.connectors.sql`), held against PostgreSQL, MariaDB and SQLite.

Each test runs once per connector kind on real databases built from the same portable DDL; the answers are checked
against the database's own catalog through the adapters of `tests/support/sql_sources.py`, never against the
connector's own queries. A MariaDB case skips on a laptop without the server and fails under `CI=true`.
"""

from __future__ import annotations

from contextlib import closing

import pytest

from crawlers.errors import AuthenticationFailed, ConnectorError, SourceUnreachable
from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy, ValueRange
from crawlers.snapshot import TableKind
from tests.support.mariadb import make_mariadb_database, make_mariadb_user, mariadb_server  # noqa: F401  (fixtures)
from tests.support.secrets import assert_password_hidden, secret
from tests.support.sql_sources import SOURCES, SqlSource

SHOP_DDL = """
create table customers (id int primary key, email varchar(320) not null unique, region char(2) default 'DE');
create table orders (
    region char(2) not null,
    order_no int not null,
    customer_id int not null,
    total numeric(12,2) not null,
    primary key (region, order_no),
    constraint orders_customer_fk foreign key (customer_id) references customers (id) on delete cascade
);
create index orders_no_region_idx on orders (order_no, region);
create table order_lines (
    region char(2) not null,
    order_no int not null,
    line int not null,
    sku varchar(40),
    primary key (region, order_no, line),
    -- columns listed in another order than the referenced key: key order must be kept
    constraint order_lines_order_fk foreign key (order_no, region)
        references orders (order_no, region) on delete cascade on update restrict
);
create view big_orders as select region, order_no, total from orders where total > 1000;
"""

LEDGER_DDL = "create table ledger (id int primary key, note varchar(40), amount int);" + "".join(
    f"insert into ledger values ({i}, 'row {i}', {i * 10});" for i in range(1, 11)
)


def many_tables_ddl(count: int) -> str:
    """`count` tables in a chain of foreign keys, with 1 to 7 columns besides the key, an index each, and views."""
    statements = []
    for i in range(count):
        cols = ", ".join(f"c{j} varchar({10 + j}) default 'v{j}'" for j in range(i % 7 + 1))
        fk = f", parent_id int, constraint t{i}_fk foreign key (parent_id) references t{i - 1} (id)" if i else ""
        statements.append(f"create table t{i} (id int primary key, {cols}{fk});")
        statements.append(f"create index t{i}_c0_idx on t{i} (c0);")
        if i % 10 == 0:
            statements.append(f"create view v{i} as select id, c0 from t{i};")
    return "\n".join(statements)


@pytest.fixture(params=sorted(SOURCES))
def source(request: pytest.FixtureRequest) -> SqlSource:
    return SOURCES[request.param](request)


@pytest.fixture
def shop(source: SqlSource) -> dict:
    return source.database(SHOP_DDL)


# -- discovery matches the database's own catalog -----------------------------------------------------------------


def test_relations_and_kinds_match_the_catalog(source, shop):
    snapshot = source.connector(shop).discover()
    schema = source.schema(shop)
    assert [s.name for s in snapshot.schemas if s.name == schema] == [schema]
    expected = source.oracle_relations(shop)
    assert {name for name, kind in expected.items() if kind is TableKind.VIEW} == {"big_orders"}
    assert {t.name: t.kind for t in snapshot.tables if t.schema == schema} == expected
    assert [t.key for t in snapshot.tables] == sorted(t.key for t in snapshot.tables)


def test_columns_match_the_catalog(source, shop):
    tables = source.connector(shop).discover().table_map()
    schema = source.schema(shop)
    for name in source.oracle_relations(shop):
        got = [(c.name, c.ordinal, c.data_type, c.nullable) for c in tables[(schema, name)].columns]
        assert got == source.oracle_columns(shop, name), name
    assert [c.name for c in tables[(schema, "big_orders")].columns] == ["region", "order_no", "total"]


def test_keys_and_foreign_keys_match_the_catalog(source, shop):
    tables = source.connector(shop).discover().table_map()
    schema = source.schema(shop)
    oracle = source.oracle_keys(shop)
    assert oracle["order_lines"][1], "the oracle found the foreign keys"
    for name, (pk, fks) in oracle.items():
        table = tables[(schema, name)]
        assert (table.primary_key.columns if table.primary_key else None) == pk, name
        got = [(f.columns, f.referred_table, f.referred_columns, f.on_delete, f.on_update) for f in table.foreign_keys]
        assert sorted(got) == sorted(fks), name
        assert all(f.referred_schema == schema for f in table.foreign_keys), name
    lines_fk = tables[(schema, "order_lines")].foreign_keys[0]
    assert (lines_fk.columns, lines_fk.referred_columns) == (("order_no", "region"), ("order_no", "region"))
    assert (lines_fk.on_delete, lines_fk.on_update) == ("CASCADE", "RESTRICT")


def test_snapshots_of_an_unchanged_source_are_equal(source, shop):
    connector = source.connector(shop)
    first, second = connector.discover(), connector.discover()
    assert first == second
    assert [t.definition_hash() for t in first.tables] == [t.definition_hash() for t in second.tables]


# -- bounded statements ---------------------------------------------------------------------------------------------


def test_statements_per_discovery_do_not_grow_with_the_schema(source):
    small_config, large_config = source.database(many_tables_ddl(5)), source.database(many_tables_ddl(60))
    small = source.connector(small_config).discover()
    large = source.connector(large_config).discover()
    assert len([t for t in small.tables if t.kind == TableKind.TABLE]) == 5
    assert len([t for t in large.tables if t.kind == TableKind.TABLE]) == 60
    assert len(small.tables) == 6 and len(large.tables) == 66
    assert small.queries == large.queries <= source.max_statements
    if source.statements is not None:
        assert large.queries == source.statements
    t59 = large.table_map()[(source.schema(large_config), "t59")]
    assert t59.foreign_keys[0].referred_table == "t58" and len(t59.columns) == 1 + 4 + 1


def test_the_statement_count_is_honest(source, shop, monkeypatch):
    sent: list[str] = []
    real_run = source.session_class._run

    def counting_run(self, sql, params=None, *, rows):
        sent.append(sql)
        return real_run(self, sql, params, rows=rows)

    monkeypatch.setattr(source.session_class, "_run", counting_run)
    snapshot = source.connector(shop).discover()
    assert snapshot.queries == len(sent)
    assert sent[0] == source.first_statement and sent[-1].upper() == "COMMIT"


def test_progress_is_reported(source, shop):
    calls: list[tuple[int, int, str]] = []
    source.connector(shop).discover(progress=lambda done, total, message: calls.append((done, total, message)))
    assert [done for done, _, _ in calls] == list(range(1, len(calls) + 1))
    assert all(total == len(calls) for _, total, _ in calls)


# -- read-only transaction and statement timeout --------------------------------------------------------------------


def test_discovery_runs_in_a_read_only_transaction_with_the_configured_timeout(source):
    config = source.database("create table t (id int)")
    connector = source.connector(config, statement_timeout_ms=1500)
    with closing(connector._connect()) as conn, connector._read_only_transaction(conn) as session:
        source.assert_read_only_with_timeout(session, 1500)
        with pytest.raises(Exception) as caught:
            session.fetch("insert into t values (1)")
        source.assert_write_refused(caught.value)
    assert source.query(config, "select count(*) from t") == [(0,)]
    source.assert_timeout_released(connector, 1500)


def test_a_slow_statement_is_interrupted_at_the_statement_timeout(source):
    connector = source.connector(source.database(), statement_timeout_ms=200)
    with pytest.raises(SourceUnreachable) as caught, connector._errors_mapped():
        with closing(connector._connect()) as conn, connector._read_only_transaction(conn) as session:
            session.fetch(source.slow_sql)
    assert caught.value.field == "config.statement_timeout_ms"
    assert "200 ms" in caught.value.message and "timeout" in caught.value.message
    assert caught.value.transient


def test_read_query_answers_columns_and_rows_in_one_read_only_transaction(source):
    config = source.database("create table t (id int, name varchar(10))")
    source.execute(config, "insert into t values (1, 'a'), (2, 'b'), (3, null)")
    connector = source.connector(config, statement_timeout_ms=200)
    counted, rows = connector.read_query(["select count(*) as n from t where name is not null",
                                          "select id, name from t order by id"])
    assert (counted.columns, counted.rows) == (["n"], [tuple(source.query(config, "select count(*) from t "
                                                                                 "where name is not null")[0])])
    assert (rows.columns, [tuple(r) for r in rows.rows]) == (["id", "name"], [(1, "a"), (2, "b"), (3, None)])
    with pytest.raises(ConnectorError):
        connector.read_query(["insert into t values (4, 'd')"])
    assert source.query(config, "select count(*) from t") == [(3,)]
    with pytest.raises(SourceUnreachable) as caught:
        connector.read_query([source.slow_sql])
    assert caught.value.field == "config.statement_timeout_ms"


def test_discovery_is_bounded_by_the_statement_timeout(source, shop, monkeypatch):
    with source.stalled(shop, monkeypatch), pytest.raises(SourceUnreachable) as caught:
        source.connector(shop, statement_timeout_ms=200).discover()
    assert caught.value.field == "config.statement_timeout_ms"
    assert "200 ms" in caught.value.message


# -- typed errors, passwords masked -------------------------------------------------------------------------------


@pytest.fixture(params=sorted(kind for kind, source in SOURCES.items() if source.has_credentials))
def source_with_credentials(request: pytest.FixtureRequest) -> SqlSource:
    return SOURCES[request.param](request)


def test_a_wrong_password_is_an_authentication_failure(source_with_credentials):
    source = source_with_credentials
    config, right = source.credentials()
    wrong = secret()
    for call in ("test_connection", "discover"):
        with pytest.raises(AuthenticationFailed) as caught:
            getattr(source.connector(config, password=wrong), call)()
        assert caught.value.field == "secrets.password"
        assert config["user"] in caught.value.message and f"127.0.0.1:{config['port']}" in caught.value.message
        assert_password_hidden(caught.value, wrong)
    good = source.connector(config, password=right)
    assert good.test_connection().server
    assert good.discover().tables is not None


def test_an_unreachable_source_is_a_typed_error(source):
    password = secret()
    for connector, error_type, field, fragment in source.unreachable():
        if source.has_credentials:
            connector = source.connector(connector.config.model_dump(), password=password)
        for call in (connector.test_connection, connector.discover):
            with pytest.raises(error_type) as caught:
                call()
            assert caught.value.field == field
            assert caught.value.transient is (error_type is SourceUnreachable)
            assert fragment in caught.value.message
            assert_password_hidden(caught.value, password)


# -- incremental reads --------------------------------------------------------------------------------------------


def ledger_of(source: SqlSource) -> tuple:
    config = source.database(LEDGER_DDL)
    connector = source.connector(config)
    return config, connector, connector.discover().table_map()[(source.schema(config), "ledger")]


def read(connector, table, strategy, column=None, watermark=None, batch_rows=4):
    return list(connector.read_increment(IncrementRequest(table, IncrementPlan(strategy, column), watermark, batch_rows)))


def rows_of(batches) -> list[tuple]:
    return [(r["id"], r["note"], r["amount"]) for batch in batches for r in batch.to_pylist()]


def test_incremental_reads_follow_the_watermark_in_batches(source):
    config, connector, table = ledger_of(source)
    expected = [tuple(row) for row in source.query(config, "select id, note, amount from ledger order by id")]
    assert len(expected) == 10

    batches = read(connector, table, IncrementStrategy.KEY, "id")
    assert [b.num_rows for b in batches] == [4, 4, 2]
    assert rows_of(batches) == expected
    assert rows_of(read(connector, table, IncrementStrategy.KEY, "id", watermark=6)) == expected[6:]
    assert sorted(rows_of(read(connector, table, IncrementStrategy.FULL))) == expected


RANGES = [  # a backfill's range on `amount` (10 × id, NULL for id 11), and the same rows as SQL says them
    (ValueRange(low=30, high=70), "amount >= 30 and amount < 70"),
    (ValueRange(low=30, low_inclusive=False, high=70, high_inclusive=True), "amount > 30 and amount <= 70"),
    (ValueRange(high=20, high_inclusive=True, nulls=True), "amount <= 20 or amount is null"),
    (ValueRange(low=95), "amount >= 95"),
]


@pytest.mark.parametrize(("value_range", "where"), RANGES, ids=[where for _, where in RANGES])
def test_a_range_reads_the_rows_whose_plan_value_lies_in_it_nulls_first(source, value_range, where):
    config = source.database(LEDGER_DDL + "insert into ledger values (11, 'row 11', null);")
    connector = source.connector(config)
    table = connector.discover().table_map()[(source.schema(config), "ledger")]
    request = IncrementRequest(table, IncrementPlan(IncrementStrategy.KEY, "amount"), batch_rows=3, range=value_range)
    expected = [row[0] for row in source.query(config, f"select id from ledger where {where}")]
    ids = [r[0] for r in rows_of(connector.read_increment(request))]
    nulls = [11] if value_range.nulls else []
    assert ids == nulls + sorted(set(expected) - set(nulls))  # NULLs first, then by amount (= by id)


def test_a_reader_may_stop_after_any_batch(source):
    config, connector, table = ledger_of(source)
    reader = connector.read_increment(IncrementRequest(table, IncrementPlan(IncrementStrategy.KEY, "id"), None, 2))
    first = next(reader)
    reader.close()  # releases the connection and its transaction
    assert first.column("id").to_pylist() == [1, 2]
    resumed = read(connector, table, IncrementStrategy.KEY, "id", watermark=2)
    assert [r[0] for r in rows_of(resumed)] == list(range(3, 11))


def test_reading_a_table_that_is_gone_is_a_typed_error(source):
    config, connector, table = ledger_of(source)
    source.execute(config, "drop table ledger")
    with pytest.raises(ConnectorError) as caught:
        read(connector, table, IncrementStrategy.FULL)
    assert "ledger" in caught.value.message
