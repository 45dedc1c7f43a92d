"""GraphQL object types of the catalog and their construction from catalog rows.

Rows are copied into plain strawberry objects right away, so no resolver ever touches a detached ORM object (and
no lazy load can hide a statement). Child lists and parents are resolved through the request's DataLoaders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types.nodes import SelectedField, Selection

from catalog_api.graphql.constraints import TableKeysNode
from catalog_api.graphql.context import Info
from catalog_api.graphql.curation import InDomain, Owned, Termed
from catalog_api.graphql.lean import NOT_IN_LINE, in_line
from catalog_api.graphql.lineage import LineageDirection, LineageResult, lineage_result
from catalog_api.graphql.loaders import ChildKey, child_key, known_or_load, loaded
from catalog_api.graphql.nodes import database_id, node_id, register_node
from catalog_api.graphql.profiles import AnomalyNode, ColumnProfileNode, TableProfileNode
from catalog_api.graphql.quality import QualityRuleNode, TableHealthNode
from catalog_api.graphql.scalars import BigInt
from catalog_api.graphql.views import FromView, graphql_type
from catalog_api.services import browse, profiling, quality
from catalog_api.services.browse import Page, PageRequest, SearchHit
from catalog_api.services.constraints import table_keys
from catalog_api.services.sources import ConnectionTestResult
from catalog_api.services.views import (
    ChangeView,
    ColumnView,
    EntityView,
    ReportedOriginView,
    ReportedTableView,
    SchemaView,
    SourceView,
    TableView,
)
from catalog_api.urns import EntityType, dataset_urn, parse_urn

T = TypeVar("T")
R = TypeVar("R")


# -- connections -------------------------------------------------------------------------------------------------

@strawberry.type
class PageInfo:
    """Whether another page follows, and the cursor to pass as `after` to get it (Relay's page info: pages go forward
    only, so `hasPreviousPage` is false, as Relay allows for `first`/`after` paging)."""

    has_next_page: bool
    end_cursor: str | None
    has_previous_page: bool = False
    start_cursor: str | None = None


@strawberry.type
class Edge(Generic[T]):
    """One item of a page with its own cursor."""

    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    """A Relay-style page of items; `totalCount` counts every item of the parent, not only this page."""

    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int


def _selects(selections: Sequence[Selection], path: tuple[str, ...]) -> bool:
    """Whether `selections` ask for the field at `path` (GraphQL names), fragments included."""
    if not path:
        return True
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == path[0] and _selects(selection.selections, path[1:]):
                return True
        elif _selects(selection.selections, path):
            return True
    return False


def _asks_for_tags(info: Info) -> bool:
    """Whether this field's selection asks for `edges.node.tags`. Every parent of a level shares the field's nodes
    (all 16 tables ask the same for their columns), so the answer is kept per request by those nodes: strawberry's
    `selected_fields` rebuilds the whole subtree on each call."""
    known = info.context.tag_selections
    key = tuple(map(id, info._raw_info.field_nodes))
    if key not in known:
        known[key] = any(_selects(field.selections, ("edges", "node", "tags")) for field in info.selected_fields)
    return known[key]


async def with_tags(info: Info, page: Page[R]) -> Page[R]:
    """`page`, once the tags of its items are loaded when the query asks for them: all pages of one level share the
    statement (the tags loader batches their keys), and every node's `tags` is then a plain value."""
    if page.items and _asks_for_tags(info):
        loads = [info.context.loaders.tags.load(item.urn) for item in page.items]  # type: ignore[attr-defined]
        # One batch settles them all, so after the first the rest are done already: awaited in turn they cost
        # nothing, where `load_many`'s gather adds a callback and a wrapper per item. All are awaited even when
        # one fails, so none is left with an unretrieved exception.
        failure = None
        for load in loads:
            try:
                await load
            except Exception as error:  # the batch's error, the same on every item
                failure = failure or error
        if failure is not None:
            raise failure
    return page


def to_connection(page: Page[R], convert: Callable[[R], T]) -> Connection[T]:
    """A connection from a `browse.Page`, whose `cursors` hold each item's cursor."""
    edges = [Edge(cursor=cursor, node=convert(item)) for item, cursor in zip(page.items, page.cursors, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.cursors[-1] if page.cursors else None,
                           start_cursor=page.cursors[0] if page.cursors else None),
        total_count=page.total,
    )


async def children(info: Info, loader: DataLoader[ChildKey, Page[R]], parent_id: int, page: PageRequest,
                   convert: Callable[[R], T]) -> Connection[T]:
    """One page of a node's children, with their tags when the query asks for them: the loader batches the pages of
    every parent on the level (a source's schemas, a schema's tables, a table's columns)."""
    return to_connection(await with_tags(info, await loader.load(child_key(parent_id, page))), convert)


