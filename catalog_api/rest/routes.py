"""REST routes under /api/v1. Each route validates transport details and calls one service."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, WithJsonSchema
from sqlalchemy.orm import Session

from catalog_api.errors import InvalidInput, NotFound
from catalog_api.rest.contract import (
    IsoDateTime,
    ProfileId,
    SourceId,
    checked_by_service,
    errors,
    id_query,
    urn_path,
    urn_query,
)
from catalog_api.rest.deps import QUERY_SESSION, context
from catalog_api.rest.deps import settings as app_settings
from catalog_api.rest.models import (
    AnomalyOut,
    AnomalyThresholdsOut,
    ChangePage,
    ColumnProfileOut,
    ConnectionTestOut,
    EntityOut,
    ExtractionOut,
    JobOut,
    ProfileOut,
    ProfileSummaryOut,
    SchemaPage,
    SourceOut,
    TableOut,
    TablePage,
)
from catalog_api.rest.security import allow
from catalog_api.security.identity import Permission
from catalog_api.services import backfill as backfills
from catalog_api.services import browse, crawl, curation, extraction, jobs, profiling, quality, sources
from catalog_api.services.context import ServiceContext
from catalog_api.services.curation import MAX_DESCRIPTION, MAX_TAG_LENGTH, MAX_TAGS
from catalog_api.services.extraction import IncrementStrategy
from catalog_api.services.jobs import JobStatus, schedules
from catalog_api.services.sources import MAX_SOURCE_NAME, SOURCE_NAME, source_kinds
from catalog_api.services.views import MAX_ID
from catalog_api.settings import Settings
from catalog_api.urns import MAX_URN_LENGTH, EntityType, urn_pattern
from catalog_api.web.csp import policy

router = APIRouter(prefix="/api/v1")

Severity = Literal["warning", "critical"]



def raw_segments(request: Request, start: int, stop: int | None, decoded: str) -> str:
    """Path segments `start` to `stop` (0 is the empty one before the first '/'), joined by '/' and decoded exactly
    once, as the client sent them: reading the raw path keeps escapes such as `%25` intact whatever the server did
    to `path`. `decoded` is the server's value, used when there is no raw path."""
    raw = request.scope.get("raw_path")
    if raw:
        segments = raw.decode("latin-1").split("?", 1)[0].split("/")
        if len(segments) > start:
            return unquote("/".join(segments[start:stop]), errors="strict")
    return decoded


def raw_urn(request: Request, urn: str) -> str:
    """The URN path segment decoded exactly once: a URN never holds a raw '/', so it is the fifth segment of the raw
    path (`/api/v1/<things>/<urn>/...`)."""
    return raw_segments(request, 4, 5, urn)


def urn_in_path(*types: EntityType) -> Any:
    """The route's `{urn}` segment (`raw_urn`), documented and checked as a URN of one of `types`."""

    def dependency(request: Request, urn: str = urn_path(*types)) -> str:
        return raw_urn(request, urn)

    return Depends(dependency)


TABLE_URN = urn_in_path(EntityType.DATASET)
COLUMN_URN = urn_in_path(EntityType.COLUMN)
ANY_URN = urn_in_path()
# The service trims and lower-cases a tag before it checks it against `TAG`.
Tag = Annotated[str, Field(max_length=MAX_TAG_LENGTH, **checked_by_service(
    r"^\s*[A-Za-z0-9][A-Za-z0-9_\-]*(\.[A-Za-z0-9][A-Za-z0-9_\-]*)*\s*$"))]
TableUrn = Annotated[str, Field(max_length=MAX_URN_LENGTH, **checked_by_service(urn_pattern(EntityType.DATASET)))]
JobId = Annotated[str, Path(max_length=64, description="The job's id.")]


SecretValues = Annotated[dict[str, Annotated[str, Field(max_length=10_000)]],
                         Field(default_factory=dict, max_length=100, description="Raw secrets, stored encrypted.")]
