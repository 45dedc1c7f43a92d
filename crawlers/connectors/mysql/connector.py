"""`MysqlConnector`: what MySQL and MariaDB declare on top of the SQL connector skeleton (`crawlers.connectors.sql`)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import pyarrow as pa
import pymysql
from pymysql.cursors import SSCursor

from crawlers.connector import LineageNamespace, ProgressCallback
from crawlers.connectors.mysql.arrow import _EXTRACT_CONVERSIONS
from crawlers.connectors.mysql.catalog import DISCOVERY_STEPS, _CatalogReader
from crawlers.connectors.mysql.config import MysqlConfig
from crawlers.connectors.mysql.dialect import ServerFlavour
from crawlers.connectors.mysql.errors import classify_error
from crawlers.connectors.mysql.increment import read_batches, release
from crawlers.connectors.sql import Session, SqlConnector, authority
from crawlers.errors import ConnectorError
from crawlers.increment import IncrementRequest
from crawlers.scope import Scope
from crawlers.snapshot import SourceSnapshot

# SET timeout, START TRANSACTION, schemata, tables, columns, statistics, key_column_usage,
# referential_constraints, views, partitions, COMMIT.
STATEMENTS_PER_DISCOVERY = 11

_PROGRAM_NAME = "catalog-crawler"


class MysqlSession(Session):
    """A counting session on a PyMySQL connection; `flavour` (read from the handshake) says which server it is."""

    def __init__(self, conn: pymysql.connections.Connection) -> None:
        super().__init__(conn)
        self.flavour = ServerFlavour.parse(conn.get_server_info())

    def _run(self, sql: Any, params: Sequence[Any] | None, *, rows: bool) -> list[tuple]:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)
            self.columns = [d[0] for d in cursor.description or ()]
            return list(cursor.fetchall()) if rows else []


class MysqlConnector(SqlConnector[MysqlConfig]):
    """Discovers a MySQL or MariaDB server (or one of its schemas): tables, views, columns, keys and indexes.

    Also reads table data incrementally (`read_increment`) as Arrow record batches through a streaming cursor.
    """

    kind: ClassVar[str] = "mysql"
    config_model: ClassVar[type[MysqlConfig]] = MysqlConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"password"})
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (pymysql.Error,)

    def lineage_namespace(self) -> LineageNamespace:
        """OpenLineage naming for MySQL: namespace `mysql://host:port`, dataset `database.table`.

        A MySQL database is what the snapshots call a schema, so the prefix is empty and the dataset name is
        `schema + "." + table`.
        """
        return LineageNamespace(namespace=authority("mysql", self.config.host, self.config.port), name_prefix="")

    def _connect(
        self, cursorclass: type = pymysql.cursors.Cursor, conv: dict | None = None
    ) -> pymysql.connections.Connection:
        cfg = self.config
        kwargs: dict[str, Any] = {
            "host": cfg.host,
            "port": cfg.port,
            "user": cfg.user,
            "database": cfg.database,
            "connect_timeout": cfg.connect_timeout_s,
            "charset": "utf8mb4",
            "autocommit": True,  # nothing but an explicit START TRANSACTION opens a transaction
            "program_name": _PROGRAM_NAME,
            "cursorclass": cursorclass,
            "conv": conv,
        }
        if cfg.password is not None:
            # PyMySQL encodes str passwords as latin-1; servers and the mysql client use UTF-8 bytes.
            kwargs["password"] = cfg.password.get_secret_value().encode("utf-8")
        if cfg.ssl:
            kwargs["ssl"] = ssl.create_default_context()  # required, certificate and host name verified
        return pymysql.connect(**kwargs)

    def _session(self, conn: pymysql.connections.Connection) -> MysqlSession:
        return MysqlSession(conn)

    def _server_version(self, conn: pymysql.connections.Connection) -> str:
        with conn.cursor() as cursor:
            cursor.execute("select version(), @@version_comment")
            version, comment = cursor.fetchone()
        # MariaDB names itself in the version ("10.11.6-MariaDB-…"), MySQL in the comment ("MySQL Community …").
        return f"{version} ({comment})" if comment else str(version)

    def _begin_read_only(self, session: MysqlSession) -> None:  # type: ignore[override]
        # The timeout is set for the session, which is this connection's own and closed afterwards.
        session.execute(*session.flavour.timeout_statement(self.config.statement_timeout_ms))
        session.execute("START TRANSACTION READ ONLY")

    def _read_catalog(  # type: ignore[override]
        self, session: MysqlSession, scope: Scope, report: ProgressCallback
    ) -> SourceSnapshot:
        report(1, DISCOVERY_STEPS, f"connected to {session.flavour.name} at {self._address()}")
        return _CatalogReader(session, session.flavour, scope, report).read(self.config.database)

    def _classify(self, error: BaseException) -> ConnectorError:
        return classify_error(error, self.config, self._address())

    def _connect_for_increment(self) -> pymysql.connections.Connection:
        return self._connect(cursorclass=SSCursor, conv=_EXTRACT_CONVERSIONS)

    def _increment_batches(
        self, conn: pymysql.connections.Connection, request: IncrementRequest
    ) -> Iterator[pa.RecordBatch]:
        return read_batches(conn, request)

    def _release_increment(self, conn: pymysql.connections.Connection, finished: bool) -> None:
        release(conn, finished)
