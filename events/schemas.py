"""One JSON Schema (draft 2020-12) per event type: the full envelope with its `data`.

The canonical files live in `events/schema_files/<type>.schema.json` (package data, loaded with importlib.resources);
docs/events/ holds byte-identical copies for readers. Both are generated from the payload models, so they cannot
drift from what `CatalogEvent` accepts:

    python -m events.schemas            # rewrite events/schema_files/ and docs/events/
    python -m events.schemas --check    # exit 1 when a file is stale
"""

from __future__ import annotations

import json
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema import ValidationError as SchemaValidationError
from pydantic.json_schema import GenerateJsonSchema

from events.data import PAYLOADS
from events.model import (
    ACTOR_DESCRIPTION,
    MAX_ACTOR_LENGTH,
    MAX_REQUEST_ID_LENGTH,
    PARTITIONKEY_DESCRIPTION,
    REQUEST_ID_DESCRIPTION,
    TRACEPARENT_DESCRIPTION,
    TRACEPARENT_PATTERN,
    CatalogEvent,
)
from events.types import RFC3339_UTC_PATTERN, EventType
from events.urns import UrnKind, partition_kinds, pattern_for

__all__ = ["SchemaValidationError", "build_schema", "load_schema", "schema_filename", "validate", "validator"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"


class _NoFieldTitles(GenerateJsonSchema):
    # Titles such as "Job Id" repeat the property name; the descriptions carry the meaning.
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def schema_filename(event_type: EventType | str) -> str:
    return f"{EventType(event_type).value}.schema.json"


def build_schema(event_type: EventType | str) -> dict[str, Any]:
    """The JSON Schema of one event type, generated from its payload model."""
    event_type = EventType(event_type)
    model = PAYLOADS[event_type]
    data_schema = model.model_json_schema(mode="serialization", by_alias=True, schema_generator=_NoFieldTitles)
    defs = data_schema.pop("$defs", None)
    data_schema.pop("title", None)
    summary = (model.__doc__ or "").strip()
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "title": event_type.value,
        "description": summary,
        "type": "object",
        "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "partitionkey",
                     "data"],
        "additionalProperties": False,
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "minLength": 1, "description": "Unique per event; deduplicate by it."},
            "source": {"type": "string", "minLength": 1, "format": "uri-reference",
                       "description": "The producing catalog, e.g. `/catalog` or its public URL."},
            "type": {"const": event_type.value},
            "subject": {"type": "string", "pattern": pattern_for(model.subject_kinds),
                        "description": "URN of the " + " or ".join(k.value for k in model.subject_kinds) + "."},
            "time": {"type": "string", "format": "date-time", "pattern": RFC3339_UTC_PATTERN,
                     "description": "When the change happened, RFC 3339 in UTC."},
            "datacontenttype": {"const": "application/json"},
            "partitionkey": _partitionkey_schema(model.subject_kinds),
            "actor": {"type": "string", "minLength": 1, "maxLength": MAX_ACTOR_LENGTH,
                      "description": ACTOR_DESCRIPTION + " Absent on events from before the catalog kept actors."},
            "traceparent": {"type": "string", "pattern": TRACEPARENT_PATTERN, "description": TRACEPARENT_DESCRIPTION
                            + " Absent when the change had no trace context (events from before the catalog kept "
                            "them)."},
            "requestid": {"type": "string", "minLength": 1, "maxLength": MAX_REQUEST_ID_LENGTH,
                          "description": REQUEST_ID_DESCRIPTION + " Absent when no request caused the change (a "
                          "scheduled crawl)."},
            "data": data_schema,
        },
    }
    if defs:
        schema["$defs"] = defs
    return schema


def _partitionkey_schema(subject_kinds: tuple[UrnKind, ...]) -> dict[str, Any]:
    kinds = partition_kinds(subject_kinds)
    if kinds == (UrnKind.SOURCE,):
        description = "URN of the subject's source (CloudEvents partitioning extension)."
    elif UrnKind.SOURCE in kinds:
        description = PARTITIONKEY_DESCRIPTION
    else:
        description = ("The subject's own URN (CloudEvents partitioning extension): a "
                       + " or ".join(k.value for k in kinds) + " belongs to no source, so its events are ordered "
                       "by themselves.")
    return {"type": "string", "pattern": pattern_for(kinds), "description": description}


def render_schema(event_type: EventType | str) -> str:
    """The schema file's exact text (stable key order, two-space indent, trailing newline)."""
    return json.dumps(build_schema(event_type), indent=2, ensure_ascii=False) + "\n"


@cache
def load_schema(event_type: EventType | str) -> dict[str, Any]:
    """The shipped schema of `event_type`, read from the package's data files."""
    text = resources.files("events").joinpath("schema_files", schema_filename(event_type)).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def validator(event_type: EventType | str) -> Draft202012Validator:
    schema = load_schema(EventType(event_type))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate(event: CatalogEvent | dict[str, Any]) -> None:
    """Checks an event (or its JSON object) against its type's schema; raises `SchemaValidationError`.

    The error's message names the failing field, e.g. `data.nullable: 'yes' is not of type 'boolean'`.
    """
    document = event.to_dict() if isinstance(event, CatalogEvent) else event
    if not isinstance(document, dict):
        raise SchemaValidationError(f"an event is a JSON object, got {type(document).__name__}")
    try:
        event_type = EventType(document.get("type"))
    except ValueError:
        raise SchemaValidationError(f"type: unknown event type {document.get('type')!r}") from None
    errors = sorted(validator(event_type).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "<event>"
        raise SchemaValidationError(f"{where}: {first.message}", validator=first.validator, path=first.path,
                                    instance=first.instance, schema_path=first.schema_path)


def _targets() -> list[Path]:
    package_dir = Path(__file__).resolve().parent / "schema_files"
    return [package_dir, package_dir.parents[1] / "docs" / "events"]


def write_schemas(check: bool = False) -> list[Path]:
    """Writes (or with `check`, lists) the schema files that differ from the payload models."""
    stale: list[Path] = []
    for directory in _targets():
        if not check:
            directory.mkdir(parents=True, exist_ok=True)
        for event_type in EventType:
            path = directory / schema_filename(event_type)
            text = render_schema(event_type)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
                if not check:
                    path.write_text(text, encoding="utf-8")
    return stale


if __name__ == "__main__":
    check_only = "--check" in sys.argv[1:]
    changed = write_schemas(check=check_only)
    for changed_path in changed:
        print(("stale: " if check_only else "wrote: ") + str(changed_path))
    sys.exit(1 if check_only and changed else 0)
