"""The local PostgreSQL server the tests use (trust auth), and running SQL in a test database."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

PG_HOST = os.environ.get("CATALOG_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CATALOG_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("CATALOG_TEST_PG_USER", "postgres")


def service_missing(name: str, error: Exception) -> None:
    """Skips the test when a local service is missing on a laptop; under `CI=true` a missing service fails it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required under CI=true but is not reachable: {error}")
    pytest.skip(f"{name} not reachable: {error}")


def pg_admin_connection() -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True)


def pg_execute(config: dict, sql: str) -> None:
    """Runs DDL/DML against a test database."""
    with psycopg.connect(
        host=config["host"], port=config["port"], user=config["user"], dbname=config["database"], autocommit=True
    ) as conn:
        conn.execute(sql)


def pg_query(config: dict, sql: str, params: tuple | None = None) -> list[tuple]:
    with psycopg.connect(
        host=config["host"], port=config["port"], user=config["user"], dbname=config["database"], autocommit=True
    ) as conn:
        return conn.execute(sql, params).fetchall()


@contextlib.contextmanager
def throwaway_pg_database() -> Iterator[str]:
    """An empty database `cat_test_<random>` on the local server, dropped (connections and all) on exit; yields its
    SQLAlchemy URL. Skips the test when the server is missing (fails under `CI=true`)."""
    name = f"cat_test_{uuid.uuid4().hex[:12]}"
    try:
        with pg_admin_connection() as conn:
            conn.execute(f'create database "{name}"')
    except psycopg.OperationalError as error:
        service_missing("PostgreSQL", error)
    try:
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with pg_admin_connection() as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
