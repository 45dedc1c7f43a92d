"""A stand-in for the Event Hubs service at the azure-eventhub SDK's network edge.

No Event Hubs emulator runs here (it ships only as a container image, and no container engine runs on these
machines), so tests use the SDK's real `EventHubProducerClient`, `EventHubProducer`, `EventDataBatch` and its
real pyamqp `SendClient`/`AMQPClient` objects, and replace only the methods of the vendored AMQP client that
open sockets or exchange frames:

- `AMQPClient.open`, `client_ready`, `close`: connect, CBS-authenticate and attach. The stand-in still asks the
  client's real token provider for a token (a SAS token computed from the connection string, or the Entra ID
  credential's), and reports the link's maximum message size as the service would;
- `SendClient._send_message_impl`: the transfer of one encoded AMQP message and the wait for its disposition.
  What the SDK hands over here is the exact `BatchMessage` that would go on the wire; it is decoded with the
  SDK's own AMQP decoder so tests see what a consumer would receive;
- `AMQPClient.mgmt_request`: the `$management` request the SDK makes for partition ids when it rebuilds a
  producer after an error.

Everything above that — batching, size accounting, partition-key annotations, retries, error mapping — is the
SDK's own code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from azure.eventhub import EventData
from azure.eventhub._pyamqp import error as amqp_errors
from azure.eventhub._pyamqp._decode import decode_payload
from azure.eventhub._pyamqp._encode import encode_payload
from azure.eventhub._pyamqp.client import AMQPClient, SendClient

PARTITION_KEY_ANNOTATION = b"x-opt-partition-key"
UNRESOLVED = "Failed to initiate the connection: [Errno -2] Name or service not known"


# What the fake service raises, spelled as the real pyamqp stack raises it.
def unauthorized(description: str = "InvalidSignature: The token has an invalid signature.") -> Exception:
    return amqp_errors.AuthenticationException(amqp_errors.ErrorCondition.UnauthorizedAccess,
                                               description=description)


def unreachable(description: str = UNRESOLVED) -> Exception:
    return amqp_errors.AMQPConnectionError(amqp_errors.ErrorCondition.SocketError, description=description)


def rejected(description: str = "The service was unable to process the request; please retry.") -> Exception:
    return amqp_errors.MessageSendFailed(amqp_errors.ErrorCondition.InternalError, description=description)


@dataclass
class SentBatch:
    """One AMQP transfer the service accepted: a batch message, decoded back into consumer-side EventData."""

    target: str
    partition_key: str | None
    wire_size: int
    """Bytes of the whole batch message as encoded for the AMQP transfer."""
    events: list[EventData]


@dataclass
class EventHubEdge:
    """The service side of the fake network: records accepted batches and injects failures."""

    max_message_size: int = 1024 * 1024
    partition_ids: tuple[str, ...] = ("0", "1", "2", "3")
    sent: list[SentBatch] = field(default_factory=list)
    tokens: list[Any] = field(default_factory=list)
    opens: int = 0
    open_error: Exception | None = None
    send_error: Callable[[str | None], Exception | None] = lambda key: None
    """Called per transfer with its partition key; a returned exception fails that transfer."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        edge = self

        def open_(client: AMQPClient, connection: Any = None) -> None:
            if client._session:
                return
            edge.tokens.append(client._auth.get_token())  # the real SAS / Entra ID token provider
            with edge._lock:
                edge.opens += 1
            if edge.open_error is not None:
                raise edge.open_error
            client._session = SimpleNamespace(name="fake-session")
            client._shutdown = False
            if isinstance(client, SendClient):
                client._link = SimpleNamespace(remote_max_message_size=edge.max_message_size, _is_closed=False)

        def client_ready(client: AMQPClient) -> bool:
            return True

        def close(client: AMQPClient) -> None:
            client._shutdown = True
            client._session = None
            client._link = None

        def send_message_impl(client: SendClient, message: Any, *, timeout: float = 0) -> None:
            annotations = message.message_annotations or {}
            key = annotations.get(PARTITION_KEY_ANNOTATION)
            key = key.decode() if isinstance(key, bytes) else key
            error = edge.send_error(key)
            if error is not None:
                raise error
            events = [EventData._from_message(decode_payload(memoryview(bytes(d)))) for d in message.data]
            size = len(encode_payload(bytearray(), message))
            with edge._lock:
                edge.sent.append(SentBatch(str(client.target), key, size, events))

        def mgmt_request(client: AMQPClient, message: Any, **kwargs: Any) -> tuple[int, bytes, Any]:
            value = {b"name": b"hub", b"created_at": int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000),
                     b"partition_ids": [p.encode() for p in edge.partition_ids]}
            return 200, b"OK", SimpleNamespace(value=value)

        monkeypatch.setattr(AMQPClient, "open", open_)
        monkeypatch.setattr(AMQPClient, "client_ready", client_ready)
        monkeypatch.setattr(AMQPClient, "close", close)
        monkeypatch.setattr(AMQPClient, "mgmt_request", mgmt_request)
        monkeypatch.setattr(SendClient, "_send_message_impl", send_message_impl)

    def events_for(self, key: str) -> list[EventData]:
        return [e for batch in self.sent if batch.partition_key == key for e in batch.events]
