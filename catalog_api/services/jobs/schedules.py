"""Cron schedules per source, and the scheduler that fires them exactly once however many instances run.

Exactly once rests on two things: each tick takes a database lock (PostgreSQL: a transaction-scoped advisory lock;
SQLite: its single-writer lock, taken by the first write), and a due run is claimed by moving the source's
`next_run_at` with a compare-and-set, so only one tick can ever win a given slot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from catalog_api.db.models import DataSource, Job, utcnow
from catalog_api.services.context import ServiceContext
from catalog_api.services.crawl import CRAWL
from catalog_api.services.events.outbox import record_event
from catalog_api.services.jobs.cron import next_run, validate_schedule
from catalog_api.services.jobs.periodic import Periodic
from catalog_api.services.jobs.records import add_job, resubmit_stranded_jobs
from catalog_api.services.jobs.takeover import take_over_silent_jobs
from catalog_api.services.quality.evaluation import QUALITY, due_freshness_sources
from catalog_api.services.retention import RetentionRounds
from catalog_api.services.sources import source_row
from catalog_api.services.views import SourceView, source_view
from events.data import SourceUpdated

log = logging.getLogger(__name__)

# A constant key for pg_advisory_xact_lock: "catalog scheduler".
SCHEDULER_LOCK_KEY = 0x6361745F73636864


def set_schedule(ctx: ServiceContext, source_ref: int | str, cron: str | None, timezone_name: str = "UTC"
                 ) -> SourceView:
    """Sets (or clears) a source's schedule; setting one also resumes a schedule the circuit breaker paused."""
    cron, timezone_name = validate_schedule(cron, timezone_name)
    with ctx.db.session() as session:
        source = source_row(session, source_ref)
        changed = (source.schedule_cron, source.schedule_timezone) != (cron, timezone_name)
        changed = changed or source.schedule_paused_at is not None
        source.schedule_cron, source.schedule_timezone = cron, timezone_name
        source.next_run_at = next_run(cron, timezone_name, utcnow()) if cron else None
        source.schedule_paused_at = source.schedule_paused_reason = None
        source.consecutive_failures = 0
        if changed:
            _record_schedule_change(session, source)
        session.flush()
        return source_view(source)


def _record_schedule_change(session: Session, source: DataSource) -> None:
    record_event(session, SourceUpdated(name=source.name, kind=source.kind, changed_fields=["schedule"]), source.urn)


def resume_schedule(ctx: ServiceContext, source_ref: int | str) -> SourceView:
    """Resumes a paused schedule from the next slot after now (missed slots are not replayed)."""
    with ctx.db.session() as session:
        source = source_row(session, source_ref)
        was_paused = source.schedule_paused_at is not None
        source.schedule_paused_at = source.schedule_paused_reason = None
        source.consecutive_failures = 0
        if source.schedule_cron:
            source.next_run_at = next_run(source.schedule_cron, source.schedule_timezone, utcnow())
        if was_paused:
            _record_schedule_change(session, source)
        session.flush()
        return source_view(source)


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one scheduler tick did."""

    locked: bool
    fired: tuple[str, ...] = ()
    freshness_jobs: tuple[str, ...] = ()
    """The quality jobs queued for freshness checks that were due."""


def tick(ctx: ServiceContext, now: datetime | None = None) -> TickResult:
    """Fires every due, unpaused schedule once. Slots missed during downtime fire once, not once per slot.

    The claim of a slot and the crawl job it starts are written in one transaction, so a slot can neither fire
    twice nor be claimed without its job.
    """
    now = now or utcnow()
    due: list[tuple[str, str, Job]] = []
    with ctx.db.session() as session:
        if session.bind.dialect.name == "postgresql":
            if not session.scalar(text("select pg_try_advisory_xact_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}):
                return TickResult(locked=False)
        candidates = session.execute(
            select(DataSource.id, DataSource.name, DataSource.next_run_at, DataSource.schedule_cron,
                   DataSource.schedule_timezone)
            .where(DataSource.schedule_cron.is_not(None), DataSource.schedule_paused_at.is_(None),
                   DataSource.next_run_at <= now)
        ).all()
        for source_id, name, slot, cron, zone in candidates:
            claimed = session.execute(
                update(DataSource)
                .where(DataSource.id == source_id, DataSource.next_run_at == slot)
                .values(next_run_at=next_run(cron, zone, now))
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed:
                job, created = add_job(session, ctx, CRAWL, source_id, trigger="schedule")
                log.info("schedule of %s due at %s: crawl job %s", name, slot.isoformat(), job.id)
                if created:
                    due.append((name, job.id, job))
        checks = _due_freshness_checks(ctx, session, now)
    for _name, job_id, job in due + checks:
        ctx.jobs.submit(job_id, job.kind)
    take_over_silent_jobs(ctx)
    resubmit_stranded_jobs(ctx, older_than_s=max(60.0, ctx.settings.job_stale_after_s * 4))
    return TickResult(locked=True, fired=tuple(name for name, _, _ in due),
                      freshness_jobs=tuple(job_id for _, job_id, _ in checks))


def _due_freshness_checks(ctx: ServiceContext, session: Session, now: datetime) -> list[tuple[str, str, Job]]:
    """Quality jobs of only the freshness rules (a max() or a catalog read each) of the sources with a check due;
    a source whose quality job is still queued or running gets no second one."""
    interval = ctx.settings.quality_freshness_interval_s
    if interval <= 0:
        return []
    due = []
    for source_id in due_freshness_sources(session, interval, now):
        job, created = add_job(session, ctx, QUALITY, source_id, trigger="schedule", params={"kinds": ["freshness"]})
        if created:
            log.info("freshness check of source %s due: quality job %s", source_id, job.id)
            due.append((str(source_id), job.id, job))
    return due


class Scheduler(Periodic):
    """Runs `tick` every `interval_s` (default `scheduler_interval_s`) on a daemon thread until stopped, and a
    retention round whenever one is due."""

    def __init__(self, ctx: ServiceContext, interval_s: float | None = None) -> None:
        super().__init__("catalog-scheduler", interval_s or ctx.settings.scheduler_interval_s, self._step)
        self._ctx = ctx
        self._retention = RetentionRounds(ctx, stop=self._stop)

    def _step(self) -> None:
        try:
            tick(self._ctx)
        finally:  # a failed tick (database restarting, say) is logged by Periodic; retention still gets its turn
            self._retention.run_if_due()
