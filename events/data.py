"""The `data` of each event type, as typed pydantic models (the JSON Schemas in docs/events/ are built from them).

Build a payload with its model, then wrap it with `CatalogEvent.create(payload, subject=urn)`; the model's
`event_type` sets the event's type. Every field is always written (optional ones as `null`), so consumers see
one stable shape per type.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.curation_data import (
    DomainCreated,
    DomainDeleted,
    DomainUpdated,
    GlossaryTermCreated,
    GlossaryTermDeleted,
    GlossaryTermUpdated,
)
from events.job_data import JobCancelled, JobFailed, JobProgress, JobStarted, JobSucceeded
from events.payload import EventPayload
from events.types import EventType, UtcTimestamp
from events.urns import SOURCE_NAME_PATTERN, URN_PATTERNS, UrnKind

_ALL_KINDS = (UrnKind.SOURCE, UrnKind.SCHEMA, UrnKind.DATASET, UrnKind.COLUMN)

SourceName = Annotated[str, Field(pattern=SOURCE_NAME_PATTERN, description="The source's name.")]
Name = Annotated[str, Field(min_length=1, description="The name as the source spells it (not escaped).")]
JobId = Annotated[
    str | None, Field(description="The catalog job that detected the change; null for changes made by users.")
]
DatasetUrn = Annotated[str, Field(pattern=URN_PATTERNS[UrnKind.DATASET], description="URN of the table or view.")]
EntityKind = Literal["source", "schema", "dataset", "column"]
TableKind = Literal["table", "foreign_table", "file"]
ViewKind = Literal["view", "materialized_view"]


# -- sources ----------------------------------------------------------------------------------------------------

class SourceRegistered(EventPayload):
    """A data source was registered. Subject: the source URN."""

    event_type: ClassVar[EventType] = EventType.SOURCE_REGISTERED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.SOURCE,)

    name: SourceName
    kind: str = Field(min_length=1, description="Connector kind, e.g. `postgres`, `sqlite`, `files`.")
    description: str | None = Field(default=None, description="The source's description.")


class SourceUpdated(EventPayload):
    """A source's registration changed. Subject: the source URN.

    Only the names of the changed fields are sent: a configuration can name hosts and users, and secrets never
    leave the catalog. Read the source through the API for the new values.
    """

    event_type: ClassVar[EventType] = EventType.SOURCE_UPDATED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.SOURCE,)

    name: SourceName
    kind: str = Field(min_length=1, description="Connector kind.")
    changed_fields: list[str] = Field(
        min_length=1,
        description="Registration fields that changed, e.g. `description`, `config`, `secrets`, `schedule`.",
    )


class SourceDeleted(EventPayload):
    """A source and everything catalogued under it were removed. Subject: the source URN."""

    event_type: ClassVar[EventType] = EventType.SOURCE_DELETED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.SOURCE,)

    name: SourceName
    kind: str = Field(min_length=1, description="Connector kind.")


# -- tables and views -------------------------------------------------------------------------------------------

class _RelationPayload(EventPayload):
    """A table, view or file of a source; subject: its dataset URN. Subclasses add their kind, facts and job id
    after these fields, so every relation event starts with the same three."""

    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.DATASET,)

    source: str = Field(min_length=1, description="Source name.")
    schema_: str = Field(alias="schema", min_length=1, description="Schema name.")
    name: Name

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class TableCreated(_RelationPayload):
    """A crawl found a new table, foreign table or file. Subject: the dataset URN."""

    event_type: ClassVar[EventType] = EventType.TABLE_CREATED

    kind: TableKind = Field(description="What kind of relation it is.")
    column_count: int = Field(ge=0, description="Number of columns.")
    job_id: JobId = None


class TableDeleted(_RelationPayload):
    """A table disappeared from its source; the catalog keeps it soft-deleted with its history. Subject: dataset URN."""

    event_type: ClassVar[EventType] = EventType.TABLE_DELETED

    kind: TableKind = Field(description="What kind of relation it was.")
    job_id: JobId = None


class ViewCreated(_RelationPayload):
    """A crawl found a new view or materialized view. Subject: the dataset URN."""

    event_type: ClassVar[EventType] = EventType.VIEW_CREATED

    kind: ViewKind = Field(description="View or materialized view.")
    column_count: int = Field(ge=0, description="Number of columns.")
    definition: str | None = Field(default=None, description="The view's SQL, when the source exposes it.")
    job_id: JobId = None


class ViewDeleted(_RelationPayload):
    """A view disappeared from its source (kept soft-deleted). Subject: the dataset URN."""

    event_type: ClassVar[EventType] = EventType.VIEW_DELETED

    kind: ViewKind = Field(description="View or materialized view.")
    job_id: JobId = None


# -- columns ----------------------------------------------------------------------------------------------------

class _ColumnPayload(EventPayload):
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.COLUMN,)

    dataset: DatasetUrn
    name: str = Field(min_length=1, description="Column name.")


class ColumnAdded(_ColumnPayload):
    """A column appeared in a table or view. Subject: the column URN."""

    event_type: ClassVar[EventType] = EventType.COLUMN_ADDED

    ordinal: int = Field(ge=1, description="Position in the table, from 1.")
    data_type: str = Field(min_length=1, description="Type as the source spells it, with modifiers.")
    nullable: bool = Field(description="Whether the column accepts NULL.")
    default: str | None = Field(default=None, description="Default expression.")
    comment: str | None = Field(default=None, description="The source's own comment on the column.")
    job_id: JobId = None


class ColumnRemoved(_ColumnPayload):
    """A column disappeared from a table or view. Subject: the column URN."""

    event_type: ClassVar[EventType] = EventType.COLUMN_REMOVED

    data_type: str = Field(min_length=1, description="The column's last known type.")
    job_id: JobId = None


class ColumnTypeChanged(_ColumnPayload):
    """A column's type changed. Subject: the column URN."""

    event_type: ClassVar[EventType] = EventType.COLUMN_TYPE_CHANGED

    before: str = Field(min_length=1, description="Previous type.")
    after: str = Field(min_length=1, description="New type.")
    job_id: JobId = None


