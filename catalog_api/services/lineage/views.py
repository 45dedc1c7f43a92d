"""View lineage during a crawl: the edges of views that were created or changed, computed from their SQL.

Called by `apply_snapshot` inside the crawl's transaction. Only views whose definition changed (or that are new)
are parsed, against the whole current snapshot so that every name resolves; unchanged views keep their edges
(their `last_seen_at` is the last time their definition was read). Views that had unresolved references are
parsed again when new tables appeared, since those may be what they were missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.models import DataSource, LineageUnresolved
from catalog_api.services.events.outbox import record_events
from catalog_api.services.lineage.edges import EdgeSpec, Origin, change_events, replace_unresolved, sync_edges
from catalog_api.urns import dataset_urn
from crawlers.lineage import DIALECTS, ViewAnalyser
from crawlers.lineage.views import VIEW_KINDS
from crawlers.snapshot import SourceSnapshot, TableSnapshot


def record_view_lineage(
    session: Session, source: DataSource, snapshot: SourceSnapshot, *, created: Sequence[TableSnapshot],
    changed: Sequence[TableSnapshot], deleted: Sequence[tuple[str, str]], job_id: str | None, now: datetime,
    events: bool = False,
) -> int:
    """Records the view edges of one crawl (and their change events when `events`); returns the views parsed."""
    if source.kind not in DIALECTS:
        return 0  # no SQL dialect (files, NetSuite): no view definitions to read
    current = snapshot.table_map()
    todo: dict[tuple[str, str], TableSnapshot] = {
        t.key: t for t in (*created, *changed) if t.kind in VIEW_KINDS
    }
    if created:
        waiting = set(session.scalars(select(LineageUnresolved.view_urn).where(
            LineageUnresolved.source_id == source.id).distinct()))
        if waiting:
            for key, table in current.items():
                if table.kind in VIEW_KINDS and key not in todo and dataset_urn(source.name, *key) in waiting:
                    todo[key] = table
    owned: dict[str, list[EdgeSpec]] = {dataset_urn(source.name, *key): [] for key in deleted}
    unresolved: dict[str, list[tuple[str, str]]] = {}
    if todo:
        analyser = ViewAnalyser(snapshot, source.kind)
        for key, view in todo.items():
            urn = dataset_urn(source.name, *key)
            found = analyser.analyse(view)
            specs = [EdgeSpec(dataset_urn(source.name, *e.upstream), urn) for e in found.table_edges]
            specs += [
                EdgeSpec(dataset_urn(source.name, *e.upstream[:2]), urn, e.upstream[2], e.downstream[2],
                         e.transformation.value)
                for e in found.column_edges
            ]
            owned[urn] = specs
            unresolved[urn] = [(u.reference, u.reason) for u in found.unresolved]
    if not owned:
        return 0
    changes = sync_edges(session, Origin.VIEW_SQL, owned, now=now, job_id=job_id)
    replace_unresolved(session, source.id, owned, unresolved, now)
    if events:
        record_events(session, change_events(Origin.VIEW_SQL, changes, job_id=job_id, time=now))
    return len(todo)
