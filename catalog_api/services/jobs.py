"""Job records and the in-process runner. A job record is the single truth about a job, wherever it runs."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from catalog_api.db.models import Job, utcnow
from catalog_api.errors import CatalogError, NotFound, error_payload
from crawlers.errors import ConnectorError

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
    """Runs queued jobs by id; the in-process runner now, dramatiq workers later, with the same job records."""

    def submit(self, job_id: str) -> None: ...

    def shutdown(self) -> None: ...


JobHandler = Callable[["ServiceContext", str], dict[str, Any]]
_HANDLERS: dict[str, JobHandler] = {}


def job_handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    """Registers the function that runs jobs of `kind`; it returns the job's result summary."""

    def register(handler: JobHandler) -> JobHandler:
        _HANDLERS[kind] = handler
        return handler

    return register


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def get_job(ctx: ServiceContext, job_id: str) -> Job:
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id!r}", field="id")
        return job


def active_job(ctx: ServiceContext, kind: str, source_id: int) -> Job | None:
    with ctx.db.session() as session:
        return session.scalars(
            select(Job)
            .where(Job.kind == kind, Job.source_id == source_id, Job.status.in_(["queued", "running"]))
            .order_by(Job.created_at)
            .limit(1)
        ).first()


def create_job(ctx: ServiceContext, kind: str, source_id: int | None) -> Job:
    with ctx.db.session() as session:
        job = Job(kind=kind, source_id=source_id, status=JobStatus.QUEUED)
        session.add(job)
    return job


def report_progress(ctx: ServiceContext, job_id: str, done: int, total: int, message: str) -> None:
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.progress_done, job.progress_total, job.progress_message = done, total, message


def run_job(ctx: ServiceContext, job_id: str) -> None:
    """Runs one job to a final state. Every failure is recorded on the job; nothing escapes to the caller."""
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None or JobStatus(job.status).finished:
            return
        job.status, job.started_at, job.worker = JobStatus.RUNNING, utcnow(), worker_name()
        job.attempts += 1
        job.error_code = job.error_message = None
        kind = job.kind
    try:
        result = _HANDLERS[kind](ctx, job_id)
    except Exception as exc:  # a job must end failed with its cause, whatever went wrong
        if isinstance(exc, (CatalogError, ConnectorError)):
            code, message = error_payload(exc)[1]["code"], str(getattr(exc, "message", exc))
        else:
            log.exception("job %s (%s) crashed", job_id, kind)
            code, message = type(exc).__name__, str(exc) or type(exc).__name__
        _finish(ctx, job_id, JobStatus.FAILED, error=(code, message))
        return
    _finish(ctx, job_id, JobStatus.SUCCEEDED, result=result)


def _finish(ctx, job_id: str, status: JobStatus, *, result=None, error: tuple[str, str] | None = None) -> None:
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        job.status, job.finished_at, job.result = status, utcnow(), result
        if error:
            job.error_code, job.error_message = error
        elif job.progress_total:
            job.progress_done = job.progress_total


def wait_for_job(ctx: ServiceContext, job_id: str, timeout: float = 600, poll: float = 0.05) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(ctx, job_id)
        if JobStatus(job.status).finished or time.monotonic() > deadline:
            return job
        time.sleep(poll)


class InProcessJobRunner:
    """Runs jobs on a thread pool inside the service process: the embedded default, when no broker is configured."""

    def __init__(self, ctx: ServiceContext, max_workers: int = 2) -> None:
        self._ctx = ctx
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="catalog-job")

    def submit(self, job_id: str) -> None:
        self._pool.submit(run_job, self._ctx, job_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
