"""MysqlConnector against the real MariaDB server.

Structural assertions are checked against oracles the connector does not use: `SHOW FULL COLUMNS`, `SHOW INDEX`
and `SHOW TABLE STATUS` (the server's own statements, not information_schema), the join of TABLE_CONSTRAINTS,
KEY_COLUMN_USAGE and REFERENTIAL_CONSTRAINTS that the connector deliberately avoids, and the data itself: view SQL
is executed, index definitions are replayed, incremental reads are compared with a direct SELECT.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import pairwise

import pyarrow as pa
import pymysql
import pytest

from crawlers.connectors.mysql import (
    STATEMENTS_PER_DISCOVERY,
    MysqlConfig,
    MysqlConnector,
    ServerFlavour,
    _default,
    arrow_type,
    classify_error,
)
from crawlers.errors import (
    AuthenticationFailed,
    InvalidSourceConfig,
    PermissionDenied,
    SourceNotFound,
    SourceUnreachable,
)
from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy
from crawlers.registry import get_connector_class
from crawlers.scope import Scope
from crawlers.snapshot import TableKind
from tests.support.mariadb import (  # noqa: F401  (fixtures)
    make_mariadb_database,
    make_mariadb_module_database,
    make_mariadb_user,
    mariadb_execute,
    mariadb_query,
    mariadb_server,
    quote,
)
from tests.support.secrets import assert_password_hidden, secret

SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
UNICODE_SUFFIX = "_Kunden Übersicht"

MAIN_DDL = """
create table customers (
    id bigint unsigned not null auto_increment comment 'Surrogate key',
    email varchar(320) not null comment 'Login e-mail, unique',
    `MixedCase` varchar(40) default 'unset' comment 'A quoted, mixed-case column',
    created_at timestamp not null default current_timestamp on update current_timestamp,
    balance decimal(12,2) not null default 0.00,
    status enum('new','active','gone') not null default 'new',
    flags set('vip','test'),
    quote_default varchar(20) default 'it''s',
    region char(2) default 'DE',
    code varchar(20) default null,
    profile json,
    constraint customers_pk primary key (id),
    constraint customers_email_key unique (email),
    key customers_email_region_idx (email(10), region desc) comment 'prefix and descending'
) comment 'People who buy things';

create table orders (
    region char(2) not null,
    order_no int not null,
    customer_id bigint unsigned not null,
    total decimal(12,2) not null check (total >= 0),
    net decimal(12,2) as (round(total / 1.19, 2)) stored,
    gross_cents bigint as (total * 100) virtual,
    placed_at datetime(6) default current_timestamp(6),
    primary key (region, order_no),
    key orders_no_region_idx (order_no, region),
    constraint orders_customer_fk foreign key (customer_id) references customers (id) on delete restrict
);

create table order_lines (
    region char(2) not null,
    order_no int not null,
    line smallint not null,
    sku varchar(40) not null,
    qty int not null default 1,
    primary key (region, order_no, line),
    constraint order_lines_order_fk foreign key (order_no, region)
        references orders (order_no, region) on delete cascade on update restrict
);

create table `MixedCase` (`CamelId` int primary key, `Value` double, `Notes` text, fulltext key mixed_ft (`Notes`));
create table `back``tick` (id int primary key, `we``ird` varchar(10));
insert into `back``tick` values (1, 'a'), (2, 'b');

create view big_orders as select o.region, o.order_no, o.total from orders o where o.total > 1000;
create view customer_emails (customer, address) as select id, email from customers;

