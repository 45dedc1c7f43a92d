"""`PostgresConnector`: what PostgreSQL declares on top of the SQL connector skeleton (`crawlers.connectors.sql`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import psycopg

from crawlers.connector import LineageNamespace, ProgressCallback
from crawlers.connectors.postgres.catalog import read_catalog
from crawlers.connectors.postgres.config import PostgresConfig
from crawlers.connectors.postgres.errors import _classify
from crawlers.connectors.sql import Session, SqlConnector, authority
from crawlers.errors import ConnectorError
from crawlers.increment import IncrementRequest
from crawlers.scope import Scope
from crawlers.snapshot import SourceSnapshot

if TYPE_CHECKING:
    import pyarrow as pa

# Discovery's statements: BEGIN, set_config, schemas, relations, columns, constraints, indexes, COMMIT.
STATEMENTS_PER_DISCOVERY = 8


class PostgresSession(Session):
    """A counting session on a psycopg connection."""

    def _run(self, sql: Any, params: Sequence[Any] | None, *, rows: bool) -> list[tuple]:
        cursor = self.conn.execute(sql, params)
        self.columns = [d.name for d in cursor.description or ()]
        return cursor.fetchall() if rows else []


class PostgresConnector(SqlConnector[PostgresConfig]):
    """Discovers a PostgreSQL database: schemas, tables, views, materialized views, foreign tables and their keys.

    Partitioned tables appear once, as tables with a `partition_key`; their partitions are not listed. Discovery
    reads `pg_catalog` in one REPEATABLE READ, READ ONLY transaction, so every bulk query sees the same snapshot
    even when DDL runs concurrently; incremental reads stream `COPY … (FORMAT CSV)` into Arrow
    (`crawlers.connectors.postgres.increment`).
    """

    kind: ClassVar[str] = "postgres"
    config_model: ClassVar[type[PostgresConfig]] = PostgresConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"password"})
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (psycopg.Error,)

    def lineage_namespace(self) -> LineageNamespace:
        """OpenLineage naming for PostgreSQL: namespace `postgres://host:port`, dataset `database.schema.table`."""
        return LineageNamespace(
            namespace=authority("postgres", self.config.host, self.config.port),
            name_prefix=f"{self.config.database}.",
        )

    def _connect(self) -> psycopg.Connection:
        cfg = self.config
        kwargs: dict[str, Any] = {
            "host": cfg.host,
            "port": cfg.port,
            "dbname": cfg.database,
            "user": cfg.user,
            "sslmode": cfg.sslmode,
            "connect_timeout": cfg.connect_timeout_s,
            "application_name": cfg.application_name,
        }
        if cfg.password is not None:
            kwargs["password"] = cfg.password.get_secret_value()
        # autocommit so that nothing but an explicit BEGIN opens a transaction; no server-side prepared statements,
        # so the connector also works through a transaction-pooling PgBouncer.
        return psycopg.connect(autocommit=True, prepare_threshold=None, **kwargs)

    def _session(self, conn: psycopg.Connection) -> PostgresSession:
        return PostgresSession(conn)

    def _server_version(self, conn: psycopg.Connection) -> str:
        row = conn.execute("select pg_catalog.version()").fetchone()
        return str(row[0]) if row else "PostgreSQL"

    def _begin_read_only(self, session: Session) -> None:
        # Repeatable read gives every bulk query the same snapshot. The timeout is transaction-local, so it never
        # leaks into a pooled session.
        session.execute("begin transaction isolation level repeatable read, read only")
        session.fetch(
            "select pg_catalog.set_config('statement_timeout', %s, true)", (str(self.config.statement_timeout_ms),)
        )

    def _read_catalog(self, session: Session, scope: Scope, report: ProgressCallback) -> SourceSnapshot:
        return read_catalog(session, scope, report, self._address())

    def _classify(self, error: BaseException) -> ConnectorError:
        return _classify(error, self.config, self._address())

    def _increment_batches(self, conn: psycopg.Connection, request: IncrementRequest) -> Iterator[pa.RecordBatch]:
        # Imported here: pyarrow loads when data is extracted, not each time a source is crawled or tested.
        from crawlers.connectors.postgres.increment import read_batches

        return read_batches(conn, request, self.config.statement_timeout_ms)
