"""`CatalogEvent`: a CloudEvents 1.0 envelope in structured JSON mode, one per change in the catalog.

    {"specversion": "1.0", "id": "<uuid4>", "source": "/catalog", "type": "catalog.column.added",
     "subject": "urn:catalog:column:erp:sales:orders:total", "time": "2026-11-05T09:30:00Z",
     "datacontenttype": "application/json", "partitionkey": "urn:catalog:source:erp", "data": {...}}

`partitionkey` is the CloudEvents partitioning extension: the URN of the subject's source, so every event about
one source lands on one Event Hub partition and keeps its order; for a subject outside any source (a glossary term,
a domain) it is the subject's own URN, so each term's or domain's events keep theirs. `actor`, an extension
attribute, names who caused the change (the application passes it in; this library knows nothing of identities)
and is left out when unknown,
as CloudEvents leaves out unset attributes. So are `traceparent` (the distributed tracing extension: the W3C trace
context of the request or job that made the change) and `requestid` (that request's id), when the change had them.
`data` is always checked against the type's payload model (events.data) and normalised to its JSON form, so a
constructed event is always a valid one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from events.data import PAYLOADS, EventPayload
from events.types import EventType, UtcTimestamp
from events.urns import SOURCELESS_KINDS, UrnKind, entity_id_of, partition_key_of, pattern_for, urn_kind

DEFAULT_SOURCE = "/catalog"
"""The CloudEvents `source` unless the application configures its public URI."""

CLOUDEVENTS_JSON = "application/cloudevents+json"
"""Media type of one event in structured mode (HTTP bodies, Event Hub messages)."""


TRACEPARENT_PATTERN = r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
TRACEPARENT_DESCRIPTION = ("W3C trace context of the request or job that made the change (CloudEvents distributed "
                           "tracing extension), `00-<trace id>-<span id>-<flags>`.")
MAX_REQUEST_ID_LENGTH = 128
REQUEST_ID_DESCRIPTION = ("Request id (extension attribute) of the API request that made the change, or that started "
                          "the job that made it: the `X-Request-ID` it was answered with, also in the catalog's logs.")

PARTITIONKEY_DESCRIPTION = ("URN of the subject's source (CloudEvents partitioning extension); the subject's own URN "
                            "when it belongs to no source (a glossary term, a domain).")

MAX_ACTOR_LENGTH = 300
ACTOR_DESCRIPTION = ("Who caused the change (extension attribute): `api_key:<key id>`, `entra:<object id>`, `local`, "
                     "or `system` for the catalog's own work such as scheduled crawls.")


def _unset(value: Any) -> bool:
    return value is None


def _new_id() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """A UTC datetime as CloudEvents writes it, e.g. `2026-11-05T09:30:00Z` (same text as the JSON form)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class CatalogEvent(BaseModel):
    """One change in the catalog as a CloudEvents 1.0 event; consumers deduplicate by `id`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=_new_id, min_length=1, description="Unique per event (a UUID4).")
    source: str = Field(default=DEFAULT_SOURCE, min_length=1, description="URI-reference of the producing catalog.")
    type: EventType
    subject: str = Field(description="URN of the entity the event is about.")
    time: UtcTimestamp = Field(default_factory=_now)
    datacontenttype: Literal["application/json"] = "application/json"
    partitionkey: str = Field(default="", pattern=pattern_for((UrnKind.SOURCE, *SOURCELESS_KINDS)),
                              description=PARTITIONKEY_DESCRIPTION)
    actor: str | None = Field(default=None, min_length=1, max_length=MAX_ACTOR_LENGTH, exclude_if=_unset,
                              description=ACTOR_DESCRIPTION)
    traceparent: str | None = Field(default=None, pattern=TRACEPARENT_PATTERN, exclude_if=_unset,
                                    description=TRACEPARENT_DESCRIPTION)
    requestid: str | None = Field(default=None, min_length=1, max_length=MAX_REQUEST_ID_LENGTH, exclude_if=_unset,
                                  description=REQUEST_ID_DESCRIPTION)
    data: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _check(cls, values: Any) -> Any:
        if not isinstance(values, dict) or "type" not in values or "subject" not in values:
            return values  # pydantic reports the missing fields
        values = dict(values)
        try:
            event_type = EventType(values["type"])
        except ValueError:
            return values  # pydantic reports the unknown type with the allowed values
        subject = values["subject"]
        try:
            kind = urn_kind(subject)
        except ValueError as error:
            raise ValueError(f"subject: {error}") from None
        payload_model = PAYLOADS[event_type]
        if kind not in payload_model.subject_kinds:
            allowed = " or ".join(k.value for k in payload_model.subject_kinds)
            raise ValueError(f"subject: a {event_type.value} event is about a {allowed}, got a {kind.value} URN")
        expected_key = partition_key_of(subject)
        if values.get("partitionkey") in (None, ""):
            values["partitionkey"] = expected_key
        elif values["partitionkey"] != expected_key:
            whose = "own" if kind in SOURCELESS_KINDS else "source"
            raise ValueError(f"partitionkey: must be the subject's {whose} URN {expected_key!r}")
        values["data"] = _normalised_data(event_type, values.get("data"))
        _check_consistency(event_type, subject, values["data"])
        return values

    @classmethod
    def create(cls, payload: EventPayload, *, subject: str, source: str = DEFAULT_SOURCE,
               time: datetime | None = None, id: str | None = None, actor: str | None = None) -> CatalogEvent:
        """Wraps a typed payload: the event's type comes from the payload's model."""
        # The payload object itself goes in: it is already valid, so it is dumped once, not validated twice.
        fields: dict[str, Any] = {"type": payload.event_type, "subject": subject, "source": source, "data": payload}
        optional = {"time": time, "id": id, "actor": actor}
        fields.update((name, value) for name, value in optional.items() if value is not None)
        return cls.model_validate(fields)

    def payload(self) -> EventPayload:
        """The typed view of `data`."""
        return PAYLOADS[self.type].model_validate(self.data)

    def to_dict(self) -> dict[str, Any]:
        """The structured-mode JSON object as Python values."""
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        """The structured-mode JSON text (`application/cloudevents+json`)."""
        return self.model_dump_json()

    def to_json_bytes(self) -> bytes:
        """The structured-mode JSON as UTF-8 bytes, ready for a message body."""
        return self.__pydantic_serializer__.to_json(self)

    @classmethod
    def from_json(cls, text: str | bytes) -> CatalogEvent:
        """Parses structured-mode JSON; a malformed or invalid event raises pydantic's `ValidationError`."""
        return cls.model_validate_json(text)


