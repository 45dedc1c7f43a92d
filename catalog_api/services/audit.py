"""The audit log: who did what, when, from which key or token, and how it ended.

The transports record one entry per state-changing request: REST through its middleware (`rest/audit.py`), GraphQL
per mutation field (`graphql/audit.py`), refused attempts included. Entries are only ever added; `audit_log` reads
them back, newest first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.access import AuditRecord
from catalog_api.errors import InvalidInput
from catalog_api.security.identity import Identity, current_identity
from catalog_api.services.browse import as_utc
from catalog_api.services.context import ServiceContext
from catalog_api.services.views import from_row

log = logging.getLogger(__name__)

MAX_PAGE = 1000

@dataclass(frozen=True, slots=True)
class AuditEntryView:
    """One state-changing request: who (actor, name, authentication method, key id or token subject), what (action,
    target), when, from where (client address, request id), and how it ended."""

    id: int
    at: datetime
    actor: str
    actor_name: str
    auth_method: str
    subject: str
    action: str
    target: str | None
    outcome: str
    request_id: str | None
    client: str | None


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Audit entries, newest first; `next_after` (the last entry's id) asks for the next, older page."""

    items: list[AuditEntryView]
    next_after: int | None


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """What a transport knows about one state-changing request once its outcome is known.

    `action` is `METHOD /route/{template}` or `mutation fieldName`; `target` the path parameters or the `id`/`urn`
    argument, never a body or a credential; `outcome` the HTTP status, or `ok` or an error code for GraphQL.
    """

    action: str
    target: str | None
    outcome: str
    request_id: str | None = None
    client: str | None = None


def _clipped(value: str | None, column) -> str | None:
    return None if value is None else value[: column.type.length]


def record_request(ctx: ServiceContext, request: RequestRecord, identity: Identity | None = None) -> None:
    """Adds the entry of a request made by `identity`, by default the current one. Never raises: a failure to audit
    is logged as a warning, and the request it was about keeps its outcome."""
    identity = identity or current_identity()
    values = {"actor": identity.actor, "actor_name": identity.name, "auth_method": identity.method,
              "subject": identity.subject, "action": request.action, "target": request.target,
              "outcome": request.outcome, "request_id": request.request_id, "client": request.client}
    try:
        with ctx.db.session() as session:
            session.add(AuditRecord(**{name: _clipped(value, getattr(AuditRecord, name))
                                       for name, value in values.items()}))
    except Exception:  # the audit must never turn a request's outcome into a failure
        log.warning("could not record the audit entry of %s by %s", request.action, identity.actor, exc_info=True)


def audit_log(session: Session, *, actor: str | None = None, action: str | None = None,
              since: datetime | None = None, until: datetime | None = None, outcome: str | None = None,
              target: str | None = None, after: int | None = None, limit: int = 100) -> AuditPage:
    """Audit entries newest first, within [since, until), of one actor, actions starting with `action` (e.g.
    `DELETE /api/v1/sources` or `mutation`), one outcome (`404`, `ok`, `not_found`) or one target; `after` is the
    `next_after` of the previous page."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"between 1 and {MAX_PAGE}")
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit + 1)
    filters = [
        (actor, lambda value: AuditRecord.actor == value),
        (action, lambda value: AuditRecord.action.startswith(value, autoescape=True)),
        (as_utc(since), lambda value: AuditRecord.at >= value),
        (as_utc(until), lambda value: AuditRecord.at < value),
        (outcome, lambda value: AuditRecord.outcome == value),
        (target, lambda value: AuditRecord.target == value),
        (after, lambda value: AuditRecord.id < value),
    ]
    query = query.where(*(condition(value) for value, condition in filters if value is not None))
    rows = list(session.scalars(query))
    items = [from_row(AuditEntryView, row) for row in rows[:limit]]
    return AuditPage(items=items, next_after=items[-1].id if len(rows) > limit else None)
