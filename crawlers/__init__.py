"""Source connectors: discover a source's schema as a typed `SourceSnapshot`, and diff two snapshots.

A library: it never imports `catalog_api` and never touches the catalog's database.
"""

from __future__ import annotations

from typing import Any

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

_REGISTRY = {"available_kinds", "get_connector_class"}


def __getattr__(name: str) -> Any:
    # The registry loads on first use: it brings the connector interface (pydantic, the scope rules), which the
    # catalog's error types, imported by every `catalog` command, do not need.
    if name in _REGISTRY:
        from crawlers import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'crawlers' has no attribute {name!r}")


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