class ColumnNullabilityChanged(_ColumnPayload):
    """A column started or stopped accepting NULL. Subject: the column URN."""

    event_type: ClassVar[EventType] = EventType.COLUMN_NULLABILITY_CHANGED

    before: bool = Field(description="Previous nullability.")
    after: bool = Field(description="New nullability.")
    job_id: JobId = None

    @model_validator(mode="after")
    def _changed(self) -> ColumnNullabilityChanged:
        if self.before == self.after:
            raise ValueError("before and after are equal: nothing changed")
        return self


# -- curation ---------------------------------------------------------------------------------------------------

class DescriptionChanged(EventPayload):
    """A user set or cleared the description of a source, schema, table or column. Subject: that entity's URN."""

    event_type: ClassVar[EventType] = EventType.DESCRIPTION_CHANGED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = _ALL_KINDS

    entity_kind: EntityKind = Field(description="What the subject is.")
    before: str | None = Field(description="Previous description.")
    after: str | None = Field(description="New description; null when cleared.")
    changed_by: str | None = Field(default=None, description="Who made the change, when known.")


class _SetChanged(EventPayload):
    """Base of the payloads of a set that changed (`before`, `after`, `added`, `removed`, each sorted by `_order`):
    build one with `between`; the fields are declared by each payload, so its schema lists them in its own order."""

    _noun: ClassVar[str]

    @staticmethod
    def _order(items: Any) -> list[Any]:
        return sorted(items)

    @classmethod
    def between(cls, entity_kind: str, before: Any, after: Any, changed_by: str | None = None) -> Any:
        """The payload for a change from `before` to `after`, with `added` and `removed` filled in."""
        old, new = set(before), set(after)
        return cls(entity_kind=entity_kind, before=cls._order(old), after=cls._order(new),
                   added=cls._order(new - old), removed=cls._order(old - new), changed_by=changed_by)

    @model_validator(mode="after")
    def _consistent(self) -> Any:
        old, new = set(self.before), set(self.after)  # type: ignore[attr-defined]
        if self._order(new - old) != self.added or self._order(old - new) != self.removed:  # type: ignore[attr-defined]
            raise ValueError(f"added/removed must be the sorted differences of after and before "
                             f"(build with {type(self).__name__}.between)")
        if not (self.added or self.removed):  # type: ignore[attr-defined]
            raise ValueError(f"before and after hold the same {self._noun}: nothing changed")
        return self