SecretRefs = Annotated[dict[str, Annotated[str, Field(max_length=1024, **checked_by_service(r"^(env|keyvault):"))]],
                       Field(default_factory=dict, max_length=100,
                             description="`env:NAME`, `keyvault:NAME` or `keyvault:NAME/VERSION`.")]


class SourceRegistrationIn(sources.SourceRegistration):
    """A source to register; its connection is tested first (`test_connection`), so a source that cannot be reached
    answers 422 with the connector's error code. `config` holds the kind's settings (docs/api.md)."""

    name: str = Field(min_length=1, max_length=MAX_SOURCE_NAME, **checked_by_service(SOURCE_NAME.pattern),
                      examples=["erp"])
    kind: str = Field(max_length=64, json_schema_extra={"enum": source_kinds()})
    secrets: SecretValues
    secret_refs: SecretRefs
    test_connection: StrictBool = True


class SourceUpdateIn(sources.SourceUpdate):
    """A partial update; `config` replaces the stored config as a whole when given, `config_patch` sets (or, with
    null, drops) only the keys it names."""

    secrets: SecretValues
    secret_refs: SecretRefs
    test_connection: StrictBool = True


class DescriptionIn(BaseModel):
    """A curated description; null or blank clears it."""

    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION, **checked_by_service(r"^[^\x00]*$"),
                                    description="No NUL (U+0000).")


class ScheduleIn(BaseModel):
    """A five-field cron expression (null clears the schedule) evaluated in an IANA time zone."""

    model_config = ConfigDict(extra="forbid")
    cron: str | None = Field(default=None, max_length=255, examples=["0 2 * * *"])
    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/Berlin"])


def _bounded(value: str | int) -> str | int:
    if isinstance(value, str) and len(value) > backfills.MAX_BOUND_LENGTH:
        raise ValueError(f"at most {backfills.MAX_BOUND_LENGTH} characters")
    if isinstance(value, int) and not -MAX_ID <= value <= MAX_ID:
        raise ValueError(f"a whole number within ±{MAX_ID} (give a larger one as text)")
    return value


