"""The transactional outbox: change events are written in the caller's transaction, next to the change itself.

`record_event(session, payload, subject)` (or `record_events` for many at once, one bulk INSERT) is the only way
the application emits an event: nothing publishes directly. An event therefore exists if and only if its change
was committed; the relay (`catalog_api.services.events.relay`) publishes it afterwards, at least once.

The outbox can also be read and repaired through the API: dead events (that kept failing) are listed and can be
replayed, i.e. put back to `pending` with a fresh attempt count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import event as sa_event
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from catalog_api.db.models import OutboxEvent, utcnow
from catalog_api.errors import InvalidInput, NotFound
from catalog_api.observability.context import current_work
from catalog_api.security.identity import current_identity
from catalog_api.services.events.views import OutboxEventView, outbox_event_view
from events import CatalogEvent, EventPayload

_CHUNK = 2000
_NEW_EVENTS = "catalog_outbox_new_events"

wakeup = threading.Event()
"""Set after a transaction that wrote events commits, so an in-process relay publishes at once instead of polling."""


class OutboxStatus(StrEnum):
    """Life cycle of an outbox row."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


@sa_event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    if session.info.pop(_NEW_EVENTS, False):
        wakeup.set()


@sa_event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_NEW_EVENTS, None)


def outbox_row(event: CatalogEvent) -> dict:
    """The INSERT values of one event."""
    return {
        "event_id": event.id, "source_urn": event.partitionkey, "type": event.type.value,
        "subject": event.subject, "event": event.to_json(), "status": OutboxStatus.PENDING, "attempts": 0,
        "delivered_to": [], "created_at": utcnow(),
    }


def record_events(session: Session, events: Sequence[CatalogEvent]) -> None:
    """Adds events to the outbox inside the caller's transaction, in order, with one bulk INSERT per chunk.

    An event without an `actor` gets the current identity's: the caller of the request, or the requester of the job,
    that made the change; one without a `traceparent` gets the trace context of that request or job, and its request
    id (`requestid`) when a request caused it.
    """
    if not events:
        return
    rows = [outbox_row(e.model_copy(update=_provenance(e))) for e in events]
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(OutboxEvent).execution_options(render_nulls=True), rows[start:start + _CHUNK])
    session.info[_NEW_EVENTS] = True


def _provenance(event: CatalogEvent) -> dict[str, str]:
    """The attributes `event` lacks that say who and which request or job made its change."""
    work = current_work()
    known = {"actor": current_identity().actor, "traceparent": work.traceparent if work else None,
             "requestid": work.request_id if work else None}
    return {name: value for name, value in known.items() if value is not None and getattr(event, name) is None}


def record_event(session: Session, payload: EventPayload, subject: str, *, time: datetime | None = None
                 ) -> CatalogEvent:
    """Builds the event of `payload` about `subject` and writes it to the outbox in the caller's transaction."""
    event = CatalogEvent.create(payload, subject=subject, time=time)
    event = event.model_copy(update=_provenance(event))
    record_events(session, [event])
    return event


# -- reading and repairing --------------------------------------------------------------------------------------

def list_outbox(session: Session, *, status: str | None = None, source_urn: str | None = None, limit: int = 100,
                after_id: int | None = None) -> list[OutboxEventView]:
    """Outbox rows in publication order (oldest first), optionally of one status or source."""
    if status is not None and status not in {s.value for s in OutboxStatus}:
        raise InvalidInput("status", f"one of {', '.join(s.value for s in OutboxStatus)}")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit", "between 1 and 1000")
    query = select(OutboxEvent).order_by(OutboxEvent.id).limit(limit)
    if status is not None:
        query = query.where(OutboxEvent.status == status)
    if source_urn is not None:
        query = query.where(OutboxEvent.source_urn == source_urn)
    if after_id is not None:
        query = query.where(OutboxEvent.id > after_id)
    return [outbox_event_view(row) for row in session.scalars(query)]


def replay(session: Session, ids: Iterable[int] | None = None) -> list[OutboxEventView]:
    """Puts dead events (the given ids, or every dead one) back to pending with a fresh attempt count.

    A replayed event keeps its event id, so a consumer that got it before deduplicates it. Later events of its
    source that went out while it was dead stay sent: a replay arrives after them.
    """
    query = select(OutboxEvent).where(OutboxEvent.status == OutboxStatus.DEAD).order_by(OutboxEvent.id)
    if ids is not None:
        wanted = sorted(set(ids))
        found = {row.id: row for row in session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(wanted)))}
        for outbox_id in wanted:
            row = found.get(outbox_id)
            if row is None:
                raise NotFound(f"no outbox event {outbox_id}", field="id")
            if row.status != OutboxStatus.DEAD:
                raise InvalidInput("id", f"outbox event {outbox_id} is {row.status}; only dead events are replayed")
        query = query.where(OutboxEvent.id.in_(wanted))
    rows = list(session.scalars(query))
    if rows:
        session.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_([r.id for r in rows]))
            .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=None)
            .execution_options(synchronize_session="fetch")
        )
        session.info[_NEW_EVENTS] = True
    return [outbox_event_view(row) for row in rows]
