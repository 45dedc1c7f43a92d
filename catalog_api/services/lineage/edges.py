"""Lineage edges: how they are recorded (view SQL during a crawl, extraction, manual, OpenLineage) and kept fresh.

Every edge belongs to an *owner* within its origin: the view whose definition produced it (`view_sql`), the
OpenLineage job (`openlineage`), the extracted table (`extraction`) or `manual`. Re-deriving an owner's edges
(`sync_edges`) refreshes `last_seen_at` of those still there, revives or inserts new ones and soft-deletes the ones
that went away, in bulk statements, and reports what changed so a `catalog.lineage.changed` event can say so.

Datasets outside any crawled source get URNs under reserved pseudo-sources (a registered source name must start
with a letter or digit, so these can never collide with one); see docs/lineage.md:

* `urn:catalog:dataset:_lake:<source>:<schema>%2F<table>`: the lake copy of an extracted table;
* `urn:catalog:dataset:_openlineage:<namespace>:<name>`: an OpenLineage dataset whose namespace is no source's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from catalog_api.db.chunks import chunks
from catalog_api.db.models import LineageEdge, LineageUnresolved, Table, utcnow
from catalog_api.errors import InvalidInput, NotFound
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.outbox import record_events
from catalog_api.services.lineage.graph import GraphEdge, edge_view
from catalog_api.urns import SOURCE_NAME, EntityType, Urn, column_of_dataset, dataset_urn, parse_urn
from events import CatalogEvent
from events import data as payloads

LAKE_SOURCE = "_lake"
OPENLINEAGE_SOURCE = "_openlineage"
MANUAL_OWNER = "manual"


class Origin(StrEnum):
    """Where an edge comes from."""

    VIEW_SQL = "view_sql"
    OPENLINEAGE = "openlineage"
    MANUAL = "manual"
    EXTRACTION = "extraction"


@dataclass(frozen=True, slots=True)
class EdgeSpec:
    """One edge to record: dataset URNs, plus both column names for a column-level edge."""

    upstream_urn: str
    downstream_urn: str
    upstream_column: str | None = None
    downstream_column: str | None = None
    transformation: str | None = None
    transformations: str | None = None
    """OpenLineage column edges: the input field's `transformations` as JSON text (a string keeps the spec hashable)."""

    def ends(self) -> tuple[str, str]:
        """The edge as the event payload names it: dataset URNs, or column URNs for a column edge."""
        if self.upstream_column is None or self.downstream_column is None:
            return self.upstream_urn, self.downstream_urn
        return (column_of_dataset(self.upstream_urn, self.upstream_column),
                column_of_dataset(self.downstream_urn, self.downstream_column))


def lake_dataset_urn(source: str, schema: str, table: str) -> str:
    """The URN of the lake copy of `source.schema.table` (the lake stores it under `<source>/<schema>/<table>`)."""
    return dataset_urn(LAKE_SOURCE, source, f"{schema}/{table}")


def openlineage_placeholder_urn(namespace: str, name: str) -> str:
    """The URN of an OpenLineage dataset whose namespace belongs to no registered source."""
    return dataset_urn(OPENLINEAGE_SOURCE, namespace, name)


def edge_key(origin: str, owner: str, spec: EdgeSpec) -> str:
    """Identity of an edge within its origin and owner (a hash, because URNs are too long for one index key)."""
    text = "\0".join((origin, owner, spec.upstream_urn, spec.downstream_urn, spec.upstream_column or "",
                      spec.downstream_column or ""))
    return hashlib.sha256(text.encode()).hexdigest()


def table_ids_by_urn(session: Session, urns: Iterable[str]) -> dict[str, int]:
    """Live catalog tables among `urns` (others are placeholders: not crawled, lake or OpenLineage datasets)."""
    wanted = sorted(set(urns))
    found: dict[str, int] = {}
    for chunk in chunks(wanted):
        rows = session.execute(select(Table.urn, Table.id).where(Table.urn.in_(chunk), Table.deleted_at.is_(None)))
        found.update((urn, table_id) for urn, table_id in rows)
    return found


@dataclass(frozen=True, slots=True)
class EdgeChanges:
    """What re-deriving one owner's edges changed."""

    added: tuple[EdgeSpec, ...]
    removed: tuple[EdgeSpec, ...]