create table events (
    id bigint not null,
    happened_on date not null,
    payload json,
    primary key (id, happened_on)
) partition by range (year(happened_on)) (
    partition p2023 values less than (2024),
    partition p2024 values less than (2025),
    partition pmax values less than maxvalue
);
create sequence order_numbers;
"""

UNICODE_DDL = """
create table `Adresse` (
    adresse_id int auto_increment,
    kunde_id bigint unsigned,
    `Straße` varchar(100) not null comment 'Straßenname',
    `PLZ` char(5) not null,
    constraint adresse_pk primary key (adresse_id),
    constraint adresse_kunde_fk foreign key (kunde_id) references {main}.customers (id)
        on delete set null on update cascade,
    constraint adresse_plz_strasse_key unique (`PLZ`, `Straße`)
) comment 'Postanschriften';
"""


# -- helpers -----------------------------------------------------------------------------------------------------


def connector_for(config: dict, **overrides) -> MysqlConnector:
    return MysqlConnector(MysqlConfig(**{**config, **overrides}))


@pytest.fixture(scope="module")
def varied(make_mariadb_module_database) -> dict:
    """Three databases under one prefix: the main one, one with a unicode name and spaces, and a scratch one.

    Shared by the module's tests: the few that write leave the definitions as they found them.
    """
    make = make_mariadb_module_database
    main = make(MAIN_DDL, comment="Everything we sell")
    name = main["database"]
    unicode_db = make(
        UNICODE_DDL.format(main=quote(name)), prefix=name, suffix=UNICODE_SUFFIX, comment="Kundendaten (Unicode)"
    )
    scratch = make("create table junk (id int primary key)", prefix=name, suffix="_scratch")
    server = {k: v for k, v in main.items() if k != "database"}
    return {
        "main": name,
        "unicode": unicode_db["database"],
        "scratch": scratch["database"],
        "server": server,
        # database=None: the whole server, narrowed to this test's databases by a pattern
        "config": {**server, "include_schemas": [f"{name}*"]},
        "schemas": (name, unicode_db["database"], scratch["database"]),
    }


def in_list(values) -> str:
    return ", ".join(["%s"] * len(values))


# -- discovery vs. independent oracles --------------------------------------------------------------------------


def test_schemas_and_schema_comments_match_the_server(varied):
    snapshot = connector_for(varied["config"]).discover()
    oracle = mariadb_query(
        varied["server"],
        f"select schema_name, schema_comment from information_schema.schemata where schema_name in "
        f"({in_list(varied['schemas'])})",
        varied["schemas"],
    )
    assert [(s.name, s.comment) for s in snapshot.schemas] == sorted((n, c or None) for n, c in oracle)
    assert snapshot.schema_map()[varied["main"]].comment == "Everything we sell"
    assert snapshot.schema_map()[varied["unicode"]].comment == "Kundendaten (Unicode)"
    assert snapshot.schema_map()[varied["scratch"]].comment is None

    # Without any pattern the whole server is read, but never its system schemas.
    everything = connector_for(varied["server"]).discover()
    names = {s.name for s in everything.schemas}
    assert set(varied["schemas"]) <= names
    assert not names & set(SYSTEM_SCHEMAS)
    assert not any(t.schema in SYSTEM_SCHEMAS for t in everything.tables)


def test_relations_and_kinds_match_show_table_status(varied):
    snapshot = connector_for(varied["config"]).discover()
    expected = {}
    for schema in varied["schemas"]:
        for row in mariadb_query(varied["server"], f"show full tables from {quote(schema)}"):
            name, table_type = row
            if table_type != "SEQUENCE":
                expected[(schema, name)] = TableKind.VIEW if table_type == "VIEW" else TableKind.TABLE
    assert {t.key: t.kind for t in snapshot.tables} == expected
    assert [t.key for t in snapshot.tables] == sorted(expected)
    main = varied["main"]
    assert (main, "order_numbers") not in expected and len(expected) == 10, "the sequence is left out"
    assert {(main, "MixedCase"), (main, "back`tick"), (varied["unicode"], "Adresse")} <= set(expected)


def test_columns_match_show_full_columns_column_by_column(varied):
    snapshot = connector_for(varied["config"]).discover()
    for table in snapshot.tables:
        rows = mariadb_query(varied["server"], f"show full columns from {quote(table.schema)}.{quote(table.name)}")
        assert [c.name for c in table.columns] == [r[0] for r in rows], table.key
        for ordinal, (column, row) in enumerate(zip(table.columns, rows, strict=True), start=1):
            name, column_type, _collation, null, _key, _default_text, extra, _privileges, comment = row
            where = (table.schema, table.name, name)
            assert column.ordinal == ordinal, where
            assert column.data_type == column_type, where
            assert column.nullable == (null == "YES"), where
            assert column.comment == (comment or None), where
            if "auto_increment" in extra:
                assert column.generated == "identity" and column.default is None, where
            elif "GENERATED" in extra:
                assert column.generated and column.default is None, where
            else:
                assert column.generated is None, where

    # Defaults are SQL expressions; information_schema prints them so on MariaDB.
    defaults = {
        (s, t, c): d
        for s, t, c, d in mariadb_query(
            varied["server"],
            f"select table_schema, table_name, column_name, column_default from information_schema.columns "
            f"where table_schema in ({in_list(varied['schemas'])})",
            varied["schemas"],
        )
    }
    tables = snapshot.table_map()
    for table in tables.values():
        for column in table.columns:
            raw = defaults[(table.schema, table.name, column.name)]
            if table.kind is TableKind.VIEW or column.generated or raw == "NULL":
                assert column.default is None, (table.key, column.name)
            else:
                assert column.default == raw, (table.key, column.name)

    main = varied["main"]
    customers = tables[(main, "customers")]
    assert customers.column("email").data_type == "varchar(320)"
    assert customers.column("balance").data_type == "decimal(12,2)"
    assert customers.column("balance").default == "0.00"
    assert customers.column("status").data_type == "enum('new','active','gone')"
    assert customers.column("status").default == "'new'"
    assert customers.column("quote_default").default == "'it''s'"
    assert customers.column("MixedCase").default == "'unset'"
    assert customers.column("MixedCase").comment == "A quoted, mixed-case column"
    assert customers.column("code").default is None and customers.column("code").nullable
    assert customers.column("created_at").default == "current_timestamp()"
    assert customers.column("id").data_type == "bigint(20) unsigned"
    assert customers.column("id").generated == "identity" and customers.column("id").comment == "Surrogate key"
    assert customers.properties["on_update"] == {"created_at": "current_timestamp()"}
    assert customers.properties["engine"] == "InnoDB"
    orders = tables[(main, "orders")]
    assert orders.column("net").generated == "round(`total` / 1.19,2)"
    assert orders.column("gross_cents").generated == "`total` * 100"
    assert orders.column("placed_at").default == "current_timestamp(6)"
    assert [c.name for c in tables[(main, "customer_emails")].columns] == ["customer", "address"]
    assert tables[(main, "back`tick")].column("we`ird").data_type == "varchar(10)"
    adresse = tables[(varied["unicode"], "Adresse")]
    assert adresse.column("Straße").comment == "Straßenname"
    assert adresse.column("adresse_id").generated == "identity"


def test_mysql_style_defaults_are_quoted_like_mariadb(varied):
    # MySQL (and MariaDB before 10.2.7) print defaults bare, as SHOW COLUMNS still does on MariaDB: normalising the
    # bare form must give what MariaDB's information_schema prints.
    mysql8 = ServerFlavour(mariadb=False, version=(8, 0, 36))
    checked = 0
    for table in connector_for(varied["config"]).discover().tables:
        if table.kind is TableKind.VIEW:
            continue
        rows = mariadb_query(varied["server"], f"show full columns from {quote(table.schema)}.{quote(table.name)}")
        for name, column_type, _, _, _, bare, extra, _, _ in rows:
            column = table.column(name)
            if column.generated is None:
                assert _default(bare, extra, column_type, mysql8) == column.default, (table.key, name)
                checked += 1
    assert checked > 20


def test_keys_match_the_constraint_catalog(varied):
    tables = connector_for(varied["config"]).discover().table_map()
    schemas = varied["schemas"]
    rows = mariadb_query(
        varied["server"],
        f"""select tc.table_schema, tc.table_name, tc.constraint_name, tc.constraint_type,
                   k.column_name, k.ordinal_position, k.referenced_table_schema, k.referenced_table_name,
                   k.referenced_column_name, rc.delete_rule, rc.update_rule
            from information_schema.table_constraints tc
            join information_schema.key_column_usage k
              on k.constraint_schema = tc.constraint_schema and k.constraint_name = tc.constraint_name
             and k.table_schema = tc.table_schema and k.table_name = tc.table_name
            left join information_schema.referential_constraints rc
              on rc.constraint_schema = tc.constraint_schema and rc.constraint_name = tc.constraint_name
             and rc.table_name = tc.table_name
            where tc.table_schema in ({in_list(schemas)})
              and tc.constraint_type in ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
            order by k.ordinal_position""",
        schemas,
    )
    grouped: dict[tuple, list] = defaultdict(list)
    for schema, table, name, ctype, column, _, ref_schema, ref_table, ref_column, on_delete, on_update in rows:
        grouped[(schema, table, name, ctype, ref_schema, ref_table, on_delete, on_update)].append((column, ref_column))
    expected_pk, expected_unique, expected_fk = {}, defaultdict(list), defaultdict(list)
    for (schema, table, name, ctype, ref_schema, ref_table, on_delete, on_update), cols in grouped.items():
        columns = tuple(c for c, _ in cols)
        if ctype == "PRIMARY KEY":
            expected_pk[(schema, table)] = (name, columns)
        elif ctype == "UNIQUE":
            expected_unique[(schema, table)].append((name, columns))
        else:
            expected_fk[(schema, table)].append(
                (name, columns, ref_schema, ref_table, tuple(r for _, r in cols), on_delete, on_update)
            )
    assert expected_fk, "the oracle found no foreign keys"
    for key, table in tables.items():
        pk = (table.primary_key.name, table.primary_key.columns) if table.primary_key else None
        assert pk == expected_pk.get(key), key
        assert [(u.name, u.columns) for u in table.unique_constraints] == sorted(expected_unique.get(key, [])), key
        assert [
            (f.name, f.columns, f.referred_schema, f.referred_table, f.referred_columns, f.on_delete, f.on_update)
            for f in table.foreign_keys
        ] == sorted(expected_fk.get(key, [])), key

    main = varied["main"]
    lines_fk = tables[(main, "order_lines")].foreign_keys[0]
    assert lines_fk.columns == ("order_no", "region") and lines_fk.referred_columns == ("order_no", "region")
    assert (lines_fk.on_delete, lines_fk.on_update) == ("CASCADE", "RESTRICT")
    assert tables[(main, "orders")].primary_key.columns == ("region", "order_no")
    assert tables[(main, "customers")].primary_key.name == "PRIMARY", "MySQL names every primary key PRIMARY"
    adresse = tables[(varied["unicode"], "Adresse")]
    assert adresse.unique_constraints[0].columns == ("PLZ", "Straße")
    fk = adresse.foreign_keys[0]
    assert (fk.referred_schema, fk.referred_table) == (main, "customers"), "a key across schemas"
    assert (fk.on_delete, fk.on_update) == ("SET NULL", "CASCADE")


def test_a_foreign_key_sharing_its_name_with_a_unique_key_keeps_both(make_mariadb_database):
    # MySQL names foreign keys per schema and unique keys per table, so one table can hold both under one name.
    config = make_mariadb_database(
        "create table referrals (id int primary key, referred_by int, code varchar(8),"
        " constraint fk_ref_by unique (referred_by, code),"
        " constraint fk_ref_by foreign key (referred_by) references referrals (id) on delete set null)"
    )
    table = connector_for(config).discover().table_map()[(config["database"], "referrals")]
    # Oracle: the unique index's columns from STATISTICS, the foreign key's from its REFERENTIAL_CONSTRAINTS row
    # joined to the KEY_COLUMN_USAGE rows that name a referenced table.
    unique_columns = mariadb_query(
        config,
        "select column_name from information_schema.statistics where table_schema = %s and table_name = 'referrals'"
        " and index_name = 'fk_ref_by' and non_unique = 0 order by seq_in_index",
        (config["database"],),
    )
    foreign_rows = mariadb_query(
        config,
        """select k.column_name, k.referenced_table_name, k.referenced_column_name, rc.delete_rule
           from information_schema.referential_constraints rc
           join information_schema.key_column_usage k
             on k.constraint_schema = rc.constraint_schema and k.constraint_name = rc.constraint_name
            and k.table_name = rc.table_name and k.referenced_table_name is not null
           where rc.constraint_schema = %s and rc.constraint_name = 'fk_ref_by'
           order by k.ordinal_position""",
        (config["database"],),
    )
    assert [(u.name, u.columns) for u in table.unique_constraints] == [
        ("fk_ref_by", tuple(c for (c,) in unique_columns))
    ]
    assert [(f.name, f.columns, f.referred_table, f.referred_columns, f.on_delete) for f in table.foreign_keys] == [
        (
            "fk_ref_by",
            tuple(r[0] for r in foreign_rows),
            foreign_rows[0][1],
            tuple(r[2] for r in foreign_rows),
            foreign_rows[0][3],
        )
    ]


def test_indexes_match_show_index_and_their_definitions_replay(varied):
    tables = connector_for(varied["config"]).discover().table_map()
    for key, table in tables.items():
        if table.kind is TableKind.VIEW:
            assert table.indexes == (), key
            continue
        oracle: dict[str, list] = defaultdict(list)
        for row in mariadb_query(varied["server"], f"show index from {quote(key[0])}.{quote(key[1])}"):
            _, non_unique, name, seq, column, *_ = row
            oracle[name].append((seq, column, not non_unique))
        got = {i.name: (i.columns, i.unique) for i in table.indexes}
        assert [i.name for i in table.indexes] == sorted(oracle), key
        for name, parts in oracle.items():
            parts.sort()
            assert got[name] == (tuple(c for _, c, _ in parts), parts[0][2]), (key, name)

    main = varied["main"]
    customers = {i.name: i for i in tables[(main, "customers")].indexes}
    prefixed = customers["customers_email_region_idx"]
    assert prefixed.columns == ("email", "region")
    assert prefixed.definition == (
        "KEY `customers_email_region_idx` (`email`(10),`region` DESC) USING BTREE COMMENT 'prefix and descending'"
    )
    assert customers["PRIMARY"].definition == "PRIMARY KEY (`id`) USING BTREE"
    assert customers["customers_email_key"].unique
    assert {i.name: i.definition for i in tables[(main, "MixedCase")].indexes}["mixed_ft"] == (
        "FULLTEXT KEY `mixed_ft` (`Notes`)"
    )

    # The definition is the server's own index syntax: dropping the index and adding it back from the definition
    # gives the same index.
    before = sorted(mariadb_query(varied["server"], f"show index from {quote(main)}.customers"))
    mariadb_execute(
        varied["server"],
        f"alter table {quote(main)}.customers drop index customers_email_region_idx, add {prefixed.definition}",
    )
    assert sorted(mariadb_query(varied["server"], f"show index from {quote(main)}.customers")) == before
    again = connector_for(varied["config"]).discover().table_map()[(main, "customers")]
    assert again.indexes == tables[(main, "customers")].indexes


def test_views_keep_their_sql_and_comments_match_show_table_status(varied):
    config = varied["config"]
    main = varied["main"]
    mariadb_execute({"database": main}, "insert into customers (email) values ('a@x'), ('b@x')")
    tables = connector_for(config).discover().table_map()

    views = {
        (s, n): d
        for s, n, d in mariadb_query(
            varied["server"],
            f"select table_schema, table_name, view_definition from information_schema.views "
            f"where table_schema in ({in_list(varied['schemas'])})",
            varied["schemas"],
        )
    }
    assert {k for k, t in tables.items() if t.view_definition is not None} == set(views)
    for key, sql in views.items():
        assert tables[key].view_definition == sql, key
        # the stored SQL is a query in its own right: it returns what the view returns
        assert sorted(mariadb_query(varied["server"], sql)) == sorted(
            mariadb_query(varied["server"], f"select * from {quote(key[0])}.{quote(key[1])}")
        )
    emails = tables[(main, "customer_emails")]
    assert emails.view_definition.startswith("select ") and f"from `{main}`.`customers`" in emails.view_definition
    assert len(mariadb_query(varied["server"], emails.view_definition)) == 2

    for schema in varied["schemas"]:
        for row in mariadb_query(varied["server"], f"show table status from {quote(schema)}"):
            name, engine, comment = row[0], row[1], row[17]
            if (schema, name) in tables:
                table = tables[(schema, name)]
                assert table.comment == (None if engine is None else comment or None), (schema, name)
    assert tables[(main, "customers")].comment == "People who buy things"
    assert tables[(varied["unicode"], "Adresse")].comment == "Postanschriften"
    assert tables[(main, "big_orders")].comment is None, "a view's TABLE_COMMENT ('VIEW') is not a comment"


def test_partitioned_table_and_row_estimates(varied):
    main = varied["main"]
    mariadb_execute(
        {"database": main},
        "insert into events select seq, date '2023-06-01' + interval (seq mod 400) day, null from seq_1_to_500;"
        "analyze table events, customers;",
    )
    tables = connector_for(varied["config"]).discover().table_map()
    events = tables[(main, "events")]
    assert events.kind == TableKind.TABLE
    assert events.partition_key == "RANGE (year(`happened_on`))"
    assert not any(name.startswith("p20") or name == "pmax" for _, name in tables)
    estimates = dict(
        mariadb_query(
            varied["server"],
            "select table_name, table_rows from information_schema.tables where table_schema = %s",
            (main,),
        )
    )
    for (schema, name), table in tables.items():
        if schema == main:
            expected = None if table.kind is TableKind.VIEW else estimates[name]
            assert table.row_estimate == expected, name
    assert events.row_estimate == estimates["events"] > 0
    assert tables[(main, "customers")].partition_key is None


def test_snapshots_of_an_unchanged_server_are_equal(varied):
    connector = connector_for(varied["config"])
    first, second = connector.discover(), connector.discover()
    assert first == second
    assert [t.definition_hash() for t in first.tables] == [t.definition_hash() for t in second.tables]


def test_broken_view_is_listed_without_columns(make_mariadb_database):
    config = make_mariadb_database("create table t (id int); create view v as select id from t; drop table t;")
    table = connector_for(config).discover().table_map()[(config["database"], "v")]
    assert table.kind == TableKind.VIEW and table.columns == ()
    assert table.properties == {"invalid_view": True} and table.comment is None


# -- scope -----------------------------------------------------------------------------------------------------


def test_schema_patterns_from_config_and_from_argument(varied):
    main, config = varied["main"], varied["config"]
    snapshot = connector_for(config, exclude_schemas=["*_scratch"]).discover()
    assert {s.name for s in snapshot.schemas} == {main, varied["unicode"]}
    assert not any(t.schema == varied["scratch"] for t in snapshot.tables)

    only_unicode = connector_for(config).discover(Scope(include_schemas=(f"{main}_Kunden *",)))
    assert [s.name for s in only_unicode.schemas] == [varied["unicode"]]
    assert [t.key for t in only_unicode.tables] == [(varied["unicode"], "Adresse")]

    # an exclude always wins over an include
    scope = Scope(include_schemas=(f"{main}*",), exclude_schemas=(main, f"{main}_K*"))
    assert [s.name for s in connector_for(config).discover(scope).schemas] == [varied["scratch"]]

    # `database` names one schema; patterns still apply on top of it
    single = connector_for(varied["server"], database=main).discover()
    assert [s.name for s in single.schemas] == [main] and all(t.schema == main for t in single.tables)
    assert connector_for(varied["server"], database=main, exclude_schemas=[main]).discover().tables == ()


def test_table_patterns_with_and_without_schema(varied):
    main = varied["main"]
    connector = connector_for(varied["config"])
    dotted = connector.discover(Scope(include_schemas=(f"{main}*",), include_tables=(f"{main}.order*",)))
    assert [t.key for t in dotted.tables] == [(main, "order_lines"), (main, "orders")]

    bare = connector.discover(Scope(include_schemas=(main, varied["scratch"]), exclude_tables=("*orders*", "junk")))
    names = {t.name for t in bare.tables}
    assert "orders" not in names and "big_orders" not in names and "junk" not in names
    assert {"customers", "order_lines", "MixedCase"} <= names

    by_schema = connector.discover(Scope(include_schemas=(f"{main}*",), exclude_tables=(f"{main}_Kunden *.*",)))
    assert not any(t.schema == varied["unicode"] for t in by_schema.tables)
    assert varied["unicode"] in by_schema.schema_map(), "a schema stays even when all its tables are excluded"
    # keys of an in-scope table may still refer to an out-of-scope table
    lines = connector.discover(Scope(include_schemas=(main,), include_tables=("order_lines",))).tables
    assert [t.name for t in lines] == ["order_lines"] and lines[0].foreign_keys[0].referred_table == "orders"

    # a scope that selects no schema still sends the same statements and finds nothing
    nothing = connector.discover(Scope(include_schemas=("no_such_schema_*",)))
    assert nothing.schemas == () and nothing.tables == () and nothing.queries == STATEMENTS_PER_DISCOVERY


# -- connection test and error mapping -------------------------------------------------------------------------


def test_connection_reports_server_version(make_mariadb_database):
    check = connector_for(make_mariadb_database()).test_connection()
    version = mariadb_query({}, "select version()")[0][0]
    assert check.server.startswith(version) and "MariaDB" in check.server
    assert check.elapsed_ms > 0


def test_wrong_password_and_unknown_user_are_authentication_failures(make_mariadb_database, make_mariadb_user):
    config = make_mariadb_database("create table t (id int)")
    right = secret()
    user = make_mariadb_user(right, grants=(f"select on {quote(config['database'])}.* ",))
    for name, password in ((user, secret()), (f"cat_missing_{uuid.uuid4().hex[:8]}", secret())):
        with pytest.raises(AuthenticationFailed) as caught:
            connector_for(config, user=name, password=password).test_connection()
        assert caught.value.field == "secrets.password"
        assert name in caught.value.message and "user or password" in caught.value.message
        assert "127.0.0.1:3306" in caught.value.message
        assert_password_hidden(caught.value, password)

    with pytest.raises(AuthenticationFailed) as caught:
        connector_for(config, user=user).test_connection()
    assert "none is configured" in caught.value.message

    good = connector_for(config, user=user, password=right)
    assert good.test_connection().server
    assert [t.name for t in good.discover().tables] == ["t"]


def test_non_ascii_password_is_sent_as_utf8(make_mariadb_database, make_mariadb_user):
    config = make_mariadb_database()
    password = f"  Grüße-€-{uuid.uuid4().hex[:6]} "
    user = make_mariadb_user(password, grants=(f"select on {quote(config['database'])}.*",))
    assert connector_for(config, user=user, password=password).test_connection().server


def test_missing_database_privilege_is_permission_denied(make_mariadb_database, make_mariadb_user):
    config = make_mariadb_database()
    password = secret()
    user = make_mariadb_user(password)  # USAGE only: may log in, may not use the database
    with pytest.raises(PermissionDenied) as caught:
        connector_for(config, user=user, password=password).test_connection()
    assert caught.value.field == "config.user" and user in caught.value.message
    assert_password_hidden(caught.value, password)


def test_unknown_database_is_not_found(mariadb_server):
    connector = connector_for(mariadb_server, database=f"cat_nope_{uuid.uuid4().hex[:8]}")
    for call in (connector.test_connection, connector.discover):
        with pytest.raises(SourceNotFound) as caught:
            call()
        assert caught.value.field == "config.database"
        assert connector.config.database in caught.value.message


def test_required_tls_against_a_server_without_tls(mariadb_server):
    if mariadb_query({}, "select @@have_ssl")[0][0] == "YES":
        pytest.skip("this server offers TLS")
    with pytest.raises(InvalidSourceConfig) as caught:
        connector_for(mariadb_server, ssl=True).test_connection()
    assert caught.value.field == "config.ssl" and "TLS" in caught.value.message


def test_errors_that_cannot_be_provoked_here_are_classified():
    # MySQL's own statement timeout (the test server is MariaDB), and server states a test cannot cause safely.
    cfg = MysqlConfig(user="alice", database="shop", password="pw-123")
    address = "db:3306"
    cases = {
        3024: (SourceUnreachable, "config.statement_timeout_ms"),
        1040: (SourceUnreachable, "config.host"),
        2013: (SourceUnreachable, "config.host"),
        1130: (AuthenticationFailed, "config.user"),
        1142: (PermissionDenied, "config.user"),
        1146: (SourceNotFound, None),
    }
    for code, (kind, field) in cases.items():
        mapped = classify_error(pymysql.OperationalError(code, "server says no"), cfg, address)
        assert type(mapped) is kind and mapped.field == field, code
        assert "pw-123" not in mapped.message


# -- incremental reads -----------------------------------------------------------------------------------------

LEDGER_DDL = """
create table ledger (
    id bigint unsigned not null auto_increment primary key,
    updated_at datetime(6) not null,
    happened timestamp(3) null,
    amount decimal(14,4) not null,
    huge decimal(50,10),
    note varchar(40),
    payload blob,
    flag tinyint(1),
    day date,
    took time(3),
    mask bit(5),
    ratio float,
    score double,
    kind enum('a','b'),
    doc json
);
"""


def ledger_rows(count: int) -> list[tuple]:
    rng = random.Random(7)
    start = datetime(2024, 1, 1, 8, 0, 0)
    rows = []
    for i in range(count):
        rows.append((
            start + timedelta(minutes=i // 7),  # runs of 7 rows share a modification time
            start + timedelta(seconds=i, milliseconds=i % 1000) if i % 9 else None,
            Decimal(rng.randint(-10**9, 10**9)) / 10_000,
            Decimal(rng.randint(0, 10**30)) / 10**10 if i % 5 else None,
            f"row {i} Übung" if i % 4 else None,
            bytes([i % 256, 0, 255]),
            i % 3 - 1,
            date(2023, 1, 1) + timedelta(days=i),
            timedelta(hours=-5 if i % 2 else 30, milliseconds=i),
            i % 32,
            1.5 + i,
            i / 3,
            "ab"[i % 2],
            f'{{"i": {i}}}',
        ))
    return rows


def make_ledger(make) -> dict:
    config = make(LEDGER_DDL)
    mariadb_execute(
        config,
        "insert into ledger (updated_at, happened, amount, huge, note, payload, flag, day, took, mask, ratio, score,"
        " kind, doc) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        ledger_rows(250),
        many=True,
    )
    connector = connector_for(config)
    table = connector.discover().table_map()[(config["database"], "ledger")]
    return {"config": config, "connector": connector, "table": table}


@pytest.fixture(scope="module")
def ledger(make_mariadb_module_database) -> dict:
    """250 rows of varied types, shared by the module's read-only increment tests."""
    return make_ledger(make_mariadb_module_database)


