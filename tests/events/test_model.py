"""The CloudEvents envelope and its per-type JSON Schemas: round trips, the shipped files, and invalid input.

The pydantic models and the JSON Schema files are checked against each other: whatever one refuses, the other
refuses too, so a consumer validating with docs/events/*.schema.json sees exactly what the catalog accepts.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from events import CatalogEvent, EventType
from events.data import PAYLOADS, ColumnAdded, JobSucceeded, LineageChanged, LineageEdge, TagsChanged
from events.examples import example_events
from events.schemas import SchemaValidationError, load_schema, render_schema, schema_filename, validate

REPO = Path(__file__).resolve().parents[2]
DOCS_SCHEMAS = REPO / "docs" / "events"
PACKAGE_SCHEMAS = REPO / "events" / "schema_files"
EXAMPLES = example_events()


def both_reject(document: dict[str, Any]) -> tuple[str, str]:
    """Asserts the JSON Schema and the model both refuse `document`; returns their messages."""
    with pytest.raises(SchemaValidationError) as schema_error:
        validate(document)
    with pytest.raises(ValidationError) as model_error:
        CatalogEvent.model_validate(document)
    return schema_error.value.message, str(model_error.value)


@pytest.mark.parametrize("event_type", list(EventType), ids=str)
def test_every_type_round_trips_through_json_and_validates(event_type: EventType) -> None:
    event = EXAMPLES[event_type]
    text = event.to_json()
    assert CatalogEvent.from_json(text) == event
    assert CatalogEvent.from_json(event.to_json_bytes()) == event
    document = json.loads(text)
    assert document == event.to_dict()
    assert list(document) == ["specversion", "id", "source", "type", "subject", "time", "datacontenttype",
                              "partitionkey", "data"]
    validate(event)
    validate(document)
    assert isinstance(event.payload(), PAYLOADS[event_type])


def test_every_type_has_a_schema_file_and_payload_model() -> None:
    assert set(PAYLOADS) == set(EventType) == set(EXAMPLES)
    assert sorted(p.name for p in PACKAGE_SCHEMAS.glob("*.json")) == sorted(schema_filename(t) for t in EventType)
    for event_type in EventType:
        Draft202012Validator.check_schema(load_schema(event_type))


def test_shipped_schemas_are_current_and_docs_hold_identical_copies() -> None:
    for event_type in EventType:
        name = schema_filename(event_type)
        package_copy = (PACKAGE_SCHEMAS / name).read_bytes()
        assert package_copy == render_schema(event_type).encode(), f"{name} is stale: run python -m events.schemas"
        assert (DOCS_SCHEMAS / name).read_bytes() == package_copy, f"docs/events/{name} differs from the package"
    assert sorted(p.name for p in DOCS_SCHEMAS.iterdir()) == sorted(p.name for p in PACKAGE_SCHEMAS.iterdir())


def test_docs_show_every_example_verbatim() -> None:
    text = (REPO / "docs" / "events.md").read_text()
    for event_type, event in EXAMPLES.items():
        section = re.search(rf"^### `{re.escape(event_type.value)}`\n(.*?)(?=^### |\Z)", text, re.DOTALL | re.MULTILINE)
        assert section, f"docs/events.md has no section for {event_type.value}"
        block = re.search(r"```json\n(.*?)```", section.group(1), re.DOTALL)
        assert block, f"docs/events.md shows no example for {event_type.value}"
        assert json.loads(block.group(1)) == event.to_dict()
        assert f"(events/{schema_filename(event_type)})" in section.group(1)
    for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL):  # the envelope example at the top too
        validate(json.loads(block))


def test_time_is_written_in_utc_and_partition_key_derives_from_the_subject() -> None:
    berlin = timezone(timedelta(hours=1))
    event = CatalogEvent.create(
        ColumnAdded(dataset="urn:catalog:dataset:shop:public:orders", name="total", ordinal=2, data_type="numeric",
                    nullable=True),
        subject="urn:catalog:column:shop:public:orders:total", time=datetime(2026, 11, 5, 10, 30, tzinfo=berlin),
    )
    assert event.to_dict()["time"] == "2026-11-05T09:30:00Z"
    assert event.partitionkey == "urn:catalog:source:shop"
    assert event.source == "/catalog" and event.specversion == "1.0" and event.datacontenttype == "application/json"
    other = CatalogEvent.create(event.payload(), subject=event.subject)
    assert other.id != event.id  # a fresh UUID4 per event


def test_the_actor_travels_in_the_envelope_and_is_left_out_when_unknown() -> None:
    example = EXAMPLES[EventType.COLUMN_ADDED]
    event = CatalogEvent.create(example.payload(), subject=example.subject, actor="entra:5f1c-oid")
    document = json.loads(event.to_json())
    assert list(document) == ["specversion", "id", "source", "type", "subject", "time", "datacontenttype",
                              "partitionkey", "actor", "data"]
    assert document["actor"] == "entra:5f1c-oid"
    assert CatalogEvent.from_json(event.to_json()) == event
    validate(document)
    assert "actor" not in example.to_dict()
    validate(example.to_dict())
    message, _ = both_reject(document | {"actor": ""})
    assert message.startswith("actor")


def test_the_trace_context_and_request_id_travel_in_the_envelope() -> None:
    document = EXAMPLES[EventType.COLUMN_ADDED].to_dict() | {
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "requestid": "req-42"}
    validate(document)
    assert CatalogEvent.model_validate(document).to_dict() == document


def test_data_is_normalised_so_every_field_is_present() -> None:
    event = CatalogEvent(type=EventType.COLUMN_ADDED, subject="urn:catalog:column:shop:public:orders:total",
                         data={"dataset": "urn:catalog:dataset:shop:public:orders", "name": "total", "ordinal": 2,
                               "data_type": "numeric", "nullable": True})
    assert event.data == {"dataset": "urn:catalog:dataset:shop:public:orders", "name": "total", "ordinal": 2,
                          "data_type": "numeric", "nullable": True, "default": None, "comment": None, "job_id": None}
    validate(event)


@pytest.mark.parametrize("event_type", list(EventType), ids=str)
def test_schema_and_model_refuse_the_same_broken_data(event_type: EventType) -> None:
    """Adding an unknown field or giving a field a value of the wrong type is refused by the JSON Schema and by
    the model alike, and the schema's message names the field. A missing field is refused by the schema (every
    field is always written); the model, which builds events, refuses it only when the field has no default."""
    good = EXAMPLES[event_type].to_dict()
    model = PAYLOADS[event_type]
    for name in good["data"]:
        broken = json.loads(json.dumps(good))
        del broken["data"][name]
        required = next(f for f_name, f in model.model_fields.items() if (f.alias or f_name) == name).is_required()
        if required:
            message, _ = both_reject(broken)
        else:
            with pytest.raises(SchemaValidationError) as error:
                validate(broken)
            message = error.value.message
            assert CatalogEvent.model_validate(broken).data[name] is None  # filled in with its default
        assert name in message
    broken = json.loads(json.dumps(good))
    broken["data"]["unexpected"] = 1
    message, _ = both_reject(broken)
    assert "unexpected" in message
    for name, value in good["data"].items():
        broken = json.loads(json.dumps(good))
        # A list is wrong for every field except list-typed ones; those get a number.
        broken["data"][name] = 7 if isinstance(value, list) else [value]
        message, _ = both_reject(broken)
        assert message.startswith(f"data.{name}"), message


@pytest.mark.parametrize(("change", "field"), [
    ({"specversion": "0.3"}, "specversion"),
    ({"type": "catalog.column.renamed"}, "type"),
    ({"subject": "urn:catalog:dataset:erp:sales:orders"}, "subject"),   # a column event about a table
    ({"subject": "orders.total"}, "subject"),
    ({"partitionkey": "erp"}, "partitionkey"),
    ({"time": "2026-11-05 09:30"}, "time"),
    ({"id": ""}, "id"),
    ({"datacontenttype": "text/plain"}, "datacontenttype"),
    ({"extra": "x"}, "extra"),
    ({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"}, "traceparent"),  # no flags
    ({"traceparent": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"}, "traceparent"),  # upper case
    ({"requestid": ""}, "requestid"),
    ({"requestid": "r" * 129}, "requestid"),
])
def test_envelope_errors_are_refused_by_both(change: dict[str, Any], field: str) -> None:
    document = EXAMPLES[EventType.COLUMN_ADDED].to_dict() | change
    schema_message, model_message = both_reject(document)
    assert field in schema_message
    assert field in model_message


def test_model_only_rules_name_the_field() -> None:
    """Consistency rules a JSON Schema cannot state are enforced by the model, with the field in the message."""
    good = EXAMPLES[EventType.COLUMN_ADDED].to_dict()
    wrong_table = good | {"data": good["data"] | {"dataset": "urn:catalog:dataset:erp:sales:invoices"}}
    with pytest.raises(ValidationError, match="data.dataset"):
        CatalogEvent.model_validate(wrong_table)
    with pytest.raises(ValidationError, match="partitionkey: must be the subject's source URN"):
        CatalogEvent.model_validate(good | {"partitionkey": "urn:catalog:source:other"})
    with pytest.raises(ValidationError, match="time zone"):
        CatalogEvent.create(JobSucceeded(job_id="j", kind="crawl", trigger="manual", attempts=1,
                                         finished_at=datetime(2026, 1, 1, tzinfo=UTC)),
                            subject="urn:catalog:source:erp", time=datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="sorted differences"):
        TagsChanged(entity_kind="column", before=["a"], after=["a", "b"], added=[], removed=[])
    with pytest.raises(ValidationError, match="both be dataset URNs or both column URNs"):
        LineageEdge(upstream="urn:catalog:dataset:erp:s:a", downstream="urn:catalog:column:erp:s:b:c")
    with pytest.raises(ValidationError, match="nothing changed"):
        LineageChanged(origin="manual", added=[], removed=[])


def test_tags_changed_between_computes_the_differences() -> None:
    payload = TagsChanged.between("column", {"pii", "finance"}, ["pii", "pii.email"], changed_by="ana")
    assert (payload.before, payload.after) == (["finance", "pii"], ["pii", "pii.email"])
    assert (payload.added, payload.removed) == (["pii.email"], ["finance"])


def test_a_payload_of_another_type_is_refused() -> None:
    payload = EXAMPLES[EventType.COLUMN_REMOVED].payload()
    with pytest.raises(ValidationError, match="catalog.column.removed payload cannot be the data"):
        CatalogEvent(type=EventType.COLUMN_ADDED, subject=EXAMPLES[EventType.COLUMN_REMOVED].subject, data=payload)
