"""The catalog's statement timeout (catalog_api/db/session.py): a statement running past
`catalog_statement_timeout_ms` is cancelled with a `StatementTimeout` naming the limit, on PostgreSQL (the server's
`statement_timeout`) and on SQLite (a progress handler); the API answers it as 503; migrations are not limited."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.db.session import Database, create_catalog_engine
from catalog_api.errors import StatementTimeout
from catalog_api.services import sources

COUNT_TO_A_BILLION = ("with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000000000) "
                      "select count(*) from n")


def _show_timeout(engine) -> str:
    with engine.connect() as connection:
        return connection.execute(text("show statement_timeout")).scalar()


@pytest.mark.postgres
def test_a_long_postgres_statement_is_cancelled_with_a_clear_error(pg_catalog_url):
    db = Database(pg_catalog_url, statement_timeout_ms=300)
    try:
        with pytest.raises(StatementTimeout) as timed_out, db.session() as session:
            session.execute(text("select 1"))  # connected first: what is timed below is the statement alone
            started = time.monotonic()
            session.execute(text("select pg_sleep(5)"))
        # Cancelled at its 300 ms: a slip of unit (3 s) would show, a busy machine's slower connection would not.
        assert time.monotonic() - started < 3
        assert str(timed_out.value) == ("a query on the catalog database ran longer than 300 ms and was cancelled "
                                        "(catalog_statement_timeout_ms)")
        with db.session() as session:  # the connection went back to the pool in a usable state
            assert session.execute(text("select pg_sleep(0.05), 1")).one()[1] == 1
    finally:
        db.dispose()


@pytest.mark.postgres
def test_the_service_applies_the_setting_and_migrations_run_without_it(pg_catalog_url, catalog_settings):
    ctx = build_context(catalog_settings.model_copy(update={"database_url": pg_catalog_url}), migrate=True)
    try:
        assert _show_timeout(ctx.db.engine) == "30s"  # the default, catalog_statement_timeout_ms=30000
    finally:
        ctx.close()
    migrations = create_catalog_engine(pg_catalog_url)  # how migrations/env.py opens the database
    try:
        assert _show_timeout(migrations) == "0"
    finally:
        migrations.dispose()


@pytest.mark.postgres
def test_the_api_answers_a_cancelled_query_with_503(pg_catalog_url, catalog_settings, monkeypatch):
    settings = catalog_settings.model_copy(update={"database_url": pg_catalog_url,
                                                   "catalog_statement_timeout_ms": 300})
    ctx = build_context(settings, migrate=True)

    def slow_list(session):
        session.execute(text("select pg_sleep(5)"))

    monkeypatch.setattr(sources, "list_sources", slow_list)
    try:
        with TestClient(create_app(ctx=ctx)) as client:
            response = client.get("/api/v1/sources")
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "statement_timeout"
            assert client.get("/readyz").json() == {"status": "ready"}
    finally:
        ctx.close()


def test_a_long_sqlite_statement_is_interrupted(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'catalog.db'}", statement_timeout_ms=300)
    try:
        started = time.monotonic()
        with pytest.raises(StatementTimeout), db.session() as session:
            session.execute(text(COUNT_TO_A_BILLION))
        assert time.monotonic() - started < 3
        with db.session() as session:
            assert session.execute(text("select 1")).scalar() == 1
    finally:
        db.dispose()


def test_a_sqlite_transaction_may_last_longer_than_its_statements(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'catalog.db'}", statement_timeout_ms=100)
    try:
        with db.session() as session:
            session.execute(text("create table t (x integer)"))
            session.execute(text("insert into t values (1)"))
            time.sleep(0.3)  # the commit that follows is not a timed statement
        with db.session() as session:
            assert session.execute(text("select count(*) from t")).scalar() == 1
    finally:
        db.dispose()


@pytest.mark.postgres
def test_a_postgres_catalog_that_accepts_and_never_answers_fails_the_connection_within_its_bound():
    from sqlalchemy.exc import OperationalError

    from catalog_api.db.session import POSTGRES_CONNECT_TIMEOUT_S
    from tests.support.hung import silent_port, within

    def connect(url: str) -> str:
        with pytest.raises(OperationalError) as failed, Database(url).session() as session:
            session.execute(text("select 1"))
        return str(failed.value)

    with silent_port() as port:
        message = within(POSTGRES_CONNECT_TIMEOUT_S + 5, lambda: connect(f"postgresql://postgres@127.0.0.1:{port}/x"))
        assert "timeout" in message.lower()
        started = time.monotonic()  # the URL's own connect_timeout wins over the default
        within(POSTGRES_CONNECT_TIMEOUT_S + 5, lambda: connect(f"postgresql://postgres@127.0.0.1:{port}/x?connect_timeout=2"))
        assert time.monotonic() - started < POSTGRES_CONNECT_TIMEOUT_S
