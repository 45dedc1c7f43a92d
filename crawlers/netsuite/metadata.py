"""The metadata catalog of SuiteTalk REST, turned into `TableSnapshot`s.

`GET /services/rest/record/v1/metadata-catalog?select=a,b` lists record types as `{"items": [{"name", "links"}]}`;
`GET .../metadata-catalog/<type>` with `Accept: application/schema+json` describes one type as a JSON Schema whose
`properties` are its fields: `title` (the label), `type`, `format` (`date`, `date-time`, `int64`, `double`...),
`nullable`, `x-ns-custom-field` for custom fields, and a `$ref` to `.../metadata-catalog/<other type>` for a
reference to another record (sublists and subrecords refer to `<type>-<name>Collection`-style schemas). A top-level
`x-ns-filterable` list names the fields that can be queried, which is what SuiteQL can select.

Everything lands in one schema, `record` (the REST service's own name): the account is already the lineage
namespace (`netsuite://<account>`), so a dataset is `record.<type>`, for instance `record.customer`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from crawlers.netsuite.config import RECORD_TYPE
from crawlers.snapshot import ColumnSnapshot, ForeignKey, TableSnapshot, UniqueConstraint

SCHEMA = "record"
CATALOG_PATH = "/services/rest/record/v1/metadata-catalog"
SCHEMA_MEDIA_TYPE = "application/schema+json"

_CUSTOM_PREFIX = re.compile(r"^cust(body|col|entity|item|event|record|rec|itemnumber|page)_", re.IGNORECASE)
_SCALAR_TYPES = {"string", "integer", "number", "boolean"}


def catalog_names(payload: Any) -> list[str]:
    """The record type names of a metadata catalog listing."""
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return []
    return [item["name"] for item in items if isinstance(item, dict) and isinstance(item.get("name"), str)]


def ref_target(prop: Mapping[str, Any]) -> str | None:
    """The schema a property refers to: the last path segment of its `$ref` (also inside a one-element allOf)."""
    ref = prop.get("$ref")
    if ref is None and isinstance(prop.get("allOf"), list) and len(prop["allOf"]) == 1:
        ref = prop["allOf"][0].get("$ref") if isinstance(prop["allOf"][0], dict) else None
    if not isinstance(ref, str) or not ref:
        return None
    return ref.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None


def is_record_reference(target: str | None) -> bool:
    """A reference to a record type (whose value is an internal id), not to a sublist or subrecord schema."""
    return target is not None and bool(RECORD_TYPE.match(target)) and target != "nsLink"


def data_type(prop: Mapping[str, Any]) -> str:
    """The JSON Schema type as the catalog shows it: `string`, `string(date-time)`, `object(subsidiary)`, ..."""
    kind = _json_type(prop)
    target = ref_target(prop)
    if kind == "array":
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        inner = ref_target(items) or _json_type(items)
        return f"array({inner})" if inner else "array"
    if target is not None:
        return f"object({target})"
    if kind == "string" and isinstance(prop.get("format"), str):
        return f"string({prop['format']})"
    return kind or "any"


def _json_type(prop: Mapping[str, Any]) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _nullable(name: str, prop: Mapping[str, Any]) -> bool:
    if isinstance(prop.get("nullable"), bool):
        return prop["nullable"]
    if isinstance(prop.get("type"), list):
        return "null" in prop["type"]
    return name != "id"


def _default(prop: Mapping[str, Any]) -> str | None:
    if "default" not in prop or prop["default"] is None:
        return None
    value = prop["default"]
    return value if isinstance(value, str) else json.dumps(value)


def is_custom_field(name: str, prop: Mapping[str, Any]) -> bool:
    return prop.get("x-ns-custom-field") is True or bool(_CUSTOM_PREFIX.match(name))


def is_selectable_type(column_type: str) -> bool:
    """Whether SuiteQL can return the column as one value: a scalar, a date, or a record reference (its id)."""
    if column_type in _SCALAR_TYPES or column_type.startswith("string("):
        return True
    return column_type.startswith("object(") and is_record_reference(column_type[len("object(") : -1])


def filterable_fields(schema: Mapping[str, Any], properties: Mapping[str, Any]) -> set[str] | None:
    """The queryable fields: the top-level `x-ns-filterable` list, or per-property flags; None when neither shows."""
    listed = schema.get("x-ns-filterable")
    if isinstance(listed, list):
        return {name for name in listed if isinstance(name, str)}
    flagged = {name for name, prop in properties.items() if isinstance(prop, dict) and "x-ns-filterable" in prop}
    if flagged:
        return {name for name in flagged if properties[name].get("x-ns-filterable") is True}
    return None


def table_from_schema(name: str, schema: Any, known_types: Mapping[str, str]) -> TableSnapshot:
    """One record type as a table: a column per property, primary key `id`, foreign keys to catalogued types.

    `known_types` maps lower-cased names of the record types in this snapshot to their spelling, so a reference
    becomes a foreign key only when its target is catalogued too.
    """
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        properties = {}
    columns: list[ColumnSnapshot] = []
    foreign_keys: list[ForeignKey] = []
    custom: list[str] = []
    references: dict[str, str] = {}
    for ordinal, (field_name, prop) in enumerate(properties.items(), start=1):
        if not isinstance(prop, dict):
            prop = {}
        column_type = data_type(prop)
        title = prop.get("title")
        columns.append(
            ColumnSnapshot(
                name=field_name,
                ordinal=ordinal,
                data_type=column_type,
                nullable=_nullable(field_name, prop),
                default=_default(prop),
                comment=title if isinstance(title, str) and title else None,
            )
        )
        if is_custom_field(field_name, prop):
            custom.append(field_name)
        target = ref_target(prop)
        if _json_type(prop) != "array" and is_record_reference(target):
            references[field_name] = target  # type: ignore[assignment]
            referred = known_types.get(target.lower())  # type: ignore[union-attr]
            if referred is not None:
                foreign_keys.append(
                    ForeignKey(
                        name=f"{name}_{field_name}_fkey",
                        columns=(field_name,),
                        referred_schema=SCHEMA,
                        referred_table=referred,
                        referred_columns=("id",),
                    )
                )

    filterable = filterable_fields(schema if isinstance(schema, dict) else {}, properties)
    selectable = [
        c.name
        for c in columns
        if is_selectable_type(c.data_type)
        and RECORD_TYPE.match(c.name)
        and (filterable is None or c.name in filterable or c.name == "id")
    ]
    title = schema.get("title") if isinstance(schema, dict) else None
    return TableSnapshot(
        schema=SCHEMA,
        name=name,
        columns=tuple(columns),
        comment=title if isinstance(title, str) and title else None,
        primary_key=UniqueConstraint(f"{name}_pkey", ("id",)) if "id" in properties else None,
        foreign_keys=tuple(sorted(foreign_keys, key=lambda fk: fk.name)),
        properties={
            "record_type": name,
            "custom_fields": custom,
            "references": references,
            "suiteql_columns": selectable,
        },
    )
