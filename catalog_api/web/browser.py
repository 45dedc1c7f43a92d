"""Browser safety for every response: no state change from another site's page, and headers that keep pages from
being framed, sniffed or leaking their address.

A page on another site can make the browser send only "simple" requests without asking this service first (a CORS
preflight): GET, HEAD and POST with no body or a text/plain, form or multipart body, and no custom header. So a
state-changing request (POST, PUT, PATCH, DELETE) must declare a JSON or GraphQL body, or carry an Authorization or
X-API-Key header; otherwise `CrossSiteGuard` answers 415 before any route runs. It matters where a request needs no
credentials (`auth=none`: the local operator, or a gateway that authenticates for the catalog); where authentication
is required, a request without credentials is refused anyway (401) and one with them passes the guard. Cross-origin
reads are the CORS middleware's business (Starlette's, installed only when `cors_allow_origins` lists origins).
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog_api.asgi import HttpMiddleware
from catalog_api.errors import UnsupportedMediaType, error_payload
from catalog_api.web.errors import allowed_methods

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CREDENTIAL_HEADERS = ("authorization", "x-api-key")
JSON_MEDIA_TYPES = frozenset({"application/json", "application/graphql", "application/graphql-response+json"})

# What CORS lets an allowed origin send: the methods of the API and the headers its clients set.
CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_HEADERS = ["Authorization", "X-API-Key", "Content-Type", "Accept", "X-Request-ID", "traceparent"]
CORS_EXPOSED_HEADERS = ["X-Request-ID"]
"""Response headers a page on an allowed origin may read: the request id to quote when reporting a problem."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Responses that declare no policy of their own: nothing may load from them, nothing may frame them. HTML pages set
# their own (catalog_api/web/csp.py, catalog_api/web/assets.py).
DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'"


def is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type in JSON_MEDIA_TYPES or (media_type.startswith("application/") and media_type.endswith("+json"))


class CrossSiteGuard:
    """Refuses (415, the JSON error body) a state-changing request with neither a JSON body nor credentials."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in STATE_CHANGING:
            headers = Headers(scope=scope)
            content_type = headers.get("content-type")
            # Whether a route takes the request is asked last: it matches the path against every route.
            if not is_json(content_type) and not any(headers.get(name) for name in CREDENTIAL_HEADERS) \
                    and self._routed(scope):
                status, body = error_payload(UnsupportedMediaType(
                    f"a {scope['method']} request needs a JSON body (Content-Type: application/json, "
                    "application/*+json or application/graphql) or an Authorization or X-API-Key header; got "
                    f"{content_type or 'no Content-Type'}. Clients sending no body declare application/json."))
                await JSONResponse({"error": body}, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _routed(scope: Scope) -> bool:
        # A request no route takes changes nothing: the router's 404 or 405 (with `Allow`) says more than a 415.
        app = scope.get("app")
        router = getattr(app, "router", None)
        return router is None or scope["method"] in allowed_methods(router, scope)


class SecurityHeaders(HttpMiddleware):
    """Adds `SECURITY_HEADERS` to every HTTP response, and a Content-Security-Policy to those without one."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", DEFAULT_POLICY)
            await send(message)

        await self.app(scope, receive, with_headers)
