"""GraphQL types for change events: published events, outbox rows, webhook subscriptions and deliveries."""

from __future__ import annotations

import json
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from catalog_api.db.models import (
    OutboxEvent,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from catalog_api.services.events.webhooks import CreatedSubscription
from events import CatalogEvent


@strawberry.type
class CatalogEventNode:
    """One change event (CloudEvents 1.0); `data` has the type's shape (docs/events.md). Deduplicate by `id`."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    partition_key: str
    data: JSON

    @classmethod
    def of(cls, event: CatalogEvent) -> CatalogEventNode:
        return cls(id=event.id, type=event.type.value, source=event.source, subject=event.subject, time=event.time,
                   partition_key=event.partitionkey, data=event.data)


@strawberry.type
class OutboxEventNode:
    """An outbox row: the event and where its publication stands (`pending`, `sent` or `dead`)."""

    id: int
    event_id: str
    type: str
    subject: str
    source_urn: str
    status: str
    attempts: int
    last_error: str | None
    delivered_to: list[str]
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None
    event: JSON

    @classmethod
    def of(cls, row: OutboxEvent) -> OutboxEventNode:
        return cls(id=row.id, event_id=row.event_id, type=row.type, subject=row.subject, source_urn=row.source_urn,
                   status=row.status, attempts=row.attempts, last_error=row.last_error,
                   delivered_to=list(row.delivered_to or []), next_attempt_at=row.next_attempt_at,
                   created_at=row.created_at, sent_at=row.sent_at, event=json.loads(row.event))


@strawberry.type
class WebhookSubscriptionNode:
    """A webhook subscription; its secret is never shown (only once, when created or rotated)."""

    id: str
    url: str
    event_types: list[str]
    urn_prefix: str
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: WebhookSubscriptionRow) -> WebhookSubscriptionNode:
        return cls(id=row.id, url=row.url, event_types=list(row.event_types), urn_prefix=row.urn_prefix,
                   description=row.description, active=row.active, created_at=row.created_at,
                   updated_at=row.updated_at)


@strawberry.type
class WebhookSecretPayload:
    """A subscription just created or re-keyed, with its signing secret: store it now, it is not shown again."""

    subscription: WebhookSubscriptionNode
    secret: str

    @classmethod
    def of(cls, created: CreatedSubscription) -> WebhookSecretPayload:
        return cls(subscription=WebhookSubscriptionNode.of(created.subscription), secret=created.secret)


@strawberry.type
class WebhookDeliveryNode:
    """One delivery of one event to a subscription, with the last attempt's status and error."""

    id: int
    event_id: str
    event_type: str
    delivered: bool
    attempts: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    duration_ms: float
    started_at: datetime

    @classmethod
    def of(cls, row: WebhookDeliveryRow) -> WebhookDeliveryNode:
        return cls(id=row.id, event_id=row.event_id, event_type=row.event_type, delivered=row.delivered,
                   attempts=row.attempts, status_code=row.status_code, error=row.error,
                   response_excerpt=row.response_excerpt, duration_ms=row.duration_ms, started_at=row.started_at)


@strawberry.input
class WebhookInput:
    """A new webhook subscription; omit `secret` to get a generated one."""

    url: str
    event_types: list[str] | None = None
    urn_prefix: str | None = None
    description: str | None = None
    secret: str | None = None
    active: bool = True


@strawberry.input
class WebhookUpdateInput:
    """A partial update of a subscription; omitted (null) fields keep their value."""

    url: str | None = None
    event_types: list[str] | None = None
    urn_prefix: str | None = None
    description: str | None = None
    active: bool | None = None