def sync_edges(
    session: Session, origin: Origin, owned: Mapping[str, Sequence[EdgeSpec]], *, now: datetime | None = None,
    job_id: str | None = None, run_id: str | None = None, replace: bool = True,
) -> dict[str, EdgeChanges]:
    """Makes the live edges of each owner in `owned` exactly its specs (or adds them, when `replace` is false).

    A few bulk statements whatever the number of owners; returns the changes of the owners that changed.
    """
    now = now or utcnow()
    owners = list(owned)
    existing: dict[str, LineageEdge] = {}
    for chunk in chunks(owners):
        for edge in session.scalars(select(LineageEdge).where(
                LineageEdge.origin == origin.value, LineageEdge.owner_urn.in_(chunk))):
            existing[edge.edge_key] = edge
    ids = table_ids_by_urn(session, (u for specs in owned.values() for s in specs
                                     for u in (s.upstream_urn, s.downstream_urn)))
    added: dict[str, list[EdgeSpec]] = {}
    removed: dict[str, list[EdgeSpec]] = {}
    fresh: list[dict] = []
    refreshed: list[int] = []
    revived: list[dict] = []
    wanted: set[str] = set()
    for owner, specs in owned.items():
        for spec in dict.fromkeys(specs):
            key = edge_key(origin.value, owner, spec)
            if key in wanted:
                continue
            wanted.add(key)
            row = existing.get(key)
            if row is None:
                fresh.append({
                    "edge_key": key, "upstream_urn": spec.upstream_urn, "downstream_urn": spec.downstream_urn,
                    "upstream_table_id": ids.get(spec.upstream_urn),
                    "downstream_table_id": ids.get(spec.downstream_urn),
                    "upstream_column": spec.upstream_column, "downstream_column": spec.downstream_column,
                    "transformation": spec.transformation, "transformations": spec.transformations,
                    "origin": origin.value, "owner_urn": owner,
                    "job_id": job_id, "run_id": run_id, "first_seen_at": now, "last_seen_at": now,
                    "deleted_at": None,
                })
                added.setdefault(owner, []).append(spec)
            elif (row.deleted_at is not None or row.transformation != spec.transformation
                  or row.transformations != spec.transformations):
                revived.append({"id": row.id, "deleted_at": None, "last_seen_at": now, "job_id": job_id,
                                "run_id": run_id, "transformation": spec.transformation,
                                "transformations": spec.transformations,
                                "upstream_table_id": ids.get(spec.upstream_urn),
                                "downstream_table_id": ids.get(spec.downstream_urn)})
                if row.deleted_at is not None:
                    added.setdefault(owner, []).append(spec)
            else:
                refreshed.append(row.id)
    gone: list[int] = []
    if replace:
        for key, row in existing.items():
            if key not in wanted and row.deleted_at is None:
                gone.append(row.id)
                removed.setdefault(row.owner_urn, []).append(_spec(row))
    for chunk in chunks(fresh, 2000):
        session.execute(insert(LineageEdge).execution_options(render_nulls=True), list(chunk))
    if revived:
        session.execute(update(LineageEdge), revived)
    for chunk in chunks(refreshed):
        session.execute(update(LineageEdge).where(LineageEdge.id.in_(chunk))
                        .values(last_seen_at=now, job_id=job_id, run_id=run_id))
    for chunk in chunks(gone):
        session.execute(update(LineageEdge).where(LineageEdge.id.in_(chunk)).values(deleted_at=now))
    return {
        owner: EdgeChanges(tuple(added.get(owner, ())), tuple(removed.get(owner, ())))
        for owner in set(added) | set(removed)
    }


def _spec(row: LineageEdge) -> EdgeSpec:
    return EdgeSpec(row.upstream_urn, row.downstream_urn, row.upstream_column, row.downstream_column,
                    row.transformation, row.transformations)


def change_events(
    origin: Origin, changes: Mapping[str, EdgeChanges], *, job_id: str | None = None, run_id: str | None = None,
    time: datetime | None = None,
) -> list[CatalogEvent]:
    """One `catalog.lineage.changed` event per downstream dataset whose incoming edges changed."""
    by_downstream: dict[str, tuple[list, list]] = {}
    for change in changes.values():
        for spec in change.added:
            by_downstream.setdefault(spec.downstream_urn, ([], []))[0].append(spec)
        for spec in change.removed:
            by_downstream.setdefault(spec.downstream_urn, ([], []))[1].append(spec)
    events = []
    for downstream in sorted(by_downstream):
        added, removed = by_downstream[downstream]
        payload = payloads.LineageChanged(
            origin=origin.value, job_id=job_id, run_id=run_id,
            added=[payloads.LineageEdge(upstream=a, downstream=b) for a, b in (s.ends() for s in added)],
            removed=[payloads.LineageEdge(upstream=a, downstream=b) for a, b in (s.ends() for s in removed)],
        )
        events.append(CatalogEvent.create(payload, subject=downstream, time=time))
    return events


def replace_unresolved(
    session: Session, source_id: int, views: Iterable[str], found: Mapping[str, Sequence[tuple[str, str]]],
    now: datetime,
) -> None:
    """The unresolved references of `views` become exactly `found` (view URN -> (reference, reason) pairs)."""
    for chunk in chunks(sorted(set(views))):
        session.execute(delete(LineageUnresolved).where(LineageUnresolved.view_urn.in_(chunk)))
    rows = [
        {"source_id": source_id, "view_urn": view, "reference": reference, "reason": reason, "last_seen_at": now}
        for view, items in found.items() for reference, reason in dict.fromkeys(items)
    ]
    for chunk in chunks(rows, 2000):
        session.execute(insert(LineageUnresolved), list(chunk))


