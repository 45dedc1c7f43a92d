"""How one attempt of a job runs. Every runner (in-process threads, dramatiq workers on Redis or RabbitMQ) calls
`run_job`, so retries, time limits, cancellation, concurrency limits and take-over after a crashed worker behave
the same everywhere. The handler for a job's kind comes from the context's registry (`catalog_api.bootstrap`).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from catalog_api.db.models import DataSource, Job, utcnow
from catalog_api.errors import CatalogError, error_payload
from catalog_api.observability.context import job_context, working_on
from catalog_api.observability.metrics import record_job_finished
from catalog_api.observability.tracing import annotate, job_span, record_failure, span_ids
from catalog_api.security.identity import SYSTEM, acting_as, job_identity
from catalog_api.services.context import ServiceContext
from catalog_api.services.inflight import Attempt
from catalog_api.services.jobs.job_events import (
    ProgressThrottle,
    record_job_outcome,
    record_job_progress,
    record_job_started,
)
from catalog_api.services.jobs.records import get_job
from catalog_api.services.jobs.status import JobStatus
from catalog_api.settings import Settings
from crawlers.errors import AuthenticationFailed, ConnectorError

log = logging.getLogger(__name__)


SOURCE_DELETED = "source_deleted"
"""The error code of a job cancelled because its source was deleted while it was queued or running."""


class JobCancelled(Exception):
    """Raised inside a running job when its cancellation was requested; its transaction rolls back."""

    def __init__(self, message: str = "cancelled on request", code: str = "cancelled") -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _cancellation(job: Job | None) -> JobCancelled:
    if job is None:
        return JobCancelled("its job record was deleted", code="job_deleted")
    if job.error_code == SOURCE_DELETED:  # `delete_source` wrote the reason when it detached the job
        return JobCancelled(job.error_message or "its source was deleted", code=SOURCE_DELETED)
    return JobCancelled()


def job_source(session: Session, job_id: str) -> tuple[Job, DataSource]:
    """The job's record and its source; a job whose source was deleted ends as cancelled, not with a crash."""
    job = session.get(Job, job_id)
    source = session.get(DataSource, job.source_id) if job is not None and job.source_id is not None else None
    if source is None:
        cancelled = _cancellation(job)
        raise cancelled if cancelled.code != "cancelled" else JobCancelled("its source was deleted", SOURCE_DELETED)
    return job, source


class JobTimedOut(Exception):
    """Raised inside a running job that ran past its kind's time limit."""


class JobHandedBack(Exception):
    """Raised inside a running job whose process is stopping (SIGTERM): the attempt stops, records nothing, and
    queues the job again for another worker (or this service's next start), without counting the attempt."""


class JobTakenOver(Exception):
    """Raised inside an attempt whose job was taken over (its heartbeat had gone stale): it must stop, record nothing,
    and leave the job to the attempt that now owns it."""


@dataclass
class JobControl:
    """What a job handler uses to report progress; each report also checks for cancellation, the time limit and
    that this attempt still owns the job (`attempt`: the job's attempt number when it was claimed)."""

    ctx: ServiceContext
    job_id: str
    deadline: float | None
    attempt: int | None = None
    progress_events: ProgressThrottle = field(default_factory=ProgressThrottle, repr=False)

    def progress(self, done: int, total: int, message: str) -> None:
        with self.ctx.db.session() as session:
            job = self._owned(session)
            job.progress_done, job.progress_total, job.progress_message = done, total, message
            job.heartbeat_at = utcnow()
            if self.progress_events.due():
                record_job_progress(session, job)
        self.check(False)

    def _owned(self, session: Session) -> Job:
        job = session.get(Job, self.job_id)
        if job is None or job.cancel_requested_at is not None:
            raise _cancellation(job)
        if self.attempt is not None and (job.attempts, job.status) != (self.attempt, JobStatus.RUNNING):
            raise JobTakenOver(f"job {self.job_id}: attempt {self.attempt} was taken over ({job.status}, "
                               f"attempt {job.attempts} on {job.worker})")
        return job

    def check_stop(self) -> None:
        """Raises when the process is stopping or the time limit has passed; reads no database, so a long loop may
        call it often (between the batches of a read, say)."""
        if self.ctx.in_flight.stopping:
            raise JobHandedBack(f"job {self.job_id}: its process is stopping")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise JobTimedOut("ran past its time limit")

    def check(self, cancelled: bool | None = None) -> None:
        if self.ctx.in_flight.stopping:
            raise JobHandedBack(f"job {self.job_id}: its process is stopping")
        if cancelled is None:
            with self.ctx.db.session() as session:
                self._owned(session)
        elif cancelled:
            raise JobCancelled()
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise JobTimedOut("ran past its time limit")


