"""`EventHubPublisher`: catalog events to Azure Event Hubs through azure-eventhub's `EventHubProducerClient`.

- One AMQP message per event in CloudEvents *structured* mode: the body is the event's JSON, the content type is
  `application/cloudevents+json`, the message id is the event id, and the CloudEvents attributes are repeated as
  application properties with the AMQP binding's `cloudEvents_` prefix (`cloudEvents_id`, `cloudEvents_type`,
  ...; all but `datacontenttype`, which the binding maps to the content type), so consumers and Stream Analytics
  can route without parsing the body.
- Events are grouped by `partitionkey` (the source URN) and sent in `EventDataBatch`es created with
  `create_batch(partition_key=...)`: Event Hubs hashes the key to one partition, so one source's events stay in
  order. A batch is filled until the SDK's `add()` refuses (the link's maximum message size); then it is sent and
  a new one started.
- An event bigger than an empty batch can hold fails alone (not retryable); the rest still go. When a send fails,
  the events of that batch and every later event with the same key fail too, so a retry cannot reorder a source's
  events; other keys carry on. Authentication and connection failures fail everything left at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Self

from azure.eventhub import EventData, EventDataBatch, EventHubProducerClient
from azure.eventhub.exceptions import AuthenticationError, ClientClosedError, ConnectError, EventHubError

from events.model import CLOUDEVENTS_JSON, CatalogEvent, rfc3339
from events.publisher import PublishFailure, PublishResult

AMQP_PROPERTY_PREFIX = "cloudEvents_"
"""CloudEvents AMQP binding: attribute names in application-properties ('_' preferred over ':' for JMS)."""


class InvalidEventHubConfig(ValueError):
    """The Event Hub settings are unusable; `field` names the setting to fix."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class _Abort(Exception):
    """A failure that dooms every event still to send (bad credentials, unreachable namespace, bad settings)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def to_event_data(event: CatalogEvent) -> EventData:
    """The AMQP message of one event: structured-mode body plus `cloudEvents_*` application properties."""
    data = EventData(event.to_json_bytes())
    data.content_type = CLOUDEVENTS_JSON
    data.message_id = event.id
    p = AMQP_PROPERTY_PREFIX
    data.properties = {
        p + "specversion": event.specversion, p + "id": event.id, p + "source": event.source,
        p + "type": event.type.value, p + "subject": event.subject, p + "time": rfc3339(event.time),
        p + "partitionkey": event.partitionkey,
    }
    extensions = {"actor": event.actor, "traceparent": event.traceparent, "requestid": event.requestid}
    data.properties.update((p + name, value) for name, value in extensions.items() if value is not None)
    return data


def _describe(error: BaseException) -> str:
    # The SDK's messages span lines and repeat themselves; one line is what a delivery log wants.
    return f"{type(error).__name__}: " + " ".join(str(error).split())


def _fatal(error: Exception) -> _Abort:
    if isinstance(error, AuthenticationError):
        return _Abort(f"Event Hub refused the credentials: {_describe(error)}")
    if isinstance(error, ClientClosedError):
        return _Abort(f"the Event Hub publisher is closed: {_describe(error)}")
    return _Abort(f"Event Hub unreachable: {_describe(error)}")


class EventHubPublisher:
    """Publishes catalog events to one event hub; partition key = the event's source URN.

    Not thread-safe underneath (the SDK's producer is not): `publish` serialises callers with a lock.
    """

    def __init__(self, client: EventHubProducerClient, *, max_batch_bytes: int | None = None,
                 send_timeout_s: float | None = None) -> None:
        if max_batch_bytes is not None and max_batch_bytes <= 0:
            raise InvalidEventHubConfig("max_batch_bytes", "must be a positive number of bytes")
        self._client = client
        self._max_batch_bytes = max_batch_bytes
        self._send_timeout_s = send_timeout_s
        self._lock = threading.Lock()

    @classmethod
    def from_connection_string(cls, connection_string: str, *, eventhub_name: str | None = None,
                               max_batch_bytes: int | None = None, send_timeout_s: float | None = None,
                               **client_options: Any) -> EventHubPublisher:
        """From `Endpoint=sb://<ns>.servicebus.windows.net/;SharedAccessKeyName=...;SharedAccessKey=...[;EntityPath=<hub>]`.

        `client_options` go to the SDK client (e.g. `retry_total`, `retry_backoff_factor`, `transport_type`).
        """
        if not connection_string or not connection_string.strip():
            raise InvalidEventHubConfig("connection_string", "is empty")
        try:
            client = EventHubProducerClient.from_connection_string(
                connection_string, eventhub_name=eventhub_name, **client_options
            )
        except (ValueError, TypeError) as error:
            # The SDK's message never contains the key; the connection string itself is never echoed.
            if "eventhub name" in str(error).lower():
                raise InvalidEventHubConfig(
                    "eventhub_name", "missing: pass it, or end the connection string with ;EntityPath=<hub>"
                ) from None
            raise InvalidEventHubConfig("connection_string", f"not usable: {error}") from None
        return cls(client, max_batch_bytes=max_batch_bytes, send_timeout_s=send_timeout_s)

    @classmethod
    def from_namespace(cls, fully_qualified_namespace: str, eventhub_name: str, *, credential: Any = None,
                       max_batch_bytes: int | None = None, send_timeout_s: float | None = None,
                       **client_options: Any) -> EventHubPublisher:
        """From `<ns>.servicebus.windows.net` and a hub name, authenticating with Microsoft Entra ID.

        `credential` defaults to `azure.identity.DefaultAzureCredential()` (managed identity, workload identity,
        environment, Azure CLI...); it needs the *Azure Event Hubs Data Sender* role on the hub.
        """
        namespace = (fully_qualified_namespace or "").strip()
        if not namespace:
            raise InvalidEventHubConfig("namespace", "is empty")
        if "://" in namespace or "/" in namespace:
            raise InvalidEventHubConfig(
                "namespace", f"expected a host name such as 'myns.servicebus.windows.net', got {namespace!r}"
            )
        if not eventhub_name or not eventhub_name.strip():
            raise InvalidEventHubConfig("eventhub_name", "is empty")
        if credential is None:
            from azure.identity import DefaultAzureCredential  # imported late: it is heavy and often unused

            credential = DefaultAzureCredential()
        client = EventHubProducerClient(namespace, eventhub_name, credential, **client_options)
        return cls(client, max_batch_bytes=max_batch_bytes, send_timeout_s=send_timeout_s)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def publish(self, events: Sequence[CatalogEvent]) -> PublishResult:
        """Sends `events`, batched per partition key in their given order; see the module docstring."""
        groups: dict[str, list[CatalogEvent]] = {}
        for event in events:
            groups.setdefault(event.partitionkey, []).append(event)
        delivered: list[str] = []
        failed: list[PublishFailure] = []
        with self._lock:
            abort: str | None = None
            for key, group in groups.items():
                if abort is not None:
                    failed.extend(PublishFailure(e.id, abort) for e in group)
                    continue
                try:
                    self._publish_partition(key, group, delivered, failed)
                except _Abort as error:
                    abort = error.message
                    done = set(delivered) | {f.event_id for f in failed}
                    failed.extend(PublishFailure(e.id, abort) for e in group if e.id not in done)
        # Report in the caller's order, whatever order the partitions were sent in.
        position = {event.id: index for index, event in enumerate(events)}
        delivered.sort(key=position.__getitem__)
        failed.sort(key=lambda f: position[f.event_id])
        return PublishResult(tuple(delivered), tuple(failed))

    def _publish_partition(self, key: str, group: list[CatalogEvent], delivered: list[str],
                           failed: list[PublishFailure]) -> None:
        batch = self._new_batch(key)
        in_batch: list[CatalogEvent] = []
        for index, event in enumerate(group):
            data = to_event_data(event)
            if self._try_add(batch, data):
                in_batch.append(event)
                continue
            if in_batch:
                error = self._send(batch)
                if error is not None:
                    self._fail_rest(error, in_batch, group[index:], failed)
                    return
                delivered.extend(e.id for e in in_batch)
                batch, in_batch = self._new_batch(key), []
                if self._try_add(batch, data):
                    in_batch.append(event)
                    continue
            failed.append(PublishFailure(
                event.id,
                f"event too large for Event Hubs: its message ({len(event.to_json_bytes())} bytes of JSON plus "
                f"AMQP properties) exceeds the {batch.max_size_in_bytes}-byte batch limit",
                retryable=False,
            ))
        if in_batch:
            error = self._send(batch)
            if error is not None:
                self._fail_rest(error, in_batch, [], failed)
                return
            delivered.extend(e.id for e in in_batch)

    @staticmethod
    def _try_add(batch: EventDataBatch, data: EventData) -> bool:
        try:
            batch.add(data)
        except ValueError:  # the SDK's signal that the batch is full
            return False
        return True

    def _new_batch(self, key: str) -> EventDataBatch:
        try:
            return self._client.create_batch(partition_key=key, max_size_in_bytes=self._max_batch_bytes)
        except (ConnectError, ClientClosedError) as error:
            raise _fatal(error) from None
        except ValueError as error:
            raise _Abort(f"max_batch_bytes: {error}") from None
        except EventHubError as error:
            raise _Abort(f"Event Hub error while opening the link: {_describe(error)}") from None

    def _send(self, batch: EventDataBatch) -> str | None:
        """Sends one batch; returns the error text of a per-partition failure, raises `_Abort` for fatal ones."""
        try:
            self._client.send_batch(batch, timeout=self._send_timeout_s)
        except (ConnectError, ClientClosedError) as error:
            raise _fatal(error) from None
        except Exception as error:  # noqa: BLE001 - EventDataSendError, OperationTimeoutError...: this batch's failure
            return f"send failed: {_describe(error)}"
        return None

    @staticmethod
    def _fail_rest(error: str, batch: list[CatalogEvent], later: list[CatalogEvent],
                   failed: list[PublishFailure]) -> None:
        failed.extend(PublishFailure(e.id, error) for e in batch)
        # Sending later events now would put them ahead of the failed ones when those are retried.
        held = f"not sent: an earlier event with the same partition key failed ({error})"
        failed.extend(PublishFailure(e.id, held) for e in later)
