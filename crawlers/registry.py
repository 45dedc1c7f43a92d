"""Finds connector classes by kind: the built-in ones plus any registered under the `catalog.connectors` entry points."""

from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points

from crawlers.connector import Connector
from crawlers.errors import InvalidSourceConfig

ENTRY_POINT_GROUP = "catalog.connectors"

_BUILTIN = {
    "postgres": "crawlers.connectors.postgres:PostgresConnector",
    "sqlite": "crawlers.connectors.sqlite:SqliteConnector",
    "mysql": "crawlers.connectors.mysql:MysqlConnector",
    "files": "crawlers.connectors.files:FilesConnector",
    "netsuite": "crawlers.connectors.netsuite:NetsuiteConnector",
}


def _load(target: str) -> type[Connector]:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@lru_cache(maxsize=1)
def _targets() -> dict[str, str]:
    targets = dict(_BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets[ep.name] = ep.value
    return targets


def available_kinds() -> list[str]:
    return sorted(_targets())


def get_connector_class(kind: str) -> type[Connector]:
    target = _targets().get(kind)
    if target is None:
        raise InvalidSourceConfig(
            f"unknown source kind {kind!r}; known kinds: {', '.join(available_kinds())}", field="kind"
        )
    return _load(target)
