"""Job records: the single truth about a job, wherever it runs. Create, find, list, cancel and wait for jobs.

A job's kind must be one the context's handler registry knows (built by `catalog_api.bootstrap`).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog_api.db.models import ACTIVE_JOB_STATUSES, Job, utcnow
from catalog_api.errors import InvalidInput, NotFound
from catalog_api.observability.context import current_work
from catalog_api.security.identity import SYSTEM, current_identity
from catalog_api.services.context import ServiceContext
from catalog_api.services.jobs.job_events import note_cancellation, record_job_outcome
from catalog_api.services.jobs.status import JobStatus
from catalog_api.services.views import JobView, job_view

log = logging.getLogger(__name__)

MAX_LIST = 500
"""The most jobs one listing answers."""


def get_job(session: Session, job_id: str) -> JobView:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id!r}", field="id")
    return job_view(job)


def jobs_by_id(session: Session, job_ids: list[str]) -> dict[str, JobView]:
    """The jobs among these ids, in one statement (unknown ids are left out)."""
    return {job.id: job_view(job) for job in session.scalars(select(Job).where(Job.id.in_(job_ids)))}


MATCHES_SHOWN = 10


def resolve_job_id(session: Session, ref: str) -> str:
    """The id of the job whose id is `ref` or starts with it, as a person types an id copied in part.

    An ambiguous prefix is refused with the ids it matches, so the user can pick one rather than guess.
    """
    if session.get(Job, ref) is not None:
        return ref
    query = select(Job.id).where(Job.id.startswith(ref, autoescape=True)).order_by(Job.id).limit(MATCHES_SHOWN + 1)
    matches = list(session.scalars(query)) if ref else []
    if not matches:
        raise NotFound(f"no job with id {ref!r}", field="id")
    if len(matches) == 1:
        return matches[0]
    count = f"more than {MATCHES_SHOWN}" if len(matches) > MATCHES_SHOWN else str(len(matches))
    raise InvalidInput("id", f"{ref!r} matches {count} jobs ({', '.join(matches[:MATCHES_SHOWN])}); "
                             "give more of the id")


def short_job_id(session: Session, job_id: str, min_length: int = 8) -> str:
    """The shortest prefix of `job_id`, `min_length` characters or more, that no other job's id starts with: what a
    listing shows so an id fits a terminal and can still be typed back (see `resolve_job_id`)."""
    for length in range(min_length, len(job_id)):
        prefix = job_id[:length]
        if session.scalar(select(func.count()).where(Job.id.startswith(prefix, autoescape=True))) == 1:
            return prefix
    return job_id


def list_jobs(session: Session, *, source_id: int | None = None, status: str | None = None,
              limit: int = 50) -> list[JobView]:
    if status is not None and status not in {s.value for s in JobStatus}:
        raise InvalidInput("status", f"one of {', '.join(s.value for s in JobStatus)}")
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput("limit", f"between 1 and {MAX_LIST}")
    query = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if source_id is not None:
        query = query.where(Job.source_id == source_id)
    if status is not None:
        query = query.where(Job.status == status)
    return [job_view(job) for job in session.scalars(query)]


def add_job(session: Session, ctx: ServiceContext, kind: str, source_id: int | None, *,
            trigger: str = "manual", params: dict[str, Any] | None = None) -> tuple[Job, bool]:
    """Inside the caller's transaction: the kind's queued or running job for the source, or a new one.

    Returns (job, created). The caller submits a created job once its transaction has committed. A new job records
    its requester (the current identity; the catalog itself for a scheduled run), and runs on their behalf, and the
    request id and trace context of the request that asked for it.
    """
    if kind not in ctx.handlers:
        raise InvalidInput("kind", f"unknown job kind {kind!r}; known: {', '.join(sorted(ctx.handlers))}")

    def existing() -> Job | None:
        if source_id is None:
            return None
        return session.scalars(
            select(Job).where(Job.kind == kind, Job.source_id == source_id, Job.status.in_(ACTIVE_JOB_STATUSES))
        ).first()

    found = existing()
    if found is not None:
        return found, False
    actor = SYSTEM.actor if trigger == "schedule" else current_identity().actor
    request = current_work()  # the request asking for it, if any: its id and trace follow the job (`run_job`)
    job = Job(kind=kind, source_id=source_id, status=JobStatus.QUEUED, trigger=trigger, params=params,
              max_attempts=ctx.settings.job_max_attempts, actor=actor,
              request_id=request.request_id if request else None, traceparent=request.traceparent if request else None)
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        # Another request created the source's job between our look and our insert: that one is the job.
        found = existing()
        if found is None:
            raise
        return found, False
    return job, True


def enqueue_job(ctx: ServiceContext, kind: str, source_id: int | None, *, trigger: str = "manual",
                params: dict[str, Any] | None = None) -> JobView:
    """Creates and submits a job, or returns the kind's queued or running job for the source (one at a time)."""
    with ctx.db.session() as session:
        job, created = add_job(session, ctx, kind, source_id, trigger=trigger, params=params)
        view = job_view(job)
    if created:
        ctx.jobs.submit(view.id, kind)
        log.info("%s job %s queued (%s)", kind, view.id, trigger)
    return view


