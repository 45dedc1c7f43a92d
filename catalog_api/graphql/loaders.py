"""Per-request DataLoaders: every batch is one session and one call of a `browse` batch function per argument set.

Batch functions run on a worker thread because the catalog's SQLAlchemy sessions are synchronous; the event loop
keeps collecting keys of other fields meanwhile. The number of statements of a request depends on the shape of the
query (its fields and distinct arguments), never on how many parents or items a page holds.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from catalog_api.errors import NotFound
from catalog_api.services import browse
from catalog_api.services.browse import Page, PageRequest
from catalog_api.services.context import ServiceContext
from catalog_api.services.profiling import (
    ColumnProfileView,
    ProfileView,
    get_profiles,
    latest_column_profiles,
    latest_profiles,
)
from catalog_api.services.quality import TableHealthView, table_healths
from catalog_api.services.views import (
    ChangeView,
    ColumnView,
    EntityView,
    ReportedTableView,
    SchemaView,
    SourceView,
    TableView,
)
from catalog_api.urns import EntityType

R = TypeVar("R")

ChildKey = tuple[int, int, str | None, bool]
"""(parent id, first, after, include deleted): one page of a parent's children."""

ChangeKey = tuple[int, datetime | None, datetime | None, int, str | None]
"""(table id, since, until, first, after): one page of a table's change history."""

ChildPages = Callable[[Session, Sequence[int], PageRequest], dict[int, Page[Any]]]


async def in_session(ctx: ServiceContext, work: Callable[[Session], R]) -> R:
    """Runs `work` in one catalog session on a worker thread, so a blocking statement never stalls the event loop."""

    def run() -> R:
        with ctx.db.session() as session:
            return work(session)

    return await asyncio.to_thread(run)


def known_or_load(loader: DataLoader[Any, R], key: Any) -> R | Awaitable[R]:
    """The value when this request has loaded it already, else the batched load of it. A plain value completes
    in line: graphql-core awaits every awaitable a resolver returns on its own, which costs more per item of a page
    (hundreds of columns) than loading the value did."""
    value = loaded(loader, key, _NOT_LOADED)
    return loader.load(key) if value is _NOT_LOADED else value


_NOT_LOADED: Any = object()


def loaded(loader: DataLoader[Any, R], key: Any, default: Any) -> R:
    """The value this request has loaded already for `key`, else `default`."""
    future = loader.cache_map.get(key)
    if future is not None and future.done() and not future.cancelled() and future.exception() is None:
        return future.result()
    return default


def child_key(parent_id: int, page: PageRequest) -> ChildKey:
    return (parent_id, page.first, page.after, page.include_deleted)


def _child_pages_loader(ctx: ServiceContext, fetch: ChildPages) -> DataLoader[ChildKey, Page[Any]]:
    async def load(keys: list[ChildKey]) -> list[Page[Any]]:
        # Parents asking with the same arguments share one statement; different arguments cannot.
        groups: dict[PageRequest, list[int]] = defaultdict(list)
        for parent_id, first, after, include_deleted in keys:
            groups[PageRequest(first, after, include_deleted)].append(parent_id)

        def work(session: Session) -> dict[PageRequest, dict[int, Page[Any]]]:
            return {page: fetch(session, list(dict.fromkeys(ids)), page) for page, ids in groups.items()}

        pages = await in_session(ctx, work)
        return [pages[PageRequest(first, after, deleted)][pid] for pid, first, after, deleted in keys]

    return DataLoader(load)


def _by_id_loader(ctx: ServiceContext, kind: EntityType) -> DataLoader[int, EntityView]:
    async def load(ids: list[int]) -> list[EntityView | BaseException]:
        found = await in_session(ctx, lambda session: browse.by_ids(session, kind, ids))
        # A parent can vanish between two statements of one request (a concurrent delete); say so for that item.
        return [found.get(i) or NotFound(f"{kind} {i} no longer exists") for i in ids]

    return DataLoader(load)


def _reported_table_loader(ctx: ServiceContext) -> DataLoader[str, ReportedTableView]:
    async def load(urns: list[str]) -> list[ReportedTableView | BaseException]:
        found = await in_session(ctx, lambda session: browse.reported_tables(session, urns))
        return [found.get(urn) or NotFound(f"{urn} is no longer a reported table") for urn in urns]

    return DataLoader(load)


