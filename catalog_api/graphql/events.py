"""GraphQL types for change events: published events, outbox rows, webhook subscriptions and deliveries."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from catalog_api.graphql.nodes import register_node
from catalog_api.graphql.views import FromView, graphql_type
from catalog_api.security.identity import Permission
from catalog_api.services.events import webhooks
from catalog_api.services.events.views import DeliveryView, OutboxEventView, SubscriptionView
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
    actor: str | None = strawberry.field(description="Who caused the change: `api_key:<key id>`, `entra:<object id>`, "
                                                     "`local` or `system`; null on events older than actors.")
    data: JSON

    @classmethod
    def of(cls, event: CatalogEvent) -> CatalogEventNode:
        return cls(id=event.id, type=event.type.value, source=event.source, subject=event.subject, time=event.time,
                   partition_key=event.partitionkey, actor=event.actor, data=event.data)


OutboxEventNode = graphql_type(OutboxEventView, "OutboxEventNode",
                        "An outbox row: the event and where its publication stands (`pending`, `sent` or `dead`).")


WebhookSubscriptionNode = graphql_type(SubscriptionView, "WebhookSubscriptionNode",
                        "A webhook subscription; its secret is never shown (only once, when created or rotated).",
                        node="webhookId",
                        descriptions={"id": "The subscription's own id, as `webhook(id:)` and REST take it."})
register_node(WebhookSubscriptionNode, webhooks.get_subscription, webhooks.subscriptions_by_id, Permission.OPERATE)


@strawberry.type
class WebhookSecretPayload(FromView):
    """A subscription just created or re-keyed, with its signing secret: store it now, it is not shown again."""

    subscription: WebhookSubscriptionNode
    secret: str


WebhookDeliveryNode = graphql_type(DeliveryView, "WebhookDeliveryNode",
                        "One delivery of one event to a subscription: the last attempt's status, the error, "
                        "attempts and timing (never the response body).")


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