# Checked after the union, so an error names `from` or `to` rather than the branch of the union.
Bound = Annotated[StrictStr | StrictInt, AfterValidator(_bounded), WithJsonSchema({
    "anyOf": [{"type": "string", "maxLength": backfills.MAX_BOUND_LENGTH},
              {"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID}],
    "description": "A value of the table's plan column: text such as an ISO 8601 timestamp or a whole number, or a "
                   "whole number that JSON carries exactly."})]


class ExtractIn(BaseModel):
    """Which tables to extract; none means every live table of the source. With `backfill`, `from` or `to`: a
    backfill of the one table in `tables`, its rows with `from <= value < to` in its plan's column (either bound may
    be left out; stopped at the table's watermark), or all of it (docs/quality.md#backfills)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    tables: list[TableUrn] = Field(default_factory=list, max_length=10_000)
    backfill: StrictBool = False
    from_: Bound | None = Field(default=None, alias="from")
    to: Bound | None = None


class ExtractionPlanIn(BaseModel):
    """A plan override: `timestamp` or `key` with its column, `full`, or null strategy for the suggestion."""

    model_config = ConfigDict(extra="forbid")
    strategy: IncrementStrategy | None = None
    column: str | None = Field(default=None, max_length=1024)


class ProfileIn(BaseModel):
    """Which tables (or views) to profile; none means every table of the source (views only when named)."""

    model_config = ConfigDict(extra="forbid")
    tables: list[TableUrn] = Field(default_factory=list, max_length=10_000)


class AnomalyThresholdsIn(BaseModel):
    """A table's own anomaly settings, e.g. `{"volume_change": 0.5}`; null or `{}` returns to the defaults."""

    model_config = ConfigDict(extra="forbid")
    thresholds: dict[str, Any] | None


class TagsIn(BaseModel):
    """The full new set of tags of an entity."""

    model_config = ConfigDict(extra="forbid")
    tags: list[Tag] = Field(max_length=MAX_TAGS)


@router.get("/sources", dependencies=[allow(Permission.READ)], response_model=list[SourceOut], tags=["sources"])
def list_sources(session: Session = QUERY_SESSION) -> list[SourceOut]:
    return [SourceOut.of(s) for s in sources.list_sources(session)]


@router.post("/sources", dependencies=[allow(Permission.ADMIN)], responses=errors(409),
             response_model=SourceOut, status_code=status.HTTP_201_CREATED, tags=["sources"])
def register_source(body: SourceRegistrationIn, ctx: ServiceContext = Depends(context)) -> SourceOut:
    return SourceOut.of(sources.register_source(ctx, body))


@router.get("/sources/{source_id}", dependencies=[allow(Permission.READ)], response_model=SourceOut, tags=["sources"])
def get_source(source_id: SourceId, session: Session = QUERY_SESSION) -> SourceOut:
    return SourceOut.of(sources.get_source(session, source_id))


PageSize = Annotated[int, Query(ge=1, le=browse.MAX_PAGE, description="How many items a page holds.")]
Cursor = Annotated[str | None, Query(max_length=1024, description="The `next_cursor` of the previous page.")]
IncludeDeleted = Annotated[bool, Query(description="Also what disappeared from the source (`deleted_at` set).")]


@router.get("/sources/{source_id}/schemas", dependencies=[allow(Permission.READ)], response_model=SchemaPage,
            tags=["sources"])
def source_schemas(source_id: SourceId, first: PageSize = 100, after: Cursor = None,
                   include_deleted: IncludeDeleted = False, session: Session = QUERY_SESSION) -> SchemaPage:
    """The source's schemas by name, a page at a time."""
    return SchemaPage.of(browse.source_schemas(session, source_id, browse.PageRequest(first, after, include_deleted)))


@router.get("/sources/{source_id}/schemas/{schema:path}/tables", dependencies=[allow(Permission.READ)],
            response_model=TablePage, tags=["sources"])
def schema_tables(request: Request, source_id: SourceId,
                  schema: str = Path(min_length=1, max_length=browse.MAX_NAME, description=(
                      "The schema's name as the source spells it, URL-encoded (`%` as `%25`).")),
                  first: PageSize = 100, after: Cursor = None, include_deleted: IncludeDeleted = False,
                  session: Session = QUERY_SESSION) -> TablePage:
    """The tables, views and files of one of the source's schemas by name, a page at a time, without their columns
    (`GET /api/v1/tables/{urn}` has them)."""
    page = browse.PageRequest(first, after, include_deleted)
    return TablePage.of(browse.schema_tables(session, source_id, raw_segments(request, 6, -1, schema), page))


@router.patch("/sources/{source_id}", dependencies=[allow(Permission.ADMIN)], responses=errors(409),
              response_model=SourceOut, tags=["sources"])
def update_source(source_id: SourceId, body: SourceUpdateIn, ctx: ServiceContext = Depends(context)) -> SourceOut:
    return SourceOut.of(sources.update_source(ctx, source_id, body))


@router.delete("/sources/{source_id}", dependencies=[allow(Permission.ADMIN)],
               status_code=status.HTTP_204_NO_CONTENT, tags=["sources"])
def delete_source(source_id: SourceId, ctx: ServiceContext = Depends(context)) -> Response:
    sources.delete_source(ctx, source_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/sources/{source_id}/test", dependencies=[allow(Permission.OPERATE)],
             response_model=ConnectionTestOut, tags=["sources"])
def test_source(source_id: SourceId, ctx: ServiceContext = Depends(context)) -> ConnectionTestOut:
    return ConnectionTestOut.of(sources.test_source(ctx, source_id))


@router.post("/sources/{source_id}/crawl", dependencies=[allow(Permission.OPERATE)],
             response_model=JobOut, status_code=status.HTTP_202_ACCEPTED,
             tags=["sources"])
def crawl_source(source_id: SourceId, ctx: ServiceContext = Depends(context)) -> JobOut:
    """Queues a crawl (or returns the one already queued or running) and answers with its job at once."""
    return JobOut.of(crawl.request_crawl(ctx, source_id))


@router.post("/sources/{source_id}/extract", dependencies=[allow(Permission.OPERATE)],
             response_model=JobOut, status_code=status.HTTP_202_ACCEPTED,
             tags=["sources"])
def extract_source(source_id: SourceId, body: ExtractIn | None = None,
                   ctx: ServiceContext = Depends(context)) -> JobOut:
    """Queues an incremental extraction of the source's tables into the lake (or returns the active one), or a
    backfill of one table (409 while another extraction of the source is queued or running)."""
    if body is not None and (body.backfill or body.from_ is not None or body.to is not None):
        if len(body.tables) != 1:
            raise InvalidInput("tables", "a backfill names exactly one table")
        return JobOut.of(backfills.request_backfill(ctx, source_id, body.tables[0], body.from_, body.to))
    return JobOut.of(extraction.request_extract(ctx, source_id, body.tables if body else None))


@router.post("/sources/{source_id}/profile", dependencies=[allow(Permission.OPERATE)],
             response_model=JobOut, status_code=status.HTTP_202_ACCEPTED,
             tags=["profiles"])
def profile_source(source_id: SourceId, body: ProfileIn | None = None,
                   ctx: ServiceContext = Depends(context)) -> JobOut:
    """Queues a profile of the source's tables, or of the given ones (or returns the active profile job)."""
    return JobOut.of(profiling.request_profile(ctx, source_id, body.tables if body and body.tables else None))


@router.put("/sources/{source_id}/schedule", dependencies=[allow(Permission.OPERATE)],
            response_model=SourceOut, tags=["sources"])
def set_schedule(source_id: SourceId, body: ScheduleIn, ctx: ServiceContext = Depends(context)) -> SourceOut:
    """Sets or clears the crawl schedule; setting it also resumes a schedule the circuit breaker paused."""
    return SourceOut.of(schedules.set_schedule(ctx, source_id, body.cron, body.timezone))


@router.post("/sources/{source_id}/schedule/resume", dependencies=[allow(Permission.OPERATE)],
             response_model=SourceOut, tags=["sources"])
def resume_schedule(source_id: SourceId, ctx: ServiceContext = Depends(context)) -> SourceOut:
    """Resumes a schedule paused after consecutive failures, from the next slot after now."""
    return SourceOut.of(schedules.resume_schedule(ctx, source_id))


@router.get("/jobs", dependencies=[allow(Permission.READ)], response_model=list[JobOut], tags=["jobs"])
def list_jobs(source_id: int | None = id_query("Only this source's jobs."), status: JobStatus | None = None,
              limit: int = Query(50, ge=1, le=jobs.MAX_LIST), session: Session = QUERY_SESSION) -> list[JobOut]:
    """Recent jobs, newest first."""
    return [JobOut.of(j) for j in jobs.list_jobs(session, source_id=source_id, status=status, limit=limit)]


@router.get("/jobs/{job_id}", dependencies=[allow(Permission.READ)], response_model=JobOut, tags=["jobs"])
def job(job_id: JobId, session: Session = QUERY_SESSION) -> JobOut:
    return JobOut.of(jobs.get_job(session, job_id))


@router.post("/jobs/{job_id}/cancel", dependencies=[allow(Permission.OPERATE)], response_model=JobOut, tags=["jobs"])
def cancel_job(job_id: JobId, ctx: ServiceContext = Depends(context)) -> JobOut:
    """Cancels a queued job at once; a running one stops at its next progress report, changing nothing."""
    return JobOut.of(jobs.cancel_job(ctx, job_id))


@router.get("/tables/{urn:path}/changes", dependencies=[allow(Permission.READ)],
            response_model=ChangePage, tags=["tables"])
def table_changes(
    urn: str = TABLE_URN,
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
    first: int = Query(100, ge=1, le=1000),
    after: str | None = None,
    session: Session = QUERY_SESSION,
) -> ChangePage:
    """The table's change history (its columns' changes included), newest first, within [since, until)."""
    return ChangePage.of(browse.change_history(session, urn, since=since, until=until, first=first, after=after))


@router.get("/tables/{urn:path}/extraction", dependencies=[allow(Permission.READ)],
            response_model=ExtractionOut, tags=["tables"])
def table_extraction(urn: str = TABLE_URN, session: Session = QUERY_SESSION) -> ExtractionOut:
    """The table's extraction plan (suggested or overridden), watermark, last run and lake path."""
    return ExtractionOut.of(extraction.get_extraction(session, urn))


@router.put("/tables/{urn:path}/extraction", dependencies=[allow(Permission.OPERATE)],
            response_model=ExtractionOut, tags=["tables"])
def set_table_extraction(body: ExtractionPlanIn, urn: str = TABLE_URN,
                         ctx: ServiceContext = Depends(context)) -> ExtractionOut:
    """Overrides the extraction plan; `{"strategy": null}` returns to the suggested one."""
    return ExtractionOut.of(extraction.set_extraction_plan(ctx, urn, body.strategy, body.column))


@router.post("/tables/{urn:path}/profile", dependencies=[allow(Permission.OPERATE)],
             response_model=JobOut, status_code=status.HTTP_202_ACCEPTED,
             tags=["profiles"])
def profile_table(urn: str = TABLE_URN, ctx: ServiceContext = Depends(context)) -> JobOut:
    """Queues a profile of this table (or view) alone."""
    return JobOut.of(profiling.request_table_profile(ctx, urn))


@router.get("/tables/{urn:path}/profile", dependencies=[allow(Permission.READ)],
            response_model=ProfileOut, tags=["profiles"])
def table_profile(urn: str = TABLE_URN, session: Session = QUERY_SESSION) -> ProfileOut:
    """The table's newest profile with every column's statistics and the anomalies it found."""
    profile = profiling.latest_profile(session, urn)
    if profile is None:
        raise NotFound(f"{urn} has not been profiled yet: POST /api/v1/tables/{{urn}}/profile queues a profile",
                       field="urn")
    return ProfileOut.of(profile)


# The report embeds sampled values (ydata-profiling leaves some unescaped) and its own inline scripts: a sandbox
# runs them in an opaque origin, so they cannot act as this origin, and they may fetch nothing.
REPORT_POLICY = policy(sandbox=["allow-scripts", "allow-popups"], script_src=["'unsafe-inline'"],
                       style_src=["'unsafe-inline'"], img_src=["data:"], font_src=["data:"])


@router.get("/tables/{urn:path}/profile/report", dependencies=[allow(Permission.READ)],
            response_class=HTMLResponse, tags=["profiles"],
            responses={200: {"content": {"text/html": {}}, "description": "The ydata-profiling HTML report."},
                       409: {"description": "The report is still being rendered (`report_pending`): the error names "
                                            "its job; ask again once that job has finished."}})
def table_profile_report(urn: str = TABLE_URN, profile_id: int | None = id_query("This profile run's report."),
                         session: Session = QUERY_SESSION, settings: Settings = Depends(app_settings)
                         ) -> HTMLResponse:
    """The HTML report of the table's newest profile (or of `profile_id`); 409 `report_pending` while its report job
    renders it (the error names the job), 404 when none is kept or rendering failed (the error says why)."""
    html = profiling.profile_report(session, settings, urn, profile_id)
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_POLICY})