def _tags_loader(ctx: ServiceContext) -> DataLoader[str, list[str]]:
    async def load(urns: list[str]) -> list[list[str]]:
        tags = await in_session(ctx, lambda session: browse.tags_of(session, urns))
        return [tags[urn] for urn in urns]

    return DataLoader(load)


def _changes_loader(ctx: ServiceContext) -> DataLoader[ChangeKey, Page[ChangeView]]:
    async def load(keys: list[ChangeKey]) -> list[Page[ChangeView]]:
        # Tables asking with the same window and page share one statement.
        groups: dict[tuple, list[int]] = defaultdict(list)
        for table_id, since, until, first, after in keys:
            groups[(since, until, first, after)].append(table_id)

        def work(session: Session) -> dict[tuple, dict[int, Page[ChangeView]]]:
            return {
                args: browse.change_histories(session, list(dict.fromkeys(ids)), since=args[0], until=args[1],
                                              first=args[2], after=args[3])
                for args, ids in groups.items()
            }

        pages = await in_session(ctx, work)
        return [pages[(since, until, first, after)][tid] for tid, since, until, first, after in keys]

    return DataLoader(load)


def _column_profile_loader(ctx: ServiceContext) -> DataLoader[str, ColumnProfileView | None]:
    async def load(urns: list[str]) -> list[ColumnProfileView | None]:
        # One statement for a whole page of columns, however many of them were profiled.
        found = await in_session(ctx, lambda session: latest_column_profiles(session, list(dict.fromkeys(urns))))
        return [found.get(urn) for urn in urns]

    return DataLoader(load)


def _table_profile_loader(ctx: ServiceContext) -> DataLoader[int, ProfileView | None]:
    async def load(table_ids: list[int]) -> list[ProfileView | None]:
        found = await in_session(ctx, lambda session: latest_profiles(session, list(dict.fromkeys(table_ids))))
        return [found.get(table_id) for table_id in table_ids]

    return DataLoader(load)


def _profile_run_loader(ctx: ServiceContext) -> DataLoader[int, ProfileView]:
    async def load(profile_ids: list[int]) -> list[ProfileView | BaseException]:
        # A table's whole history with each run's columns costs the statements of one run.
        found = await in_session(ctx, lambda session: get_profiles(session, list(dict.fromkeys(profile_ids))))
        return [found.get(i) or NotFound(f"no profile with id {i}", field="id") for i in profile_ids]

    return DataLoader(load)


def _table_health_loader(ctx: ServiceContext) -> DataLoader[int, TableHealthView]:
    async def load(table_ids: list[int]) -> list[TableHealthView | BaseException]:
        found = await in_session(ctx, lambda session: table_healths(session, table_ids))
        return [found.get(i) or NotFound(f"table {i} no longer exists") for i in table_ids]

    return DataLoader(load)


class Loaders:
    """The DataLoaders of one request. Their caches live as long as the request, never longer."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.schemas_of_source: DataLoader[ChildKey, Page[SchemaView]] = _child_pages_loader(
            ctx, browse.schemas_of_sources)
        self.tables_of_schema: DataLoader[ChildKey, Page[TableView]] = _child_pages_loader(
            ctx, browse.tables_of_schemas)
        self.columns_of_table: DataLoader[ChildKey, Page[ColumnView]] = _child_pages_loader(
            ctx, browse.columns_of_tables)
        self.tags: DataLoader[str, list[str]] = _tags_loader(ctx)
        self.source: DataLoader[int, SourceView] = _by_id_loader(ctx, EntityType.SOURCE)
        self.schema: DataLoader[int, SchemaView] = _by_id_loader(ctx, EntityType.SCHEMA)
        self.table: DataLoader[int, TableView] = _by_id_loader(ctx, EntityType.DATASET)
        self.reported_table: DataLoader[str, ReportedTableView] = _reported_table_loader(ctx)
        self.changes: DataLoader[ChangeKey, Page[ChangeView]] = _changes_loader(ctx)
        self.column_profile: DataLoader[str, ColumnProfileView | None] = _column_profile_loader(ctx)
        self.table_profile: DataLoader[int, ProfileView | None] = _table_profile_loader(ctx)
        self.profile_run: DataLoader[int, ProfileView] = _profile_run_loader(ctx)
        self.table_health: DataLoader[int, TableHealthView] = _table_health_loader(ctx)

    def clear(self) -> None:
        """Forgets everything loaded so far: a mutation may have changed it."""
        for loader in vars(self).values():
            if isinstance(loader, DataLoader):
                loader.clear_all()

