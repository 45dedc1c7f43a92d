"""`SqliteConnector`: what SQLite declares on top of the SQL connector skeleton (`crawlers.connectors.sql`)."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from crawlers.connector import LineageNamespace, ProgressCallback
from crawlers.connectors.sql import Session, SqlConnector
from crawlers.connectors.sqlite.catalog import read_catalog
from crawlers.connectors.sqlite.config import SqliteConfig
from crawlers.connectors.sqlite.errors import classify
from crawlers.connectors.sqlite.session import SqliteSession
from crawlers.errors import ConnectorError, InvalidSourceConfig, PermissionDenied, SourceNotFound, SourceUnreachable
from crawlers.increment import IncrementRequest
from crawlers.scope import Scope
from crawlers.snapshot import SourceSnapshot

if TYPE_CHECKING:
    import pyarrow as pa


class SqliteConnector(SqlConnector[SqliteConfig]):
    """Discovers a SQLite database file: one schema, `main`, with its tables and views.

    The file is opened read-only through a `mode=ro` URI, so discovery can neither create a missing file nor
    change an existing one, and every statement runs in one read transaction under a statement timeout.
    """

    kind: ClassVar[str] = "sqlite"
    config_model: ClassVar[type[SqliteConfig]] = SqliteConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (sqlite3.Error,)

    def lineage_namespace(self) -> LineageNamespace:
        return LineageNamespace(namespace=f"sqlite://{self.config.resolved_path().as_posix()}", name_prefix="")

    def local_paths(self) -> dict[str, Path]:
        return {"config.path": self.config.resolved_path()}

    def _address(self) -> str:
        return str(self.config.resolved_path())

    def _connect(self) -> sqlite3.Connection:
        path = self.config.resolved_path()
        try:
            info = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise SourceNotFound(
                f"no SQLite database at {path}: the file does not exist", field="config.path"
            ) from None
        except PermissionError:
            raise PermissionDenied(f"not allowed to read {path}", field="config.path") from None
        except OSError as error:
            raise SourceUnreachable(f"cannot read {path}: {error.strerror or error}", field="config.path") from None
        if stat.S_ISDIR(info.st_mode):
            raise InvalidSourceConfig(f"{path} is a directory, not a SQLite database file", field="config.path")
        if not stat.S_ISREG(info.st_mode):
            # Opening a FIFO or a device would block or read something that is not a database.
            raise InvalidSourceConfig(f"{path} is not a regular file", field="config.path")
        # `mode=ro` makes SQLite refuse to create or write the file; `as_uri` percent-encodes `?`, `#` and `%`, which
        # would otherwise be read as URI syntax. `timeout` bounds the wait for a writer's lock, which the progress
        # handler cannot see.
        uri = f"{path.as_uri()}?mode=ro"
        timeout_s = self.config.statement_timeout_ms / 1000
        return sqlite3.connect(uri, uri=True, timeout=timeout_s, isolation_level=None, check_same_thread=False)

    def _session(self, conn: sqlite3.Connection) -> SqliteSession:
        return SqliteSession(conn, self.config.statement_timeout_ms)

    def _server_version(self, conn: sqlite3.Connection) -> str:
        # Reading sqlite_schema forces SQLite to read the header, which is where a non-database file fails.
        self._session(conn).fetch("SELECT count(*) FROM main.sqlite_schema")
        return f"SQLite {sqlite3.sqlite_version}"

    def _begin_read_only(self, session: Session) -> None:
        # One read transaction so that all statements see the same schema even if a writer commits meanwhile; the
        # connection itself is read-only (`mode=ro`).
        session.execute("BEGIN")

    def _end_read_only(self, session: Session, *, commit: bool) -> None:
        # On an error the transaction is left open: closing the connection rolls it back, and a failing ROLLBACK
        # must not hide the error that matters.
        if commit:
            session.execute("COMMIT")

    def _read_catalog(  # type: ignore[override]
        self, session: SqliteSession, scope: Scope, report: ProgressCallback
    ) -> SourceSnapshot:
        return read_catalog(session, scope, report)

    def _classify(self, error: sqlite3.Error) -> ConnectorError:  # type: ignore[override]
        return classify(error, self.config.resolved_path(), self.config.statement_timeout_ms)

    def _increment_batches(self, conn: sqlite3.Connection, request: IncrementRequest) -> Iterator[pa.RecordBatch]:
        # Imported here: pyarrow loads when data is extracted, not each time a source is crawled or tested.
        from crawlers.connectors.sqlite.increment import read_batches

        return read_batches(self._session(conn), request, self.config.resolved_path())

    def _release_increment(self, conn: sqlite3.Connection, finished: bool) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")  # a read transaction: nothing to keep
        finally:
            conn.close()
