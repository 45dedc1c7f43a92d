"""The error body on every HTTP answer the framework gives by itself: no route (404), a method the resource does not
support (405, with an `Allow` header listing what it does), a body that could not be read (422), and any exception
nothing else handled (500, with a request id that the log line holding the traceback names too).

Typed errors raised by the services are mapped in `catalog_api.errors`; this module turns the rest into the same
`{"error": {...}}` body (docs/api.md, Errors).
"""

from __future__ import annotations

import logging
import uuid

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match, Router
from starlette.types import Message, Receive, Scope, Send

from catalog_api.asgi import HttpMiddleware
from catalog_api.errors import CatalogError, InvalidInput, MethodNotAllowed, NotFound, error_payload
from catalog_api.observability.context import REQUEST_ID_HEADER

log = logging.getLogger(__name__)



def request_id(scope: Scope) -> str:
    """The request's id, as `RequestContext` settled it (the caller's `X-Request-ID` when safe, else a new one); a
    new one for an app mounted without that middleware."""
    return (scope.get("state") or {}).get("request_id") or uuid.uuid4().hex


def error_response(error: Exception, headers: dict[str, str] | None = None) -> JSONResponse:
    status, body = error_payload(error)
    return JSONResponse({"error": body}, status_code=status, headers=headers)


HTTP_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(router: Router, scope: Scope) -> list[str]:
    """Every method some route serves at the request's path (Starlette's own 405 names only the first route's)."""
    return [method for method in HTTP_METHODS
            if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in router.routes)]


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's and FastAPI's own HTTP errors (no route, wrong method, unreadable body) as the error body."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        methods = allowed_methods(request.app.router, request.scope)
        return error_response(MethodNotAllowed(f"{request.method} is not supported here; use {', '.join(methods)}"),
                              headers={"Allow": ", ".join(methods)})
    if exc.status_code == 404:
        return error_response(NotFound(f"no resource at {request.url.path}"), headers=exc.headers)
    if exc.status_code == 400:  # FastAPI could not decode the body (e.g. not UTF-8)
        cause = exc.__cause__
        reason = f"the body could not be read: {type(cause).__name__}" if cause else "the body could not be read"
        return error_response(InvalidInput("body", reason))
    error = CatalogError(str(exc.detail))
    error.status = exc.status_code
    error.code = "http_error"
    return error_response(error, headers=exc.headers)


def internal_error_response(scope: Scope, exc: BaseException) -> JSONResponse:
    """Logs the traceback under the request's id and answers 500 with the error body naming that id."""
    rid = request_id(scope)
    log.error("unhandled %s in %s %s (request %s)", type(exc).__name__, scope.get("method"), scope.get("path"), rid,
              exc_info=exc, extra={"request_id": rid})
    status, body = error_payload(exc if isinstance(exc, Exception) else RuntimeError())
    body["request_id"] = rid
    return JSONResponse({"error": body}, status_code=status, headers={REQUEST_ID_HEADER: rid})


async def unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    """The last resort (Starlette's ServerErrorMiddleware): an exception raised by a middleware itself."""
    return internal_error_response(request.scope, exc)


class InternalErrors(HttpMiddleware):
    """Answers an exception no handler took with the 500 error body, inside the other middleware, so that the
    answer is audited and carries the security headers like any other. Pure ASGI: streams pass through; an
    exception after a response has started cannot change it and is raised on."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if started:
                raise
            await internal_error_response(scope, exc)(scope, receive, send)