def resubmit_stranded_jobs(ctx: ServiceContext, older_than_s: float) -> list[str]:
    """Submits again queued jobs nobody picked up for `older_than_s` (their runner died after they were recorded,
    or the worker holding their delayed message did). Running jobs whose worker died are `takeover`'s.

    A duplicate delivery is harmless: `run_job` claims a queued job once.
    """
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with ctx.db.session() as session:
        stranded = session.execute(
            select(Job.id, Job.kind).where(
                Job.status == JobStatus.QUEUED, func.coalesce(Job.next_attempt_at, Job.created_at) < cutoff)
        ).all()
    for job_id, kind in stranded:
        ctx.jobs.submit(job_id, kind)
    return [job_id for job_id, _ in stranded]


def cancel_job(ctx: ServiceContext, job_id: str) -> JobView:
    """Cancels a queued job at once; a running one stops at its next progress report and rolls back. Either way its
    `catalog.job.cancelled` event names the caller, written when the job ends."""
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id!r}", field="id")
        if not JobStatus(job.status).finished and job.cancel_requested_at is None:
            job.cancel_requested_at = utcnow()
            note_cancellation(job, current_identity().actor)
            if job.status == JobStatus.QUEUED:
                job.status, job.finished_at = JobStatus.CANCELLED, utcnow()
                job.error_code, job.error_message = "cancelled", "cancelled before it started"
                record_job_outcome(session, job)
        return job_view(job)


def detach_source_jobs(session: Session, source_id: int, source_name: str) -> None:
    """Before a source is deleted: its queued and running jobs lose their source but keep their record (the
    delete would cascade to them), a queued one ends cancelled at once and a running one at its next progress
    report; both say why."""
    reason = {"error_code": "source_deleted", "error_message": f"cancelled: its source {source_name!r} was deleted"}
    now = utcnow()
    # Core statements run at once, ahead of the source's delete, which the unit of work would not order them before.
    session.execute(update(Job).where(Job.source_id == source_id, Job.status == JobStatus.QUEUED)
                    .values(source_id=None, status=JobStatus.CANCELLED, cancel_requested_at=now, finished_at=now,
                            **reason))
    session.execute(update(Job).where(Job.source_id == source_id, Job.status == JobStatus.RUNNING)
                    .values(source_id=None, cancel_requested_at=now, **reason))


def wait_for_job(ctx: ServiceContext, job_id: str, timeout: float = 600, poll: float = 0.05) -> JobView:
    """The job once it has finished, or as it is after `timeout` seconds; read every `poll` seconds, and at once when
    an attempt running in this process ends."""
    deadline = time.monotonic() + timeout
    while True:
        ended = ctx.jobs.attempts_ended
        with ctx.db.session() as session:
            job = get_job(session, job_id)
        if JobStatus(job.status).finished or time.monotonic() > deadline:
            return job
        ctx.jobs.wait_for_attempt_end(ended, poll)

