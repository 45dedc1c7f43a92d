"""Lineage queries: walk the edges up, down or both ways from a dataset or a column, breadth first.

One statement per depth level and direction (the frontier's URNs in an IN list, chunked), so a query costs at most
`depth + 1` round trips per direction, whatever the database; the same code runs on SQLite and PostgreSQL. Visited
nodes are never expanded twice, which is what makes cycles harmless. When a walk stops before the graph ends (the
depth was reached while edges lead further, or the node/edge limit was hit) the result says so in `truncated` and
`truncated_reason`, and `truncated_at` names the nodes whose neighbours were cut off (where a viewer can go deeper);
it never fails for being big.

Starting from a column URN walks column-level edges only: "everything downstream of this column" is the impact
analysis of changing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.chunks import chunks
from catalog_api.db.models import DataSource, LineageEdge, Table
from catalog_api.db.reported import ReportedDataset
from catalog_api.errors import InvalidInput
from catalog_api.services.views import table_link
from catalog_api.settings import Settings
from catalog_api.urns import EntityType, column_of_dataset, dataset_urn, parse_urn


class Direction(StrEnum):
    """Which way to walk from the start."""

    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@dataclass(frozen=True, slots=True)
class GraphNode:
    """A dataset in a lineage result. `placeholder` when the catalog has not crawled it (or it is not a table)."""

    urn: str
    source: str
    schema: str
    name: str
    kind: str | None
    placeholder: bool
    distance: int
    """Levels from the start: negative upstream, positive downstream, 0 for the start itself."""
    reported: bool = False
    """Not crawled, but OpenLineage reported its columns (a placeholder all the same)."""
    link: str | None = None
    """`GET` this for the table and its columns, crawled or reported; null when the catalog knows only the name."""


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """An edge in a lineage result; the column fields are set on column-level edges."""

    upstream: str
    downstream: str
    upstream_column: str | None
    downstream_column: str | None
    transformation: str | None
    origin: str
    first_seen_at: datetime
    last_seen_at: datetime
    transformations: str | None = None
    """OpenLineage column edges: the reported `transformations` (JSON text), for the OpenLineage export."""

    @property
    def upstream_column_urn(self) -> str | None:
        return None if self.upstream_column is None else column_of_dataset(self.upstream, self.upstream_column)

    @property
    def downstream_column_urn(self) -> str | None:
        return None if self.downstream_column is None else column_of_dataset(self.downstream, self.downstream_column)


@dataclass(frozen=True, slots=True)
class LineageGraph:
    """The answer to a lineage query."""

    urn: str
    direction: Direction
    depth: int
    column_level: bool
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    truncated: bool = False
    truncated_reason: str | None = None
    truncated_at: tuple[str, ...] = ()
    """The dataset URNs (sorted) with neighbours the walk did not take in: a limit stopped it there."""


def edge_view(row: LineageEdge) -> GraphEdge:
    return GraphEdge(row.upstream_urn, row.downstream_urn, row.upstream_column, row.downstream_column,
                     row.transformation, row.origin, row.first_seen_at, row.last_seen_at, row.transformations)


@dataclass
class _Walk:
    """State of one direction's breadth-first walk."""

    forward: bool
    column_mode: bool
    include_columns: bool
    node_limit: int
    edge_limit: int
    distance: dict = field(default_factory=dict)
    """Visited key (dataset URN, or (dataset URN, column) in column mode) -> levels from the start."""
    edges: dict[int, LineageEdge] = field(default_factory=dict)
    truncated_reason: str | None = None
    cut: set = field(default_factory=set)
    """Visited keys whose neighbours the walk left out."""

    def near_far(self, edge: LineageEdge) -> tuple[object, object]:
        if self.column_mode:
            up, down = (edge.upstream_urn, edge.upstream_column), (edge.downstream_urn, edge.downstream_column)
        else:
            up, down = edge.upstream_urn, edge.downstream_urn
        return (up, down) if self.forward else (down, up)

    def fetch(self, session: Session, frontier: set) -> list[LineageEdge]:
        datasets = sorted({k[0] for k in frontier} if self.column_mode else frontier)
        near = LineageEdge.upstream_urn if self.forward else LineageEdge.downstream_urn
        found: list[LineageEdge] = []
        for chunk in chunks(datasets):
            query = select(LineageEdge).where(near.in_(chunk), LineageEdge.deleted_at.is_(None))
            if self.column_mode:
                query = query.where(LineageEdge.upstream_column.is_not(None))
            elif not self.include_columns:
                query = query.where(LineageEdge.upstream_column.is_(None))
            found.extend(session.scalars(query))
        if self.column_mode:
            found = [e for e in found if self.near_far(e)[0] in frontier]
        return found

    def run(self, session: Session, start: object, depth: int) -> None:
        self.distance[start] = 0
        frontier = {start}
        for level in range(1, depth + 2):
            if not frontier:
                return
            found = self.fetch(session, frontier)
            if level == depth + 1:  # one look past the last level: does the graph go on?
                for edge in found:
                    near, far = self.near_far(edge)
                    if far not in self.distance:
                        self.cut.add(near)
                        self.truncated_reason = f"depth {depth} reached; edges lead further"
                return
            following: set = set()
            for edge in sorted(found, key=lambda e: e.id):
                near, far = self.near_far(edge)
                if far not in self.distance:
                    if len(self.distance) >= self.node_limit:
                        self.truncated_reason = f"node limit {self.node_limit} reached"
                        self.cut.add(near)
                        continue
                    self.distance[far] = level
                    following.add(far)
                if edge.id not in self.edges:
                    if len(self.edges) >= self.edge_limit:
                        self.truncated_reason = f"edge limit {self.edge_limit} reached"
                        self.cut.update(self.near_far(e)[0] for e in found if e.id not in self.edges)
                        return
                    self.edges[edge.id] = edge
            if self.truncated_reason:
                return
            frontier = following


