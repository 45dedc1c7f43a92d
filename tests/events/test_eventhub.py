"""EventHubPublisher against the azure-eventhub SDK's real objects, with only the network edge replaced.

No Event Hubs emulator runs here (it ships only as a container image and no container engine runs on these
machines). So these tests build the SDK's real `EventHubProducerClient` from a syntactically valid connection
string, and the publisher fills real `EventDataBatch`es and calls the real `send_batch`; only the vendored AMQP
client's socket-level methods are replaced by `EventHubEdge` (tests/support/amqp_edge.py), which records each
transfer exactly as it would go on the wire and decodes it with the SDK's own AMQP decoder, or fails it the way
the service would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import parse_qs, quote_plus

import pytest
from azure.core.credentials import AccessToken
from azure.eventhub import EventDataBatch

from events import CatalogEvent, EventHubPublisher, InvalidEventHubConfig
from events.data import DescriptionChanged
from events.eventhub import to_event_data
from tests.support.amqp_edge import EventHubEdge, rejected, unauthorized, unreachable

KEY = base64.b64encode(b"catalog-test-signing-key").decode()
CONNECTION_STRING = (
    f"Endpoint=sb://example.servicebus.windows.net/;SharedAccessKeyName=catalog-sender;SharedAccessKey={KEY};"
    "EntityPath=catalog-events"
)
A, B, C = "urn:catalog:source:alpha", "urn:catalog:source:beta", "urn:catalog:source:gamma"
# Fast SDK retries: the SDK's own retry loop still runs, it just does not sleep for seconds.
FAST = {"retry_total": 1, "retry_backoff_factor": 0.001, "retry_backoff_max": 0.01}


def make_event(source_urn: str, n: int, padding: int = 0) -> CatalogEvent:
    source = source_urn.rsplit(":", 1)[1]
    return CatalogEvent.create(
        DescriptionChanged(entity_kind="dataset", before=None, after=f"table {n} " + "x" * padding),
        subject=f"urn:catalog:dataset:{source}:public:t{n}",
    )


@pytest.fixture
def edge(monkeypatch: pytest.MonkeyPatch) -> EventHubEdge:
    service = EventHubEdge()
    service.install(monkeypatch)
    return service


def publisher(**options: Any) -> EventHubPublisher:
    return EventHubPublisher.from_connection_string(CONNECTION_STRING, **(FAST | options))


def ids(events: list[Any]) -> list[str]:
    return [e.message_id if hasattr(e, "message_id") else e.id for e in events]


def test_each_event_is_one_structured_cloudevent_message_keyed_by_its_source(edge: EventHubEdge) -> None:
    events = [make_event(A, 1), make_event(B, 2), make_event(A, 3)]
    with publisher() as pub:
        result = pub.publish(events)

    assert result.ok and result.delivered == tuple(e.id for e in events)  # reported in the caller's order
    assert {b.target for b in edge.sent} == {"amqps://example.servicebus.windows.net/catalog-events"}
    assert [(b.partition_key, len(b.events)) for b in edge.sent] == [(A, 2), (B, 1)]
    received = {m.message_id: m for b in edge.sent for m in b.events}
    for event in events:
        message = received[event.id]
        assert message.content_type == "application/cloudevents+json"
        assert message.partition_key == event.partitionkey.encode()
        assert CatalogEvent.from_json(message.body_as_str()) == event
        properties = {k.decode(): v.decode() for k, v in message.properties.items()}
        assert properties == {
            "cloudEvents_specversion": "1.0", "cloudEvents_id": event.id, "cloudEvents_source": "/catalog",
            "cloudEvents_type": "catalog.description.changed", "cloudEvents_subject": event.subject,
            "cloudEvents_time": event.to_dict()["time"], "cloudEvents_partitionkey": event.partitionkey,
        }


def test_the_extensions_of_an_event_are_application_properties_too(edge: EventHubEdge) -> None:
    extensions = {"actor": "api_key:k-17", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                  "requestid": "req-17"}
    event = CatalogEvent.model_validate({**make_event(A, 1).to_dict(), **extensions})
    with publisher() as pub:
        assert pub.publish([event]).ok
    message = edge.sent[0].events[0]
    assert {k.decode(): v.decode() for k, v in message.properties.items() if k.decode() in
            {f"cloudEvents_{name}" for name in extensions}} == {f"cloudEvents_{k}": v for k, v in extensions.items()}
    assert CatalogEvent.from_json(message.body_as_str()) == event


def test_the_sas_token_is_signed_with_the_connection_string_key(edge: EventHubEdge) -> None:
    """The token the SDK presents is a SAS token for the hub, signed as Event Hubs verifies it."""
    with publisher() as pub:
        assert pub.publish([make_event(A, 1)]).ok
    token = edge.tokens[0].token
    scheme, _, fields = token.partition(" ")
    assert scheme == "SharedAccessSignature"
    claims = {k: v[0] for k, v in parse_qs(fields).items()}
    resource = "sb://example.servicebus.windows.net/catalog-events"
    assert claims["sr"] == resource and claims["skn"] == "catalog-sender"
    assert int(claims["se"]) > time.time()
    expected = hmac.new(KEY.encode(), f"{quote_plus(resource)}\n{claims['se']}".encode(), hashlib.sha256).digest()
    assert base64.b64decode(claims["sig"]) == expected


def test_batches_fill_to_the_link_limit_and_keep_each_sources_order(edge: EventHubEdge) -> None:
    edge.max_message_size = 4096
    events = [make_event(A if n % 4 else B, n, padding=400) for n in range(60)]
    with publisher() as pub:
        result = pub.publish(events)

    assert result.ok and len(result.delivered) == 60
    for key in (A, B):
        batches = [b for b in edge.sent if b.partition_key == key]
        assert ids(edge.events_for(key)) == [e.id for e in events if e.partitionkey == key]
        assert all(m.partition_key == key.encode() for b in batches for m in b.events)
        assert all(b.wire_size <= 4096 for b in batches), [b.wire_size for b in batches]
        # Each batch but the last is full: the SDK itself refuses the next event in the same batch.
        by_id = {e.id: e for e in events}
        for current, following in itertools.pairwise(batches):
            probe = EventDataBatch(max_size_in_bytes=4096, partition_key=key)
            for message in current.events:
                probe.add(to_event_data(by_id[message.message_id]))
            with pytest.raises(ValueError, match="size limit"):
                probe.add(to_event_data(by_id[following.events[0].message_id]))
    assert len([b for b in edge.sent if b.partition_key == A]) >= 8  # 45 events of ~0.6 kB in 4 kB batches


def test_max_batch_bytes_caps_batches_below_the_link_limit(edge: EventHubEdge) -> None:
    with publisher(max_batch_bytes=2048) as pub:
        assert pub.publish([make_event(A, n, padding=300) for n in range(20)]).ok
    assert len(edge.sent) > 1 and all(b.wire_size <= 2048 for b in edge.sent)

    with publisher(max_batch_bytes=2 * edge.max_message_size) as pub:
        result = pub.publish([make_event(A, 1), make_event(B, 2)])
    assert result.delivered == () and len(result.failed) == 2
    assert all(f.error.startswith("max_batch_bytes:") for f in result.failed)


def test_an_oversized_event_fails_alone_and_the_rest_still_go(edge: EventHubEdge) -> None:
    edge.max_message_size = 4096
    events = [make_event(A, 1), make_event(A, 2, padding=10_000), make_event(A, 3), make_event(B, 4)]
    with publisher() as pub:
        result = pub.publish(events)

    assert [f.event_id for f in result.failed] == [events[1].id]
    failure = result.failed[0]
    assert not failure.retryable and "4096-byte batch limit" in failure.error
    assert sorted(result.delivered) == sorted(e.id for e in (events[0], events[2], events[3]))
    assert ids(edge.events_for(A)) == [events[0].id, events[2].id]


def test_a_failing_partition_holds_its_later_events_and_others_carry_on(edge: EventHubEdge) -> None:
    """After one of A's batches is refused, A's later events are not sent (a retry would reorder them);
    B's are. Once the service recovers, re-publishing the failed ones delivers them in order."""
    edge.max_message_size = 4096
    events = [make_event(A if n % 2 else B, n, padding=400) for n in range(30)]
    edge.send_error = lambda key: rejected() if key == A and len(edge.events_for(A)) >= 5 else None
    with publisher() as pub:
        result = pub.publish(events)
        a_events = [e for e in events if e.partitionkey == A]
        sent_a = ids(edge.events_for(A))
        assert sent_a == [e.id for e in a_events[:len(sent_a)]] and len(sent_a) >= 5
        assert set(result.delivered) == set(sent_a) | {e.id for e in events if e.partitionkey == B}
        failed = {f.event_id: f for f in result.failed}
        assert set(failed) == {e.id for e in a_events[len(sent_a):]}
        assert all(f.retryable for f in failed.values())
        first_failed = a_events[len(sent_a)].id
        assert "EventDataSendError" in failed[first_failed].error
        assert any(f.error.startswith("not sent: an earlier event with the same partition key failed")
                   for f in failed.values())

        edge.send_error = lambda key: None
        retry = pub.publish([e for e in events if e.id in failed])
    assert retry.ok
    assert ids(edge.events_for(A)) == [e.id for e in a_events]


