"""What a log line or an event belongs to: the request being answered, or the job being run on a request's behalf.

A `WorkContext` holds the request id (the caller's `X-Request-ID` when it is a safe one, else a new id) and a W3C
trace context (https://www.w3.org/TR/trace-context/): the trace id, taken from the caller's `traceparent` header
when it sends a valid one, and a span id of this unit of work (with tracing on, the ids of the request's or job's
real span: `catalog_api.observability.tracing`). The HTTP middleware (`RequestContextMiddleware`) sets it per
request; a job keeps its request's id and `traceparent` (`catalog_api.db.tracing`) and the runner sets a
child context (same trace, same request id, a span of its own, the job id) while the job runs, wherever it runs. Log
records (`catalog_api.observability.logs`) and outbox events (the `traceparent` and `requestid` extensions) read
it. Like the current identity, a context variable follows the work into worker threads and async tasks by itself.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from catalog_api.observability import tracing
from catalog_api.observability.tracing import SpanIds

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
TRACEPARENT_HEADER = "traceparent"
MAX_REQUEST_ID_LENGTH = 128
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+/=@-]{0,127}")
"""A request id the catalog takes from a caller: 1 to 128 letters, digits and `._:+/=@-` (what proxies and gateways
send: UUIDs, `Root=1-…` ids), never spaces, quotes or control characters that could forge a log line."""
TRACEPARENT_PATTERN = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
TRACEPARENT_LENGTH = 55


def _hex(nbytes: int) -> str:
    value = secrets.token_hex(nbytes)
    return value if value.strip("0") else _hex(nbytes)  # all zeros is W3C's "invalid"


@dataclass(frozen=True, slots=True)
class WorkContext:
    """One unit of work's identifiers: its request id, W3C trace id, span id and flags, and its job id if any."""

    request_id: str | None
    trace_id: str
    span_id: str
    flags: str = "00"
    job_id: str | None = None

    @property
    def traceparent(self) -> str:
        """This unit of work as the parent of what it causes (an event, a job): `00-<trace>-<span>-<flags>`."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def valid_request_id(value: str | None) -> str | None:
    """`value` when it is a request id the catalog keeps as given, else None (see `REQUEST_ID_PATTERN`)."""
    return value if value is not None and REQUEST_ID_PATTERN.fullmatch(value) else None


def parse_traceparent(value: str | None) -> tuple[str, str, str] | None:
    """(trace id, parent span id, flags) of a version-00 `traceparent`, or None when it is not a valid one."""
    match = TRACEPARENT_PATTERN.fullmatch(value.strip().lower()) if value else None
    if match is None or not match[1].strip("0") or not match[2].strip("0"):
        return None
    return match[1], match[2], match[3]


def _trace_under(traceparent: str | None, span: SpanIds | None = None) -> tuple[str, str, str]:
    """(trace id, new span id, flags) of a unit of work whose parent is `traceparent`; a new trace (not sampled:
    nothing records it) when there is no valid parent. With tracing on, the unit's real span gives them all."""
    if span is not None:
        return span
    parent = parse_traceparent(traceparent)
    return (parent[0], _hex(8), parent[2]) if parent else (_hex(16), _hex(8), "00")


def request_context(request_id: str | None = None, traceparent: str | None = None,
                    span: SpanIds | None = None) -> WorkContext:
    """A request under the caller's request id and trace context; what is missing or invalid is new. A request that
    starts a trace is known by its trace id, so a caller that sent neither header finds it under one id everywhere;
    one in the caller's trace gets an id of its own (the caller's other requests share the trace)."""
    trace_id, span_id, flags = _trace_under(traceparent, span)
    new_trace = parse_traceparent(traceparent) is None
    return WorkContext(valid_request_id(request_id) or (trace_id if new_trace else _hex(16)), trace_id, span_id, flags)


def job_context(job_id: str, request_id: str | None, traceparent: str | None,
                span: SpanIds | None = None) -> WorkContext:
    """An attempt of a job, under the request that created it (a span of its own in that request's trace), or in a
    trace of its own and without a request id when no request asked for it (the scheduler, the command line)."""
    return WorkContext(request_id, *_trace_under(traceparent, span), job_id=job_id)


_CURRENT: ContextVar[WorkContext | None] = ContextVar("catalog_work_context", default=None)


def current_work() -> WorkContext | None:
    """The request or job being worked on, or None outside both (start-up, the scheduler's own rounds)."""
    return _CURRENT.get()


@contextmanager
def working_on(context: WorkContext | None) -> Iterator[WorkContext | None]:
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)


class RequestContextMiddleware:
    """Pure ASGI, outermost: gives each HTTP request and WebSocket connection its `WorkContext` for as long as it is
    served, and answers every HTTP response (refusals and errors included) with its `X-Request-ID`. With tracing on
    (`catalog_api.observability.tracing`) the `WorkContext` takes the ids of the request's server span, which
    FastAPI's own telemetry starts around the whole middleware stack (a child of the caller's `traceparent`, named
    after the route template, with its status): one span per request, not a second one here.

    A caller's `X-Request-ID` is kept when it matches `REQUEST_ID_PATTERN`; any other value is replaced by a new id
    rather than refused, as a trace header must never cost a request (W3C trace context does the same with a
    malformed `traceparent`). The id the request ends with is also in `scope["state"]["request_id"]` for the audit.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k: v for k, v in scope.get("headers") or () if k in _READ_HEADERS}
        context = request_context(_header(headers.get(REQUEST_ID_HEADER.encode()), MAX_REQUEST_ID_LENGTH),
                                  _header(headers.get(TRACEPARENT_HEADER.encode()), TRACEPARENT_LENGTH + 2),
                                  tracing.span_ids(tracing.current_span()))
        scope.setdefault("state", {})["request_id"] = context.request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Imported here: jobs and `catalog` commands read this module's context and need no web framework.
                from starlette.datastructures import MutableHeaders

                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = context.request_id
            await send(message)

        with working_on(context):
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)


_READ_HEADERS = (REQUEST_ID_HEADER.encode(), TRACEPARENT_HEADER.encode())


def _header(raw: bytes | None, limit: int) -> str | None:
    # Longer values are invalid anyway: never decode (or match) more than a valid one could hold.
    return raw.decode("latin-1") if raw is not None and len(raw) <= limit else None
