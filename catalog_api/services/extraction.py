"""Incremental extraction: pull each table's new rows into the lake as Parquet, one job per source.

The watermark of a table is saved only after the chunk it covers is durable (the `on_chunk_durable` callback of
`crawlers.extract.extract_increment`), so a crash at any point loses and duplicates nothing: the next run starts
from the last saved watermark and the library repairs the crashed run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.models import Column, ExtractionState, Schema, Table, utcnow
from catalog_api.errors import Conflict, InvalidInput
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.context import ServiceContext
from catalog_api.services.crawl import table_snapshot
from catalog_api.services.jobs.running import JobControl, job_source
from catalog_api.services.lineage.edges import record_extraction
from catalog_api.services.sources import build_connector, enqueue_source_job
from catalog_api.services.views import JobView
from catalog_api.settings import Settings
from catalog_api.urns import EntityType
from crawlers.extract import extract_increment
from crawlers.increment import (
    IncrementPlan,
    IncrementRequest,
    IncrementStrategy,
    decode_watermark,
    encode_watermark,
    suggest_plan,
)
from crawlers.lake import Lake

EXTRACT = "extract"


@dataclass(frozen=True, slots=True)
class ExtractionView:
    """A table's extraction as the API shows it: the plan in force, whether it was chosen by a user, the state."""

    urn: str
    strategy: str
    column: str | None
    overridden: bool
    watermark: Any
    lake_path: str | None
    last_run_id: str | None
    last_job_id: str | None
    last_extracted_at: datetime | None
    rows_extracted: int
    bytes_extracted: int


def lake(settings: Settings) -> Lake:
    """The Parquet lake the settings name (a local folder by default, `abfs://` in production)."""
    return Lake(settings.effective_lake_url, **settings.lake_storage_options)


def live_columns(session: Session, table: Table) -> list[Column]:
    return list(session.scalars(select(Column).where(Column.table_id == table.id, Column.deleted_at.is_(None))))


def _state_of(session: Session, table: Table) -> ExtractionState:
    """The table's extraction state, created (and flushed, so it has its defaults) on the table's first plan or run."""
    state = session.scalars(select(ExtractionState).where(ExtractionState.table_id == table.id)).first()
    if state is None:
        state = ExtractionState(table_id=table.id)
        session.add(state)
        session.flush()
    return state


def _plan(session: Session, table: Table, schema: str, state: ExtractionState | None) -> tuple[IncrementPlan, bool]:
    if state is not None and state.strategy_override:
        return IncrementPlan(IncrementStrategy(state.strategy_override), state.column_override), True
    return suggest_plan(table_snapshot(schema, table, live_columns(session, table))), False


def plan_and_watermark(session: Session, table: Table, schema: str) -> tuple[IncrementPlan, Any]:
    """The plan in force for a table and its persisted watermark (None when none, or saved under another plan)."""
    state = session.scalars(select(ExtractionState).where(ExtractionState.table_id == table.id)).first()
    plan, _ = _plan(session, table, schema, state)
    same_plan = state is not None and (state.plan_strategy, state.plan_column) == (plan.strategy.value, plan.column)
    return plan, decode_watermark(state.watermark) if same_plan and state.watermark is not None else None


def _view(session: Session, table: Table) -> ExtractionView:
    schema = session.get(Schema, table.schema_id)
    state = session.scalars(select(ExtractionState).where(ExtractionState.table_id == table.id)).first()
    plan, overridden = _plan(session, table, schema.name, state)
    return ExtractionView(
        urn=table.urn, strategy=plan.strategy.value, column=plan.column, overridden=overridden,
        watermark=decode_watermark(state.watermark) if state and state.watermark is not None else None,
        lake_path=state.lake_path if state else None, last_run_id=state.last_run_id if state else None,
        last_job_id=state.last_job_id if state else None,
        last_extracted_at=state.last_extracted_at if state else None,
        rows_extracted=state.rows_extracted if state else 0, bytes_extracted=state.bytes_extracted if state else 0,
    )


def get_extraction(session: Session, urn: str) -> ExtractionView:
    return _view(session, entity_by_urn(session, urn, expected=EntityType.DATASET))