@router.get("/tables/{urn:path}/profiles", dependencies=[allow(Permission.READ)],
            response_model=list[ProfileSummaryOut], tags=["profiles"])
def table_profiles(urn: str = TABLE_URN, limit: int = Query(50, ge=1, le=profiling.MAX_HISTORY),
                   session: Session = QUERY_SESSION) -> list[ProfileSummaryOut]:
    """The table's profile runs, newest first, with table-level figures."""
    return [ProfileSummaryOut.of(p) for p in profiling.profile_history(session, urn, limit=limit)]


@router.get("/tables/{urn:path}/anomaly-thresholds", dependencies=[allow(Permission.READ)],
            response_model=AnomalyThresholdsOut, tags=["profiles"])
def table_anomaly_thresholds(urn: str = TABLE_URN,
                             session: Session = QUERY_SESSION) -> AnomalyThresholdsOut:
    """The anomaly settings in force for the table: its own overrides merged over the defaults."""
    return AnomalyThresholdsOut(urn=urn, thresholds=profiling.get_anomaly_thresholds(session, urn))


@router.put("/tables/{urn:path}/anomaly-thresholds", dependencies=[allow(Permission.CURATE)],
            response_model=AnomalyThresholdsOut, tags=["profiles"])
def set_table_anomaly_thresholds(body: AnomalyThresholdsIn, urn: str = TABLE_URN,
                                 ctx: ServiceContext = Depends(context)) -> AnomalyThresholdsOut:
    """Replaces the table's own anomaly settings (null or `{}` returns to the defaults); answers the ones in force."""
    return AnomalyThresholdsOut(urn=urn, thresholds=profiling.set_anomaly_thresholds(ctx, urn, body.thresholds))


