"""HTTP side of the metrics: the middleware that times every request, and the /metrics exposition."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.routing import get_route_path
from starlette.types import Message, Receive, Scope, Send

from catalog_api.asgi import HttpMiddleware
from catalog_api.observability.metrics import UNMATCHED_ROUTE, record_http_request


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/v1/jobs/{job_id}`), never the raw path, so series stay bounded.

    A route of a router included with a prefix (GraphQL's, at `/graphql`) knows only its own path (`""`): the
    prefix is then the literal part of the path before what the route's pattern matches.
    """
    route: Any = scope.get("route")
    pattern = getattr(route, "path_regex", None)
    if route is None or pattern is None:
        return UNMATCHED_ROUTE
    template = getattr(route, "path_format", None) or getattr(route, "path", "")
    path = get_route_path(scope)
    for cut in (i for i in range(len(path) + 1) if i == len(path) or path[i] == "/"):
        if pattern.match(path[cut:]):
            return f"{path[:cut]}{template}" or "/"
    return UNMATCHED_ROUTE


class RequestMetrics(HttpMiddleware):
    """Pure ASGI (streaming responses pass through): counts each HTTP request by method, route and status, and
    observes its duration once the response is complete. WebSockets and lifespan are not HTTP requests."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started, status = time.perf_counter(), 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:  # a response that failed half way (or a client gone) still counts, as the server's 500
            record_http_request(scope["method"], route_template(scope), status, time.perf_counter() - started)


def metrics_endpoint(*collectors: Collector) -> Callable[[], Response]:
    """The /metrics route: what this process recorded (the default registry) followed by `collectors`, read now."""
    extra = CollectorRegistry()
    for collector in collectors:
        extra.register(collector)

    def metrics() -> Response:
        return Response(generate_latest(REGISTRY) + generate_latest(extra), media_type=CONTENT_TYPE_LATEST)

    return metrics