def direct_rows(config: dict, where: str = "", params: tuple = (), order: str = "id") -> list[dict]:
    """The oracle: a plain SELECT with the session in UTC, as dictionaries of Python values."""
    with pymysql.connect(host=config["host"], port=config["port"], user=config["user"], database=config["database"],
                         cursorclass=pymysql.cursors.DictCursor) as conn, conn.cursor() as cursor:
        cursor.execute("set time_zone = '+00:00'")
        cursor.execute(f"select * from ledger {where} order by {order}", params)
        return list(cursor.fetchall())


def normalised(row: dict) -> dict:
    """Direct-SELECT values in the form the Arrow reader promises."""
    out = dict(row)
    if out["happened"] is not None:
        out["happened"] = out["happened"].replace(tzinfo=UTC)
    out["mask"] = int.from_bytes(out["mask"], "big") if out["mask"] is not None else None
    return out


def read_all(connector, table, strategy, column=None, watermark=None, batch_rows=40) -> list[pa.RecordBatch]:
    plan = IncrementPlan(strategy, column)
    return list(connector.read_increment(IncrementRequest(table, plan, watermark, batch_rows)))


def rows_of(batches: list[pa.RecordBatch]) -> list[dict]:
    return [row for batch in batches for row in batch.to_pylist()]