# -- the hierarchy -----------------------------------------------------------------------------------------------

@strawberry.interface(name="Entity")
class Entity(relay.Node):
    """Anything the catalog names with a URN: a source, schema, table or column. Its global `id` is keyed by the URN,
    so a dataset OpenLineage reported keeps its `id` once a crawl finds it."""

    urn: str
    name: str
    description: str | None = strawberry.field(description="The curated description.")

    @strawberry.field(description="Tags and classifications such as `pii.email`, sorted.")
    @in_line(lambda entity, context: loaded(context.loaders.tags, entity.urn, NOT_IN_LINE))
    def tags(self, info: Info) -> list[str]:
        # Usually loaded already, with the page this entity came in (`with_tags`).
        return known_or_load(info.context.loaders.tags, self.urn)  # type: ignore[return-value]

    _id = node_id("urn")

    @classmethod
    def resolve_id(cls, root: Entity, *, info: Info) -> str:  # for strawberry's own relay helpers
        return root.urn


@strawberry.type(name="Source")
class SourceNode(Entity, Owned, InDomain, FromView):
    """A registered source. `secretRefs` are references (`env:NAME`, `keyvault:NAME[/VERSION]`, `local:ID`), never
    secret values."""

    id: strawberry.Private[int]
    database_id = database_id("The source's own id, as the mutations, REST and the CLI take it.")
    kind: str
    config: JSON
    secret_refs: JSON
    lineage_namespace: str
    lineage_name_prefix: str
    created_at: datetime
    updated_at: datetime
    last_crawled_at: datetime | None
    schedule_cron: str | None = strawberry.field(description="Five-field cron expression of the crawl schedule.")
    schedule_timezone: str = strawberry.field(description="IANA time zone the schedule is evaluated in.")
    next_run_at: datetime | None = strawberry.field(description="Next scheduled crawl; null when none or paused.")
    schedule_paused_at: datetime | None = strawberry.field(
        description="Set when the circuit breaker paused the schedule after consecutive failures.")
    schedule_paused_reason: str | None
    consecutive_failures: int


    @strawberry.field(description="The source's schemas in name order.")
    async def schemas(
        self, info: Info, first: int = 100, after: str | None = None, include_deleted: bool = False
    ) -> Connection[SchemaNode]:
        page = PageRequest(first, after, include_deleted).validated()
        return await children(info, info.context.loaders.schemas_of_source, self.id, page, SchemaNode.of)


@strawberry.type(name="Schema")
class SchemaNode(Entity, Owned, FromView):
    """A namespace of a source; `deletedAt` is set once it disappeared from the source."""

    id: strawberry.Private[int]
    database_id = database_id("The schema's own id.")
    comment: str | None
    deleted_at: datetime | None
    source_id: strawberry.Private[int]


    @strawberry.field
    async def source(self, info: Info) -> SourceNode:
        return SourceNode.of(await info.context.loaders.source.load(self.source_id))

    @strawberry.field(description="The schema's tables, views and files in name order.")
    async def tables(
        self, info: Info, first: int = 100, after: str | None = None, include_deleted: bool = False
    ) -> Connection[TableNode]:
        page = PageRequest(first, after, include_deleted).validated()
        return await children(info, info.context.loaders.tables_of_schema, self.id, page, TableNode.of)


ReportedOriginNode = graphql_type(
    ReportedOriginView, "ReportedOrigin", "Who reported a table the catalog has not crawled.",
    description="Who reported a table the catalog has not crawled: the OpenLineage job and run whose event gave its "
                "columns, and that event's time.")