JobHandler = Callable[[ServiceContext, JobControl], dict[str, Any]]
"""Runs one job of a kind and returns its result summary; registered per kind in `catalog_api.bootstrap`."""


def run_ping_job(_ctx: ServiceContext, job: JobControl) -> dict[str, Any]:
    """A job that does nothing but travel through the runner: checks a worker is alive, and measures throughput."""
    job.check(False)
    return {"pong": True}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the source, a secret store or the catalog database was unavailable, not wrong."""
    if isinstance(exc, ConnectorError):
        return exc.transient
    if isinstance(exc, CatalogError):
        return exc.transient
    if isinstance(exc, (OperationalError, PoolTimeout)):
        return True  # catalog database unreachable, lock timeout, "database is locked"
    return isinstance(exc, (TimeoutError, ConnectionError))


def backoff_s(settings: Settings, attempt: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max, min * 2^(attempt-1))], never below min/2."""
    ceiling = min(settings.job_retry_max_backoff_s, settings.job_retry_min_backoff_s * 2 ** (attempt - 1))
    return max(settings.job_retry_min_backoff_s / 2, random.uniform(0, ceiling))


@dataclass(frozen=True, slots=True)
class _Claim:
    kind: str
    attempt: int
    started: datetime
    actor: str
    request_id: str | None = None
    traceparent: str | None = None
    progress_events: ProgressThrottle = field(default_factory=ProgressThrottle, compare=False)


WORKER_LOST = "worker_lost"
"""The error code of an attempt whose worker stopped beating (killed, out of memory, machine lost)."""

LAST_SIGN_OF_LIFE = func.coalesce(Job.heartbeat_at, Job.started_at)


def silent_cutoff(settings: Settings, now: datetime) -> datetime:
    """A running job whose last heartbeat is older than this has lost its worker."""
    return now - timedelta(seconds=settings.job_stale_after_s)


def release_silent_attempt(ctx: ServiceContext, session: Session, job_id: str, attempt: int,
                           now: datetime) -> str | None:
    """In the caller's transaction: the job's running `attempt`, silent for `job_stale_after_s` at `now`, ends as
    lost. The job is queued again (its kind is returned, for the caller to submit once committed), or fails as
    `worker_lost` when that was its last attempt, so a job that kills its worker (exhausting memory, say) cannot
    take down worker after worker. None when the job failed, or another sweeper or worker released the attempt
    first: the compare-and-set on (status, attempt, silence) lets exactly one of them act."""
    released = session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt,
                          LAST_SIGN_OF_LIFE < silent_cutoff(ctx.settings, now))
        # Due from now: `resubmit_stranded_jobs` then leaves it to the delivery the caller submits.
        .values(status=JobStatus.QUEUED, next_attempt_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if not released:
        return None
    job = session.get(Job, job_id, populate_existing=True)
    lost = f"its worker {job.worker} stopped (no heartbeat since {job.heartbeat_at or job.started_at:%H:%M:%S} UTC)"
    if job.attempts >= job.max_attempts:
        log.warning("job %s: %s on its last attempt (%s); failing it", job_id, lost, attempt)
        _end(ctx, session, job, JobStatus.FAILED, error=(WORKER_LOST, f"attempt {attempt} of {job.max_attempts}: "
                                                                      f"{lost}; not retried"))
        return None
    log.warning("job %s: %s; queued again to be taken over", job_id, lost)
    job.error_code, job.error_message = WORKER_LOST, f"attempt {attempt} of {job.max_attempts}: {lost}; taken over"
    session.flush()  # before the caller's own statements on the row (the claim's compare-and-set)
    return job.kind


WORKER_STOPPED = "worker_stopped"
"""The error code a job keeps while queued again after its process stopped (SIGTERM) during an attempt."""


def hand_back(ctx: ServiceContext, job_id: str, attempt: int) -> str | None:
    """The job's running `attempt` ends without an outcome because its process is stopping: the job is queued again,
    due at once, and that attempt does not count against `max_attempts` (it grows by one, so attempt numbers stay
    increasing and the stopped attempt stays fenced off). Returns the kind to submit once committed; None when
    the attempt no longer owned the job."""
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None or (job.attempts, job.status) != (attempt, JobStatus.RUNNING):
            return None
        stopped = session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt)
            .values(status=JobStatus.QUEUED, next_attempt_at=utcnow(), max_attempts=Job.max_attempts + 1,
                    error_code=WORKER_STOPPED,
                    error_message=f"attempt {attempt}: its worker {job.worker} stopped before the job finished; "
                                  "queued again (the attempt does not count)")
            .execution_options(synchronize_session=False)
        ).rowcount
        kind = job.kind
    if not stopped:
        return None
    log.warning("job %s (%s): attempt %s handed back, its process is stopping", job_id, kind, attempt)
    return kind


