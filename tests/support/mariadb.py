"""Fixtures for the real MariaDB/MySQL server (127.0.0.1:3306, root, no password by default).

Databases are created per test as `cat_test_<hex>[suffix]` and dropped afterwards; users as `cat_u_<hex>`. A test
that needs the server skips when it is missing on a laptop, but fails under `CI=true`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pymysql
import pytest
from pymysql.constants import CLIENT

from tests.support.postgres import service_missing

MARIADB_HOST = os.environ.get("CATALOG_TEST_MARIADB_HOST", "127.0.0.1")
MARIADB_PORT = int(os.environ.get("CATALOG_TEST_MARIADB_PORT", "3306"))
MARIADB_USER = os.environ.get("CATALOG_TEST_MARIADB_USER", "root")
MARIADB_PASSWORD = os.environ.get("CATALOG_TEST_MARIADB_PASSWORD", "")


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def mariadb_connection(database: str | None = None) -> pymysql.connections.Connection:
    """An autocommit admin connection that accepts several statements at once."""
    return pymysql.connect(
        host=MARIADB_HOST,
        port=MARIADB_PORT,
        user=MARIADB_USER,
        password=MARIADB_PASSWORD,
        database=database,
        charset="utf8mb4",
        autocommit=True,
        client_flag=CLIENT.MULTI_STATEMENTS,
        connect_timeout=5,
    )


def mariadb_execute(config: dict, sql: str, params: tuple | list | None = None, *, many: bool = False) -> None:
    """Runs DDL/DML (several statements separated by `;` allowed without params) against a test database."""
    with mariadb_connection(config.get("database")) as conn, conn.cursor() as cursor:
        if many:
            cursor.executemany(sql, params)
            return
        cursor.execute(sql, params)
        while cursor.nextset():  # surfaces an error in any later statement
            pass


def mariadb_query(config: dict, sql: str, params: tuple | list | None = None) -> list[tuple]:
    with mariadb_connection(config.get("database")) as conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


@pytest.fixture(scope="session")
def mariadb_server() -> dict:
    try:
        with mariadb_connection() as conn, conn.cursor() as cursor:
            cursor.execute("select 1")
    except pymysql.Error as error:
        service_missing("MariaDB", error)
    return {"host": MARIADB_HOST, "port": MARIADB_PORT, "user": MARIADB_USER}


class MariadbDatabases:
    """Creates databases named `cat_test_<hex><suffix>` and drops them all at `drop_all()`.

    `make(ddl, suffix="", prefix=None, comment=None)` returns a connector config; pass `prefix` (an earlier
    database's name) to group several databases under one pattern (`prefix*`).
    """

    def __init__(self, server: dict) -> None:
        self.server = server
        self.created: list[str] = []

    def make(self, ddl: str | None = None, suffix: str = "", prefix: str | None = None,
             comment: str | None = None) -> dict:
        name = (prefix or f"cat_test_{uuid.uuid4().hex[:12]}") + suffix
        with mariadb_connection() as conn, conn.cursor() as cursor:
            sql = f"create database {quote(name)} character set utf8mb4"
            if comment is not None:
                sql += " comment %s"
            cursor.execute(sql, (comment,) if comment is not None else None)
        self.created.append(name)
        config = {**self.server, "database": name}
        if MARIADB_PASSWORD:
            config["password"] = MARIADB_PASSWORD
        if ddl:
            mariadb_execute(config, ddl)
        return config

    __call__ = make

    def drop_all(self) -> None:
        with mariadb_connection() as conn, conn.cursor() as cursor:
            cursor.execute("set session foreign_key_checks = 0")  # keys may cross the test's databases
            for name in reversed(self.created):
                cursor.execute(f"drop database if exists {quote(name)}")
        self.created.clear()


@pytest.fixture
def make_mariadb_database(mariadb_server: dict) -> Iterator[Callable[..., dict]]:
    """Creates databases for one test (see `MariadbDatabases.make`); drops them afterwards."""
    databases = MariadbDatabases(mariadb_server)
    yield databases
    databases.drop_all()


@pytest.fixture(scope="module")
def make_mariadb_module_database(mariadb_server: dict) -> Iterator[Callable[..., dict]]:
    """Like `make_mariadb_database`, for fixtures that read-only tests of one module share."""
    databases = MariadbDatabases(mariadb_server)
    yield databases
    databases.drop_all()


@pytest.fixture
def make_mariadb_user(mariadb_server: dict) -> Iterator[Callable[..., str]]:
    """Creates users `cat_u_<hex>` at `%` and `localhost` with a password; drops them afterwards."""
    created: list[str] = []

    def make(password: str, grants: tuple[str, ...] = ()) -> str:
        user = f"cat_u_{uuid.uuid4().hex[:12]}"
        created.append(user)
        with mariadb_connection() as conn, conn.cursor() as cursor:
            for host in ("%", "localhost"):
                cursor.execute("create user %s@%s identified by %s", (user, host, password))
                for grant in grants:
                    cursor.execute(f"grant {grant} to %s@%s", (user, host))
        return user

    yield make
    with mariadb_connection() as conn, conn.cursor() as cursor:
        for user in created:
            for host in ("%", "localhost"):
                cursor.execute("drop user if exists %s@%s", (user, host))