def lineage_graph(
    session: Session, urn: str, *, direction: Direction | str = Direction.BOTH, depth: int = 3,
    column_level: bool = False, limit: int = 2000, max_depth: int = 20,
) -> LineageGraph:
    """The lineage around a dataset or column URN, within `depth` levels and at most `limit` nodes and edges."""
    parsed = parse_urn(urn)
    try:
        direction = Direction(str(direction).upper())
    except ValueError:
        raise InvalidInput("direction", "one of UPSTREAM, DOWNSTREAM, BOTH") from None
    if not 1 <= depth <= max_depth:
        raise InvalidInput("depth", f"between 1 and {max_depth}")
    if limit < 1:
        raise InvalidInput("limit", "at least 1")
    if parsed.type is EntityType.COLUMN:
        column_mode, start = True, (dataset_urn(*parsed.names[:3]), parsed.names[3])
    elif parsed.type is EntityType.DATASET:
        column_mode, start = False, urn
    else:
        raise InvalidInput("urn", f"lineage is about datasets and columns, not a {parsed.type.value}")
    walks = []
    for forward in ((False,) if direction is Direction.UPSTREAM else (True,) if direction is Direction.DOWNSTREAM
                    else (False, True)):
        walk = _Walk(forward, column_mode, column_level, node_limit=limit, edge_limit=limit)
        walk.run(session, start, depth)
        walks.append(walk)
    distance: dict[str, int] = {}
    edges: dict[int, LineageEdge] = {}
    for walk in walks:
        for key, level in walk.distance.items():
            dataset = key[0] if column_mode else key
            signed = level if walk.forward else -level
            if dataset not in distance or abs(signed) < abs(distance[dataset]):
                distance[dataset] = signed
        edges.update(walk.edges)
    reasons = [w.truncated_reason for w in walks if w.truncated_reason]
    cut = {key[0] if column_mode else key for walk in walks for key in walk.cut}
    return LineageGraph(
        urn=urn, direction=direction, depth=depth, column_level=column_mode or column_level,
        nodes=tuple(_nodes(session, distance)),
        edges=tuple(
            edge_view(e) for e in sorted(edges.values(), key=lambda e: e.id)
        ),
        truncated=bool(reasons), truncated_reason="; ".join(dict.fromkeys(reasons)) or None,
        truncated_at=tuple(sorted(cut)),
    )


def _nodes(session: Session, distance: dict[str, int]) -> list[GraphNode]:
    known: dict[str, str] = {}
    reported: set[str] = set()
    for chunk in chunks(sorted(distance)):
        known.update((u, k) for u, k in session.execute(
            select(Table.urn, Table.kind).where(Table.urn.in_(chunk), Table.deleted_at.is_(None))))
        reported.update(session.scalars(select(ReportedDataset.urn).where(ReportedDataset.urn.in_(chunk))))
    reported -= set(known)  # a crawled table wins over what was reported about it
    nodes = []
    for urn, level in sorted(distance.items(), key=lambda item: (item[1], item[0])):
        source, schema, name = parse_urn(urn).names
        nodes.append(GraphNode(urn, source, schema, name, known.get(urn), urn not in known, level, urn in reported,
                               table_link(urn) if urn in known or urn in reported else None))
    return nodes


def lineage(
    session: Session, settings: Settings, urn: str, *, direction: Direction | str = Direction.BOTH, depth: int = 3,
    column_level: bool = False, limit: int | None = None,
) -> LineageGraph:
    """`lineage_graph` within the limits the settings allow (`limit` at most `lineage_max_nodes`)."""
    cap = settings.lineage_max_nodes
    if limit is not None and not 1 <= limit <= cap:
        raise InvalidInput("limit", f"between 1 and {cap}")
    return lineage_graph(session, urn, direction=direction, depth=depth, column_level=column_level,
                         limit=limit or cap, max_depth=settings.lineage_max_depth)


def source_lineage_names(session: Session, names: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Source name -> (OpenLineage namespace, dataset name prefix)."""
    wanted = sorted(set(names))
    return {n: (ns, p) for n, ns, p in session.execute(
        select(DataSource.name, DataSource.lineage_namespace, DataSource.lineage_name_prefix)
        .where(DataSource.name.in_(wanted)))} if wanted else {}