def _claim(ctx: ServiceContext, job_id: str) -> _Claim | float | None:
    """Moves the job to running. None: nothing to do; a float: try again in that many seconds.

    Only a queued job is claimed, by a compare-and-set on its attempt, so two deliveries of one job cannot both run
    it. A running one is another delivery of a job a worker has: while that worker beats it keeps the job (the
    delivery is dropped; a sweep, `takeover`, re-queues the job if the worker dies); once it is silent the attempt is
    released here and the job claimed at once.
    """
    now = utcnow()
    with ctx.db.session() as session:
        job = session.get(Job, job_id, with_for_update=session.bind.dialect.name == "postgresql")
        if job is None or JobStatus(job.status).finished:
            return None
        if job.status == JobStatus.RUNNING:
            if release_silent_attempt(ctx, session, job_id, job.attempts, now) is None:
                log.debug("job %s: running on %s; dropping another delivery of it", job_id, job.worker)
                return None
        if job.next_attempt_at is not None and job.next_attempt_at > now:
            return (job.next_attempt_at - now).total_seconds()
        limit = ctx.settings.concurrency(job.kind)
        if limit is not None:
            if session.bind.dialect.name == "postgresql":
                # Serialises the count-then-claim of one kind across workers.
                session.execute(text("select pg_advisory_xact_lock(hashtext(:kind))"), {"kind": "jobs:" + job.kind})
            running = session.scalar(
                select(func.count()).select_from(Job).where(
                    Job.kind == job.kind, Job.status == JobStatus.RUNNING, Job.id != job.id,
                    LAST_SIGN_OF_LIFE >= silent_cutoff(ctx.settings, now))  # a dead worker's job takes no slot
            )
            if running >= limit:
                delay = 1.0 + random.random()
                job.next_attempt_at = now + timedelta(seconds=delay)
                return delay
        attempt, worker = job.attempts + 1, worker_name()
        claimed = session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED, Job.attempts == job.attempts)
            .values(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker,
                    attempts=attempt, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            return None  # another delivery claimed it between our read and our write
        record_job_started(session, job, attempt=attempt, worker=worker, started_at=now)
        return _Claim(job.kind, attempt, now, job.actor or SYSTEM.actor, job.request_id, job.traceparent)


class _Heartbeat:
    """Keeps `heartbeat_at` fresh while a handler works, so sweeps and redeliveries can tell a live job from a dead
    one. It beats for its own attempt only: a taken-over attempt's beats cannot keep its successor looking alive."""

    def __init__(self, ctx: ServiceContext, job_id: str, attempt: int) -> None:
        self._ctx, self._job_id, self._attempt, self._stop = ctx, job_id, attempt, threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id[:8]}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._ctx.settings.job_heartbeat_interval_s):
            try:
                with self._ctx.db.session() as session:
                    session.execute(update(Job).where(Job.id == self._job_id, Job.status == JobStatus.RUNNING,
                                                      Job.attempts == self._attempt)
                                    .values(heartbeat_at=utcnow()))
            except Exception:  # a missed beat is harmless; the next one retries
                log.debug("heartbeat of job %s failed", self._job_id, exc_info=True)


