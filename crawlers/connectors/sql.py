"""The skeleton every SQL connector shares; a dialect (PostgreSQL, MySQL/MariaDB, SQLite) fills in what differs.

`SqlConnector` owns what every SQL source must guarantee, so that a dialect cannot get it wrong on its own:

* **Bounded statements.** Discovery sends every statement through one `Session`, which counts them, and reads the
  catalog in bulk: the count (`SourceSnapshot.queries`) depends on the dialect, never on the number of schemas,
  tables or columns.
* **Statement timeout.** Every discovery statement runs under the configured `statement_timeout_ms`; a statement
  that outlives it is cancelled and reported as `SourceUnreachable` naming `config.statement_timeout_ms`.
* **Read-only transaction.** Discovery runs in one short read-only transaction (`_read_only_transaction`), so it
  can never write to the source.
* **Typed errors, passwords masked.** Every driver error leaving `test_connection`, `discover` or `read_increment`
  is a `crawlers.errors.ConnectorError` subclass naming the field to fix, and the value of every secret field is
  replaced by `********` wherever a message would repeat it.
* **Traced statements.** Each statement a `Session` sends is an OpenTelemetry client span, "source query"
  (`crawlers.tracing`: the application decides whether and where spans go).
* **Incremental reads** run on one connection of their own, with driver errors mapped, and that connection is
  closed even when the reader stops after any batch.

A dialect declares, as sqlglot's dialects do, only what differs: how to connect (`_connect`), how its session
runs a statement (`Session._run`), how it opens the read-only transaction (`_begin_read_only`; and ends it, when
not with COMMIT or ROLLBACK: `_end_read_only`), its catalog queries (`_read_catalog`), its error classification (`_classify`) and, if it reads
data, how rows become Arrow batches (`_increment_batches`).
"""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager, suppress
from typing import Any, ClassVar, Generic

from pydantic import SecretStr, ValidatorFunctionWrapHandler, field_validator

from crawlers.connector import ConfigT, ConnectionCheck, Connector, ProgressCallback
from crawlers.errors import ConnectorError
from crawlers.increment import IncrementRequest
from crawlers.scope import Scope
from crawlers.snapshot import SourceSnapshot
from crawlers.tracing import source_span

MASK = "********"
MAX_RECORDED_STATEMENT = 4096
"""The longest statement text a source query's span records (catalog queries are a few kilobytes)."""


class Session(ABC):
    """Runs statements on one connection and counts every statement sent, so `SourceSnapshot.queries` is honest.

    Every statement of a discovery, the ones that open and end its transaction included, goes through `fetch` or
    `execute`; a dialect overrides `_run` only, which sends one statement and returns its rows.
    """

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements = 0
        self.columns: list[str] = []
        """The column names of the last statement's rows (`_run` sets them from the cursor's description)."""

    def fetch(self, sql: Any, params: Sequence[Any] | None = None) -> list[tuple]:
        """Send one statement and return its rows."""
        self.statements += 1
        with _query_span(sql):
            return self._run(sql, params, rows=True)

    def execute(self, sql: Any, params: Sequence[Any] | None = None) -> None:
        """Send one statement that returns no rows (BEGIN, SET, COMMIT)."""
        self.statements += 1
        with _query_span(sql):
            self._run(sql, params, rows=False)

    @abstractmethod
    def _run(self, sql: Any, params: Sequence[Any] | None, *, rows: bool) -> list[tuple]:
        """Send `sql` to the driver; return its rows when `rows`, else an empty list."""


@dataclasses.dataclass(frozen=True, slots=True)
class QueryAnswer:
    """The rows one statement of `SqlConnector.read_query` returned, and their column names."""

    columns: list[str]
    rows: list[tuple]


def _query_span(sql: Any) -> AbstractContextManager[Any]:
    """A client span per statement sent to the source (`crawlers.tracing`). Only a plain-string statement's text is
    recorded: a composed one's exists only once the driver renders it. Parameters, which may hold data, never are."""
    return source_span("source query", {"db.query.text": sql[:MAX_RECORDED_STATEMENT]} if isinstance(sql, str) else {})


def keep_verbatim(*fields: str) -> Any:
    """A pydantic validator that wraps plain strings of `fields` in `SecretStr` without stripping them.

    A config's inherited `str_strip_whitespace` would strip a secret too, yet spaces at either end of a password
    are significant: a plain string is wrapped as it is, anything else gets SecretStr's own validation.
    """

    def wrap(cls: type, value: Any, handler: ValidatorFunctionWrapHandler) -> SecretStr | None:
        if isinstance(value, str):
            return SecretStr(value)
        return handler(value)

    return field_validator(*fields, mode="wrap")(wrap)


