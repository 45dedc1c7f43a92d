"""REST routes for lineage: graph queries with exports, manual edges, and the OpenLineage endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from catalog_api.rest.deps import QUERY_SESSION, context
from catalog_api.rest.deps import settings as app_settings
from catalog_api.rest.models import ViewModel, rest_model
from catalog_api.rest.security import allow
from catalog_api.security.identity import Permission
from catalog_api.services import lineage as lineage_service
from catalog_api.services.context import ServiceContext
from catalog_api.services.lineage.export import export_graph
from catalog_api.services.lineage.graph import GraphEdge, lineage
from catalog_api.services.lineage.openlineage import ingest_run_event
from catalog_api.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["lineage"])

_MEDIA = {"mermaid": "text/vnd.mermaid; charset=utf-8", "dot": "text/vnd.graphviz; charset=utf-8",
          "openlineage": "application/json"}



class NodeOut(ViewModel):
    """A dataset in a lineage result; `placeholder` when the catalog has not crawled it."""

    urn: str
    source: str
    schema_name: str = Field(validation_alias="schema", serialization_alias="schema")
    name: str
    kind: str | None
    placeholder: bool
    distance: int = Field(description="Levels from the start: negative upstream, positive downstream.")
    reported: bool = Field(description="Not crawled, but OpenLineage reported its columns.")
    link: str | None = Field(description="GET this for the table and its columns (crawled or reported); null when "
                                         "the catalog knows only the dataset's name.")


class EdgeOut(ViewModel):
    """An edge; the column fields are set on column-level edges."""

    upstream: str
    downstream: str
    upstream_column: str | None = None
    downstream_column: str | None = None
    upstream_column_urn: str | None = None
    downstream_column_urn: str | None = None
    transformation: str | None = None
    origin: str
    first_seen_at: datetime
    last_seen_at: datetime


class LineageOut(ViewModel):
    """A lineage result. `truncated` (with the reason) when the walk stopped before the graph ended."""

    urn: str
    direction: str
    depth: int
    column_level: bool
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    truncated: bool
    truncated_reason: str | None


class ManualEdgeIn(BaseModel):
    """A manual edge between two dataset URNs or two column URNs."""

    model_config = ConfigDict(extra="forbid")
    upstream: str = Field(max_length=2048, examples=["urn:catalog:dataset:erp:sales:orders"])
    downstream: str = Field(max_length=2048, examples=["urn:catalog:dataset:dwh:mart:revenue"])
    transformation: str | None = Field(default=None, description="Column edges: identity or expression.")


# `transformations` is what an OpenLineage edge was reported with, kept for the export; a manual edge has none.
ManualEdgeOut = rest_model("ManualEdgeOut", GraphEdge, "A stored manual edge.", exclude=frozenset({"transformations"}))


@router.get("/lineage", dependencies=[allow(Permission.READ)],
            response_model=None, responses={200: {"model": LineageOut}})
def get_lineage(
    urn: str = Query(max_length=2048, description="A dataset URN, or a column URN for column impact analysis."),
    direction: str = Query(default="BOTH", description="UPSTREAM, DOWNSTREAM or BOTH."),
    depth: int = Query(default=3, description="Levels to walk, 1 to 20."),
    column_level: bool = Query(default=False, description="Include column-level edges."),
    limit: int | None = Query(default=None, description="At most this many nodes and edges."),
    format: str | None = Query(default=None, description="openlineage, mermaid or dot; JSON graph when absent."),
    session: Session = QUERY_SESSION, settings: Settings = Depends(app_settings),
) -> Any:
    """The lineage around a dataset or a column; `truncated` says when a limit cut it short."""
    graph = lineage(session, settings, urn, direction=direction, depth=depth, column_level=column_level, limit=limit)
    if format is None:
        return LineageOut.of(graph).model_dump(mode="json", by_alias=True)
    text = export_graph(session, settings, graph, format)
    return Response(text, media_type=_MEDIA[format])


@router.post("/lineage/edges", dependencies=[allow(Permission.CURATE)], status_code=status.HTTP_201_CREATED)
def add_edge(body: ManualEdgeIn, ctx: ServiceContext = Depends(context)) -> ManualEdgeOut:
    """Adds a manual edge (or refreshes the same one)."""
    return ManualEdgeOut.of(lineage_service.add_manual_edge(ctx, body.upstream, body.downstream,
                                                            body.transformation))


@router.delete("/lineage/edges", dependencies=[allow(Permission.CURATE)], status_code=status.HTTP_204_NO_CONTENT)
def remove_edge(
    upstream: str = Query(max_length=2048), downstream: str = Query(max_length=2048),
    ctx: ServiceContext = Depends(context),
) -> Response:
    """Removes a manual edge (kept as history, soft-deleted). Edges from crawls or OpenLineage cannot be removed."""
    lineage_service.remove_manual_edge(ctx, upstream, downstream)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class OpenLineageAccepted(BaseModel):
    """What the catalog recorded from an OpenLineage event."""

    run_id: str
    inputs: list[str] = Field(description="Catalog URNs of the event's input datasets.")
    outputs: list[str] = Field(description="Catalog URNs of the event's output datasets.")
    edges: int


@router.post("/lineage", dependencies=[allow(Permission.OPERATE)], status_code=status.HTTP_201_CREATED)
def post_openlineage(body: dict[str, Any] = Body(...), ctx: ServiceContext = Depends(context)) -> OpenLineageAccepted:
    """Receives an OpenLineage RunEvent, as Marquez's endpoint does: point the OpenLineage HTTP transport (Airflow,
    Spark, dbt, openlineage-python) at the catalog's base URL."""
    result = ingest_run_event(ctx, body)
    return OpenLineageAccepted(run_id=result.run_id, inputs=list(result.inputs), outputs=list(result.outputs),
                               edges=result.edges)
