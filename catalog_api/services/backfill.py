"""Backfills: re-extract one table's rows whose plan-column value lies in `[from, to)` — or all its rows — into the
lake, each row once (`crawlers.backfill`), as the source's `extract` job.

A backfill runs as the source's extract job (params `backfill`), so it never runs beside an extraction of the same
source: the lake's crash repair assumes one writer per table. It reads again only what extraction has read: the
range stops at the table's watermark, which a backfill never moves.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.models import ExtractionState, Schema, Table
from catalog_api.errors import Conflict, InvalidInput
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.context import ServiceContext
from catalog_api.services.crawl import table_snapshot
from catalog_api.services.extraction import EXTRACT, lake, live_columns, plan_and_watermark, run_extract_job
from catalog_api.services.jobs.records import add_job
from catalog_api.services.jobs.running import JobControl, job_source
from catalog_api.services.lineage.edges import record_extraction
from catalog_api.services.source_lookup import source_row
from catalog_api.services.sources import build_connector, check_source_tables
from catalog_api.services.views import JobView, job_view
from catalog_api.urns import EntityType
from crawlers.backfill import backfill
from crawlers.increment import (
    IncrementPlan,
    IncrementRequest,
    IncrementStrategy,
    ValueRange,
    decode_watermark,
    encode_watermark,
)

MAX_BOUND_LENGTH = 64
"""The longest `from`/`to` accepted, as text."""

Bound = str | int | None


def request_backfill(ctx: ServiceContext, source_ref: int | str, table_urn: str, low: Bound = None,
                     high: Bound = None) -> JobView:
    """Queues a backfill of one table of the source: its rows with `low <= value < high` in the plan's column (either
    bound may be left out), or all its rows when neither is given. Refused (field named) when the range does not fit
    the table; a 409 when another extraction of the source is queued or running."""
    with ctx.db.session() as session:
        source = source_row(session, source_ref)
        check_source_tables(session, source, [table_urn])
        table = entity_by_urn(session, table_urn, expected=EntityType.DATASET)
        bounds = {"from": encode_watermark(low), "to": encode_watermark(high)}
        _effective_range(session, table, bounds)  # refuses a bad range now rather than in the job
        params = {"tables": [table_urn], "backfill": bounds}
        job, created = add_job(session, ctx, EXTRACT, source.id, params=params)
        if not created and job.params != params:
            raise Conflict(f"an extraction of source {source.name!r} is queued or running (job {job.id}); a backfill "
                           "starts once it has ended", field="table")
        view = job_view(job)
    if created:
        ctx.jobs.submit(view.id, EXTRACT)
    return view


def run_extraction_job(ctx: ServiceContext, job: JobControl) -> dict[str, Any]:
    """The `extract` job: a backfill when its params say so, else the incremental extraction."""
    with ctx.db.session() as session:
        record, _ = job_source(session, job.job_id)
        backfilling = (record.params or {}).get("backfill") is not None
    return run_backfill_job(ctx, job) if backfilling else run_extract_job(ctx, job)


def run_backfill_job(ctx: ServiceContext, job: JobControl) -> dict[str, Any]:
    with ctx.db.session() as session:
        record, source = job_source(session, job.job_id)
        urn = record.params["tables"][0]
        table = entity_by_urn(session, urn, expected=EntityType.DATASET)
        schema = session.get(Schema, table.schema_id).name
        plan, watermark, covers = _effective_range(session, table, record.params["backfill"])
        snapshot = table_snapshot(schema, table, live_columns(session, table))
        connector = build_connector(ctx, session, source)
        source_name, estimate, table_id = source.name, table.row_estimate or 0, table.id
    request = IncrementRequest(snapshot, plan, range=covers)
    target = lake(ctx.settings)
    label = f"{schema}.{table.name}"
    job.progress(0, estimate, f"backfilling {label}")
    outcome = backfill(connector, request, target, source_name, watermark=watermark, salt=job.job_id,
                       chunk_rows=ctx.settings.extract_chunk_rows,
                       on_chunk=lambda _chunk, rows: job.progress(rows, max(rows, estimate),
                                                                  f"backfilling {label}: {rows} rows"))
    with ctx.db.session() as session:
        state = session.scalars(select(ExtractionState).where(ExtractionState.table_id == table_id)).first()
        if state is None:
            state = ExtractionState(table_id=table_id)
            session.add(state)
        state.lake_path = state.lake_path or target.dataset_path(source_name, schema, table.name)
        record_extraction(session, source_name, schema, table.name, [c.name for c in snapshot.columns],
                          job_id=job.job_id, run_id=outcome.run_id, events=ctx.settings.lineage_events_enabled)
    job.progress(outcome.rows, outcome.rows, "done")
    summary = {
        "from": encode_watermark(covers.low if covers else None),
        "to": encode_watermark(covers.high if covers else None),
        "to_inclusive": bool(covers and covers.high_inclusive), "superseded_chunks": outcome.superseded,
        "kept_rows": outcome.kept_rows, "resumed_chunks": outcome.resumed_chunks,
    }
    return {
        "tables": [{"urn": urn, "strategy": plan.strategy.value, "column": plan.column,
                    "rows": 0 if outcome.reused else outcome.rows, "bytes": 0 if outcome.reused else outcome.bytes,
                    "watermark_to": summary["to"], "run_id": outcome.run_id, "reused": outcome.reused}],
        "rows": 0 if outcome.reused else outcome.rows, "bytes": 0 if outcome.reused else outcome.bytes,
        "lake": target.url, "backfill": summary,
    }


def _effective_range(session: Session, table: Table,
                     bounds: dict[str, Any]) -> tuple[IncrementPlan, Any, ValueRange | None]:
    """The table's plan, its watermark and the range a backfill with `bounds` reads: `[from, to)` stopped at the
    watermark (inclusive), or every row up to it, NULLs included; None for a FULL plan (every row)."""
    schema = session.get(Schema, table.schema_id).name
    plan, watermark = plan_and_watermark(session, table, schema)
    low, high = decode_watermark(bounds.get("from")), decode_watermark(bounds.get("to"))
    given = "from" if low is not None else "to" if high is not None else None
    if plan.strategy is IncrementStrategy.FULL:
        if given:
            raise InvalidInput(given, f"{table.urn} has no incremental column (its plan is a full snapshot): "
                                      "backfill all of it, without from and to")
        return plan, watermark, None
    if watermark is None:
        raise Conflict(f"{table.urn} has not been extracted with its {plan.strategy.value} plan on {plan.column!r} "
                       "yet: extract it first; a backfill reads again what extraction has read", field="table")
    low, high = _typed("from", low, watermark, plan.column), _typed("to", high, watermark, plan.column)
    if low is not None and high is not None and low >= high:
        raise InvalidInput("from", f"must be before to ({bounds['to']!r}): the range is [from, to)")
    if low is not None and low > watermark:
        raise InvalidInput("from", f"is after the table's watermark ({watermark!r}): rows after it are the next "
                                   "extraction's, not a backfill's")
    if given is None:
        return plan, watermark, ValueRange(high=watermark, high_inclusive=True, nulls=True)
    if high is None or high > watermark:
        return plan, watermark, ValueRange(low=low, high=watermark, high_inclusive=True)
    return plan, watermark, ValueRange(low=low, high=high)


def _typed(field: str, value: Any, watermark: Any, column: str | None) -> Any:
    """`value` (text or a whole number) as a value of the plan column, whose type the watermark's value tells."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) > MAX_BOUND_LENGTH:
        raise InvalidInput(field, f"at most {MAX_BOUND_LENGTH} characters")
    kind = type(watermark)
    try:
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ValueError
            return int(value)
        if not isinstance(value, str):
            raise ValueError
        if kind is datetime:
            moment = datetime.fromisoformat(value)
            if watermark.tzinfo is not None and moment.tzinfo is None:
                return moment.replace(tzinfo=UTC)  # a time without offset is UTC, as the lake stores it
            if watermark.tzinfo is None and moment.tzinfo is not None:
                return moment.astimezone(UTC).replace(tzinfo=None)
            return moment
        if kind is date:
            return date.fromisoformat(value)
        if kind is Decimal:
            return Decimal(value)
        if kind is float:
            return float(value)
        return kind(value)
    except (ValueError, TypeError, InvalidOperation, OverflowError):
        expected = {int: "a whole number", datetime: "an ISO 8601 timestamp such as 2024-01-31T00:00:00",
                    date: "an ISO 8601 date such as 2024-01-31", Decimal: "a decimal number"}.get(kind, kind.__name__)
        raise InvalidInput(field, f"{value!r} is not {expected}, the type of the plan column {column!r}") from None
