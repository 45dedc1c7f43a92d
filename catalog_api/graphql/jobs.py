"""The GraphQL type of a job."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from catalog_api.db.models import Job


@strawberry.type(name="Job")
class JobNode:
    """A crawl job: status, progress, timings, error and result summary."""

    id: str
    kind: str
    source_id: int | None
    status: str
    attempts: int
    progress_done: int
    progress_total: int
    progress_message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error_code: str | None
    error_message: str | None
    worker: str | None
    result: JSON | None
    max_attempts: int
    next_attempt_at: datetime | None
    heartbeat_at: datetime | None
    cancel_requested_at: datetime | None
    trigger: str

    @classmethod
    def of(cls, row: Job) -> JobNode:
        return cls(
            id=row.id, kind=row.kind, source_id=row.source_id, status=row.status, attempts=row.attempts,
            progress_done=row.progress_done, progress_total=row.progress_total,
            progress_message=row.progress_message, created_at=row.created_at, started_at=row.started_at,
            finished_at=row.finished_at, error_code=row.error_code, error_message=row.error_message,
            worker=row.worker, result=row.result, max_attempts=row.max_attempts,
            next_attempt_at=row.next_attempt_at, heartbeat_at=row.heartbeat_at,
            cancel_requested_at=row.cancel_requested_at, trigger=row.trigger,
        )
