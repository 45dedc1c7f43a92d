"""PostgreSQL connector: reads `pg_catalog` in bulk, inside one short read-only transaction.

Discovery sends the same number of statements whatever the size of the database (see `STATEMENTS_PER_DISCOVERY`):
the schema list is filtered by the scope in Python, and the oids that survive are passed as array parameters to
the bulk queries that follow. Names and patterns are never interpolated into SQL.

Modules: `config` (what a registration holds), `catalog` (the bulk catalog queries), `errors` (libpq's errors as
typed connector errors), `increment` (COPY into Arrow, and the type mapping), `connector` (the connector class).
"""

from crawlers.connectors.postgres.config import PostgresConfig, SslMode
from crawlers.connectors.postgres.connector import STATEMENTS_PER_DISCOVERY, PostgresConnector, PostgresSession
from crawlers.connectors.postgres.errors import _classify

__all__ = [
    "STATEMENTS_PER_DISCOVERY",
    "PostgresConfig",
    "PostgresConnector",
    "PostgresSession",
    "SslMode",
    "_classify",
]