def run_job(ctx: ServiceContext, job_id: str) -> None:
    """Runs one attempt of a job. Every outcome is recorded on the job; nothing escapes to the runner.

    In a stopping process the job is not claimed but submitted again: a broker delivers it to another worker, the
    in-process runner leaves it queued for the service's next start."""
    if ctx.in_flight.stopping:
        with ctx.db.session() as session:
            kind = session.scalar(select(Job.kind).where(Job.id == job_id, Job.status == JobStatus.QUEUED))
        if kind is not None:
            ctx.jobs.submit(job_id, kind)
        return
    claim = _claim(ctx, job_id)
    if claim is None:
        return
    if isinstance(claim, float):
        with ctx.db.session() as session:
            kind = get_job(session, job_id).kind
        ctx.jobs.submit(job_id, kind, delay_s=claim)
        return
    # What the job records (changes, events, its outcome) is attributed to whoever asked for it, and its log lines
    # and events name the request that asked (a job of the scheduler or the command line starts a trace of its own).
    # With tracing on, the attempt is a span in the request's trace, and the job's work context takes its ids.
    attributes = {"catalog.job.id": job_id, "catalog.job.kind": claim.kind, "catalog.job.attempt": claim.attempt}
    with acting_as(job_identity(claim.actor)), \
            job_span(f"{claim.kind} job", claim.traceparent, attributes) as span, \
            working_on(job_context(job_id, claim.request_id, claim.traceparent, span_ids(span))):
        _run_claimed(ctx, job_id, claim)


def _run_claimed(ctx: ServiceContext, job_id: str, claim: _Claim) -> None:
    limit = ctx.settings.time_limit_s(claim.kind)
    control = JobControl(ctx, job_id, time.monotonic() + limit if limit else None, attempt=claim.attempt,
                         progress_events=claim.progress_events)
    log.info("%s job started (attempt %s)", claim.kind, claim.attempt)  # the job id is the record's `job_id`
    try:
        with ctx.in_flight.running(Attempt(job_id, claim.attempt, claim.kind)), _Heartbeat(ctx, job_id, claim.attempt):
            result = ctx.handlers[claim.kind](ctx, control)
    except JobHandedBack:
        _hand_back_and_submit(ctx, job_id, claim)
    except JobTakenOver as taken:
        log.warning("%s; this attempt stops without recording anything", taken)
    except JobCancelled as cancelled:
        _finish(ctx, job_id, claim, JobStatus.CANCELLED, error=(cancelled.code, cancelled.message))
    except JobTimedOut:
        _finish(ctx, job_id, claim, JobStatus.FAILED, error=("time_limit_exceeded", f"ran longer than {limit:.0f} s"))
    except Exception as exc:  # a job must end with its cause recorded, whatever went wrong
        if ctx.in_flight.stopping:  # a consequence of the stop (its Spark job was cancelled, say), not the job's fault
            log.info("job %s stopped with %s while its process stops", job_id, type(exc).__name__)
            _hand_back_and_submit(ctx, job_id, claim)
        else:
            record_failure(exc)
            _failed_attempt(ctx, job_id, claim, exc)
    else:
        _finish(ctx, job_id, claim, JobStatus.SUCCEEDED, result=result)


def _hand_back_and_submit(ctx: ServiceContext, job_id: str, claim: _Claim) -> None:
    if hand_back(ctx, job_id, claim.attempt) is not None:
        ctx.jobs.submit(job_id, claim.kind)


def _describe(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, (CatalogError, ConnectorError)):
        return error_payload(exc)[1]["code"], exc.message
    if isinstance(exc, OperationalError):
        return "catalog_unavailable", f"the catalog database did not answer: {type(exc.orig).__name__}"
    log.error("job failed unexpectedly", exc_info=exc)
    return type(exc).__name__, str(exc) or type(exc).__name__