class TagsChanged(_SetChanged):
    """The tags of a source, schema, table or column changed. Subject: that entity's URN."""

    _noun: ClassVar[str] = "tags"

    event_type: ClassVar[EventType] = EventType.TAGS_CHANGED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = _ALL_KINDS

    entity_kind: EntityKind = Field(description="What the subject is.")
    before: list[str] = Field(description="Tags before, sorted.")
    after: list[str] = Field(description="Tags after, sorted.")
    added: list[str] = Field(description="Tags in `after` but not in `before`, sorted.")
    removed: list[str] = Field(description="Tags in `before` but not in `after`, sorted.")
    changed_by: str | None = Field(default=None, description="Who made the change, when known.")


class Owner(BaseModel):
    """One owner of an entity: a user or group, answering for it technically or for the business."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: str = Field(min_length=1, max_length=255, description="The user's or group's name, e.g. an e-mail.")
    kind: Literal["user", "group"] = Field(description="Whether `principal` is a user or a group.")
    type: Literal["technical", "business"] = Field(description="What the owner answers for.")


class OwnersChanged(_SetChanged):
    """The owners of a source, schema or dataset changed. Subject: that entity's URN."""

    _noun: ClassVar[str] = "owners"

    event_type: ClassVar[EventType] = EventType.OWNERS_CHANGED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.SOURCE, UrnKind.SCHEMA, UrnKind.DATASET)

    entity_kind: Literal["source", "schema", "dataset"] = Field(description="What the subject is.")
    before: list[Owner] = Field(description="Owners before, by type, kind and principal.")
    after: list[Owner] = Field(description="Owners after, by type, kind and principal.")
    added: list[Owner] = Field(description="Owners in `after` but not in `before`.")
    removed: list[Owner] = Field(description="Owners in `before` but not in `after`.")
    changed_by: str | None = Field(default=None, description="Who made the change, when known.")

    @staticmethod
    def _order(owners: Any) -> list[Owner]:
        return sorted(owners, key=lambda o: (o.type, o.kind, o.principal))


class TermsChanged(_SetChanged):
    """Glossary terms were linked to or unlinked from a table or column (also when a linked term was deleted).
    Subject: that entity's URN."""

    _noun: ClassVar[str] = "terms"

    event_type: ClassVar[EventType] = EventType.TERMS_CHANGED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.DATASET, UrnKind.COLUMN)

    entity_kind: Literal["dataset", "column"] = Field(description="What the subject is.")
    before: list[str] = Field(description="Names of the linked terms before, sorted.")
    after: list[str] = Field(description="Names of the linked terms after, sorted.")
    added: list[str] = Field(description="Terms in `after` but not in `before`, sorted.")
    removed: list[str] = Field(description="Terms in `before` but not in `after`, sorted.")
    changed_by: str | None = Field(default=None, description="Who made the change, when known.")


