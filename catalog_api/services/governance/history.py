"""The history of glossary terms and domains themselves (`curation_changes`): one row per change, kept after the term
or domain is deleted, written with the change's event (`catalog.glossary_term.*`, `catalog.domain.*`). Changes of
what an entity carries go to that entity's table or source history instead (`assets.record_change`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.curation import CurationChange
from catalog_api.errors import InvalidInput
from catalog_api.security.identity import current_identity
from catalog_api.services.events.outbox import record_event
from catalog_api.services.governance.views import CurationChangeView, curation_change_view
from catalog_api.urns import domain_urn, glossary_term_urn
from events import EventPayload

MAX_HISTORY = 1000
SUBJECT_URNS = {"term": glossary_term_urn, "domain": domain_urn}
SUBJECT_KINDS = tuple(SUBJECT_URNS)


def record(session: Session, kind: str, subject_id: int, name: str, change: str, before: dict[str, Any] | None,
           after: dict[str, Any] | None, payload: EventPayload) -> None:
    """Adds a change of a term or domain to its history and its event (`payload`) to the outbox, in the caller's
    transaction: both are written, or neither."""
    session.add(CurationChange(subject_kind=kind, subject_id=subject_id, subject_name=name, change=change,
                               before=before, after=after, actor=current_identity().actor))
    record_event(session, payload, SUBJECT_URNS[kind](subject_id))


def curation_history(session: Session, kind: str, subject_id: int, *, limit: int = 100) -> list[CurationChangeView]:
    """The changes of one term or domain (a deleted one's too), newest first."""
    if kind not in SUBJECT_KINDS:
        raise InvalidInput("kind", "term or domain")
    if not 1 <= limit <= MAX_HISTORY:
        raise InvalidInput("limit", f"between 1 and {MAX_HISTORY}")
    rows = session.scalars(select(CurationChange).where(CurationChange.subject_kind == kind,
                                                        CurationChange.subject_id == subject_id)
                           .order_by(CurationChange.id.desc()).limit(limit))
    return [curation_change_view(row) for row in rows]