def _failed_attempt(ctx: ServiceContext, job_id: str, claim: _Claim, exc: BaseException) -> None:
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        gone = job is None or job.error_code == SOURCE_DELETED
        cancelled = _cancellation(job)
    if gone:
        # The source went while the job wrote under it: the failure is a consequence, the deletion the cause.
        _finish(ctx, job_id, claim, JobStatus.CANCELLED, error=(cancelled.code, cancelled.message))
        return
    code, message = _describe(exc)
    with ctx.db.session() as session:
        job = _still_owned(session, job_id, claim)
        if job is None:
            return
        source = session.get(DataSource, job.source_id) if job.source_id is not None else None
        if isinstance(exc, AuthenticationFailed) and source is not None:
            # The source refused a cached credential: it may have been rotated; the next attempt reads it afresh.
            ctx.secrets.forget(source.secret_refs.values())
        retry = is_transient(exc) and job.attempts < job.max_attempts and job.cancel_requested_at is None
        if retry:
            delay = backoff_s(ctx.settings, job.attempts)
            job.status, job.next_attempt_at = JobStatus.QUEUED, utcnow() + timedelta(seconds=delay)
            job.error_code, job.error_message = code, f"attempt {job.attempts} of {job.max_attempts}: {message}"
            log.info("job %s attempt %s failed (%s); retrying in %.1f s", job_id, job.attempts, code, delay)
    if retry:
        ctx.jobs.submit(job_id, claim.kind, delay_s=delay)
    else:
        _finish(ctx, job_id, claim, JobStatus.FAILED, error=(code, message))


def _still_owned(session: Session, job_id: str, claim: _Claim) -> Job | None:
    """The job, unless its record is gone or another attempt took it over: then this attempt records nothing."""
    job = session.get(Job, job_id)
    if job is None:
        log.info("job %s: its record is gone, so nothing is recorded", job_id)
    elif (job.attempts, job.status) != (claim.attempt, JobStatus.RUNNING):
        log.warning("job %s: attempt %s was taken over (now attempt %s, %s); it records nothing", job_id,
                    claim.attempt, job.attempts, job.status)
        return None
    return job


def _finish(ctx: ServiceContext, job_id: str, claim: _Claim, status: JobStatus, *, result=None, error=None) -> None:
    with ctx.db.session() as session:
        job = _still_owned(session, job_id, claim)
        if job is None:
            return
        if status != JobStatus.CANCELLED and job.source_id is not None:
            claim.progress_events.publish_held(session, job)
        _end(ctx, session, job, status, result=result, error=error)
        duration = (job.finished_at - job.started_at).total_seconds() if job.started_at else None
        kind = job.kind
    record_job_finished(kind, status.value, duration, result)
    annotate({"catalog.job.status": status.value})
    log.info("%s job %s%s", kind, status.value, f" after {duration:.1f} s" if duration is not None else "")


def _end(ctx: ServiceContext, session: Session, job: Job, status: JobStatus, *, result=None, error=None) -> None:
    """In the caller's transaction: the job ends with `status`, its event and the source's crawl outcome."""
    job.status, job.finished_at, job.result, job.next_attempt_at = status, utcnow(), result, None
    if error:
        job.error_code, job.error_message = error
    else:
        job.error_code = job.error_message = None
        if job.progress_total:
            job.progress_done = job.progress_total
    if job.source_id is not None and job.kind == "crawl" and status != JobStatus.CANCELLED:
        _record_outcome(ctx, session.get(DataSource, job.source_id), status)
    if job.source_id is not None:
        record_job_outcome(session, job)


def _record_outcome(ctx: ServiceContext, source: DataSource | None, status: JobStatus) -> None:
    """The per-source circuit breaker: consecutive failed crawls pause the source's schedule."""
    if source is None:
        return
    if status == JobStatus.SUCCEEDED:
        source.consecutive_failures = 0
        return
    source.consecutive_failures += 1
    threshold = ctx.settings.circuit_breaker_threshold
    if source.consecutive_failures >= threshold and source.schedule_paused_at is None:
        source.schedule_paused_at = utcnow()
        source.schedule_paused_reason = (
            f"paused after {source.consecutive_failures} consecutive failed crawls; fix the source and resume"
        )
