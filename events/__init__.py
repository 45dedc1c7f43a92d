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

from __future__ import annotations

from importlib import import_module
from typing import Any

# Every name loads on first use: a process that only holds an `InProcessBus` (each `catalog` command) does not import
# httpx for webhooks, and azure-eventhub (~0.2 s) loads only in processes that publish to Event Hubs.
_LAZY = {
    "BusSubscription": "events.bus",
    "InProcessBus": "events.bus",
    "PAYLOADS": "events.data",
    "EventPayload": "events.data",
    "DestinationRefused": "events.egress",
    "EgressPolicy": "events.egress",
    "EventHubPublisher": "events.eventhub",
    "InvalidEventHubConfig": "events.eventhub",
    "EventFilter": "events.filters",
    "InvalidFilter": "events.filters",
    "JsonLinesPublisher": "events.jsonlines",
    "read_events": "events.jsonlines",
    "CLOUDEVENTS_JSON": "events.model",
    "DEFAULT_SOURCE": "events.model",
    "CatalogEvent": "events.model",
    "EventPublisher": "events.publisher",
    "PublishFailure": "events.publisher",
    "PublishResult": "events.publisher",
    "EventType": "events.types",
    "InvalidWebhookSubscription": "events.webhooks",
    "SignatureError": "events.webhooks",
    "WebhookDelivery": "events.webhooks",
    "WebhookPublisher": "events.webhooks",
    "WebhookPublishResult": "events.webhooks",
    "WebhookRetryPolicy": "events.webhooks",
    "WebhookSubscription": "events.webhooks",
    "generate_secret": "events.webhooks",
    "sign": "events.webhooks",
    "verify": "events.webhooks",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
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
