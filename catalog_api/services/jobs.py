"""Job records and how jobs run. A job record is the single truth about a job, wherever it runs.

Every runner (in-process threads, dramatiq workers on Redis or RabbitMQ) calls `run_job`, so retries, time limits,
cancellation, concurrency limits and take-over after a crashed worker behave the same everywhere.
"""

from __future__ import annotations

import importlib
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from catalog_api.db.models import ACTIVE_JOB_STATUSES, DataSource, Job, utcnow
from catalog_api.errors import CatalogError, InvalidInput, NotFound, error_payload
from catalog_api.services.outbox import record_event
from crawlers.errors import ConnectorError
from events.data import JobFailed, JobSucceeded

if TYPE_CHECKING:
    from catalog_api.services.context import ServiceContext

log = logging.getLogger(__name__)


class JobStatus(StrEnum):
    """Life cycle of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class JobRunner(Protocol):
    """Delivers job ids to `run_job`: the in-process thread pool, or dramatiq workers through a broker."""

    name: str

    def submit(self, job_id: str, kind: str, delay_s: float = 0) -> None: ...

    def shutdown(self) -> None: ...


class JobCancelled(Exception):
    """Raised inside a running job when its cancellation was requested; its transaction rolls back."""


class JobTimedOut(Exception):
    """Raised inside a running job that ran past its kind's time limit."""


@dataclass
class JobControl:
    """What a job handler uses to report progress; each report also checks for cancellation and the time limit."""

    ctx: ServiceContext
    job_id: str
    deadline: float | None

    def progress(self, done: int, total: int, message: str) -> None:
        with self.ctx.db.session() as session:
            job = session.get(Job, self.job_id)
            job.progress_done, job.progress_total, job.progress_message = done, total, message
            job.heartbeat_at = utcnow()
            cancelled = job.cancel_requested_at is not None
        self.check(cancelled)

    def check(self, cancelled: bool | None = None) -> None:
        if cancelled is None:
            with self.ctx.db.session() as session:
                cancelled = session.get(Job, self.job_id).cancel_requested_at is not None
        if cancelled:
            raise JobCancelled("cancelled on request")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise JobTimedOut("ran past its time limit")


JobHandler = Callable[["ServiceContext", JobControl], dict[str, Any]]
_HANDLERS: dict[str, JobHandler] = {}
# Modules whose import registers job handlers; a worker process imports them before running anything.
HANDLER_MODULES = ("catalog_api.services.crawl", "catalog_api.services.extraction", "catalog_api.services.profiling")


def _handlers() -> dict[str, JobHandler]:
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    return _HANDLERS


def job_handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    """Registers the function that runs jobs of `kind`; it returns the job's result summary."""

    def register(handler: JobHandler) -> JobHandler:
        _HANDLERS[kind] = handler
        return handler

    return register


@job_handler("ping")
def _ping(_ctx: ServiceContext, job: JobControl) -> dict[str, Any]:
    """A job that does nothing but travel through the runner: checks a worker is alive, and measures throughput."""
    job.check(False)
    return {"pong": True}


def job_kinds() -> list[str]:
    return sorted(_handlers())


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


# -- records ----------------------------------------------------------------------------------------------------

def get_job(ctx: ServiceContext, job_id: str) -> Job:
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id!r}", field="id")
        return job


def list_jobs(ctx: ServiceContext, *, source_id: int | None = None, status: str | None = None,
              limit: int = 50) -> list[Job]:
    if status is not None and status not in {s.value for s in JobStatus}:
        raise InvalidInput("status", f"one of {', '.join(s.value for s in JobStatus)}")
    if not 1 <= limit <= 500:
        raise InvalidInput("limit", "between 1 and 500")
    query = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if source_id is not None:
        query = query.where(Job.source_id == source_id)
    if status is not None:
        query = query.where(Job.status == status)
    with ctx.db.session() as session:
        return list(session.scalars(query))


def active_job(ctx: ServiceContext, kind: str, source_id: int) -> Job | None:
    with ctx.db.session() as session:
        return session.scalars(
            select(Job).where(Job.kind == kind, Job.source_id == source_id, Job.status.in_(ACTIVE_JOB_STATUSES))
        ).first()


def add_job(session: Session, ctx: ServiceContext, kind: str, source_id: int | None, *,
            trigger: str = "manual", params: dict[str, Any] | None = None) -> tuple[Job, bool]:
    """Inside the caller's transaction: the kind's queued or running job for the source, or a new one.

    Returns (job, created). The caller submits a created job once its transaction has committed.
    """
    if kind not in _handlers():
        raise InvalidInput("kind", f"unknown job kind {kind!r}; known: {', '.join(job_kinds())}")

    def existing() -> Job | None:
        if source_id is None:
            return None
        return session.scalars(
            select(Job).where(Job.kind == kind, Job.source_id == source_id, Job.status.in_(ACTIVE_JOB_STATUSES))
        ).first()

    found = existing()
    if found is not None:
        return found, False
    job = Job(kind=kind, source_id=source_id, status=JobStatus.QUEUED, trigger=trigger, params=params,
              max_attempts=ctx.settings.job_max_attempts)
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
                params: dict[str, Any] | None = None) -> Job:
    """Creates and submits a job, or returns the kind's queued or running job for the source (one at a time)."""
    with ctx.db.session() as session:
        job, created = add_job(session, ctx, kind, source_id, trigger=trigger, params=params)
    if created:
        ctx.jobs.submit(job.id, kind)
    return job


