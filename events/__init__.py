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

import lazy_loader

# Every name loads on first use: a process that only holds an `InProcessBus` (each `catalog` command) does not import
# httpx for webhooks, and azure-eventhub (~0.2 s) loads only in processes that publish to Event Hubs.
__getattr__ = lazy_loader.attach(__name__, submod_attrs={
    "bus": ["BusSubscription", "InProcessBus"],
    "data": ["PAYLOADS", "EventPayload"],
    "egress": ["DestinationRefused", "EgressPolicy"],
    "eventhub": ["EventHubPublisher", "InvalidEventHubConfig"],
    "filters": ["EventFilter", "InvalidFilter"],
    "jsonlines": ["JsonLinesPublisher", "read_events"],
    "model": ["CLOUDEVENTS_JSON", "DEFAULT_SOURCE", "CatalogEvent"],
    "publisher": ["EventPublisher", "PublishFailure", "PublishResult"],
    "types": ["EventType"],
    "webhooks": ["InvalidWebhookSubscription", "SignatureError", "WebhookDelivery", "WebhookPublisher",
                 "WebhookPublishResult", "WebhookRetryPolicy", "WebhookSubscription", "generate_secret", "sign",
                 "verify"],
})[0]


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