class DomainChanged(EventPayload):
    """A source or dataset was put in a domain, moved to another or taken out of its domain (also when its domain
    was deleted). Subject: that entity's URN."""

    event_type: ClassVar[EventType] = EventType.DOMAIN_CHANGED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.SOURCE, UrnKind.DATASET)

    entity_kind: Literal["source", "dataset"] = Field(description="What the subject is.")
    before: str | None = Field(description="The domain's name before; null when it had none.")
    after: str | None = Field(description="The domain's name after; null when taken out.")
    changed_by: str | None = Field(default=None, description="Who made the change, when known.")

    @model_validator(mode="after")
    def _changed(self) -> DomainChanged:
        if self.before == self.after:
            raise ValueError("before and after are equal: nothing changed")
        return self


# -- profiles, anomalies (the job events are in events.job_data) ----------------------------------------------------------------------------------

class ProfileCompleted(EventPayload):
    """A table's profile was computed. Subject: the dataset URN."""

    event_type: ClassVar[EventType] = EventType.PROFILE_COMPLETED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.DATASET,)

    job_id: str | None = Field(default=None, description="The profile job.")
    row_count: int = Field(ge=0, description="Rows profiled.")
    column_count: int = Field(ge=0, description="Columns profiled.")
    sampled: bool = Field(description="Whether the profile ran on a sample rather than every row.")
    profiled_at: UtcTimestamp = Field(description="When the profile's data was read.")
    anomaly_count: int = Field(ge=0, description="Anomalies detected against the profile history.")


class AnomalyDetected(EventPayload):
    """A profile metric left its expected range. Subject: the column URN, or the dataset URN for table metrics."""

    event_type: ClassVar[EventType] = EventType.ANOMALY_DETECTED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.DATASET, UrnKind.COLUMN)

    dataset: DatasetUrn
    column: str | None = Field(default=None, description="Column name; null for a table-level metric.")
    metric: str = Field(min_length=1, description="The check that fired: `volume` (row count), `null_rate`, "
                        "`distinct_ratio`, `mean_shift`, `min_shift`, `max_shift`, `freshness_stall`, "
                        "`freshness_age` or `schema_drift`.")
    observed: float | None = Field(description="The value in this profile; null when it is not a number (a "
                                               "timestamp that stalled, a schema change), or when it is a value of "
                                               "a column tagged `pii.*` (see `message`).")
    expected_min: float | None = Field(default=None, description="Lower bound of the expected range.")
    expected_max: float | None = Field(default=None, description="Upper bound of the expected range.")
    severity: Literal["info", "warning", "critical"] = Field(description="How far outside the range it is.")
    message: str = Field(min_length=1, description="Human-readable explanation. It quotes no value of a column "
                         "tagged `pii.*`: such a shift of mean, minimum or maximum, or stalled or aged newest value, "
                         "carries null figures and says they are withheld.")
    job_id: str | None = Field(default=None, description="The profile job.")


# -- lineage ----------------------------------------------------------------------------------------------------