def test_key_increments_in_batches_with_types_that_round_trip(ledger):
    batches = read_all(ledger["connector"], ledger["table"], IncrementStrategy.KEY, "id", batch_rows=40)
    assert [b.num_rows for b in batches] == [40] * 6 + [10]
    assert rows_of(batches) == [normalised(r) for r in direct_rows(ledger["config"])]

    schema = batches[0].schema
    assert schema.field("id").type == pa.uint64()
    assert schema.field("amount").type == pa.decimal128(14, 4)
    assert schema.field("huge").type == pa.decimal256(50, 10)
    assert schema.field("updated_at").type == pa.timestamp("us")
    assert schema.field("happened").type == pa.timestamp("us", tz="UTC")
    assert schema.field("day").type == pa.date32()
    assert schema.field("took").type == pa.duration("us")
    assert schema.field("flag").type == pa.int8()
    assert schema.field("mask").type == pa.uint64()
    assert schema.field("payload").type == pa.binary()
    assert schema.field("note").type == pa.string() and schema.field("doc").type == pa.string()
    assert schema.field("ratio").type == pa.float32() and schema.field("score").type == pa.float64()
    assert not schema.field("amount").nullable and schema.field("note").nullable
    first = batches[0].to_pylist()[1]
    assert first["flag"] == 0 and first["took"] == timedelta(hours=-5, milliseconds=1)
    assert first["amount"] == direct_rows(ledger["config"])[1]["amount"]


