"""One adapter per SQL connector for the contract suite (`tests/crawlers/connectors/test_contract.py`).

An adapter builds real databases of its kind from portable DDL, makes connectors for them and answers the suite's
questions from the database's *own* catalog (information_schema, pg_catalog, SHOW statements, sqlite_schema and
pragmas), never through the connector. What differs between the kinds (the slow statement, the error a write in a
read-only transaction raises, how the timeout shows) is declared here, so every test of the suite is written once.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from crawlers.connectors.mysql import STATEMENTS_PER_DISCOVERY as MYSQL_STATEMENTS
from crawlers.connectors.mysql import MysqlConfig, MysqlConnector, MysqlSession
from crawlers.connectors.postgres import STATEMENTS_PER_DISCOVERY as PG_STATEMENTS
from crawlers.connectors.postgres import PostgresConfig, PostgresConnector, PostgresSession
from crawlers.connectors.sql import Session, SqlConnector
from crawlers.connectors.sqlite import SqliteConnector, SqliteSession
from crawlers.errors import SourceNotFound, SourceUnreachable
from crawlers.snapshot import TableKind
from tests.support.mariadb import mariadb_execute, mariadb_query, quote
from tests.support.postgres import pg_execute, pg_query
from tests.support.sqlite import build_database, oracle
from tests.support.sqlite import quote as sqlite_quote

Keys = dict[str, tuple[tuple[str, ...] | None, list[tuple]]]
"""Per table: its primary-key columns, and its foreign keys as (columns, table, columns, on delete, on update)."""


class SqlSource(ABC):
    """Real databases of one kind, and the database's own answers about them."""

    kind: str
    session_class: type[Session]
    statements: int | None = None
    """Statements per discovery when the dialect promises an exact figure."""
    max_statements: int
    first_statement: str
    slow_sql: str
    has_credentials = True

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.request = request

    @abstractmethod
    def database(self, ddl: str = "") -> dict:
        """A new database holding `ddl`; returns the connector config that reaches it."""

    @abstractmethod
    def connector(self, config: dict, **overrides: Any) -> SqlConnector: ...

    @abstractmethod
    def schema(self, config: dict) -> str:
        """The schema the portable DDL's tables land in."""

    @abstractmethod
    def execute(self, config: dict, sql: str) -> None: ...

    @abstractmethod
    def query(self, config: dict, sql: str) -> list[tuple]: ...

    @abstractmethod
    def oracle_relations(self, config: dict) -> dict[str, TableKind]: ...

    @abstractmethod
    def oracle_columns(self, config: dict, table: str) -> list[tuple[str, int, str, bool]]:
        """(name, ordinal, data type as the source spells it, nullable), in ordinal order."""

    @abstractmethod
    def oracle_keys(self, config: dict) -> Keys: ...

    @abstractmethod
    def assert_read_only_with_timeout(self, session: Session, timeout_ms: int) -> None: ...

    @abstractmethod
    def assert_write_refused(self, error: Exception) -> None: ...

    def assert_timeout_released(self, connector: SqlConnector, timeout_ms: int) -> None:
        """The timeout set for discovery does not outlive it."""

    @contextmanager
    @abstractmethod
    def stalled(self, config: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        """Within the block, discovery of `config` runs into a statement longer than any small timeout."""

    def credentials(self) -> tuple[dict, str] | None:
        """A config whose user needs a password (left out), and that password; None for sources without one."""
        return None

    @abstractmethod
    def unreachable(self) -> list[tuple[SqlConnector, type[Exception], str, str]]:
        """Connectors to sources that cannot be reached: (connector, error type, field, message fragment)."""


# -- PostgreSQL --------------------------------------------------------------------------------------------------


class PostgresSource(SqlSource):
    kind = "postgres"
    session_class = PostgresSession
    statements = PG_STATEMENTS
    max_statements = 8
    first_statement = "begin transaction isolation level repeatable read, read only"
    slow_sql = "select pg_catalog.pg_sleep(5)"

    def database(self, ddl: str = "") -> dict:
        return self.request.getfixturevalue("make_pg_database")(ddl or None)

    def connector(self, config: dict, **overrides: Any) -> PostgresConnector:
        return PostgresConnector(PostgresConfig(**{**config, **overrides}))

    def schema(self, config: dict) -> str:
        return "public"

    def execute(self, config: dict, sql: str) -> None:
        pg_execute(config, sql)

    def query(self, config: dict, sql: str) -> list[tuple]:
        return pg_query(config, sql)

    def oracle_relations(self, config: dict) -> dict[str, TableKind]:
        kinds = {"BASE TABLE": TableKind.TABLE, "VIEW": TableKind.VIEW}
        rows = pg_query(config, "select table_name, table_type from information_schema.tables "
                                "where table_schema = 'public'")
        return {name: kinds[kind] for name, kind in rows}

    def oracle_columns(self, config: dict, table: str) -> list[tuple[str, int, str, bool]]:
        rows = pg_query(
            config,
            """select c.column_name, c.ordinal_position, pg_catalog.format_type(a.atttypid, a.atttypmod), c.is_nullable
               from information_schema.columns c
               join pg_catalog.pg_attribute a
                 on a.attrelid = pg_catalog.format('%%I.%%I', c.table_schema, c.table_name)::regclass
                and a.attname = c.column_name
               where c.table_schema = 'public' and c.table_name = %s order by c.ordinal_position""",
            (table,),
        )
        return [(name, ordinal, data_type, nullable == "YES") for name, ordinal, data_type, nullable in rows]

    def oracle_keys(self, config: dict) -> Keys:
        usage: dict[str, list[tuple[int, str, int | None]]] = defaultdict(list)
        for name, column, position, unique_position in pg_query(
            config,
            "select constraint_name, column_name, ordinal_position, position_in_unique_constraint "
            "from information_schema.key_column_usage where constraint_schema = 'public'",
        ):
            usage[name].append((position, column, unique_position))
        owners = dict(pg_query(config, "select constraint_name, table_name from information_schema.table_constraints "
                                       "where constraint_schema = 'public'"))
        keys: Keys = {}
        for table, name, ctype, unique_name, delete_rule, update_rule in pg_query(
            config,
            """select tc.table_name, tc.constraint_name, tc.constraint_type, rc.unique_constraint_name,
                      rc.delete_rule, rc.update_rule
               from information_schema.table_constraints tc
               left join information_schema.referential_constraints rc
                      on rc.constraint_schema = tc.constraint_schema and rc.constraint_name = tc.constraint_name
               where tc.table_schema = 'public' and tc.constraint_type in ('PRIMARY KEY', 'FOREIGN KEY')""",
        ):
            pk, fks = keys.get(table, (None, []))
            columns = tuple(c for _, c, _ in sorted(usage[name]))
            if ctype == "PRIMARY KEY":
                pk = columns
            else:
                referred = {position: column for position, column, _ in usage[unique_name]}
                referred_columns = tuple(referred[u] for _, _, u in sorted(usage[name]))
                fks.append((columns, owners[unique_name], referred_columns, delete_rule, update_rule))
            keys[table] = (pk, fks)
        return keys

    def assert_read_only_with_timeout(self, session: Session, timeout_ms: int) -> None:
        assert session.fetch("show transaction_read_only") == [("on",)]
        assert session.fetch("show statement_timeout") == [(f"{timeout_ms}ms",)]
        assert session.fetch("show transaction_isolation") == [("repeatable read",)]

    def assert_write_refused(self, error: Exception) -> None:
        assert isinstance(error, psycopg.errors.ReadOnlySqlTransaction)

    def assert_timeout_released(self, connector: SqlConnector, timeout_ms: int) -> None:
        with connector._connect() as conn:  # the timeout was transaction-local
            assert conn.execute("show statement_timeout").fetchone() != (f"{timeout_ms}ms",)

    @contextmanager
    def stalled(self, config: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        # Printing a view's SQL takes a share lock on the tables it reads; a concurrent ACCESS EXCLUSIVE lock makes
        # discovery wait until the statement timeout cancels it.
        pg_execute(config, "create table stall (id int); create view stall_view as select id from stall;")
        with psycopg.connect(host=config["host"], port=config["port"], user=config["user"],
                             dbname=config["database"]) as blocker:
            blocker.execute("lock table stall in access exclusive mode")
            yield
            blocker.rollback()

    def credentials(self) -> tuple[dict, str]:
        # The machine's server trusts 127.0.0.1, so this is a throw-away cluster that demands scram passwords.
        server = self.request.getfixturevalue("pg_password_server")
        return {k: v for k, v in server.items() if k != "password"}, server["password"]

    def unreachable(self) -> list[tuple[SqlConnector, type[Exception], str, str]]:
        base = {"database": "postgres", "user": "postgres", "connect_timeout_s": 3}
        return [
            (self.connector(base, host="127.0.0.1", port=1), SourceUnreachable, "config.host", "127.0.0.1:1"),
            (self.connector(base, host="no-such-host.invalid"), SourceUnreachable, "config.host",
             "no-such-host.invalid"),
        ]


# -- MySQL / MariaDB ---------------------------------------------------------------------------------------------


class MariadbSource(SqlSource):
    kind = "mysql"
    session_class = MysqlSession
    statements = MYSQL_STATEMENTS
    max_statements = MYSQL_STATEMENTS
    first_statement = "SET SESSION max_statement_time = %s"
    slow_sql = "select sleep(5)"

    def database(self, ddl: str = "") -> dict:
        return self.request.getfixturevalue("make_mariadb_database")(ddl or None)

    def connector(self, config: dict, **overrides: Any) -> MysqlConnector:
        return MysqlConnector(MysqlConfig(**{**config, **overrides}))

    def schema(self, config: dict) -> str:
        return config["database"]

    def execute(self, config: dict, sql: str) -> None:
        mariadb_execute(config, sql)

    def query(self, config: dict, sql: str) -> list[tuple]:
        return mariadb_query(config, sql)

    def oracle_relations(self, config: dict) -> dict[str, TableKind]:
        rows = mariadb_query(config, f"show full tables from {quote(config['database'])}")
        return {name: TableKind.VIEW if kind == "VIEW" else TableKind.TABLE for name, kind in rows}

    def oracle_columns(self, config: dict, table: str) -> list[tuple[str, int, str, bool]]:
        rows = mariadb_query(config, f"show full columns from {quote(config['database'])}.{quote(table)}")
        return [(row[0], ordinal, row[1], row[3] == "YES") for ordinal, row in enumerate(rows, start=1)]

    def oracle_keys(self, config: dict) -> Keys:
        rows = mariadb_query(
            config,
            """select tc.table_name, tc.constraint_name, tc.constraint_type, k.column_name,
                      k.referenced_table_name, k.referenced_column_name, rc.delete_rule, rc.update_rule
               from information_schema.table_constraints tc
               join information_schema.key_column_usage k
                 on k.constraint_schema = tc.constraint_schema and k.constraint_name = tc.constraint_name
                and k.table_name = tc.table_name
               left join information_schema.referential_constraints rc
                 on rc.constraint_schema = tc.constraint_schema and rc.constraint_name = tc.constraint_name
                and rc.table_name = tc.table_name
               where tc.table_schema = database() and tc.constraint_type in ('PRIMARY KEY', 'FOREIGN KEY')
               order by k.ordinal_position""",
        )
        grouped: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
        for table, name, ctype, column, ref_table, ref_column, on_delete, on_update in rows:
            grouped[(table, name, ctype, ref_table, on_delete, on_update)].append((column, ref_column))
        keys: Keys = {}
        for (table, _, ctype, ref_table, on_delete, on_update), columns in grouped.items():
            pk, fks = keys.get(table, (None, []))
            if ctype == "PRIMARY KEY":
                pk = tuple(c for c, _ in columns)
            else:
                fks.append((tuple(c for c, _ in columns), ref_table, tuple(r for _, r in columns), on_delete,
                            on_update))
            keys[table] = (pk, fks)
        return keys

    def assert_read_only_with_timeout(self, session: Session, timeout_ms: int) -> None:
        assert session.fetch("select @@session.max_statement_time") == [(timeout_ms / 1000,)]

    def assert_write_refused(self, error: Exception) -> None:
        assert isinstance(error, pymysql.OperationalError)
        assert error.args[0] == 1792  # cannot execute statement in a READ ONLY transaction

    @contextmanager
    def stalled(self, config: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        # information_schema takes no lock another session could hold, so the catalog query itself is made slow:
        # the server interrupts it at the statement timeout (error 1969) as it would a truly slow one.
        import crawlers.connectors.mysql.catalog as catalog

        monkeypatch.setattr(catalog, "_SCHEMAS_SQL", catalog._SCHEMAS_SQL.replace("where", "where sleep(1) = 0 and"))
        yield

    def credentials(self) -> tuple[dict, str]:
        config = self.database("create table t (id int)")
        password = f"S3cr3t-{uuid.uuid4().hex}"
        user = self.request.getfixturevalue("make_mariadb_user")(
            password, grants=(f"select on {quote(config['database'])}.*",)
        )
        return {**config, "user": user}, password

    def unreachable(self) -> list[tuple[SqlConnector, type[Exception], str, str]]:
        base = {"user": "root", "connect_timeout_s": 3}
        return [
            (self.connector(base, host="127.0.0.1", port=1), SourceUnreachable, "config.host", "127.0.0.1:1"),
            (self.connector(base, host="no-such-host.invalid"), SourceUnreachable, "config.host",
             "no-such-host.invalid"),
        ]


# -- SQLite ------------------------------------------------------------------------------------------------------


class SqliteSource(SqlSource):
    kind = "sqlite"
    session_class = SqliteSession
    max_statements = 8
    first_statement = "BEGIN"
    slow_sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    has_credentials = False

    def _folder(self) -> Path:
        return self.request.getfixturevalue("tmp_path")

    def database(self, ddl: str = "") -> dict:
        path = build_database(self._folder() / f"{uuid.uuid4().hex[:12]}.db", ddl, analyze=True)
        return {"path": str(path)}

    def connector(self, config: dict, **overrides: Any) -> SqliteConnector:
        return SqliteConnector.from_mapping({**config, **overrides})

    def schema(self, config: dict) -> str:
        return "main"

    def execute(self, config: dict, sql: str) -> None:
        build_database(Path(config["path"]), sql)

    def query(self, config: dict, sql: str) -> list[tuple]:
        return oracle(Path(config["path"]), sql)

    def oracle_relations(self, config: dict) -> dict[str, TableKind]:
        rows = oracle(Path(config["path"]), "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view')")
        return {name: TableKind(kind) for name, kind in rows if not name.startswith("sqlite_")}

    def oracle_columns(self, config: dict, table: str) -> list[tuple[str, int, str, bool]]:
        rows = oracle(Path(config["path"]), f"PRAGMA table_xinfo({sqlite_quote(table)})")
        return [(name, cid + 1, declared, not notnull) for cid, name, declared, notnull, *_ in rows]

    def oracle_keys(self, config: dict) -> Keys:
        path = Path(config["path"])
        keys: Keys = {}
        for name, kind in self.oracle_relations(config).items():
            if kind is not TableKind.TABLE:
                continue
            info = oracle(path, f"PRAGMA table_info({sqlite_quote(name)})")
            pk = tuple(row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])) or None
            grouped: dict[int, list[tuple]] = defaultdict(list)
            for fk_id, _seq, parent, from_, to, on_update, on_delete, _match in oracle(
                path, f"PRAGMA foreign_key_list({sqlite_quote(name)})"
            ):
                grouped[fk_id].append((parent, from_, to, on_update, on_delete))
            fks = [(tuple(r[1] for r in rows), rows[0][0], tuple(r[2] for r in rows), rows[0][4], rows[0][3])
                   for rows in grouped.values()]
            keys[name] = (pk, fks)
        return keys

    def assert_read_only_with_timeout(self, session: Session, timeout_ms: int) -> None:
        assert session.conn.in_transaction
        assert session._timeout_ms == timeout_ms  # enforced by the progress handler, see the timeout tests

    def assert_write_refused(self, error: Exception) -> None:
        import sqlite3

        assert isinstance(error, sqlite3.OperationalError) and "readonly" in str(error)

    @contextmanager
    def stalled(self, config: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        # Every call to the clock is an hour later, and the handler runs at every instruction: any statement that
        # does real work is past its deadline.
        import crawlers.connectors.sqlite.session as session_module

        ticks = iter(range(0, 10**9, 3600))
        monkeypatch.setattr(session_module, "_clock", lambda: next(ticks))
        monkeypatch.setattr(session_module, "_PROGRESS_STEPS", 1)
        yield

    def unreachable(self) -> list[tuple[SqlConnector, type[Exception], str, str]]:
        path = self._folder() / "missing.db"
        return [(self.connector({"path": str(path)}), SourceNotFound, "config.path", str(path))]


SOURCES = {source.kind: source for source in (PostgresSource, MariadbSource, SqliteSource)}