def resubmit_stranded_jobs(ctx: ServiceContext, older_than_s: float) -> list[str]:
    """Submits again jobs nobody is working on: queued ones nobody picked up (their runner died after they were
    recorded) and running ones whose worker stopped beating (killed mid-job).

    A duplicate delivery is harmless: `run_job` claims a job once, and takes a running one over only when its
    heartbeat is stale, so this is a safety net under the broker's own redelivery.
    """
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_s)
    silent = now - timedelta(seconds=ctx.settings.job_stale_after_s)
    with ctx.db.session() as session:
        stranded = session.execute(
            select(Job.id, Job.kind).where(
                ((Job.status == JobStatus.QUEUED) & (func.coalesce(Job.next_attempt_at, Job.created_at) < cutoff))
                | ((Job.status == JobStatus.RUNNING) & (func.coalesce(Job.heartbeat_at, Job.started_at) < silent))
            )
        ).all()
    for job_id, kind in stranded:
        ctx.jobs.submit(job_id, kind)
    return [job_id for job_id, _ in stranded]


def cancel_job(ctx: ServiceContext, job_id: str) -> Job:
    """Cancels a queued job at once; a running one stops at its next progress report and rolls back."""
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id!r}", field="id")
        if JobStatus(job.status).finished:
            return job
        job.cancel_requested_at = utcnow()
        if job.status == JobStatus.QUEUED:
            job.status, job.finished_at = JobStatus.CANCELLED, utcnow()
            job.error_code, job.error_message = "cancelled", "cancelled before it started"
        return job


# -- running ----------------------------------------------------------------------------------------------------

def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the source or the catalog database was unavailable, not wrong."""
    if isinstance(exc, ConnectorError):
        return exc.transient
    if isinstance(exc, CatalogError):
        return False
    if isinstance(exc, (OperationalError, PoolTimeout)):
        return True  # catalog database unreachable, lock timeout, "database is locked"
    return isinstance(exc, (TimeoutError, ConnectionError))


def backoff_s(ctx: ServiceContext, attempt: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max, min * 2^(attempt-1))], never below min/2."""
    settings = ctx.settings
    ceiling = min(settings.job_retry_max_backoff_s, settings.job_retry_min_backoff_s * 2 ** (attempt - 1))
    return max(settings.job_retry_min_backoff_s / 2, random.uniform(0, ceiling))


@dataclass(frozen=True, slots=True)
class _Claim:
    kind: str
    attempt: int
    started: datetime


def _claim(ctx: ServiceContext, job_id: str) -> _Claim | float | None:
    """Moves the job to running. None: nothing to do; a float: try again in that many seconds."""
    now = utcnow()
    with ctx.db.session() as session:
        job = session.get(Job, job_id, with_for_update=session.bind.dialect.name == "postgresql")
        if job is None or JobStatus(job.status).finished:
            return None
        if job.status == JobStatus.RUNNING:
            silent = (now - (job.heartbeat_at or job.started_at or now)).total_seconds()
            if silent < ctx.settings.job_stale_after_s:
                # A live worker has it (a duplicate delivery); look again once it would count as dead.
                return ctx.settings.job_stale_after_s - silent + 0.5
            log.warning("job %s: taking over from %s, silent for %.0f s", job_id, job.worker, silent)
        if job.next_attempt_at is not None and job.next_attempt_at > now:
            return (job.next_attempt_at - now).total_seconds()
        limit = ctx.settings.concurrency(job.kind)
        if limit is not None:
            if session.bind.dialect.name == "postgresql":
                # Serialises the count-then-claim of one kind across workers.
                session.execute(text("select pg_advisory_xact_lock(hashtext(:kind))"), {"kind": "jobs:" + job.kind})
            running = session.scalar(
                select(func.count()).select_from(Job).where(
                    Job.kind == job.kind, Job.status == JobStatus.RUNNING, Job.id != job.id)
            )
            if running >= limit:
                delay = 1.0 + random.random()
                job.next_attempt_at = now + timedelta(seconds=delay)
                return delay
        job.status, job.started_at, job.heartbeat_at, job.worker = JobStatus.RUNNING, now, now, worker_name()
        job.attempts += 1
        job.next_attempt_at = None
        return _Claim(job.kind, job.attempts, now)


class _Heartbeat:
    """Keeps `heartbeat_at` fresh while a handler works, so a redelivered message can tell a live job from a dead one."""

    def __init__(self, ctx: ServiceContext, job_id: str) -> None:
        self._ctx, self._job_id, self._stop = ctx, job_id, threading.Event()
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
                    session.execute(update(Job).where(Job.id == self._job_id, Job.status == JobStatus.RUNNING)
                                    .values(heartbeat_at=utcnow()))
            except Exception:  # a missed beat is harmless; the next one retries
                log.debug("heartbeat of job %s failed", self._job_id, exc_info=True)


