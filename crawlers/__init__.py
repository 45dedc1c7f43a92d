"""Source connectors: discover a source's schema as a typed `SourceSnapshot`, and diff two snapshots.

A library: it never imports `catalog_api` and never touches the catalog's database.
"""

from crawlers.diff import Change, ChangeSet, diff
from crawlers.errors import (
    AuthenticationFailed,
    ConnectorError,
    InvalidSourceConfig,
    SourceNotFound,
    SourceUnreachable,
)
from crawlers.registry import available_kinds, get_connector_class
from crawlers.snapshot import (
    ColumnSnapshot,
    ForeignKey,
    IndexSnapshot,
    SchemaSnapshot,
    SourceSnapshot,
    TableKind,
    TableSnapshot,
    UniqueConstraint,
)

__all__ = [
    "AuthenticationFailed",
    "Change",
    "ChangeSet",
    "ColumnSnapshot",
    "ConnectorError",
    "ForeignKey",
    "IndexSnapshot",
    "InvalidSourceConfig",
    "SchemaSnapshot",
    "SourceNotFound",
    "SourceSnapshot",
    "SourceUnreachable",
    "TableKind",
    "TableSnapshot",
    "UniqueConstraint",
    "available_kinds",
    "diff",
    "get_connector_class",
]
