"""REST routes under /api/v1. Each route validates transport details and calls one service."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from catalog_api.services import browse, crawl, curation, extraction, jobs, schedules, sources
from catalog_api.services.context import ServiceContext
from catalog_api.rest.models import (
    ChangeOut,
    ChangePage,
    ColumnOut,
    ConnectionTestOut,
    EntityOut,
    ExtractionOut,
    JobOut,
    SearchHitOut,
    SourceOut,
    TableOut,
)

router = APIRouter(prefix="/api/v1")


def context(request: Request) -> ServiceContext:
    return request.app.state.ctx


def path_urn(request: Request, urn: str) -> str:
    """The URN path segment decoded exactly once.

    A URN never holds a raw '/', so it is the fifth segment of the raw path (`/api/v1/<things>/<urn>/...`).
    Reading it from the raw path keeps escapes such as `%25` intact whatever the server did to `path`.
    """
    raw = request.scope.get("raw_path")
    if raw:
        segments = raw.decode("latin-1").split("?", 1)[0].split("/")
        if len(segments) > 4:
            return unquote(segments[4], errors="strict")
    return urn


class DescriptionIn(BaseModel):
    """A curated description; null or blank clears it."""

    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(default=None)


class ScheduleIn(BaseModel):
    """A five-field cron expression (null clears the schedule) evaluated in an IANA time zone."""

    model_config = ConfigDict(extra="forbid")
    cron: str | None = Field(default=None, max_length=255, examples=["0 2 * * *"])
    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/Berlin"])


class ExtractIn(BaseModel):
    """Which tables to extract; none means every live table of the source."""

    model_config = ConfigDict(extra="forbid")
    tables: list[str] = Field(default_factory=list, max_length=10_000)


class ExtractionPlanIn(BaseModel):
    """A plan override: `timestamp` or `key` with its column, `full`, or null strategy for the suggestion."""

    model_config = ConfigDict(extra="forbid")
    strategy: str | None = None
    column: str | None = None


class TagsIn(BaseModel):
    """The full new set of tags of an entity."""

    model_config = ConfigDict(extra="forbid")
    tags: list[str]


@router.get("/sources", response_model=list[SourceOut], tags=["sources"])
def list_sources(ctx: ServiceContext = Depends(context)) -> list[SourceOut]:
    return [SourceOut.of(s) for s in sources.list_sources(ctx)]


@router.post("/sources", response_model=SourceOut, status_code=status.HTTP_201_CREATED, tags=["sources"])
def register_source(body: sources.SourceRegistration, ctx: ServiceContext = Depends(context)) -> SourceOut:
    return SourceOut.of(sources.register_source(ctx, body))


@router.get("/sources/{source_id}", response_model=SourceOut, tags=["sources"])
def get_source(source_id: int, ctx: ServiceContext = Depends(context)) -> SourceOut:
    return SourceOut.of(sources.get_source(ctx, source_id))


@router.patch("/sources/{source_id}", response_model=SourceOut, tags=["sources"])
def update_source(source_id: int, body: sources.SourceUpdate, ctx: ServiceContext = Depends(context)) -> SourceOut:
    return SourceOut.of(sources.update_source(ctx, source_id, body))


@router.delete("/sources/{source_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["sources"])
def delete_source(source_id: int, ctx: ServiceContext = Depends(context)) -> Response:
    sources.delete_source(ctx, source_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/sources/{source_id}/test", response_model=ConnectionTestOut, tags=["sources"])
def test_source(source_id: int, ctx: ServiceContext = Depends(context)) -> ConnectionTestOut:
    return ConnectionTestOut.of(sources.test_source(ctx, source_id))


@router.post("/sources/{source_id}/crawl", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED,
             tags=["sources"])
def crawl_source(source_id: int, ctx: ServiceContext = Depends(context)) -> JobOut:
    """Queues a crawl (or returns the one already queued or running) and answers with its job at once."""
    return JobOut.of(crawl.request_crawl(ctx, source_id))


@router.post("/sources/{source_id}/extract", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED,
             tags=["sources"])
def extract_source(source_id: int, body: ExtractIn | None = None, ctx: ServiceContext = Depends(context)) -> JobOut:
    """Queues an incremental extraction of the source's tables into the lake (or returns the active one)."""
    return JobOut.of(extraction.request_extract(ctx, source_id, body.tables if body else None))


@router.put("/sources/{source_id}/schedule", response_model=SourceOut, tags=["sources"])
def set_schedule(source_id: int, body: ScheduleIn, ctx: ServiceContext = Depends(context)) -> SourceOut:
    """Sets or clears the crawl schedule; setting it also resumes a schedule the circuit breaker paused."""
    return SourceOut.of(schedules.set_schedule(ctx, source_id, body.cron, body.timezone))


@router.post("/sources/{source_id}/schedule/resume", response_model=SourceOut, tags=["sources"])
def resume_schedule(source_id: int, ctx: ServiceContext = Depends(context)) -> SourceOut:
    """Resumes a schedule paused after consecutive failures, from the next slot after now."""
    return SourceOut.of(schedules.resume_schedule(ctx, source_id))


