"""Lineage: stored edges and their origins (`edges`), view lineage from crawled SQL (`views`), OpenLineage run
events (`openlineage`), graph walks (`graph`) and exports (`export`).

The names below are the domain's public face for transports; modules inside services import the submodules.
"""

from catalog_api.services.lineage.edges import (
    LAKE_SOURCE,
    OPENLINEAGE_SOURCE,
    EdgeSpec,
    Origin,
    add_manual_edge,
    edge_key,
    lake_dataset_urn,
    openlineage_placeholder_urn,
    remove_manual_edge,
)
from catalog_api.services.lineage.export import ExportFormat, export_graph
from catalog_api.services.lineage.graph import Direction, GraphEdge, GraphNode, LineageGraph, lineage, lineage_graph
from catalog_api.services.lineage.openlineage import IngestResult, ingest_run_event

__all__ = [
    "LAKE_SOURCE", "OPENLINEAGE_SOURCE", "Direction", "EdgeSpec", "ExportFormat", "GraphEdge", "GraphNode",
    "IngestResult", "LineageGraph", "Origin", "add_manual_edge", "edge_key", "export_graph", "ingest_run_event",
    "lake_dataset_urn", "lineage", "lineage_graph", "openlineage_placeholder_urn", "remove_manual_edge",
]
