"""REST routes for lineage: graph queries with exports, manual edges, and the OpenLineage endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from catalog_api.rest.contract import checked_by_service, errors, urn_query
from catalog_api.rest.deps import QUERY_SESSION, context
from catalog_api.rest.deps import settings as app_settings
from catalog_api.rest.models import ViewModel, rest_model
from catalog_api.rest.security import allow
from catalog_api.security.identity import Permission
from catalog_api.services import lineage as lineage_service
from catalog_api.services.context import ServiceContext
from catalog_api.services.lineage.export import export_graph
from catalog_api.services.lineage.graph import Direction, GraphEdge, lineage
from catalog_api.services.lineage.openlineage import RunEvent, ingest_run_event
from catalog_api.settings import Settings
from catalog_api.urns import MAX_URN_LENGTH, EntityType, urn_pattern

router = APIRouter(prefix="/api/v1", tags=["lineage"])

_MEDIA = {"mermaid": "text/vnd.mermaid; charset=utf-8", "dot": "text/vnd.graphviz; charset=utf-8",
          "openlineage": "application/json"}
# The schema states the default limits; a catalog configured otherwise checks its own (`lineage_max_*`).
MAX_DEPTH = Settings.model_fields["lineage_max_depth"].default
MAX_NODES = Settings.model_fields["lineage_max_nodes"].default
LineageUrn = Annotated[str, Field(max_length=MAX_URN_LENGTH,
                                  **checked_by_service(urn_pattern(EntityType.DATASET, EntityType.COLUMN)),
                                  examples=["urn:catalog:dataset:erp:sales:orders"])]



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
    truncated_at: list[str] = Field(description="The datasets whose neighbours a limit left out (where to go deeper).")


class ManualEdgeIn(BaseModel):
    """A manual edge between two dataset URNs or two column URNs."""

    model_config = ConfigDict(extra="forbid")
    upstream: LineageUrn
    downstream: LineageUrn
    transformation: Literal["identity", "expression"] | None = Field(default=None,
                                                                      description="Column edges only.")


# `transformations` is what an OpenLineage edge was reported with, kept for the export; a manual edge has none.
ManualEdgeOut = rest_model("ManualEdgeOut", GraphEdge, "A stored manual edge.", exclude=frozenset({"transformations"}))


@router.get("/lineage", dependencies=[allow(Permission.READ)], response_model=None,
            responses={200: {"model": LineageOut | list[dict[str, Any]],
                             "description": "The JSON graph, or the export in the asked `format` (OpenLineage: a "
                                            "JSON array of RunEvents).",
                             "content": {"text/vnd.mermaid": {"schema": {"type": "string"}},
                                                              "text/vnd.graphviz": {"schema": {"type": "string"}}}},
                       **errors(404)})
def get_lineage(
    urn: str = urn_query(EntityType.DATASET, EntityType.COLUMN, default=...,
                         description="A dataset URN, or a column URN for column impact analysis."),
    direction: Direction = Query(default=Direction.BOTH),
    depth: int = Query(default=3, ge=1, le=MAX_DEPTH, description="Levels to walk."),
    column_level: bool = Query(default=False, description="Include column-level edges."),
    limit: int | None = Query(default=None, ge=1, le=MAX_NODES, description="At most this many nodes and edges."),
    format: Literal["openlineage", "mermaid", "dot"] | None = Query(
        default=None, description="The export format (`openlineage` is JSON); the JSON graph when absent."),
    session: Session = QUERY_SESSION, settings: Settings = Depends(app_settings),
) -> Any:
    """The lineage around a dataset or a column; `truncated` says when a limit cut it short."""
    graph = lineage(session, settings, urn, direction=direction, depth=depth, column_level=column_level, limit=limit)
    if format is None:
        return LineageOut.of(graph).model_dump(mode="json", by_alias=True)
    text = export_graph(session, settings, graph, format)
    return Response(text, media_type=_MEDIA[format])


@router.post("/lineage/edges", dependencies=[allow(Permission.CURATE)], status_code=status.HTTP_201_CREATED,
             responses=errors(404))
def add_edge(body: ManualEdgeIn, ctx: ServiceContext = Depends(context)) -> ManualEdgeOut:
    """Adds a manual edge (or refreshes the same one)."""
    return ManualEdgeOut.of(lineage_service.add_manual_edge(ctx, body.upstream, body.downstream,
                                                            body.transformation))


@router.delete("/lineage/edges", dependencies=[allow(Permission.CURATE)], status_code=status.HTTP_204_NO_CONTENT,
               responses=errors(404))
def remove_edge(
    upstream: str = urn_query(EntityType.DATASET, EntityType.COLUMN, default=...),
    downstream: str = urn_query(EntityType.DATASET, EntityType.COLUMN, default=...),
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


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its `$defs` references replaced by what they name (the document has no place for them)."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        return [resolve(item) for item in node] if isinstance(node, list) else node

    return resolve(schema)


# What the catalog reads of a RunEvent (the service's own model); the rest of the event is accepted and ignored.
RUN_EVENT_SCHEMA = _inlined(RunEvent.model_json_schema())


@router.post("/lineage", dependencies=[allow(Permission.OPERATE)], status_code=status.HTTP_201_CREATED,
             openapi_extra={"requestBody": {"content": {"application/json": {"schema": RUN_EVENT_SCHEMA}}}})
def post_openlineage(body: dict[str, Any] = Body(...), ctx: ServiceContext = Depends(context)) -> OpenLineageAccepted:
    """Receives an OpenLineage RunEvent, as Marquez's endpoint does: point the OpenLineage HTTP transport (Airflow,
    Spark, dbt, openlineage-python) at the catalog's base URL."""
    result = ingest_run_event(ctx, body)
    return OpenLineageAccepted(run_id=result.run_id, inputs=list(result.inputs), outputs=list(result.outputs),
                               edges=result.edges)