def authority(scheme: str, host: str, port: int) -> str:
    """`scheme://host:port`, with an IPv6 literal bracketed as an authority requires."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def _silent(done: int, total: int, message: str) -> None:
    return None


class SqlConnector(Connector[ConfigT], Generic[ConfigT]):
    """The skeleton of a connector to an SQL database; see the module docstring for the contract it guarantees.

    Subclasses set `driver_errors` (the exceptions their driver raises) and implement the abstract hooks.
    """

    driver_errors: ClassVar[tuple[type[BaseException], ...]]

    # -- the templates -------------------------------------------------------------------------------------------

    def test_connection(self) -> ConnectionCheck:
        """Connect and ask the server who it is; raise a typed error that names the field to fix."""
        started = time.perf_counter()
        with self._errors_mapped(), closing(self._connect()) as conn:
            server = self._server_version(conn)
        elapsed_ms = (time.perf_counter() - started) * 1000
        return ConnectionCheck(server=server, elapsed_ms=round(elapsed_ms, 3))

    def discover(self, scope: Scope | None = None, progress: ProgressCallback | None = None) -> SourceSnapshot:
        """Read the catalog in a fixed number of bulk statements, inside one read-only transaction."""
        scope = scope or self.config.scope()
        with self._errors_mapped(), closing(self._connect()) as conn:
            with self._read_only_transaction(conn) as session:
                snapshot = self._read_catalog(session, scope, progress or _silent)
        # The end of the transaction is counted when its block closes, so read the counter only now.
        return dataclasses.replace(snapshot, queries=session.statements)

    def read_increment(self, request: IncrementRequest) -> Iterator["pyarrow.RecordBatch"]:  # noqa: F821
        """Yield the table's rows after `request.watermark` as Arrow batches, from one connection of their own.

        The dialect's `_increment_batches` decides the statement and the Arrow types; this template maps driver
        errors and always releases the connection, also when the reader stops early (`close()` on the generator).
        """
        with self._errors_mapped():
            conn = self._connect_for_increment()
        finished = False
        try:
            with self._errors_mapped():
                yield from self._increment_batches(conn, request)
            finished = True
        finally:
            self._release_increment(conn, finished)

    def read_query(self, statements: Sequence[str]) -> list[QueryAnswer]:
        """Runs `statements` (each one query that only reads, e.g. a data-quality check) one after the other in one
        read-only transaction under the statement timeout, on a connection of their own; each one's rows.

        A statement that outlives the timeout is cancelled and raised as `SourceUnreachable` naming
        `config.statement_timeout_ms`, like any driver error mapped to a typed one."""
        answers = []
        with self._errors_mapped(), closing(self._connect()) as conn:
            with self._read_only_transaction(conn) as session:
                for sql in statements:
                    rows = session.fetch(sql)
                    answers.append(QueryAnswer(list(session.columns), rows))
        return answers

    @contextmanager
    def _read_only_transaction(self, conn: Any) -> Iterator[Session]:
        """A read-only transaction under the statement timeout; yields the counting session that runs in it."""
        session = self._session(conn)
        self._begin_read_only(session)
        try:
            yield session
        except BaseException:
            self._end_read_only(session, commit=False)
            raise
        self._end_read_only(session, commit=True)

    # -- error mapping -------------------------------------------------------------------------------------------

    @contextmanager
    def _errors_mapped(self) -> Iterator[None]:
        try:
            yield
        except self.driver_errors as error:
            raise self._map_error(error) from None

    def _map_error(self, error: BaseException) -> ConnectorError:
        """The dialect's typed error for `error`, with the value of every secret field masked."""
        mapped = self._classify(error)
        message = mapped.message
        for secret in self._secrets():
            message = message.replace(secret, MASK)
        if message != mapped.message:
            mapped = type(mapped)(message, field=mapped.field)
        return mapped

    def _secrets(self) -> list[str]:
        values = (getattr(self.config, name, None) for name in self.secret_fields)
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and v.get_secret_value()]

    def _address(self) -> str:
        """Where the source is, as messages name it."""
        return f"{self.config.host}:{self.config.port}"

    # -- what a dialect declares ---------------------------------------------------------------------------------

    @abstractmethod
    def _connect(self) -> Any:
        """Open a connection in autocommit mode, credentials passed as arguments (never in a DSN or a log line)."""

    @abstractmethod
    def _session(self, conn: Any) -> Session:
        """The dialect's counting session on `conn`."""

    @abstractmethod
    def _server_version(self, conn: Any) -> str:
        """What `test_connection` reports as the server."""

    @abstractmethod
    def _begin_read_only(self, session: Session) -> None:
        """Set the statement timeout and open the read-only transaction, through `session`."""

    def _end_read_only(self, session: Session, *, commit: bool) -> None:
        """Commit (or, after an error, roll back) the read-only transaction, through `session`. A failing rollback is
        passed over: the error that ended the transaction is the one to report."""
        if commit:
            session.execute("COMMIT")
            return
        with suppress(*self.driver_errors):
            session.execute("ROLLBACK")

    @abstractmethod
    def _read_catalog(self, session: Session, scope: Scope, report: ProgressCallback) -> SourceSnapshot:
        """The bulk catalog queries, in a number that does not depend on the size of the source."""

    @abstractmethod
    def _classify(self, error: BaseException) -> ConnectorError:
        """The typed connector error for a driver error (secrets are masked afterwards by the template)."""

    def _connect_for_increment(self) -> Any:
        return self._connect()

    @abstractmethod
    def _increment_batches(self, conn: Any, request: IncrementRequest) -> Iterator[Any]:
        """The rows of `request` as Arrow record batches, read on `conn`."""

    def _release_increment(self, conn: Any, finished: bool) -> None:
        conn.close()
