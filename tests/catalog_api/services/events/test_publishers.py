"""Publishers built from settings: the embedded default (bus, JSON Lines, webhooks) and Event Hubs.

The Event Hub network edge is not touched here: these tests check that the settings build the library's real
`EventHubPublisher` (whose sending tests/events/test_eventhub.py covers).
"""

from __future__ import annotations

import pytest

from catalog_api.errors import InvalidInput
from catalog_api.services.events.publishers import build_publishers, eventhub_publisher
from catalog_api.settings import Settings


def test_the_embedded_default_publishes_to_the_bus_and_a_json_lines_file(ctx):
    names = [p.name for p in build_publishers(ctx)]
    assert names == ["bus", "jsonl", "webhooks"]


def test_event_hub_is_wired_from_settings(ctx, monkeypatch):
    from events.eventhub import EventHubPublisher

    connection = "Endpoint=sb://cat-test.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=ZHVtbXk=;EntityPath=catalog"
    by_string = eventhub_publisher(Settings(eventhub_connection_string=connection))
    assert isinstance(by_string, EventHubPublisher)
    by_string.close()
    ctx.settings.eventhub_connection_string = connection
    publishers = build_publishers(ctx)
    assert [p.name for p in publishers] == ["bus", "jsonl", "webhooks", "eventhub"]
    for named in publishers:
        if named.owned:
            named.publisher.close()

    with pytest.raises(InvalidInput) as missing:
        eventhub_publisher(Settings(eventhub_namespace="cat-test.servicebus.windows.net"))
    assert missing.value.field == "eventhub_name"
    with pytest.raises(InvalidInput) as malformed:
        eventhub_publisher(Settings(eventhub_namespace="https://cat-test.servicebus.windows.net", eventhub_name="c"))
    assert malformed.value.field == "eventhub_namespace"
    # Namespace + hub authenticates with DefaultAzureCredential; building it makes no network call.
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000000")
    by_identity = eventhub_publisher(Settings(eventhub_namespace="cat-test.servicebus.windows.net",
                                              eventhub_name="catalog"))
    assert isinstance(by_identity, EventHubPublisher)
    by_identity.close()