class LineageEdge(BaseModel):
    """One edge: `upstream` feeds `downstream`; both dataset URNs or both column URNs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    upstream: str = Field(pattern="^urn:catalog:(dataset|column):", description="Dataset or column URN.")
    downstream: str = Field(pattern="^urn:catalog:(dataset|column):", description="Same kind as upstream.")

    @model_validator(mode="after")
    def _same_kind(self) -> LineageEdge:
        if self.upstream.split(":")[2] != self.downstream.split(":")[2]:
            raise ValueError("upstream and downstream must both be dataset URNs or both column URNs")
        return self


class LineageChanged(EventPayload):
    """Lineage into a dataset changed. Subject: the downstream dataset URN."""

    event_type: ClassVar[EventType] = EventType.LINEAGE_CHANGED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.DATASET,)

    origin: Literal["view_sql", "openlineage", "manual", "extraction"] = Field(description="Where the edges come from.")
    added: list[LineageEdge] = Field(description="Edges that appeared.")
    removed: list[LineageEdge] = Field(description="Edges that disappeared.")
    job_id: str | None = Field(default=None, description="Catalog job that produced the edges.")
    run_id: str | None = Field(default=None, description="OpenLineage run id, for `openlineage` edges.")

    @model_validator(mode="after")
    def _changed(self) -> LineageChanged:
        if not (self.added or self.removed):
            raise ValueError("added and removed are both empty: nothing changed")
        return self


# -- data quality -----------------------------------------------------------------------------------------------

class QualityRuleChanged(EventPayload):
    """A data-quality rule of a table or of one of its columns was created, updated or removed. Subject: the
    dataset URN of the rule's table."""

    event_type: ClassVar[EventType] = EventType.QUALITY_RULE_CHANGED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.DATASET,)

    rule: str = Field(min_length=1, max_length=128, description="The rule's name, its stable key within the table.")
    change: Literal["created", "updated", "removed"] = Field(description="What happened to the rule.")
    kind: str = Field(min_length=1, description="What the rule checks, e.g. `not_null`, `range`, `custom_sql`.")
    column: str | None = Field(description="The column it checks; null for a table rule.")
    severity: Literal["warning", "error"] = Field(description="How bad a failure of the rule is.")
    version: int = Field(ge=1, description="The rule's version after the change (the last one when removed).")
    before: dict[str, Any] | None = Field(description="The rule's definition before; null when created.")
    after: dict[str, Any] | None = Field(description="The rule's definition after; null when removed.")
    changed_by: str | None = Field(default=None, description="Who made the change, when known.")

    @model_validator(mode="after")
    def _changed(self) -> QualityRuleChanged:
        if self.before == self.after:
            raise ValueError("before and after are equal: nothing changed")
        return self


class _QualityResultPayload(EventPayload):
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.DATASET,)

    rule: str = Field(min_length=1, max_length=128, description="The rule's name, its stable key within the table.")
    kind: str = Field(min_length=1, description="What the rule checks, e.g. `not_null`, `range`, `custom_sql`.")
    column: str | None = Field(description="The column it checks; null for a table rule.")
    severity: Literal["warning", "error"] = Field(description="How bad a failure of the rule is.")
    run_id: str = Field(min_length=1, description="The evaluation run: a job id or a profile run's id.")


class QualityFailed(_QualityResultPayload):
    """A data-quality rule failed after passing (or on its first evaluation). A rule that keeps failing raises no new
    event. Subject: the dataset URN of the rule's table."""

    event_type: ClassVar[EventType] = EventType.QUALITY_FAILED

    observed: float | None = Field(default=None, description="The observed figure when it is a number (a null "
                                   "count, a row count); null otherwise, or when it is a value of a column tagged "
                                   "`pii.*`.")
    failing_rows: int | None = Field(default=None, ge=0, description="Rows that failed the rule, when counted.")
    message: str | None = Field(default=None, description="Human-readable explanation; it quotes no value of a "
                                "column tagged `pii.*`.")


class QualityRecovered(_QualityResultPayload):
    """A data-quality rule that had failed passed again. Subject: the dataset URN of the rule's table."""

    event_type: ClassVar[EventType] = EventType.QUALITY_RECOVERED

    failed_since: UtcTimestamp = Field(description="When the rule's last failing result was recorded.")


PAYLOADS: dict[EventType, type[EventPayload]] = {
    model.event_type: model
    for model in (
        SourceRegistered, SourceUpdated, SourceDeleted, TableCreated, TableDeleted, ViewCreated, ViewDeleted,
        ColumnAdded, ColumnRemoved, ColumnTypeChanged, ColumnNullabilityChanged, DescriptionChanged, TagsChanged,
        OwnersChanged, TermsChanged, DomainChanged, GlossaryTermCreated, GlossaryTermUpdated, GlossaryTermDeleted,
        DomainCreated, DomainUpdated, DomainDeleted,
        JobStarted, JobProgress, JobSucceeded, JobFailed, JobCancelled, ProfileCompleted, AnomalyDetected,
        LineageChanged, QualityRuleChanged, QualityFailed, QualityRecovered,
    )
}
"""The payload model of every event type."""
