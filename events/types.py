"""Event type names and the timestamp type every event uses."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

# RFC 3339 in UTC with a `Z`, optionally with fractional seconds: what `CatalogEvent` always writes.
RFC3339_UTC_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$"


class EventType(StrEnum):
    """Every CloudEvents `type` the catalog emits; each has a JSON Schema in docs/events/."""

    SOURCE_REGISTERED = "catalog.source.registered"
    SOURCE_UPDATED = "catalog.source.updated"
    SOURCE_DELETED = "catalog.source.deleted"
    TABLE_CREATED = "catalog.table.created"
    TABLE_DELETED = "catalog.table.deleted"
    VIEW_CREATED = "catalog.view.created"
    VIEW_DELETED = "catalog.view.deleted"
    COLUMN_ADDED = "catalog.column.added"
    COLUMN_REMOVED = "catalog.column.removed"
    COLUMN_TYPE_CHANGED = "catalog.column.type_changed"
    COLUMN_NULLABILITY_CHANGED = "catalog.column.nullability_changed"
    DESCRIPTION_CHANGED = "catalog.description.changed"
    TAGS_CHANGED = "catalog.tags.changed"
    OWNERS_CHANGED = "catalog.owners.changed"
    TERMS_CHANGED = "catalog.terms.changed"
    DOMAIN_CHANGED = "catalog.domain.changed"
    GLOSSARY_TERM_CREATED = "catalog.glossary_term.created"
    GLOSSARY_TERM_UPDATED = "catalog.glossary_term.updated"
    GLOSSARY_TERM_DELETED = "catalog.glossary_term.deleted"
    DOMAIN_CREATED = "catalog.domain.created"
    DOMAIN_UPDATED = "catalog.domain.updated"
    DOMAIN_DELETED = "catalog.domain.deleted"
    JOB_STARTED = "catalog.job.started"
    JOB_PROGRESS = "catalog.job.progress"
    JOB_SUCCEEDED = "catalog.job.succeeded"
    JOB_FAILED = "catalog.job.failed"
    JOB_CANCELLED = "catalog.job.cancelled"
    PROFILE_COMPLETED = "catalog.profile.completed"
    ANOMALY_DETECTED = "catalog.anomaly.detected"
    LINEAGE_CHANGED = "catalog.lineage.changed"
    QUALITY_RULE_CHANGED = "catalog.quality.rule_changed"
    QUALITY_FAILED = "catalog.quality.failed"
    QUALITY_RECOVERED = "catalog.quality.recovered"


def _as_utc(value: datetime) -> datetime:
    # A naive datetime is ambiguous (local time? UTC?); refuse it rather than guess.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a timestamp needs a time zone (use datetime.now(timezone.utc))")
    return value.astimezone(UTC)


UtcTimestamp = Annotated[
    datetime,
    AfterValidator(_as_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RFC3339_UTC_PATTERN}),
]
"""A timezone-aware datetime, stored in UTC and written as RFC 3339 with a `Z`."""
