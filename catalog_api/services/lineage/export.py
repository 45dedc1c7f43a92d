"""Lineage results as OpenLineage JSON, Mermaid and Graphviz DOT.

OpenLineage: one `COMPLETE` RunEvent per downstream dataset of the result, its upstream datasets as inputs and the
column edges as the output's `columnLineage` facet, so a tool that reads OpenLineage (Marquez, ...) can load it. A
dataset the catalog knows only from OpenLineage gives back the `schema` facet it was reported with.
A catalog URN becomes the OpenLineage (namespace, name) of docs/urns.md; the pseudo-sources map back to where they
came from (see `catalog_api.services.lineage`).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from catalog_api.db.models import utcnow
from catalog_api.errors import InvalidInput
from catalog_api.services.lineage.edges import LAKE_SOURCE, OPENLINEAGE_SOURCE
from catalog_api.services.lineage.graph import GraphEdge, GraphNode, LineageGraph, source_lineage_names
from catalog_api.services.lineage.reported import ReportedField, reported_fields
from catalog_api.settings import Settings

PRODUCER = "https://github.com/catalog/catalog"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent"
COLUMN_LINEAGE_SCHEMA = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
SCHEMA_FACET_SCHEMA = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json"
_NAMESPACE = uuid.UUID("6f1c1f5e-5b0a-4a57-9a53-3c1bf0ad6c21")


class ExportFormat(StrEnum):
    """The export formats of a lineage result."""

    OPENLINEAGE = "openlineage"
    MERMAID = "mermaid"
    DOT = "dot"


def openlineage_dataset(node: GraphNode, sources: dict[str, tuple[str, str]], lake_url: str) -> tuple[str, str]:
    """The OpenLineage (namespace, name) of a node."""
    if node.source == OPENLINEAGE_SOURCE:
        return node.schema, node.name
    if node.source == LAKE_SOURCE:
        return lake_url, f"{node.schema}/{node.name}"
    namespace, prefix = sources.get(node.source, (f"catalog://{node.source}", ""))
    return namespace, f"{prefix}{node.schema}.{node.name}"


def _schema_facet(fields: list[ReportedField]) -> dict[str, Any]:
    described = [{"name": f.name, **({"type": f.data_type} if f.data_type is not None else {}),
                  **({"description": f.description} if f.description is not None else {})} for f in fields]
    return {"_producer": PRODUCER, "_schemaURL": SCHEMA_FACET_SCHEMA, "fields": described}


def to_openlineage(graph: LineageGraph, sources: dict[str, tuple[str, str]], lake_url: str,
                   schemas: dict[str, list[ReportedField]] | None = None) -> list[dict[str, Any]]:
    """One RunEvent per downstream dataset, with its inputs and column lineage; a dataset in `schemas` (reported
    ones) carries its `schema` facet."""
    names = {n.urn: openlineage_dataset(n, sources, lake_url) for n in graph.nodes}
    schemas = schemas or {}

    def ref(urn: str) -> dict[str, Any]:
        dataset: dict[str, Any] = {"namespace": names[urn][0], "name": names[urn][1]}
        if urn in schemas:
            dataset["facets"] = {"schema": _schema_facet(schemas[urn])}
        return dataset

    events = []
    for downstream in dict.fromkeys(e.downstream for e in graph.edges if e.downstream in names):
        incoming = [e for e in graph.edges if e.downstream == downstream and e.upstream in names]
        fields: dict[str, dict[str, Any]] = {}
        for edge in incoming:
            if edge.downstream_column is None or edge.upstream_column is None:
                continue
            fields.setdefault(edge.downstream_column, {"inputFields": []})["inputFields"].append({
                "namespace": names[edge.upstream][0], "name": names[edge.upstream][1], "field": edge.upstream_column,
                "transformations": _transformations(edge),
            })
        output: dict[str, Any] = ref(downstream)
        if fields:
            output.setdefault("facets", {})["columnLineage"] = {
                "_producer": PRODUCER, "_schemaURL": COLUMN_LINEAGE_SCHEMA, "fields": fields}
        seen = max(e.last_seen_at for e in incoming) if incoming else utcnow()
        events.append({
            "eventType": "COMPLETE",
            "eventTime": seen.astimezone(UTC).isoformat(),
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA,
            "run": {"runId": str(uuid.uuid5(_NAMESPACE, downstream))},
            "job": {"namespace": "catalog", "name": f"lineage.{names[downstream][1]}"},
            "inputs": [ref(u) for u in dict.fromkeys(e.upstream for e in incoming)],
            "outputs": [output],
        })
    return events


def _transformations(edge: GraphEdge) -> list[dict[str, Any]]:
    # An edge from OpenLineage gives back what it reported (AGGREGATION, FILTER, ...); the others only know
    # identity or expression.
    if edge.transformations:
        return json.loads(edge.transformations)
    return [{"type": "DIRECT", "subtype": "IDENTITY" if edge.transformation == "identity" else "TRANSFORMATION"}]


def _label(node: GraphNode) -> str:
    return f"{node.source}.{node.schema}.{node.name}"


def to_mermaid(graph: LineageGraph) -> str:
    """A Mermaid flowchart (left to right); column edges are labelled `upstream column → downstream column`."""
    ids = {n.urn: f"n{i}" for i, n in enumerate(graph.nodes)}
    quote = lambda text: text.replace('"', "#quot;")
    lines = ["flowchart LR"]
    for node in graph.nodes:
        shape = ('(["', '"])') if node.placeholder else ('["', '"]')
        lines.append(f"    {ids[node.urn]}{shape[0]}{quote(_label(node))}{shape[1]}")
    for edge in graph.edges:
        if edge.upstream not in ids or edge.downstream not in ids:
            continue
        if edge.upstream_column is None:
            lines.append(f"    {ids[edge.upstream]} --> {ids[edge.downstream]}")
        else:
            label = quote(f"{edge.upstream_column} → {edge.downstream_column}")
            lines.append(f'    {ids[edge.upstream]} -. "{label}" .-> {ids[edge.downstream]}')
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: LineageGraph) -> str:
    """A Graphviz digraph: nodes keyed by URN, labelled by name; column edges dashed and labelled."""
    lines = ["digraph lineage {", "  rankdir=LR;", "  node [shape=box];"]
    for node in graph.nodes:
        style = ", style=dashed" if node.placeholder else ""
        lines.append(f"  {_dot_string(node.urn)} [label={_dot_string(_label(node))}{style}];")
    for edge in graph.edges:
        if edge.upstream_column is None:
            lines.append(f"  {_dot_string(edge.upstream)} -> {_dot_string(edge.downstream)};")
        else:
            label = _dot_string(f"{edge.upstream_column} → {edge.downstream_column}")
            lines.append(f"  {_dot_string(edge.upstream)} -> {_dot_string(edge.downstream)} "
                         f"[style=dashed, label={label}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _format(fmt: str) -> ExportFormat:
    try:
        return ExportFormat(fmt)
    except ValueError:
        raise InvalidInput("format", "one of openlineage, mermaid, dot") from None


def export(graph: LineageGraph, fmt: str, sources: dict[str, tuple[str, str]], lake_url: str,
           schemas: dict[str, list[ReportedField]] | None = None) -> str:
    """The graph in `fmt` as text (OpenLineage as a JSON array of RunEvents)."""
    kind = _format(fmt)
    if kind is ExportFormat.MERMAID:
        return to_mermaid(graph)
    if kind is ExportFormat.DOT:
        return to_dot(graph)
    return json.dumps(to_openlineage(graph, sources, lake_url, schemas), indent=2)


def export_graph(session: Session, settings: Settings, graph: LineageGraph, fmt: str) -> str:
    """`export` with the OpenLineage names of the graph's sources, the lake's URL and the reported datasets'
    columns from the catalog."""
    sources = source_lineage_names(session, {n.source for n in graph.nodes})
    schemas = (reported_fields(session, [n.urn for n in graph.nodes if n.reported])
               if _format(fmt) is ExportFormat.OPENLINEAGE else {})
    return export(graph, fmt, sources, settings.effective_lake_url, schemas)
