"""The publishers the settings configure, each under the name the outbox records once it confirmed an event: the
in-process bus (or the cross-instance fan-out), the JSON Lines file, webhooks and Azure Event Hubs."""

from __future__ import annotations

from dataclasses import dataclass

from catalog_api.db.session import Database
from catalog_api.errors import InvalidInput
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.fanout import FanoutPublisher
from catalog_api.services.events.webhooks import webhook_publisher
from catalog_api.settings import Settings
from events import EventPublisher, JsonLinesPublisher


@dataclass(frozen=True, slots=True)
class NamedPublisher:
    """A publisher and the name the outbox records in `delivered_to` once it confirmed an event."""

    name: str
    publisher: EventPublisher
    owned: bool = True
    """Whether the relay closes it (the context's bus belongs to the context)."""


def eventhub_publisher(settings: Settings) -> EventPublisher | None:
    """The Event Hub publisher the settings ask for, or None; a bad setting raises `InvalidInput` naming it."""
    if not (settings.eventhub_connection_string or settings.eventhub_namespace):
        return None
    from events.eventhub import EventHubPublisher, InvalidEventHubConfig

    try:
        if settings.eventhub_connection_string:
            return EventHubPublisher.from_connection_string(
                settings.eventhub_connection_string, eventhub_name=settings.eventhub_name or None)
        if not settings.eventhub_name:
            raise InvalidInput("eventhub_name", "CATALOG_EVENTHUB_NAME is required with CATALOG_EVENTHUB_NAMESPACE")
        return EventHubPublisher.from_namespace(settings.eventhub_namespace or "", settings.eventhub_name)
    except InvalidEventHubConfig as error:
        setting = {"connection_string": "eventhub_connection_string", "namespace": "eventhub_namespace",
                   "eventhub_name": "eventhub_name"}.get(error.field, f"eventhub_{error.field}")
        raise InvalidInput(setting, f"CATALOG_{setting.upper()}: {error.reason}") from None


def build_publishers(ctx: ServiceContext, db: Database | None = None) -> list[NamedPublisher]:
    """The publishers the settings configure: the bus and the JSON Lines file by default, webhooks, Event Hubs.

    `db` is where the webhook publisher reads its subscriptions (default: the context's database).
    """
    settings = ctx.settings
    if settings.events_fanout == "none":
        publishers = [NamedPublisher("bus", ctx.bus, owned=False)]
    else:  # every instance's FanoutListener feeds its own bus, this one's included
        publishers = [NamedPublisher("fanout", FanoutPublisher(ctx, db))]
    if settings.events_jsonl_enabled:
        publishers.append(NamedPublisher("jsonl", JsonLinesPublisher(settings.effective_events_jsonl_path)))
    publishers.append(NamedPublisher("webhooks", webhook_publisher(ctx, db)))
    hub = eventhub_publisher(settings)
    if hub is not None:
        publishers.append(NamedPublisher("eventhub", hub))
    return publishers
