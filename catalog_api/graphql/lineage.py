"""GraphQL lineage: the `lineage` query (with exports) and the manual-edge mutations.

The Query and Mutation types of `catalog_api.graphql.schema` inherit these fields; resolvers only translate
arguments into calls of `catalog_api.services.lineage*`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import Enum

import strawberry

from catalog_api.graphql.context import Info
from catalog_api.graphql.permissions import requires
from catalog_api.graphql.views import FromView, graphql_type
from catalog_api.security.identity import Permission
from catalog_api.services import lineage as lineage_service
from catalog_api.services.lineage.export import export_graph
from catalog_api.services.lineage.graph import GraphNode, LineageGraph, lineage


@strawberry.enum(description="Which way a lineage query walks from its start.")
class LineageDirection(Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@strawberry.enum(description="Export formats of a lineage result.")
class LineageFormat(Enum):
    OPENLINEAGE = "openlineage"
    MERMAID = "mermaid"
    DOT = "dot"


LineageNodeType = graphql_type(
    GraphNode, "LineageNode", "A dataset in a lineage result.",
    description="A dataset in a lineage result; `placeholder` when the catalog has not crawled it.",
    descriptions={"distance": "Levels from the start: negative upstream, positive downstream.",
                  "reported": "Not crawled, but OpenLineage reported its columns: `table(urn:)` answers with them.",
                  "link": "REST address of the table and its columns (crawled or reported); null when the catalog "
                          "knows only the dataset's name."})


@strawberry.type(name="LineageEdge", description="An edge; the column fields are set on column-level edges.")
class LineageEdgeType(FromView):
    upstream: str
    downstream: str
    upstream_column: str | None
    downstream_column: str | None
    upstream_column_urn: str | None
    downstream_column_urn: str | None
    transformation: str | None
    origin: str = strawberry.field(description="view_sql, openlineage, manual or extraction.")
    first_seen_at: datetime
    last_seen_at: datetime


@strawberry.type(description="A lineage result; `truncated` (with the reason) when a limit cut the walk short.")
class LineageResult:
    urn: str
    direction: LineageDirection
    depth: int
    column_level: bool
    nodes: list[LineageNodeType]
    edges: list[LineageEdgeType]
    truncated: bool
    truncated_reason: str | None
    truncated_at: list[str] = strawberry.field(description="The datasets whose neighbours a limit left out (where to "
                                                           "go deeper).")
    graph: strawberry.Private[LineageGraph]

    @strawberry.field(description="This result as OpenLineage JSON (an array of RunEvents), Mermaid or DOT text.")
    async def export(self, info: Info, format: LineageFormat) -> str:
        return await info.context.query(export_graph, info.context.ctx.settings, self.graph, format.value)

    @classmethod
    def of(cls, graph: LineageGraph) -> LineageResult:
        return cls(
            urn=graph.urn, direction=LineageDirection(graph.direction.value), depth=graph.depth,
            column_level=graph.column_level,
            nodes=[LineageNodeType.of(n) for n in graph.nodes],
            edges=[LineageEdgeType.of(e) for e in graph.edges],
            truncated=graph.truncated, truncated_reason=graph.truncated_reason,
            truncated_at=list(graph.truncated_at), graph=graph,
        )


async def lineage_result(info: Info, urn: str, direction: LineageDirection, depth: int, column_level: bool,
                         limit: int | None) -> LineageResult:
    """The lineage service's walk around `urn` (its limits included), as the `lineage` query and `Table.lineage`
    answer it."""
    graph = await info.context.query(lineage, info.context.ctx.settings, urn, direction=direction.value, depth=depth,
                                     column_level=column_level, limit=limit)
    return LineageResult.of(graph)


@strawberry.type
class LineageQuery:
    """Lineage queries (inherited by `Query`)."""

    @strawberry.field(description="The lineage around a dataset URN, or around a column URN (impact analysis): "
                                  "nodes and edges within `depth` levels, `truncated` when a limit cut it short.")
    async def lineage(
        self, info: Info, urn: str, direction: LineageDirection = LineageDirection.BOTH, depth: int = 3,
        column_level: bool = False, limit: int | None = None,
    ) -> LineageResult:
        return await lineage_result(info, urn, direction, depth, column_level, limit)


@strawberry.type
class LineageMutation:
    """Manual lineage edges (inherited by `Mutation`)."""

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Adds a manual edge between two dataset URNs or two column URNs "
                                     "(`transformation`: identity or expression, column edges only).")
    async def add_lineage_edge(self, info: Info, upstream: str, downstream: str,
                               transformation: str | None = None) -> bool:
        await asyncio.to_thread(lineage_service.add_manual_edge, info.context.ctx, upstream, downstream,
                                transformation)
        return True

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Removes a manual edge (kept as history).")
    async def remove_lineage_edge(self, info: Info, upstream: str, downstream: str) -> bool:
        await asyncio.to_thread(lineage_service.remove_manual_edge, info.context.ctx, upstream, downstream)
        return True
