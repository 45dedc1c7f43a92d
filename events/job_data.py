"""The `data` of the job events: an attempt started, a running job's progress, and its end (succeeded, failed,
cancelled).

Every one names the job by id, and its subject is the URN of the job's source; a consumer follows one job by
filtering on `job_id`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from events.payload import EventPayload
from events.types import EventType, UtcTimestamp
from events.urns import UrnKind


class _JobEventPayload(EventPayload):
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.SOURCE,)

    job_id: str = Field(min_length=1, description="The job's id.")
    kind: str = Field(min_length=1, description="Job kind: `crawl`, `extract`, `profile`.")


class JobStarted(_JobEventPayload):
    """An attempt of a job began: a worker claimed it. Subject: the URN of the job's source."""

    event_type: ClassVar[EventType] = EventType.JOB_STARTED

    trigger: Literal["manual", "schedule"] = Field(description="What asked for the job.")
    attempt: int = Field(ge=1, description="The attempt's number, 1 for the first; a retry or take-over counts up.")
    worker: str = Field(min_length=1, description="The worker running the attempt: `host:pid:thread`.")
    started_at: UtcTimestamp = Field(description="When the attempt started.")


class JobProgress(_JobEventPayload):
    """A running job reported progress. Subject: the URN of the job's source.

    Throttled per job: its first report, then at most one a second; the last report, if held back, just before the
    job's succeeded or failed event, so the final figures are always published.
    """

    event_type: ClassVar[EventType] = EventType.JOB_PROGRESS

    done: int = Field(ge=0, description="Units of work done (tables, reports, rows: see `message`).")
    total: int = Field(ge=0, description="Units of work known so far; 0 while still unknown (discovering).")
    message: str = Field(max_length=1000, description="What the job is doing, e.g. `profiling sales.orders`.")
    status: Literal["running"] = Field(description="The job's status when it reported: progress comes from a "
                                                   "running attempt.")


class _JobPayload(_JobEventPayload):
    trigger: Literal["manual", "schedule"] = Field(description="What asked for the job.")
    attempts: int = Field(ge=1, description="Attempts made, this one included.")
    started_at: UtcTimestamp | None = Field(default=None, description="When the last attempt started.")
    finished_at: UtcTimestamp = Field(description="When the job finished.")
    duration_s: float | None = Field(default=None, ge=0, description="Run time of the last attempt, seconds.")


class JobSucceeded(_JobPayload):
    """A crawl, extract or profile job finished successfully. Subject: the URN of the job's source."""

    event_type: ClassVar[EventType] = EventType.JOB_SUCCEEDED

    result: dict[str, Any] | None = Field(default=None, description="The job's result summary (kind-specific).")


class JobFailed(_JobPayload):
    """A job failed for good (no retry left). Subject: the URN of the job's source."""

    event_type: ClassVar[EventType] = EventType.JOB_FAILED

    error_code: str = Field(min_length=1, description="Typed error code, e.g. `source_unreachable`.")
    error_message: str = Field(description="Human-readable error.")


class JobCancelled(_JobPayload):
    """A job ended cancelled on request: a queued one at once, a running one at its next progress report (its work
    rolled back). Subject: the URN of the job's source. A job whose source was deleted publishes none (the source's
    `catalog.source.deleted` says why)."""

    event_type: ClassVar[EventType] = EventType.JOB_CANCELLED

    attempts: int = Field(ge=0, description="Attempts made; 0 when it was cancelled before any started.")
    cancelled_by: str = Field(min_length=1, description="Who asked for the cancellation, as events and the audit "
                                                        "name callers: `api_key:4`, `entra:<oid>`, `local`.")
    status_at_cancel: Literal["queued", "running"] = Field(description="The job's status when it was cancelled.")
    done_at_cancel: int = Field(ge=0, description="Units of work done when it was cancelled (see the job's progress).")
    total_at_cancel: int = Field(ge=0, description="Units of work known when it was cancelled; 0 if still unknown.")
