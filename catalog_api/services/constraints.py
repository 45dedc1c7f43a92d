"""A table's keys and indexes as typed views, read from what the crawl stored (`services/crawl.py:_table_values`).

A foreign key names the table it references by that table's dataset URN: the referenced table belongs to the same
source (connectors discover foreign keys within one source), so its URN is the source's name with the referenced
schema and table. The URN is given even when the catalog has not crawled that table (it may be out of the crawl's
scope), so a caller can still look it up, or show that it is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog_api.urns import dataset_urn, parse_urn


@dataclass(frozen=True, slots=True)
class KeyView:
    """A primary key or unique constraint: its name and its columns, in key order."""

    name: str
    columns: list[str]


@dataclass(frozen=True, slots=True)
class ForeignKeyView:
    """A foreign key from `columns` of a table to `referenced_columns` of the table `referenced_table_urn`."""

    name: str
    columns: list[str]
    referenced_table_urn: str
    referenced_schema: str
    referenced_table: str
    referenced_columns: list[str]
    on_delete: str | None
    on_update: str | None


@dataclass(frozen=True, slots=True)
class IndexView:
    """An index over `columns`; `definition` is the source's own DDL where the source offers one."""

    name: str
    columns: list[str]
    unique: bool
    definition: str | None


@dataclass(frozen=True, slots=True)
class TableKeysView:
    """A table's primary key (None when it has none), unique constraints, foreign keys and indexes."""

    primary_key: KeyView | None
    unique_constraints: list[KeyView]
    foreign_keys: list[ForeignKeyView]
    indexes: list[IndexView]


def _key(stored: dict[str, Any]) -> KeyView:
    return KeyView(name=stored["name"], columns=list(stored["columns"]))


def table_keys(table: Any) -> TableKeysView:
    """The keys of a table view (`TableView` or `ReportedTableView`: a reported table has none), from the JSON the
    crawl stored on its row."""
    source = parse_urn(table.urn).names[0] if table.foreign_keys else ""
    return TableKeysView(
        primary_key=None if table.primary_key is None else _key(table.primary_key),
        unique_constraints=[_key(u) for u in table.unique_constraints],
        foreign_keys=[
            ForeignKeyView(name=f["name"], columns=list(f["columns"]),
                           referenced_table_urn=dataset_urn(source, f["referred_schema"], f["referred_table"]),
                           referenced_schema=f["referred_schema"], referenced_table=f["referred_table"],
                           referenced_columns=list(f["referred_columns"]), on_delete=f.get("on_delete"),
                           on_update=f.get("on_update"))
            for f in table.foreign_keys],
        indexes=[IndexView(name=i["name"], columns=list(i["columns"]), unique=bool(i["unique"]),
                           definition=i.get("definition")) for i in table.indexes],
    )
