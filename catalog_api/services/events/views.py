"""What callers see of the event machinery: outbox rows, webhook subscriptions (never their secrets) and the
delivery log, built from the stored rows here and nowhere else."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalog_api.db.models import OutboxEvent, WebhookDeliveryRow, WebhookSubscriptionRow
from catalog_api.services.views import from_row


@dataclass(frozen=True, slots=True)
class OutboxEventView:
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
    event: dict[str, Any]


def outbox_event_view(row: OutboxEvent) -> OutboxEventView:
    return from_row(OutboxEventView, row, delivered_to=list(row.delivered_to or []), event=json.loads(row.event))


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """A webhook subscription; its secret is never part of it."""

    id: str
    url: str
    event_types: list[str]
    urn_prefix: str
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


def subscription_view(row: WebhookSubscriptionRow) -> SubscriptionView:
    return from_row(SubscriptionView, row, event_types=list(row.event_types))


@dataclass(frozen=True, slots=True)
class CreatedSubscription(SubscriptionView):
    """A subscription just created (or with a rotated secret), with its secret: the only time it is shown."""

    secret: str

    @property
    def subscription(self) -> SubscriptionView:
        """The subscription without its secret."""
        return from_row(SubscriptionView, self)


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One delivery of one event to a subscription: the last attempt's status, the error, attempts and timing.
    Never the target's response body: the log would let whoever reads it read what the target answers."""

    id: int
    event_id: str
    event_type: str
    delivered: bool
    attempts: int
    status_code: int | None
    error: str | None
    duration_ms: float
    started_at: datetime


def delivery_view(row: WebhookDeliveryRow) -> DeliveryView:
    return from_row(DeliveryView, row)