def link_crawled_tables(session: Session, urns: Sequence[str]) -> None:
    """Edges recorded before their dataset was crawled (OpenLineage, manual) now point at its table id."""
    pending: list[LineageEdge] = []
    for chunk in chunks(sorted(set(urns))):
        pending.extend(session.scalars(select(LineageEdge).where(or_(
            LineageEdge.upstream_urn.in_(chunk) & LineageEdge.upstream_table_id.is_(None),
            LineageEdge.downstream_urn.in_(chunk) & LineageEdge.downstream_table_id.is_(None)))))
    if not pending:
        return
    ids = table_ids_by_urn(session, (u for e in pending for u in (e.upstream_urn, e.downstream_urn)))
    for edge in pending:
        edge.upstream_table_id = edge.upstream_table_id or ids.get(edge.upstream_urn)
        edge.downstream_table_id = edge.downstream_table_id or ids.get(edge.downstream_urn)
    session.flush()


def dataset_of(urn: Urn) -> str:
    """The dataset URN of a dataset or column URN."""
    return dataset_urn(*urn.names[:3])


def record_extraction(
    session: Session, source: str, schema: str, table: str, columns: Sequence[str], *, job_id: str | None,
    run_id: str | None, events: bool = False,
) -> str:
    """Links an extracted table to its lake copy (table and column by column, identity); returns the lake URN."""
    table_urn, lake_urn = dataset_urn(source, schema, table), lake_dataset_urn(source, schema, table)
    specs = [EdgeSpec(table_urn, lake_urn)]
    specs += [EdgeSpec(table_urn, lake_urn, c, c, "identity") for c in columns]
    changes = sync_edges(session, Origin.EXTRACTION, {table_urn: specs}, job_id=job_id, run_id=run_id)
    if events:
        record_events(session, change_events(Origin.EXTRACTION, changes, job_id=job_id, run_id=None))
    return lake_urn


# -- manual edges -----------------------------------------------------------------------------------------------

def _manual_spec(upstream: str, downstream: str, transformation: str | None) -> EdgeSpec:
    up, down = parse_urn(upstream, field="upstream"), parse_urn(downstream, field="downstream")
    for name, urn in (("upstream", up), ("downstream", down)):
        if urn.type not in (EntityType.DATASET, EntityType.COLUMN):
            raise InvalidInput(name, f"a dataset or column URN, not a {urn.type.value} URN")
        if not SOURCE_NAME.fullmatch(urn.source):  # no source can have it, and change events refuse it
            raise InvalidInput(name, f"{urn.source!r} cannot name a source: a source name holds 1 to 128 letters, "
                                     "digits, '_', '-' and '.'")
    if up.type is not down.type:
        raise InvalidInput("downstream", "must be the same kind of URN as upstream (both datasets or both columns)")
    if str(up) == str(down):
        raise InvalidInput("downstream", "an edge from a dataset or column to itself says nothing")
    if transformation is not None and transformation not in ("identity", "expression"):
        raise InvalidInput("transformation", "identity, expression, or null")
    if up.type is EntityType.DATASET:
        if transformation is not None:
            raise InvalidInput("transformation", "only column edges have a transformation")
        return EdgeSpec(upstream, downstream)
    return EdgeSpec(dataset_of(up), dataset_of(down), up.names[3], down.names[3], transformation)


def add_manual_edge(ctx: ServiceContext, upstream: str, downstream: str,
                    transformation: str | None = None) -> GraphEdge:
    """Adds (or refreshes) a manual edge between two dataset URNs or two column URNs; returns the stored edge.

    The ends need not be crawled yet: an edge to a URN the catalog does not know is kept and joins up when the
    dataset is crawled.
    """
    spec = _manual_spec(upstream, downstream, transformation)
    with ctx.db.session() as session:
        changes = sync_edges(session, Origin.MANUAL, {MANUAL_OWNER: [spec]}, replace=False)
        if ctx.settings.lineage_events_enabled:
            record_events(session, change_events(Origin.MANUAL, changes))
        return edge_view(session.scalars(select(LineageEdge).where(
            LineageEdge.edge_key == edge_key(Origin.MANUAL.value, MANUAL_OWNER, spec))).one())


def remove_manual_edge(ctx: ServiceContext, upstream: str, downstream: str) -> None:
    """Soft-deletes a manual edge; `NotFound` when there is no such live manual edge."""
    spec = _manual_spec(upstream, downstream, None)
    spec = EdgeSpec(spec.upstream_urn, spec.downstream_urn, spec.upstream_column, spec.downstream_column)
    with ctx.db.session() as session:
        query = select(LineageEdge).where(
            LineageEdge.origin == Origin.MANUAL.value, LineageEdge.deleted_at.is_(None),
            LineageEdge.upstream_urn == spec.upstream_urn, LineageEdge.downstream_urn == spec.downstream_urn)
        found = [e for e in session.scalars(query)
                 if (e.upstream_column, e.downstream_column) == (spec.upstream_column, spec.downstream_column)]
        if not found:
            raise NotFound(f"no manual lineage edge from {upstream} to {downstream}")
        now = utcnow()
        for edge in found:
            edge.deleted_at = now
        if ctx.settings.lineage_events_enabled:
            record_events(session, change_events(Origin.MANUAL, {MANUAL_OWNER: EdgeChanges((), (spec,))}))
