"""Gauges of what the catalog holds, read when /metrics is scraped: the outbox backlog and the age of its oldest
unsent event, queued and running jobs, and the broker's queue depths.

They are computed by a custom collector instead of being kept up to date where the state changes: the relay, the
job runners and other processes (workers, other API replicas) all change it, and only the database and the broker
know the totals. Each scrape runs a few indexed queries on its own small pool with a short statement timeout
(`metrics_query_timeout_ms`), so a slow database costs a scrape a bounded wait and never takes a request's
connection; a family that cannot be read is left out of that scrape (and `catalog_metrics_scrape_errors` says so).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from catalog_api.db.models import Job, OutboxEvent, utcnow
from catalog_api.db.session import Database

if TYPE_CHECKING:
    from catalog_api.services.context import ServiceContext

log = logging.getLogger(__name__)

UNSENT_STATUSES = ("pending", "dead")
ACTIVE_JOB_STATUSES = ("queued", "running")


class CatalogStateCollector(Collector):
    """One per app (`catalog_api.app`), in a registry of its own: the gauges describe that app's catalog."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._db: Database | None = None
        self._db_lock = threading.Lock()
        self._errors: dict[str, int] = {"database": 0, "broker": 0}

    def _database(self) -> Database:
        with self._db_lock:
            if self._db is None:
                self._db = Database(self._ctx.db.url, self._ctx.settings.metrics_query_timeout_ms)
            return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()

    def collect(self) -> Iterator:
        try:
            yield from self._catalog_state()
        except Exception as exc:  # the database is down or slow: the other families are still worth a scrape
            log.warning("metrics: catalog state unreadable: %s", type(exc).__name__)
            self._errors["database"] += 1
        try:
            yield from self._broker_state()
        except Exception as exc:
            log.warning("metrics: broker queue depths unreadable: %s", type(exc).__name__)
            self._errors["broker"] += 1
        errors = CounterMetricFamily("catalog_metrics_scrape_errors", "Scrapes that could not read a state family.",
                                     labels=["part"])
        for part, count in self._errors.items():
            errors.add_metric([part], count)
        yield errors

    def _catalog_state(self) -> Iterator[GaugeMetricFamily]:
        with self._database().session() as session:
            counts = dict(session.execute(
                select(OutboxEvent.status, func.count()).where(OutboxEvent.status.in_(UNSENT_STATUSES))
                .group_by(OutboxEvent.status)).all())
            # The (status, id) index finds the oldest pending row without scanning the backlog.
            oldest = session.scalar(select(OutboxEvent.created_at).where(OutboxEvent.status == "pending")
                                    .order_by(OutboxEvent.id).limit(1))
            jobs = session.execute(
                select(Job.kind, Job.status, func.count()).where(Job.status.in_(ACTIVE_JOB_STATUSES))
                .group_by(Job.kind, Job.status)).all()
        backlog = GaugeMetricFamily("catalog_outbox_events", "Outbox events not sent: pending (still retried) or "
                                    "dead (parked after their last attempt).", labels=["status"])
        for status in UNSENT_STATUSES:
            backlog.add_metric([status], counts.get(status, 0))
        yield backlog
        age = 0.0
        if oldest is not None:
            created = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            age = max((utcnow() - created).total_seconds(), 0.0)
        yield GaugeMetricFamily("catalog_outbox_oldest_pending_age_seconds",
                                "Age of the oldest pending outbox event (0 when none is pending).", value=age)
        active = GaugeMetricFamily("catalog_jobs", "Jobs waiting or running, by kind and status.",
                                   labels=["kind", "status"])
        seen = {(kind, status): count for kind, status, count in jobs}
        for kind in sorted({*self._ctx.handlers, *(k for k, _ in seen)}):
            for status in ACTIVE_JOB_STATUSES:
                active.add_metric([kind, status], seen.get((kind, status), 0))
        yield active

    def _broker_state(self) -> Iterator[GaugeMetricFamily]:
        depths = getattr(self._ctx.jobs, "queue_depths", None)
        if depths is None:  # in-process jobs: `catalog_jobs{status="queued"}` is the queue
            return
        depth = GaugeMetricFamily("catalog_broker_queue_messages", "Messages in the job broker's queues, by queue "
                                  "and state (ready to run, delayed for a retry).", labels=["queue", "state"])
        for (queue, state), count in sorted(depths().items()):
            depth.add_metric([queue, state], count)
        yield depth