def _normalised_data(event_type: EventType, data: Any) -> dict[str, Any]:
    if isinstance(data, EventPayload):
        if data.event_type is not event_type:
            raise ValueError(
                f"data: a {data.event_type.value} payload cannot be the data of a {event_type.value} event"
            )
        return data.model_dump(mode="json", by_alias=True)
    if not isinstance(data, dict):
        # ValueError, not TypeError: pydantic turns only ValueError into a validation error naming the field.
        raise ValueError(f"data: expected a JSON object, got {type(data).__name__}")  # noqa: TRY004
    try:
        return PAYLOADS[event_type].model_validate(data).model_dump(mode="json", by_alias=True)
    except ValidationError as error:
        problems = "; ".join(
            f"data.{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in error.errors()
        )
        raise ValueError(f"invalid data for {event_type.value}: {problems}") from None


def _check_consistency(event_type: EventType, subject: str, data: dict[str, Any]) -> None:
    # The parts of `data` that repeat the subject must agree with it.
    if urn_kind(subject) in SOURCELESS_KINDS:
        if data.get("id") != entity_id_of(subject):
            raise ValueError(f"data.id: {data.get('id')!r} is not the id in the subject {subject!r}")
        return
    dataset = data.get("dataset")
    if dataset is None:
        return
    subject_dataset = ":".join(["urn", "catalog", "dataset", *subject.split(":")[3:6]])
    if dataset != subject_dataset:
        raise ValueError(f"data.dataset: {dataset!r} is not the dataset of the subject {subject!r}")
