"""The job events, each written to the outbox in the transaction that records what it tells: `catalog.job.started`
when an attempt claims the job, `catalog.job.progress` with a progress report (throttled, see `ProgressThrottle`),
and `catalog.job.succeeded`, `catalog.job.failed` or `catalog.job.cancelled` when the job ends. Only a job of a
source publishes them (the source's URN is their subject)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from catalog_api.db.models import DataSource, Job
from catalog_api.security.identity import SYSTEM
from catalog_api.services.events.outbox import record_event, record_events
from catalog_api.services.jobs.status import JobStatus
from events import CatalogEvent
from events.data import JobCancelled, JobFailed, JobProgress, JobStarted, JobSucceeded

CANCELLATION = "cancellation"
"""The key, in a job's `params`, of what its cancellation request noted (`note_cancellation`): a running job ends at
its next progress report, in the attempt's transaction, whose actor is the job's requester, not who cancelled it."""

PROGRESS_EVENT_INTERVAL_S = 1.0
"""After its first, a job attempt publishes at most one progress report in this many seconds (`ProgressThrottle`)."""


def _trigger(job: Job) -> str:
    return "schedule" if job.trigger == "schedule" else "manual"


def _source_urn(session: Session, job: Job) -> str | None:
    source = session.get(DataSource, job.source_id) if job.source_id is not None else None
    return source.urn if source is not None else None


def record_job_started(session: Session, job: Job, *, attempt: int, worker: str, started_at: datetime) -> None:
    """`catalog.job.started`, in the transaction that claims the job for `attempt`. The claim runs before the attempt
    acts for the job's requester, so the event takes its actor, request id and trace context from the job."""
    urn = _source_urn(session, job)
    if urn is None:
        return
    payload = JobStarted(job_id=job.id, kind=job.kind, trigger=_trigger(job), attempt=attempt, worker=worker,
                         started_at=started_at)
    event = CatalogEvent.create(payload, subject=urn, time=started_at, actor=job.actor or SYSTEM.actor)
    provenance = {"requestid": job.request_id, "traceparent": job.traceparent}
    record_events(session, [event.model_copy(update={k: v for k, v in provenance.items() if v is not None})])


def record_job_progress(session: Session, job: Job) -> None:
    """`catalog.job.progress` with the figures of the job's row, in the transaction that records them."""
    urn = _source_urn(session, job)
    if urn is not None:
        record_event(session, JobProgress(job_id=job.id, kind=job.kind, done=job.progress_done or 0,
                                          total=job.progress_total or 0, message=job.progress_message or "",
                                          status="running"), urn, time=job.heartbeat_at)


def note_cancellation(job: Job, actor: str) -> None:
    """Notes on the job, in the transaction that asks for its cancellation, who asked and the job's state then: its
    `catalog.job.cancelled` event tells them, whenever the job ends."""
    noted = {"by": actor, "status": job.status, "done": job.progress_done or 0, "total": job.progress_total or 0}
    job.params = {**(job.params or {}), CANCELLATION: noted}


def record_job_outcome(session: Session, job: Job) -> None:
    """`catalog.job.succeeded`, `catalog.job.failed` or `catalog.job.cancelled`, in the transaction that finishes the
    job. A job cancelled without a request (its source or its record was deleted) publishes nothing."""
    urn = _source_urn(session, job)
    noted = (job.params or {}).get(CANCELLATION)
    if urn is None or (job.status == JobStatus.CANCELLED and noted is None):
        return
    common = {
        "job_id": job.id, "kind": job.kind, "trigger": _trigger(job), "attempts": max(job.attempts, 1),
        "started_at": job.started_at, "finished_at": job.finished_at,
        "duration_s": round((job.finished_at - job.started_at).total_seconds(), 3) if job.started_at else None,
    }
    if job.status == JobStatus.SUCCEEDED:
        payload = JobSucceeded(**common, result=job.result)
    elif job.status == JobStatus.CANCELLED:
        payload = JobCancelled(**{**common, "attempts": job.attempts}, cancelled_by=noted["by"],
                               status_at_cancel=noted["status"], done_at_cancel=noted["done"],
                               total_at_cancel=noted["total"])
    else:
        payload = JobFailed(**common, error_code=job.error_code or "failed", error_message=job.error_message or "")
    record_event(session, payload, urn, time=job.finished_at)


@dataclass
class ProgressThrottle:
    """Which of an attempt's progress reports become events, so a crawl reporting each of thousands of tables cannot
    flood Event Hub and webhooks: the first report, then at most one each `interval_s`. A report held back is only on
    the job's row; when the attempt ends the job, the last one, if held back, is published just before the outcome
    (`publish_held`), so the final figures are always among the events."""

    interval_s: float = PROGRESS_EVENT_INTERVAL_S
    held: bool = False
    """Whether a report since the last published one was held back."""
    _last_at: float | None = None

    def due(self) -> bool:
        """Whether the report being recorded now is published; counts it as published when it is."""
        now = time.monotonic()
        if self._last_at is not None and now - self._last_at < self.interval_s:
            self.held = True
            return False
        self._last_at, self.held = now, False
        return True

    def publish_held(self, session: Session, job: Job) -> None:
        """In the transaction that ends the job: the last report, when it was held back."""
        if self.held:
            record_job_progress(session, job)
            self.held = False
