"""OpenLineage run events in: jobs and runs recorded, datasets mapped to catalog URNs, edges from inputs to outputs.

A dataset's (namespace, name) becomes a catalog URN through the sources' lineage naming (docs/urns.md): the source
whose `lineage_namespace` is the namespace and whose `lineage_name_prefix` starts the name (the longest such
prefix) owns it, and the rest of the name is `<schema>.<table>` (split at the first dot). The URN is the same one a
crawl gives the table, so a dataset reported before it was crawled is a placeholder that turns into the crawled
table by itself. A namespace no source has maps to `urn:catalog:dataset:_openlineage:<namespace>:<name>`.

Each job owns its edges (owner `openlineage:<namespace>:<name>`). A COMPLETE event replaces the job's edges with
what it reports (an input the job stopped reading disappears); other events only add, since START events
often carry no outputs yet. Events are applied in eventTime order per job: one older than the job's latest COMPLETE
is stale and only records its run (its result reports 0 edges). The `columnLineage` output facet becomes column edges
(`identity` for an IDENTITY transformation, `expression` otherwise, null when the event does not say).

A dataset no crawl has found keeps the columns of its `schema` facet (and the fields of an output's `columnLineage`)
as a reported dataset (`catalog_api.services.lineage.reported`). A facet lists at most `MAX_FACET_FIELDS` fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from sqlalchemy import select

from catalog_api.db.models import NAME_LENGTH, DataSource, LineageRun, utcnow
from catalog_api.errors import InvalidInput, invalid_input_from_validation
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.outbox import record_events
from catalog_api.services.lineage.edges import EdgeSpec, Origin, change_events, openlineage_placeholder_urn, sync_edges
from catalog_api.services.lineage.reported import DatasetReport, ReportedField, Reporter, record_reports
from catalog_api.urns import dataset_urn

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
MAX_FACET_FIELDS = 2000
"""Fields a `schema` or `columnLineage` facet may list (more than PostgreSQL's 1,600 columns per table)."""
MAX_DESCRIPTION_LENGTH = 10_000

ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=NAME_LENGTH)]


class _SchemaField(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: ColumnName
    type: str | None = Field(default=None, max_length=512)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)


class _SchemaFacet(BaseModel):
    model_config = ConfigDict(extra="allow")
    fields: Annotated[list[_SchemaField], Field(max_length=MAX_FACET_FIELDS)] | None = None
    deleted: bool | None = Field(default=None, alias="_deleted", strict=True)  # `0` is no boolean


class _ColumnLineageFacet(BaseModel):
    model_config = ConfigDict(extra="allow")
    fields: Annotated[dict[ColumnName, Any], Field(max_length=MAX_FACET_FIELDS)] | None = None


class _Facets(BaseModel):
    """The dataset facets the catalog reads (`schema`, `columnLineage`); others are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    schema_: _SchemaFacet | None = Field(default=None, alias="schema")
    columnLineage: _ColumnLineageFacet | None = None


class _Dataset(BaseModel):
    model_config = ConfigDict(extra="allow")
    namespace: str = Field(min_length=1, max_length=1024)
    name: str = Field(min_length=1, max_length=1024)
    facets: _Facets | None = None

    def report(self, urn: str) -> DatasetReport:
        """What this dataset's facets say about its columns: the `schema` facet's fields, then the `columnLineage`
        fields it left out."""
        facets = self.facets or _Facets()
        schema = facets.schema_ if facets.schema_ and not facets.schema_.deleted else None  # `_deleted`: withdrawn
        fields = [ReportedField(f.name, f.type, f.description) for f in ((schema.fields or []) if schema else [])]
        named = {f.name for f in fields}
        lineage = (facets.columnLineage.fields or {}) if facets.columnLineage else {}
        fields += [ReportedField(name) for name in lineage if name not in named]
        return DatasetReport(urn, self.namespace, self.name, tuple(fields), complete=schema is not None)


class _Job(BaseModel):
    model_config = ConfigDict(extra="allow")
    namespace: str = Field(min_length=1, max_length=1024)
    name: str = Field(min_length=1, max_length=1024)


class _Run(BaseModel):
    model_config = ConfigDict(extra="allow")
    runId: str = Field(min_length=1, max_length=64)


class RunEvent(BaseModel):
    """The parts of an OpenLineage RunEvent the catalog reads; the rest is accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    eventType: str = Field(default="OTHER", json_schema_extra={"enum": list(EVENT_TYPES)},
                           description="Upper or lower case.")
    eventTime: datetime = Field(json_schema_extra={"format": "date-time"},
                                description="An ISO 8601 date-time with a zone.")
    producer: str | None = None
    run: _Run
    job: _Job
    inputs: list[_Dataset] = Field(default_factory=list, max_length=10_000)
    outputs: list[_Dataset] = Field(default_factory=list, max_length=10_000)

    @field_validator("eventTime", mode="before")
    @classmethod
    def _zoned_date_time(cls, value: Any) -> datetime:
        # Events of a job are ordered by eventTime, so a number, a bare date or a time without a zone (which pydantic
        # would all accept) would be placed by a guess; the spec asks for an ISO 8601 date-time with a zone.
        parsed = None
        if isinstance(value, str) and "T" in value.upper():
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                pass
        if parsed is None or parsed.tzinfo is None:
            raise ValueError("an ISO 8601 date-time with a zone, e.g. 2026-01-01T00:00:00Z")
        return parsed


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one event recorded."""

    run_id: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    edges: int


class DatasetNamer:
    """OpenLineage (namespace, name) -> catalog dataset URN, from the registered sources' lineage naming."""

    def __init__(self, sources: list[tuple[str, str, str]]) -> None:
        self._by_namespace: dict[str, list[tuple[str, str]]] = {}
        for name, namespace, prefix in sources:
            self._by_namespace.setdefault(namespace, []).append((prefix, name))
        for candidates in self._by_namespace.values():
            candidates.sort(key=lambda c: -len(c[0]))

    def urn(self, namespace: str, name: str) -> str:
        for prefix, source in self._by_namespace.get(namespace, ()):
            rest = name[len(prefix):] if name.startswith(prefix) else None
            if rest and "." in rest.strip("."):
                schema, _, table = rest.partition(".")
                if schema and table:
                    return dataset_urn(source, schema, table)
        return openlineage_placeholder_urn(namespace, name)


