"""Engine and session factory for the catalog database (SQLite in WAL mode by default, PostgreSQL in production)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker

from catalog_api.errors import StatementTimeout

POSTGRES_CONNECT_TIMEOUT_S = 5
"""How long a new connection to a PostgreSQL catalog may take; `?connect_timeout=N` in the database URL overrides it."""


def create_catalog_engine(url: str, statement_timeout_ms: int = 0) -> Engine:
    """An engine on the catalog database. With `statement_timeout_ms` (0: none) a longer statement is cancelled and
    raises `StatementTimeout`: PostgreSQL applies `statement_timeout` to every connection; on SQLite a progress
    handler interrupts a statement still computing its first row past the deadline (reading further rows is not
    timed). Migrations build their engine without a timeout: a migration of a large catalog may rightly take long."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            # WAL lets the API read while a crawl writes; foreign keys are off by default in SQLite.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        if statement_timeout_ms:
            _interrupt_slow_sqlite_statements(engine, statement_timeout_ms / 1000)
    else:
        connect_args = {}
        if parsed.get_backend_name() == "postgresql":
            if parsed.drivername == "postgresql":
                url = str(parsed.set(drivername="postgresql+psycopg"))
            if "connect_timeout" not in parsed.query:
                # libpq waits forever on a server that accepts and never answers: /readyz and every request would hang.
                connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
            if statement_timeout_ms:
                # A startup option, not a SET: a SET would be undone when the first transaction rolls back.
                options = parsed.query.get("options", "")
                connect_args["options"] = f"{options} -c statement_timeout={statement_timeout_ms}".strip()
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    if statement_timeout_ms:
        event.listen(engine, "handle_error", _typed_timeout(statement_timeout_ms))
    return engine


def _interrupt_slow_sqlite_statements(engine: Engine, seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _progress_handler(dbapi_connection, record) -> None:
        def expired() -> bool:
            deadline = record.info.get("statement_deadline")
            return deadline is not None and time.monotonic() > deadline

        dbapi_connection.set_progress_handler(expired, 10_000)  # SQLite calls it every 10,000 VM instructions

    @event.listens_for(engine, "before_cursor_execute")
    def _start(connection, _cursor, _statement, _parameters, _context, _executemany) -> None:
        connection.info["statement_deadline"] = time.monotonic() + seconds

    @event.listens_for(engine, "after_cursor_execute")
    def _stop(connection, _cursor, _statement, _parameters, _context, _executemany) -> None:
        # Cleared at once: COMMIT runs later without a cursor, and must not inherit an old deadline.
        connection.info.pop("statement_deadline", None)

    @event.listens_for(engine, "handle_error")
    def _clear(context: ExceptionContext) -> None:
        if context.connection is not None:
            context.connection.info.pop("statement_deadline", None)


def _typed_timeout(statement_timeout_ms: int) -> Callable[[ExceptionContext], Exception | None]:
    def timeout(context: ExceptionContext) -> Exception | None:
        original = context.original_exception
        # PostgreSQL: SQLSTATE 57014 "canceling statement due to statement timeout"; SQLite: our progress handler.
        if "statement timeout" in str(original) or str(original) == "interrupted":
            return StatementTimeout(f"a query on the catalog database ran longer than {statement_timeout_ms} ms "
                                    "and was cancelled (catalog_statement_timeout_ms)")
        return None

    return timeout


class Database:
    """The catalog database: one engine and a session factory."""

    def __init__(self, url: str, statement_timeout_ms: int = 0) -> None:
        self.url = url
        self.statement_timeout_ms = statement_timeout_ms
        self.engine = create_catalog_engine(url, statement_timeout_ms)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends normally and rolls back otherwise."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
