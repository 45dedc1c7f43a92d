"""Small sources used by several test files: SQLite files registered through the service, the PostgreSQL shop,
and a way to hold a PostgreSQL crawl in the middle of its discovery."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from catalog_api.services import sources
from catalog_api.services.context import ServiceContext
from tests.support.postgres import pg_admin_connection
from tests.support.sqlite import build_database

# -- SQLite -----------------------------------------------------------------------------------------------------

ORDERS = "create table orders (id integer primary key, total real)"

SHOP = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
    amount NUMERIC(12, 2) DEFAULT 0, placed_at TEXT
);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100;
"""
"""Two related tables and a view."""


def sqlite_shop(path: Path) -> str:
    """A small SQLite database: two related tables and a view (`SHOP`). Returns its path as text."""
    return str(build_database(path, SHOP))


def register_sqlite(ctx: ServiceContext, tmp_path: Path, name: str = "shop", ddl: str = ORDERS) -> int:
    """A SQLite file `<name>.db` holding `ddl`, registered through the service as source `name`; returns its id."""
    path = build_database(tmp_path / f"{name}.db", ddl)
    return sources.register_source(ctx, sources.SourceRegistration(name=name, kind="sqlite",
                                                                   config={"path": str(path)})).id


# -- PostgreSQL -------------------------------------------------------------------------------------------------

PG_SHOP = """
create schema app;
create table app.users (id int primary key, email text not null);
create table app.orders (id int primary key, user_id int references app.users(id), total numeric(10,2));
create view app.big_orders as select o.id, u.email from app.orders o join app.users u on u.id = o.user_id;
"""
"""Two tables and a view that reads both: three tables and seven columns once crawled."""


@contextlib.contextmanager
def blocked_discovery(config: dict) -> Iterator[None]:
    """Holds an exclusive lock on a table a view reads, so discovery waits (printing view SQL needs a share lock)."""
    with psycopg.connect(host=config["host"], port=config["port"], user=config["user"],
                         dbname=config["database"]) as conn:
        conn.execute("lock table app.users in access exclusive mode")
        yield
        conn.rollback()


def wait_until_blocked(config: dict, timeout: float = 30) -> None:
    """Waits until a crawler's discovery waits on the lock `blocked_discovery` holds."""
    deadline = time.monotonic() + timeout
    while True:
        with pg_admin_connection() as admin:
            waiting = admin.execute(
                "select count(*) from pg_stat_activity where datname = %s and wait_event_type = 'Lock' "
                "and application_name = 'catalog-crawler'", (config["database"],)).fetchone()[0]
        if waiting:
            return
        assert time.monotonic() < deadline, "discovery never reached the locked table"
        time.sleep(0.05)