def _transformation(field: dict[str, Any], source: dict[str, Any]) -> str | None:
    kinds = [t.get("subtype") or t.get("type") for t in source.get("transformations") or [] if isinstance(t, dict)]
    if not kinds and field.get("transformationType"):
        kinds = [field["transformationType"]]
    if not kinds:
        return None
    return "identity" if all(str(k).upper() == "IDENTITY" for k in kinds) else "expression"


_TRANSFORMATION_KEYS = ("type", "subtype", "description", "masking")


def _reported_transformations(source: dict[str, Any]) -> str | None:
    """The input field's `transformations` (the spec's keys only) as JSON text, so the export can give them back."""
    kept = [{k: t[k] for k in _TRANSFORMATION_KEYS if k in t}
            for t in source.get("transformations") or [] if isinstance(t, dict)]
    return json.dumps(kept, separators=(",", ":")) if kept else None


def parse_run_event(body: Any) -> RunEvent:
    """Validates a RunEvent; `InvalidInput` naming the field otherwise."""
    if not isinstance(body, dict):
        raise InvalidInput("body", "an OpenLineage RunEvent (a JSON object)")
    if "run" not in body or "job" not in body:
        raise InvalidInput("run" if "run" not in body else "job",
                           "required: the catalog accepts OpenLineage RunEvents (with run and job)")
    try:
        event = RunEvent.model_validate(body)
    except ValidationError as error:
        raise invalid_input_from_validation(list(error.errors())) from None
    if event.eventType.upper() not in EVENT_TYPES:
        raise InvalidInput("eventType", f"one of {', '.join(EVENT_TYPES)}")
    return event


def ingest_run_event(ctx: ServiceContext, body: Any) -> IngestResult:
    """Records the run and its job's edges from one OpenLineage RunEvent, in one transaction."""
    event = parse_run_event(body)
    state = event.eventType.upper()
    with ctx.db.session() as session:
        namer = DatasetNamer([tuple(r) for r in session.execute(
            select(DataSource.name, DataSource.lineage_namespace, DataSource.lineage_name_prefix))])
        # Events can arrive out of order (retries, several producers): one older than the job's latest COMPLETE
        # would bring back lineage that run replaced, so it only records the run.
        stale = session.scalar(select(LineageRun.id).where(
            LineageRun.job_namespace == event.job.namespace, LineageRun.job_name == event.job.name,
            LineageRun.state == "COMPLETE", LineageRun.event_time > event.eventTime).limit(1)) is not None
        run = session.scalars(select(LineageRun).where(LineageRun.run_id == event.run.runId)).first()
        if run is None:
            run = LineageRun(run_id=event.run.runId, job_namespace=event.job.namespace, job_name=event.job.name,
                             state=state, event_time=event.eventTime, producer=event.producer)
            session.add(run)
        elif event.eventTime >= run.event_time:  # events can arrive out of order: the latest state wins
            run.state, run.event_time = state, event.eventTime
        inputs = {(d.namespace, d.name): namer.urn(d.namespace, d.name) for d in event.inputs}
        outputs = [(d, namer.urn(d.namespace, d.name)) for d in event.outputs]
        specs: list[EdgeSpec] = []
        for dataset, out_urn in outputs:
            specs += [EdgeSpec(in_urn, out_urn) for in_urn in inputs.values() if in_urn != out_urn]
            facet = dataset.facets.columnLineage if dataset.facets else None
            for column, field in ((facet.fields or {}) if facet else {}).items():
                field = field if isinstance(field, dict) else {}
                for source in field.get("inputFields") or []:
                    if not isinstance(source, dict):
                        continue
                    key = (source.get("namespace"), source.get("name"))
                    if not all(key) or not source.get("field"):
                        continue
                    in_urn = inputs.get(key) or namer.urn(*key)
                    specs.append(EdgeSpec(in_urn, out_urn, source["field"], column, _transformation(field, source),
                                          _reported_transformations(source)))
                    if in_urn not in inputs.values():
                        specs.append(EdgeSpec(in_urn, out_urn))
        owner = f"openlineage:{event.job.namespace}:{event.job.name}"
        if stale:
            specs = []
        else:
            reports = [d.report(namer.urn(d.namespace, d.name)) for d in (*event.inputs, *event.outputs)]
            record_reports(session, reports, Reporter(event.job.namespace, event.job.name, event.run.runId,
                                                      event.eventTime, event.producer))
        if specs or (state == "COMPLETE" and not stale):
            changes = sync_edges(session, Origin.OPENLINEAGE, {owner: specs}, now=utcnow(),
                                 run_id=event.run.runId, replace=state == "COMPLETE")
            if ctx.settings.lineage_events_enabled:
                record_events(session, change_events(Origin.OPENLINEAGE, changes, run_id=event.run.runId))
        return IngestResult(event.run.runId, tuple(inputs.values()), tuple(u for _, u in outputs), len(specs))