@strawberry.type(name="Table")
class TableNode(Entity, Owned, Termed, InDomain, FromView):
    """A table, view, materialized view, foreign table or file. `comment` is the source's own. Or a dataset known only
    from OpenLineage (`origin: "reported"`): its columns as reported, and nothing only a crawl knows."""

    id: strawberry.Private[int | None]
    database_id = database_id("The crawled table's own id; null on a reported table.")
    kind: str
    comment: str | None
    view_definition: str | None
    partition_key: str | None
    primary_key: JSON | None = strawberry.field(deprecation_reason="Use `keys { primaryKey }`, typed.")
    unique_constraints: JSON = strawberry.field(deprecation_reason="Use `keys { uniqueConstraints }`, typed.")
    foreign_keys: JSON = strawberry.field(
        deprecation_reason="Use `keys { foreignKeys }`, typed and with the referenced table's URN.")
    indexes: JSON = strawberry.field(deprecation_reason="Use `keys { indexes }`, typed.")
    row_estimate: BigInt | None
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None
    deleted_at: datetime | None
    schema_id: strawberry.Private[int | None]
    source_id: strawberry.Private[int | None]
    reported: ReportedOriginNode | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Who reported the columns of a table the catalog has not crawled; null when crawled.")

    @strawberry.field(description="`crawled`, or `reported`: not crawled, its columns known from OpenLineage.")
    def origin(self) -> str:
        return "crawled" if self.reported is None else "reported"

    @strawberry.field(description="The primary key, unique constraints, foreign keys and indexes the source declares "
                                  "(none on a reported table).")
    def keys(self) -> TableKeysNode:
        return TableKeysNode.of(table_keys(self))

    @strawberry.field(description="The lineage around this table, as the `lineage` query answers it (same walk, same "
                                  "limits): nodes and edges within `depth` levels, `truncated` when a limit cut it.")
    async def lineage(
        self, info: Info, direction: LineageDirection = LineageDirection.BOTH, depth: int = 3,
        column_level: bool = False, limit: int | None = None,
    ) -> LineageResult:
        return await lineage_result(info, self.urn, direction, depth, column_level, limit)

    @strawberry.field(description="Null on a reported table whose schema the catalog has not crawled.")
    async def schema(self, info: Info) -> SchemaNode | None:
        return None if self.schema_id is None else SchemaNode.of(await info.context.loaders.schema.load(self.schema_id))

    @strawberry.field(description="Null on a reported table that belongs to no registered source.")
    async def source(self, info: Info) -> SourceNode | None:
        return None if self.source_id is None else SourceNode.of(await info.context.loaders.source.load(self.source_id))

    @strawberry.field(description="How the table is extracted into the lake: plan, watermark, last run.")
    async def extraction(self, info: Info) -> ExtractionNode:
        from catalog_api.services.extraction import get_extraction

        return ExtractionNode.of(await info.context.query(get_extraction, self.urn))

    @strawberry.field(description="The table's columns in ordinal order.")
    async def columns(
        self, info: Info, first: int = 100, after: str | None = None, include_deleted: bool = False
    ) -> Connection[ColumnNode]:
        page = PageRequest(first, after, include_deleted).validated()
        if self.reported is None:
            return await children(info, info.context.loaders.columns_of_table, self.id, page, ColumnNode.of)
        found = await info.context.query(browse.reported_columns, self.urn, page)
        return to_connection(await with_tags(info, found), ColumnNode.of)

    @strawberry.field(description="The change history of the table and its columns, newest first, in [since, until).")
    async def changes(
        self, info: Info, since: datetime | None = None, until: datetime | None = None, first: int = 100,
        after: str | None = None,
    ) -> Connection[ChangeNode]:
        # Validated here so a bad argument fails this field alone, not every table sharing the batch.
        PageRequest(first, after).validated()
        if self.reported is not None:  # no change history: the catalog records the changes it crawled
            return to_connection(Page(), ChangeNode.of)
        found = await info.context.loaders.changes.load((self.id, since, until, first, after))
        return to_connection(found, ChangeNode.of)

    @strawberry.field(description="The newest profile with column statistics and anomalies; null before the first.")
    async def profile(self, info: Info) -> TableProfileNode | None:
        if self.reported is not None:
            return None
        view = await info.context.loaders.table_profile.load(self.id)
        return None if view is None else TableProfileNode.of(view)

    @strawberry.field(description="Profile runs, newest first (at most `limit`, up to 500).")
    async def profiles(self, info: Info, limit: int = 50) -> list[TableProfileNode]:
        if self.reported is not None:
            return []
        return [TableProfileNode.of(v) for v in
                await info.context.query(profiling.profile_history, self.urn, limit=limit)]

    @strawberry.field(description="Anomalies found in the table's profiles, newest first.")
    async def anomalies(self, info: Info, limit: int = 100) -> list[AnomalyNode]:
        if self.reported is not None:
            return []
        return [AnomalyNode.of(a) for a in
                await info.context.query(profiling.list_anomalies, table_urn=self.urn,
                                        limit=limit)]

    @strawberry.field(description="The anomaly settings in force: the table's own merged over the defaults.")
    async def anomaly_thresholds(self, info: Info) -> JSON:
        return await info.context.query(profiling.get_anomaly_thresholds, self.urn)

    @strawberry.field(description="The table's data-quality rules by name (column rules included).")
    async def quality_rules(self, info: Info) -> list[QualityRuleNode]:
        if self.reported is not None:
            return []
        return [QualityRuleNode.of(r) for r in await info.context.query(quality.list_rules, table_urn=self.urn)]

    @strawberry.field(description="The table's health: its quality rules by their latest results, the open anomalies "
                                  "of its latest profile, its freshness; null for a dataset the catalog has not "
                                  "crawled. Batched over a page of tables.")
    async def quality_health(self, info: Info) -> TableHealthNode | None:
        if self.reported is not None:
            return None
        return TableHealthNode.of(await info.context.loaders.table_health.load(self.id))


