"""Retention: operational rows — published events, finished jobs, webhook deliveries — are pruned once older than
their setting (`retention_*_days`; 0 or null keeps them forever). The change history, lineage and profiles are the
product and have no retention here.

A prune deletes each kind in batches of `retention_batch_size` rows, oldest first (the ids of a batch, then a
`DELETE ... WHERE id IN (...)`), and commits every batch in its own short transaction: a writer (the relay, a job)
waits for one batch at most, and a prune stopped halfway keeps what it did. Rows still in flight are never deleted:
pending and dead events (a replay sends a dead one again), queued and running jobs, and the deliveries of events
that are pending or dead (their log tells why they failed). No row of another table points at these rows by
foreign key; a delivery names its event by id and type and stays readable once the event itself has been pruned.

The scheduler runs a round every `retention_interval_s` (`RetentionRounds`); `catalog db prune` runs one by hand.
A scheduled round also removes report samples staged by profile jobs that no report job will render
(`profiling.report_jobs.remove_orphaned_samples`).
Rounds on several scheduler instances may overlap: on PostgreSQL they lock disjoint batches (SKIP LOCKED), and
every count is of rows actually deleted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, func, select, text
from sqlalchemy.orm import InstrumentedAttribute

from catalog_api.db.models import Job, OutboxEvent, WebhookDeliveryRow, utcnow
from catalog_api.observability.metrics import pruned_rows, record_pruned
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.outbox import OutboxStatus
from catalog_api.services.jobs.status import JobStatus

log = logging.getLogger(__name__)

PAUSE_BETWEEN_BATCHES_S = 0.01
_never = threading.Event()
_FINISHED_JOBS = tuple(status.value for status in JobStatus if status.finished)
_EVENTS_IN_FLIGHT = (OutboxStatus.PENDING.value, OutboxStatus.DEAD.value)


@dataclass(frozen=True, slots=True)
class RetentionKind:
    """One kind of operational row: its table, the setting that keeps it, and which of its rows may go."""

    name: str
    setting: str
    model: type
    age: InstrumentedAttribute
    """The time a row's age counts from; indexed, so old rows are found without reading the young ones."""
    final: ColumnElement[bool]
    """Rows in a state that never changes again: only these are ever pruned."""

    def prunable(self, cutoff: datetime) -> ColumnElement[bool]:
        return self.final & (self.age < cutoff)


_DELIVERY_OF_EVENT_IN_FLIGHT = exists().where(OutboxEvent.event_id == WebhookDeliveryRow.event_id,
                                              OutboxEvent.status.in_(_EVENTS_IN_FLIGHT))


KINDS: tuple[RetentionKind, ...] = (
    RetentionKind("sent_events", "retention_sent_events_days", OutboxEvent, OutboxEvent.sent_at,
                  OutboxEvent.status == OutboxStatus.SENT.value),
    RetentionKind("finished_jobs", "retention_finished_jobs_days", Job, Job.finished_at,
                  Job.status.in_(_FINISHED_JOBS)),
    RetentionKind("webhook_deliveries", "retention_webhook_deliveries_days", WebhookDeliveryRow,
                  WebhookDeliveryRow.started_at, ~_DELIVERY_OF_EVENT_IN_FLIGHT),
)


@dataclass(frozen=True, slots=True)
class KindPruned:
    """What a prune did to one kind (or, in a dry run, would do)."""

    kind: str
    keep_days: float | None
    """None: kept forever (the kind was not pruned)."""
    cutoff: datetime | None
    rows: int
    batches: int


def pruned_rows_total() -> dict[str, int]:
    """Rows pruned by this process since it started, per kind: what `catalog_retention_pruned_rows_total` shows."""
    return {kind.name: pruned_rows(kind.name) for kind in KINDS}


