"""Columns of a record made on behalf of a request, so that the work it stands for can be traced back to it."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

REQUEST_ID_LENGTH = 128
TRACEPARENT_LENGTH = 55


class RequestTraced:
    """Mixin of `Job`: the request that created the record (null for the scheduler's and the command line's work,
    and for jobs older than migration 0009). The job runner restores them while the job runs, so its log lines and
    events name the request (`catalog_api.observability.context`)."""

    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_LENGTH))
    """The request's `X-Request-ID` as the catalog kept it (the caller's when it was a safe one, else a new id)."""
    traceparent: Mapped[str | None] = mapped_column(String(TRACEPARENT_LENGTH))
    """The request's W3C trace context: the job's spans and events continue its trace."""
