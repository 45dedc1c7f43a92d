"""Source connectors: discover a source's schema as a typed `SourceSnapshot`, and diff two snapshots.

A library: it never imports `catalog_api` and never touches the catalog's database.
"""

from __future__ import annotations

import lazy_loader

from crawlers.diff import Change, ChangeSet, diff
from crawlers.errors import AuthenticationFailed, ConnectorError, InvalidSourceConfig, SourceNotFound, SourceUnreachable
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

# The registry loads on first use: it brings the connector interface (pydantic, the scope rules), which the
# catalog's error types, imported by every `catalog` command, do not need.
__getattr__ = lazy_loader.attach(__name__, submod_attrs={"registry": ["available_kinds", "get_connector_class"]})[0]


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