def set_extraction_plan(ctx: ServiceContext, urn: str, strategy: str | None, column: str | None) -> ExtractionView:
    """Overrides the suggested plan of a table (`strategy=None` goes back to the suggestion)."""
    if strategy is not None:
        try:
            strategy = IncrementStrategy(strategy).value
        except ValueError:
            choices = ", ".join(s.value for s in IncrementStrategy)
            raise InvalidInput("strategy", f"one of {choices}, or null for the suggested plan") from None
    with ctx.db.session() as session:
        table = entity_by_urn(session, urn, expected=EntityType.DATASET)
        if strategy in (None, IncrementStrategy.FULL.value):
            if column is not None:
                raise InvalidInput("column", "a full snapshot (or the suggested plan) takes no column")
        else:
            names = {c.name for c in live_columns(session, table)}
            if column not in names:
                raise InvalidInput("column", f"a {strategy} plan needs one of the table's columns; "
                                             f"{column!r} is not one of them")
        state = _state_of(session, table)
        state.strategy_override, state.column_override = strategy, column
        session.flush()
        return _view(session, table)


def request_extract(ctx: ServiceContext, source_ref: int | str, table_urns: list[str] | None = None) -> JobView:
    """Queues an extraction of the source's tables (or of the given ones), or returns the one already active; a 409
    while a backfill of the source runs (it holds the source's extract job)."""
    job = enqueue_source_job(ctx, EXTRACT, source_ref, table_urns)
    if (job.params or {}).get("backfill") is not None:
        raise Conflict(f"a backfill of source {source_ref!r} is queued or running (job {job.id}); extract once it "
                       "has ended", field="id")
    return job


def _save_watermark(ctx: ServiceContext, table_id: int, plan: IncrementPlan, watermark: Any) -> None:
    with ctx.db.session() as session:
        state = session.scalars(select(ExtractionState).where(ExtractionState.table_id == table_id)).one()
        state.watermark = encode_watermark(watermark)
        state.plan_strategy, state.plan_column = plan.strategy.value, plan.column


def run_extract_job(ctx: ServiceContext, job: JobControl) -> dict[str, Any]:
    with ctx.db.session() as session:
        record, source = job_source(session, job.job_id)
        wanted = set((record.params or {}).get("tables") or [])
        connector = build_connector(ctx, session, source)
        rows = session.execute(
            select(Table, Schema.name).join(Schema, Schema.id == Table.schema_id)
            .where(Table.source_id == source.id, Table.deleted_at.is_(None)).order_by(Schema.name, Table.name)
        ).all()
        work = []
        for table, schema in rows:
            if wanted and table.urn not in wanted:
                continue
            state = _state_of(session, table)
            plan, _ = _plan(session, table, schema, state)
            same_plan = (state.plan_strategy, state.plan_column) == (plan.strategy.value, plan.column)
            watermark = decode_watermark(state.watermark) if same_plan and state.watermark is not None else None
            snapshot = table_snapshot(schema, table, live_columns(session, table))
            work.append((table.id, table.urn, IncrementRequest(snapshot, plan, watermark)))
        source_name = source.name
    target = lake(ctx.settings)
    results = []
    for done, (table_id, urn, request) in enumerate(work):
        job.progress(done, len(work), f"extracting {request.table.schema}.{request.table.name}")
        outcome = extract_increment(
            connector, request, target, source_name, chunk_rows=ctx.settings.extract_chunk_rows,
            on_chunk_durable=lambda _chunk, mark, tid=table_id, plan=request.plan: _save_watermark(
                ctx, tid, plan, mark),
        )
        _save_watermark(ctx, table_id, request.plan, outcome.watermark_to)
        with ctx.db.session() as session:
            state = session.scalars(select(ExtractionState).where(ExtractionState.table_id == table_id)).one()
            state.lake_path = target.dataset_path(source_name, request.table.schema, request.table.name)
            state.last_run_id, state.last_job_id, state.last_extracted_at = outcome.run_id, job.job_id, utcnow()
            record_extraction(session, source_name, request.table.schema, request.table.name,
                              [c.name for c in request.table.columns], job_id=job.job_id, run_id=outcome.run_id,
                              events=ctx.settings.lineage_events_enabled)
            if not outcome.reused:
                state.rows_extracted += outcome.rows
                state.bytes_extracted += outcome.bytes
        results.append({
            "urn": urn, "strategy": request.plan.strategy.value, "column": request.plan.column,
            "rows": 0 if outcome.reused else outcome.rows, "bytes": 0 if outcome.reused else outcome.bytes,
            "watermark_from": encode_watermark(outcome.watermark_from),
            "watermark_to": encode_watermark(outcome.watermark_to), "run_id": outcome.run_id,
            "reused": outcome.reused,
        })
    job.progress(len(work), len(work), "done")
    return {
        "tables": results,
        "rows": sum(r["rows"] for r in results),
        "bytes": sum(r["bytes"] for r in results),
        "lake": target.url,
    }