def test_key_watermark_resumes_after_the_largest_value_seen(ledger):
    connector, table = ledger["connector"], ledger["table"]
    first_two = read_all(connector, table, IncrementStrategy.KEY, "id")[:2]
    watermark = max(first_two[1].column("id").to_pylist())
    rest = read_all(connector, table, IncrementStrategy.KEY, "id", watermark=watermark)
    expected = [normalised(r) for r in direct_rows(ledger["config"], "where id > %s", (watermark,))]
    assert rows_of(rest) == expected and len(expected) == 250 - 80


def test_timestamp_batches_never_split_rows_sharing_a_value(ledger):
    connector, table = ledger["connector"], ledger["table"]
    batches = read_all(connector, table, IncrementStrategy.TIMESTAMP, "updated_at", batch_rows=10)
    # rows sharing a timestamp come in the server's order: compare as sets of rows, then check the order
    assert sorted(rows_of(batches), key=lambda r: r["id"]) == [normalised(r) for r in direct_rows(ledger["config"])]
    stamps = [r["updated_at"] for r in rows_of(batches)]
    assert stamps == sorted(stamps)
    values = [b.column("updated_at").to_pylist() for b in batches]
    for earlier, later in pairwise(values):
        assert max(earlier) < min(later), "a run of equal timestamps was split between batches"
    assert all(len(v) >= 10 for v in values[:-1]) and max(len(v) for v in values) <= 10 + 6

    # A reader that stops after every batch and resumes from the largest value it has seen gets every row once.
    seen, watermark = [], None
    while True:
        reader = connector.read_increment(IncrementRequest(table, IncrementPlan(IncrementStrategy.TIMESTAMP,
                                                                                "updated_at"), watermark, 10))
        batch = next(reader, None)
        reader.close()  # abandons the rest of the streaming read
        if batch is None:
            break
        seen.extend(batch.column("id").to_pylist())
        watermark = max(batch.column("updated_at").to_pylist())
    assert sorted(seen) == list(range(1, 251)) and len(seen) == len(set(seen))