def run_job(ctx: ServiceContext, job_id: str) -> None:
    """Runs one attempt of a job. Every outcome is recorded on the job; nothing escapes to the runner."""
    claim = _claim(ctx, job_id)
    if claim is None:
        return
    if isinstance(claim, float):
        ctx.jobs.submit(job_id, get_job(ctx, job_id).kind, delay_s=claim)
        return
    limit = ctx.settings.time_limit_s(claim.kind)
    control = JobControl(ctx, job_id, time.monotonic() + limit if limit else None)
    try:
        with _Heartbeat(ctx, job_id):
            result = _handlers()[claim.kind](ctx, control)
    except JobCancelled:
        _finish(ctx, job_id, JobStatus.CANCELLED, error=("cancelled", "cancelled on request"))
    except JobTimedOut:
        _finish(ctx, job_id, JobStatus.FAILED, error=("time_limit_exceeded", f"ran longer than {limit:.0f} s"))
    except Exception as exc:  # a job must end with its cause recorded, whatever went wrong
        _failed_attempt(ctx, job_id, claim, exc)
    else:
        _finish(ctx, job_id, JobStatus.SUCCEEDED, result=result)


def _describe(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, (CatalogError, ConnectorError)):
        return error_payload(exc)[1]["code"], exc.message
    if isinstance(exc, OperationalError):
        return "catalog_unavailable", f"the catalog database did not answer: {type(exc.orig).__name__}"
    log.error("job failed unexpectedly", exc_info=exc)
    return type(exc).__name__, str(exc) or type(exc).__name__


def _failed_attempt(ctx: ServiceContext, job_id: str, claim: _Claim, exc: BaseException) -> None:
    code, message = _describe(exc)
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        retry = is_transient(exc) and job.attempts < job.max_attempts and job.cancel_requested_at is None
        if retry:
            delay = backoff_s(ctx, job.attempts)
            job.status, job.next_attempt_at = JobStatus.QUEUED, utcnow() + timedelta(seconds=delay)
            job.error_code, job.error_message = code, f"attempt {job.attempts} of {job.max_attempts}: {message}"
            log.info("job %s attempt %s failed (%s); retrying in %.1f s", job_id, job.attempts, code, delay)
    if retry:
        ctx.jobs.submit(job_id, claim.kind, delay_s=delay)
    else:
        _finish(ctx, job_id, JobStatus.FAILED, error=(code, message))


def _finish(ctx: ServiceContext, job_id: str, status: JobStatus, *, result=None, error=None) -> None:
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        job.status, job.finished_at, job.result, job.next_attempt_at = status, utcnow(), result, None
        if error:
            job.error_code, job.error_message = error
        else:
            job.error_code = job.error_message = None
            if job.progress_total:
                job.progress_done = job.progress_total
        if job.source_id is not None and job.kind == "crawl" and status != JobStatus.CANCELLED:
            _record_outcome(ctx, session.get(DataSource, job.source_id), status)
        if job.source_id is not None and status != JobStatus.CANCELLED:
            _record_job_event(session, job)


def _record_job_event(session: Session, job: Job) -> None:
    """`catalog.job.succeeded` or `catalog.job.failed`, in the transaction that finishes the job."""
    source = session.get(DataSource, job.source_id)
    if source is None:
        return
    common = {
        "job_id": job.id, "kind": job.kind, "trigger": job.trigger if job.trigger == "schedule" else "manual",
        "attempts": max(job.attempts, 1), "started_at": job.started_at, "finished_at": job.finished_at,
        "duration_s": round((job.finished_at - job.started_at).total_seconds(), 3) if job.started_at else None,
    }
    if job.status == JobStatus.SUCCEEDED:
        payload = JobSucceeded(**common, result=job.result)
    else:
        payload = JobFailed(**common, error_code=job.error_code or "failed", error_message=job.error_message or "")
    record_event(session, payload, source.urn, time=job.finished_at)


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


def wait_for_job(ctx: ServiceContext, job_id: str, timeout: float = 600, poll: float = 0.05) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(ctx, job_id)
        if JobStatus(job.status).finished or time.monotonic() > deadline:
            return job
        time.sleep(poll)


class InProcessJobRunner:
    """Runs jobs on a thread pool inside the service process: the embedded default, when no broker is configured."""

    name = "in-process"

    def __init__(self, ctx: ServiceContext, max_workers: int = 2) -> None:
        self._ctx = ctx
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="catalog-job")
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job_id: str, kind: str, delay_s: float = 0) -> None:
        if delay_s <= 0:
            self._pool.submit(run_job, self._ctx, job_id)
            return
        timer = threading.Timer(delay_s, self._fire, args=(job_id, kind))
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.add(timer)
        timer.start()

    def _fire(self, job_id: str, kind: str) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive() and t is not threading.current_thread()}
            if self._closed:
                return
        self.submit(job_id, kind)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            for timer in self._timers:
                timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=False)