@strawberry.type(name="Column")
class ColumnNode(Entity, Termed, FromView):
    """A column as the source defines it, with its curated description; or as OpenLineage reported it, on a table
    the catalog has not crawled (no id, nullability or default; `comment` is the reporter's description)."""

    id: strawberry.Private[int | None]
    database_id = database_id("The crawled column's own id; null on a reported column.")
    ordinal: int
    data_type: str | None = strawberry.field(description="Null only on a reported column given without a type.")
    nullable: bool | None = strawberry.field(description="Null on a reported column (OpenLineage does not say).")
    default: str | None
    comment: str | None
    generated: str | None
    deleted_at: datetime | None
    table_id: strawberry.Private[int | None]

    @strawberry.field
    async def table(self, info: Info) -> TableNode:
        if self.table_id is None:  # a reported column: its table is the reported dataset
            table_urn = dataset_urn(*parse_urn(self.urn).names[:3])
            return TableNode.of(await info.context.loaders.reported_table.load(table_urn))
        return TableNode.of(await info.context.loaders.table.load(self.table_id))

    @strawberry.field(description="The column's statistics in its table's newest profile; null before the first.")
    async def profile(self, info: Info) -> ColumnProfileNode | None:
        view = await info.context.loaders.column_profile.load(self.urn)
        return None if view is None else ColumnProfileNode.of(view)

    @strawberry.field(description="The column's statistics in each profile run that covered it, newest first.")
    async def profile_history(self, info: Info, limit: int = 50) -> list[ColumnProfileNode]:
        return [ColumnProfileNode.of(v) for v in
                await info.context.query(profiling.column_profile_history, self.urn, limit=limit)]


_NODE_OF: dict[type, Callable[[EntityView], Entity]] = {
    SourceView: SourceNode.of, SchemaView: SchemaNode.of, TableView: TableNode.of, ColumnView: ColumnNode.of,
    ReportedTableView: TableNode.of,
}


def entity_node(view: EntityView) -> Entity:
    """The GraphQL object for any catalog entity."""
    return _NODE_OF[type(view)](view)


def _by_urn(kind: EntityType) -> Callable[[Any, str], EntityView]:
    return lambda session, urn: browse.entity(session, urn, field="id", expected=kind)


def _by_urns(kind: EntityType) -> Callable[[Any, list[str]], dict[str, EntityView]]:
    return lambda session, urns: browse.by_urns(session, kind, urns)


for _type, _kind in ((SourceNode, EntityType.SOURCE), (SchemaNode, EntityType.SCHEMA), (TableNode, EntityType.DATASET),
                     (ColumnNode, EntityType.COLUMN)):
    register_node(_type, _by_urn(_kind), _by_urns(_kind))


# -- everything else ---------------------------------------------------------------------------------------------

ChangeNode = graphql_type(ChangeView, "Change",
                          "One detected change of a table or one of its columns, with the values before and after.",
                          descriptions={"actor": "Who caused the change (the requester of the crawl that found it); "
                                                 "null on changes older than actors."})


ConnectionTestNode = graphql_type(ConnectionTestResult, "ConnectionTest", "The outcome of testing a source's "
                                  "connection: `server` when it worked, an error code and message if not.")


SearchHitNode = graphql_type(SearchHit, "SearchHit", "A table (`type` dataset) or column whose name, description or "
                             "comment matches the search text.")


@strawberry.type(name="Extraction")
class ExtractionNode:
    """A table's incremental extraction: the plan in force (suggested or overridden) and where its data stands."""

    urn: str
    strategy: str
    column: str | None
    overridden: bool
    watermark: JSON | None
    lake_path: str | None
    last_run_id: str | None
    last_job_id: str | None
    last_extracted_at: datetime | None
    rows_extracted: BigInt
    bytes_extracted: BigInt

    @classmethod
    def of(cls, view) -> ExtractionNode:
        from crawlers.increment import encode_watermark

        return cls(
            urn=view.urn, strategy=view.strategy, column=view.column, overridden=view.overridden,
            watermark=encode_watermark(view.watermark), lake_path=view.lake_path, last_run_id=view.last_run_id,
            last_job_id=view.last_job_id, last_extracted_at=view.last_extracted_at,
            rows_extracted=view.rows_extracted, bytes_extracted=view.bytes_extracted,
        )