def test_timestamp_watermark_with_an_offset_is_compared_in_utc(ledger):
    connector, table = ledger["connector"], ledger["table"]
    # Without a watermark, rows whose timestamp is NULL are read too, first.
    everything = rows_of(read_all(connector, table, IncrementStrategy.TIMESTAMP, "happened", batch_rows=100))
    nulls = sum(1 for row in ledger_rows(250) if row[1] is None)
    assert len(everything) == 250 and nulls == 28
    assert [r["happened"] for r in everything[:nulls]] == [None] * nulls and everything[nulls]["happened"]

    cut = datetime(2024, 1, 1, 8, 0, 30, tzinfo=UTC)
    local = cut.astimezone(timezone(timedelta(hours=2)))
    got = rows_of(read_all(connector, table, IncrementStrategy.TIMESTAMP, "happened", watermark=local))
    expected = direct_rows(ledger["config"], "where happened > %s", (cut.replace(tzinfo=None),), "happened, id")
    inserted = [row[1] for row in ledger_rows(250)]
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    assert len(got) == sum(1 for h in inserted if h is not None and h > cut.replace(tzinfo=None)) > 100
    assert all(r["happened"] > cut for r in got)


def test_full_read_orders_by_primary_key_and_quotes_identifiers(make_mariadb_database, ledger):
    batches = read_all(ledger["connector"], ledger["table"], IncrementStrategy.FULL, batch_rows=100)
    assert [b.num_rows for b in batches] == [100, 100, 50]
    assert [r["id"] for r in rows_of(batches)] == list(range(1, 251))

    # MySQL stores zero dates and dates with a zero month or day unless the SQL mode forbids them: no dates.
    weird = make_mariadb_database(
        "set session sql_mode = '';"
        "create table `we``ird tab` (`k``ey` int primary key, `v` date not null, w datetime(3), x timestamp(3) null);"
        "insert into `we``ird tab` values (2, '2024-02-29', '2024-00-10 10:00:00.5', '2024-02-29 23:59:59.250'),"
        " (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'), (3, '2024-03-00', null, null);"
    )
    connector = connector_for(weird)
    snapshot_table = connector.discover().tables[0]
    batches = read_all(connector, snapshot_table, IncrementStrategy.FULL)
    assert rows_of(batches) == [
        {"k`ey": 1, "v": None, "w": None, "x": None},
        {"k`ey": 2, "v": date(2024, 2, 29), "w": None, "x": datetime(2024, 2, 29, 23, 59, 59, 250000, tzinfo=UTC)},
        {"k`ey": 3, "v": None, "w": None, "x": None},
    ]
    assert batches[0].schema.field("v").nullable, "a NOT NULL date column may still read as null"


