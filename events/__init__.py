"""Catalog change events: a CloudEvents 1.0 envelope, its JSON Schemas, and the publishers (a library: it never
imports catalog_api and never touches the catalog's database).

- `CatalogEvent`, `EventType` and the typed payloads in `events.data` (one per type); `events.schemas.validate`
  checks an event against its type's JSON Schema (docs/events/).
- `EventPublisher.publish(events) -> PublishResult`, implemented by `EventHubPublisher` (Azure Event Hubs),
  `WebhookPublisher` (signed HTTP callbacks), `InProcessBus` (GraphQL subscriptions, SSE) and
  `JsonLinesPublisher` (a local file, the embedded default).
- `EgressPolicy` (`events.egress`): which addresses webhooks may reach; every connection goes to a checked address.

See docs/events.md.
"""

from events.bus import BusSubscription, InProcessBus
from events.data import PAYLOADS, EventPayload
from events.egress import DestinationRefused, EgressPolicy
from events.filters import EventFilter, InvalidFilter
from events.jsonlines import JsonLinesPublisher, read_events
from events.model import CLOUDEVENTS_JSON, DEFAULT_SOURCE, CatalogEvent
from events.publisher import EventPublisher, PublishFailure, PublishResult
from events.types import EventType
from events.webhooks import (
    InvalidWebhookSubscription,
    SignatureError,
    WebhookDelivery,
    WebhookPublisher,
    WebhookPublishResult,
    WebhookRetryPolicy,
    WebhookSubscription,
    generate_secret,
    sign,
    verify,
)

_LAZY = {"EventHubPublisher", "InvalidEventHubConfig"}


def __getattr__(name: str) -> object:
    # azure-eventhub costs ~0.2 s to import; only processes that publish to Event Hubs pay for it.
    if name in _LAZY:
        from events import eventhub

        return getattr(eventhub, name)
    raise AttributeError(f"module 'events' has no attribute {name!r}")


__all__ = [
    "CLOUDEVENTS_JSON",
    "DEFAULT_SOURCE",
    "PAYLOADS",
    "BusSubscription",
    "CatalogEvent",
    "DestinationRefused",
    "EgressPolicy",
    "EventFilter",
    "EventHubPublisher",
    "EventPayload",
    "EventPublisher",
    "EventType",
    "InProcessBus",
    "InvalidEventHubConfig",
    "InvalidFilter",
    "InvalidWebhookSubscription",
    "JsonLinesPublisher",
    "PublishFailure",
    "PublishResult",
    "SignatureError",
    "WebhookDelivery",
    "WebhookPublishResult",
    "WebhookPublisher",
    "WebhookRetryPolicy",
    "WebhookSubscription",
    "generate_secret",
    "read_events",
    "sign",
    "verify",
]