def test_refused_credentials_fail_everything_without_trying_each_source(edge: EventHubEdge) -> None:
    edge.open_error = unauthorized()
    events = [make_event(key, n) for n, key in enumerate((A, B, C, A))]
    with publisher() as pub:
        result = pub.publish(events)
    assert result.delivered == () and edge.sent == []
    assert [f.event_id for f in result.failed] == [e.id for e in events]
    assert all(f.retryable and f.error.startswith("Event Hub refused the credentials: AuthenticationError")
               for f in result.failed)
    assert edge.opens <= FAST["retry_total"] + 1  # the SDK's retries for the first source, then no more tries


def test_an_unreachable_namespace_fails_everything(edge: EventHubEdge) -> None:
    edge.open_error = unreachable()
    with publisher() as pub:
        result = pub.publish([make_event(A, 1), make_event(B, 2)])
    assert result.delivered == () and len(result.failed) == 2
    assert all(f.error.startswith("Event Hub unreachable: ConnectError") for f in result.failed)


class RecordingCredential:
    """An Entra ID credential stand-in (the token service is not reachable from here); records the scopes."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("eyJ0eXAiOiJKV1QifQ.e30.sig", int(time.time()) + 3600)


def test_namespace_with_an_entra_id_credential(edge: EventHubEdge, monkeypatch: pytest.MonkeyPatch) -> None:
    credential = RecordingCredential()
    with EventHubPublisher.from_namespace("example.servicebus.windows.net", "catalog-events",
                                          credential=credential, **FAST) as pub:
        assert pub.publish([make_event(A, 1)]).ok
    # The SDK asks for the Event Hubs audience (spelled with a double slash by azure-eventhub 5.15).
    assert credential.scopes and all(s[0].startswith("https://eventhubs.azure.net/") and s[0].endswith(".default")
                                     for s in credential.scopes)
    assert edge.tokens[0].token == "eyJ0eXAiOiJKV1QifQ.e30.sig"

    # Without a credential the publisher uses DefaultAzureCredential (replaced: it would call Entra ID).
    default = RecordingCredential()
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda: default)
    with EventHubPublisher.from_namespace("example.servicebus.windows.net", "catalog-events", **FAST) as pub:
        assert pub.publish([make_event(A, 2)]).ok
    assert default.scopes


@pytest.mark.parametrize(("build", "field"), [
    (lambda: EventHubPublisher.from_connection_string(""), "connection_string"),
    (lambda: EventHubPublisher.from_connection_string("nonsense"), "connection_string"),
    (lambda: EventHubPublisher.from_connection_string(CONNECTION_STRING.rsplit(";EntityPath", 1)[0]), "eventhub_name"),
    (lambda: EventHubPublisher.from_namespace("sb://example.servicebus.windows.net/", "hub",
                                              credential=RecordingCredential()), "namespace"),
    (lambda: EventHubPublisher.from_namespace("example.servicebus.windows.net", "",
                                              credential=RecordingCredential()), "eventhub_name"),
    (lambda: publisher(max_batch_bytes=0), "max_batch_bytes"),
])
def test_bad_settings_name_the_field(build: Any, field: str) -> None:
    with pytest.raises(InvalidEventHubConfig) as error:
        build()
    assert error.value.field == field
    assert KEY not in str(error.value)


def test_nothing_to_publish_sends_nothing(edge: EventHubEdge) -> None:
    with publisher() as pub:
        result = pub.publish([])
    assert result.ok and result.delivered == () and edge.sent == [] and edge.opens == 0


def test_message_body_is_exactly_the_events_json(edge: EventHubEdge) -> None:
    event = make_event(A, 1)
    with publisher() as pub:
        pub.publish([event])
    body = b"".join(edge.sent[0].events[0].body)
    assert body == event.to_json_bytes()
    assert json.loads(body)["partitionkey"] == A