def test_reading_a_table_that_changed_since_the_crawl_is_a_typed_error(make_mariadb_database):
    ledger = make_ledger(make_mariadb_database)
    connector, table = ledger["connector"], ledger["table"]
    mariadb_execute(ledger["config"], "alter table ledger drop column note")
    with pytest.raises(SourceNotFound) as gone_column:
        read_all(connector, table, IncrementStrategy.KEY, "id")
    assert "note" in gone_column.value.message and "changed since it was crawled" in gone_column.value.message
    mariadb_execute(ledger["config"], "drop table ledger")
    with pytest.raises(SourceNotFound) as missing:
        read_all(connector, table, IncrementStrategy.KEY, "id")
    assert "ledger" in missing.value.message


def test_arrow_types_of_other_column_types():
    assert arrow_type("tinyint(1) unsigned") == pa.int64()
    assert arrow_type("int(10) unsigned zerofill") == pa.int64()
    assert arrow_type("mediumint(8)") == pa.int64()
    assert arrow_type("year(4)") == pa.int64()
    assert arrow_type("decimal(38,0)") == pa.decimal128(38, 0)
    assert arrow_type("varbinary(16)") == pa.binary() and arrow_type("geometry") == pa.binary()
    assert arrow_type("set('a','b')") == pa.string() and arrow_type("uuid") == pa.string()
    assert arrow_type("datetime(6)") == pa.timestamp("us")