@router.get("/tables/{urn:path}", dependencies=[allow(Permission.READ)], response_model=TableOut, tags=["tables"])
def table(urn: str = TABLE_URN, include_deleted_columns: bool = False, session: Session = QUERY_SESSION) -> TableOut:
    """A table by URN with its columns and its health (`quality_health`: rules, anomalies, freshness). URL-encode the
    URN as a path segment (e.g. `%` as `%25`)."""
    return TableOut.of(quality.table_detail(session, urn, include_deleted_columns=include_deleted_columns))


@router.get("/profiles/{profile_id}", dependencies=[allow(Permission.READ)],
            response_model=ProfileOut, tags=["profiles"])
def profile(profile_id: ProfileId, session: Session = QUERY_SESSION) -> ProfileOut:
    """One profile run by id, with every column's statistics and its anomalies."""
    return ProfileOut.of(profiling.get_profile(session, profile_id))


@router.get("/columns/{urn:path}/profiles", dependencies=[allow(Permission.READ)],
            response_model=list[ColumnProfileOut], tags=["profiles"])
def column_profiles(urn: str = COLUMN_URN, limit: int = Query(50, ge=1, le=profiling.MAX_HISTORY),
                    session: Session = QUERY_SESSION) -> list[ColumnProfileOut]:
    """A column's statistics in each profile run that covered it, newest first."""
    return [ColumnProfileOut.of(c) for c in profiling.column_profile_history(session, urn, limit=limit)]