def prune(ctx: ServiceContext, *, dry_run: bool = False, now: datetime | None = None,
          stop: threading.Event | None = None, after_batch: Callable[[str, int], None] | None = None,
          ) -> tuple[KindPruned, ...]:
    """Deletes every operational row older than its kind's setting and in a final state; returns counts per kind.

    `dry_run` counts what would go and deletes nothing. `stop`, once set, ends the round after the current batch.
    `after_batch(kind, rows)` is called after each committed batch (progress, or observing that other writers get
    their turn between batches).
    """
    now = now or utcnow()
    size = ctx.settings.retention_batch_size
    results = []
    for kind in KINDS:
        days = getattr(ctx.settings, kind.setting) or None
        if days is None:
            results.append(KindPruned(kind.name, None, None, 0, 0))
            continue
        cutoff = now - timedelta(days=days)
        condition = kind.prunable(cutoff)
        if dry_run:
            with ctx.db.session() as session:
                rows = session.scalar(select(func.count()).select_from(kind.model).where(condition)) or 0
            results.append(KindPruned(kind.name, days, cutoff, rows, 0))
            continue
        rows = batches = 0
        while not (stop is not None and stop.is_set()):
            with ctx.db.session() as session:
                if session.bind.dialect.name == "postgresql":
                    # Repeated statements end up on PostgreSQL's generic plan, which cannot see how few rows are
                    # older than this cutoff and may scan whole tables per batch; plan each batch for its values.
                    session.execute(text("set local plan_cache_mode = force_custom_plan"))
                primary_key = kind.model.id
                # SKIP LOCKED (PostgreSQL; SQLite has one writer anyway): overlapping rounds take disjoint rows, so
                # neither waits for the other nor deadlocks with it. The ids are read first, not in a subquery of
                # the DELETE: PostgreSQL may run such a subquery more than once, locking a new batch each time.
                oldest = session.scalars(
                    select(primary_key).where(condition).order_by(kind.age, primary_key).limit(size)
                    .with_for_update(skip_locked=True)
                ).all()
                # The condition again: on SQLite nothing locked the rows between the two statements.
                deleted = session.execute(
                    delete(kind.model).where(primary_key.in_(oldest), condition)
                    .execution_options(synchronize_session=False)
                ).rowcount if oldest else 0
            rows, batches = rows + deleted, batches + 1
            record_pruned(kind.name, deleted)
            if after_batch is not None:
                after_batch(kind.name, deleted)
            if len(oldest) < size:
                break
            # SQLite's busy handler polls: a writer waiting for the lock needs a moment to find it free.
            (stop or _never).wait(PAUSE_BETWEEN_BATCHES_S)
        results.append(KindPruned(kind.name, days, cutoff, rows, batches))
    pruned = ", ".join(f"{r.rows} {r.kind.replace('_', ' ')}" for r in results if r.keep_days is not None)
    if not dry_run:
        log.info("retention pruned %s", pruned or "nothing (every kind is kept forever)")
    return tuple(results)


class RetentionRounds:
    """Runs a prune when `retention_interval_s` has passed since the last one; the scheduler calls `run_if_due`
    on every tick, so the first round runs at the scheduler's first tick."""

    def __init__(self, ctx: ServiceContext, stop: threading.Event | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ctx, self._stop, self._clock = ctx, stop, clock
        self._due_at = clock()

    def run_if_due(self) -> tuple[KindPruned, ...] | None:
        interval = self._ctx.settings.retention_interval_s
        if not interval or self._clock() < self._due_at:
            return None
        self._due_at = self._clock() + interval
        from catalog_api.services.profiling.report_jobs import remove_orphaned_samples

        try:
            remove_orphaned_samples(self._ctx)
        except Exception:  # a remote lake out of reach, say: the database's pruning must not wait for it
            log.exception("sweeping orphaned report samples failed; next in %g s", interval)
        try:
            return prune(self._ctx, stop=self._stop)
        except Exception:  # the database restarting, say: the next round tries again
            log.exception("retention round failed; next in %g s", interval)
            return None