# -- configuration and naming ----------------------------------------------------------------------------------


def test_registry_config_and_lineage_namespace():
    cls = get_connector_class("mysql")
    assert cls is MysqlConnector and cls.kind == "mysql" and cls.secret_fields == frozenset({"password"})
    connector = cls.from_mapping({"host": "db.example.com", "port": 3307, "database": "shop", "user": "crawler",
                                  "password": "  spaces count  "})
    assert connector.config.password.get_secret_value() == "  spaces count  "
    assert "spaces" not in repr(connector.config)
    lineage = connector.lineage_namespace()
    assert (lineage.namespace, lineage.name_prefix) == ("mysql://db.example.com:3307", "")
    assert connector_for({"user": "u"}, host="::1").lineage_namespace().namespace == "mysql://[::1]:3306"
    defaults = MysqlConfig(user="u")
    assert (defaults.host, defaults.port, defaults.database, defaults.ssl) == ("127.0.0.1", 3306, None, False)
    assert (defaults.connect_timeout_s, defaults.statement_timeout_ms) == (10, 30_000)
    for bad in ({"port": 0}, {"database": ""}, {"user": ""}, {"statement_timeout_ms": 50}, {"connect_timeout_s": 301},
                {"dsn": "x"}, {"include_schemas": ["x'; drop"]}):
        with pytest.raises(ValueError):
            MysqlConfig(**{"user": "u", **bad})


def test_server_flavour_from_handshake_banners():
    mariadb = ServerFlavour.parse("5.5.5-10.11.19-MariaDB-0+deb12u1")
    assert (mariadb.mariadb, mariadb.version, mariadb.quoted_defaults, mariadb.schema_comments) == (
        True, (10, 11, 19), True, True)
    assert mariadb.timeout_statement(1500) == ("SET SESSION max_statement_time = %s", (1.5,))
    mysql = ServerFlavour.parse("8.0.36-0ubuntu0.22.04.1")
    assert (mysql.mariadb, mysql.version, mysql.index_expressions, mysql.quoted_defaults) == (
        False, (8, 0, 36), True, False)
    assert mysql.timeout_statement(1500) == ("SET SESSION max_execution_time = %s", (1500,))
    assert not ServerFlavour.parse("10.1.48-MariaDB").quoted_defaults