@router.get("/anomalies", dependencies=[allow(Permission.READ)], response_model=list[AnomalyOut], tags=["profiles"],
            responses=errors(404))
def anomalies(table: str | None = urn_query(EntityType.DATASET, description="Only this table's anomalies."),
              source: str | None = Query(None, min_length=1, max_length=MAX_SOURCE_NAME,
                                         description="Only this source's anomalies: its name or id."),
              severity: Severity | None = None, limit: int = Query(100, ge=1, le=profiling.MAX_ANOMALIES),
              session: Session = QUERY_SESSION) -> list[AnomalyOut]:
    """Anomalies found by profiles, newest first: of one table (URN), one source (name or id), or everywhere."""
    found = profiling.list_anomalies(session, table_urn=table, source_ref=source, severity=severity, limit=limit)
    return [AnomalyOut.of(a) for a in found]


def _curated(ctx: ServiceContext, urn: str) -> EntityOut:
    """The entity as its curation now stands, read after the change was committed."""
    with ctx.db.session() as session:
        return EntityOut.of(browse.tagged_entity(session, urn))


@router.put("/entities/{urn:path}/description", dependencies=[allow(Permission.CURATE)],
            response_model=EntityOut, tags=["curation"])
def set_description(body: DescriptionIn, urn: str = ANY_URN, ctx: ServiceContext = Depends(context)) -> EntityOut:
    curation.set_description(ctx, urn, body.description)
    return _curated(ctx, urn)


@router.put("/entities/{urn:path}/tags", dependencies=[allow(Permission.CURATE)],
            response_model=EntityOut, tags=["curation"])
def set_tags(body: TagsIn, urn: str = ANY_URN, ctx: ServiceContext = Depends(context)) -> EntityOut:
    curation.set_tags(ctx, urn, body.tags)
    return _curated(ctx, urn)