@router.get("/jobs", response_model=list[JobOut], tags=["jobs"])
def list_jobs(source_id: int | None = None, status: str | None = None, limit: int = 50,
              ctx: ServiceContext = Depends(context)) -> list[JobOut]:
    """Recent jobs, newest first."""
    return [JobOut.of(j) for j in jobs.list_jobs(ctx, source_id=source_id, status=status, limit=limit)]


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["jobs"])
def job(job_id: str, ctx: ServiceContext = Depends(context)) -> JobOut:
    return JobOut.of(jobs.get_job(ctx, job_id))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, tags=["jobs"])
def cancel_job(job_id: str, ctx: ServiceContext = Depends(context)) -> JobOut:
    """Cancels a queued job at once; a running one stops at its next progress report, changing nothing."""
    return JobOut.of(jobs.cancel_job(ctx, job_id))


@router.get("/tables/{urn:path}/changes", response_model=ChangePage, tags=["tables"])
def table_changes(
    urn: str = Depends(path_urn),
    since: datetime | None = None,
    until: datetime | None = None,
    first: int = Query(100, ge=1, le=1000),
    after: str | None = None,
    ctx: ServiceContext = Depends(context),
) -> ChangePage:
    """The table's change history (its columns' changes included), newest first, within [since, until)."""
    with ctx.db.session() as session:
        table = browse.entity_by_urn(session, urn, expected=browse.EntityType.DATASET)
        page = browse.change_history(session, table, since=since, until=until, first=first, after=after)
        return ChangePage(
            items=[ChangeOut.of(e) for e in page.items], total=page.total,
            next_cursor=page.cursors[-1] if page.has_next else None,
        )


@router.get("/tables/{urn:path}/extraction", response_model=ExtractionOut, tags=["tables"])
def table_extraction(urn: str = Depends(path_urn), ctx: ServiceContext = Depends(context)) -> ExtractionOut:
    """The table's extraction plan (suggested or overridden), watermark, last run and lake path."""
    return ExtractionOut.model_validate(extraction.get_extraction(ctx, urn), from_attributes=True)


@router.put("/tables/{urn:path}/extraction", response_model=ExtractionOut, tags=["tables"])
def set_table_extraction(body: ExtractionPlanIn, urn: str = Depends(path_urn),
                         ctx: ServiceContext = Depends(context)) -> ExtractionOut:
    """Overrides the extraction plan; `{"strategy": null}` returns to the suggested one."""
    view = extraction.set_extraction_plan(ctx, urn, body.strategy, body.column)
    return ExtractionOut.model_validate(view, from_attributes=True)


@router.get("/tables/{urn:path}", response_model=TableOut, tags=["tables"])
def table(urn: str = Depends(path_urn), include_deleted_columns: bool = False, ctx: ServiceContext = Depends(context)) -> TableOut:
    """A table by URN with its columns. URL-encode the URN as a path segment (e.g. `%` as `%25`)."""
    with ctx.db.session() as session:
        d = browse.table_detail(session, urn, include_deleted_columns=include_deleted_columns)
        encoded = quote(d.table.urn, safe="")
        return TableOut.of(
            d.table, d.schema, d.source, [ColumnOut.of(c, d.tags[c.urn]) for c in d.columns], d.tags[d.table.urn],
            links={"self": f"/api/v1/tables/{encoded}", "changes": f"/api/v1/tables/{encoded}/changes",
                   "extraction": f"/api/v1/tables/{encoded}/extraction", "lineage": f"/api/v1/lineage?urn={encoded}",
                   "lineage_viewer": f"/ui/lineage?urn={encoded}"},
        )


@router.put("/entities/{urn:path}/description", response_model=EntityOut, tags=["curation"])
def set_description(body: DescriptionIn, urn: str = Depends(path_urn), ctx: ServiceContext = Depends(context)) -> EntityOut:
    entity = curation.set_description(ctx, urn, body.description)
    with ctx.db.session() as session:
        tags = browse.tags_of(session, [entity.urn])[entity.urn]
    return EntityOut(urn=entity.urn, name=entity.name, description=entity.description, tags=tags)


@router.put("/entities/{urn:path}/tags", response_model=EntityOut, tags=["curation"])
def set_tags(body: TagsIn, urn: str = Depends(path_urn), ctx: ServiceContext = Depends(context)) -> EntityOut:
    tags = curation.set_tags(ctx, urn, body.tags)
    with ctx.db.session() as session:
        entity = browse.entity_by_urn(session, urn)
    return EntityOut(urn=entity.urn, name=entity.name, description=entity.description, tags=tags)


@router.get("/search", response_model=list[SearchHitOut], tags=["search"])
def search(q: str, limit: int = 50, ctx: ServiceContext = Depends(context)) -> list[SearchHitOut]:
    with ctx.db.session() as session:
        return [SearchHitOut.model_validate(h, from_attributes=True) for h in browse.search(session, q, limit)]
