"""Authentication for every HTTP and WebSocket request, and the permission each REST route declares.

`AuthenticationMiddleware` identifies the caller once per request (REST, GraphQL, SSE, WebSocket upgrades) and
runs the rest of the request as that caller (`acting_as`), so services see it through `current_identity()`.
Each route then declares what it needs with `dependencies=[allow(Permission.X)]` (or `public()`); a test walks
the running app's routes and fails on any route without one.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer

from catalog_api.errors import Unauthenticated
from catalog_api.security.identity import Permission, acting_as
from catalog_api.services.authentication import ANONYMOUS, AUTH_REFUSAL, Authenticator, require, scope_identity
from catalog_api.web.assets import VENDOR_PATH

PUBLIC_PATHS = frozenset({"/", "/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/openapi.json"})
"""Reachable without credentials: probes, the redirect to GraphiQL and the API description."""
PUBLIC_PREFIXES = (VENDOR_PATH + "/", "/static/ui/")
"""The vendored scripts and styles (GraphiQL, Swagger UI, the web UI's libraries) and the web UI's own modules: a
browser loads them without credentials. They hold no data: the pages read it through the API."""

WWW_AUTHENTICATE = 'Bearer realm="catalog"'


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class AuthenticationMiddleware:
    """Pure ASGI, so streaming responses (SSE) and WebSockets pass through untouched."""

    def __init__(self, app: Any, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS \
                or scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        authorization, api_key = _header(scope, b"authorization"), _header(scope, b"x-api-key")
        try:
            if self.authenticator.required and (authorization or api_key):
                identity = await to_thread.run_sync(self.authenticator.identify, authorization, api_key)
            else:  # no I/O: the local operator, or an anonymous caller
                identity = self.authenticator.identify(authorization, api_key)
        except Unauthenticated as exc:
            if scope["type"] == "websocket":
                await _refuse(scope, send, exc)
                return
            # Refused where the route checks its permission (`scope_identity`), so that the rate limiter inside
            # meters failed attempts by address like any anonymous request.
            scope.setdefault("state", {})[AUTH_REFUSAL] = exc
            identity = ANONYMOUS
        scope.setdefault("state", {})["identity"] = identity
        with acting_as(identity):
            await self.app(scope, receive, send)


async def _refuse(scope: dict[str, Any], send: Any, exc: Unauthenticated) -> None:
    """Closes a WebSocket before the upgrade: the server answers the handshake with 403."""
    await send({"type": "websocket.close", "code": 4401, "reason": "Unauthorized"})


BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="An API key (`cat_…`) or a Microsoft Entra ID access token for the catalog's API.")
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey", description="An API key (`cat_…`).")


def allow(permission: Permission) -> Any:
    """A route's declared permission: `@router.get(..., dependencies=[allow(Permission.READ)])`.

    The credentials were already read by `AuthenticationMiddleware`; the two security dependencies only describe
    them in the OpenAPI document, so clients (and Swagger UI's *Authorize*) know what to send.
    """

    def check(request: Request, _bearer: Any = Security(BEARER), _key: Any = Security(API_KEY)) -> None:
        require(scope_identity(request.scope), permission, f"{request.method} {request.url.path}")

    check.permission = permission  # type: ignore[attr-defined]  # read by the test that audits every route
    return Depends(check)


def public() -> Any:
    """Declares a route deliberately open to anonymous callers."""

    def check() -> None:
        return None

    check.permission = None  # type: ignore[attr-defined]
    return Depends(check)


def declared_permission(route: Any) -> tuple[bool, Permission | None]:
    """(declared?, permission) of a route: what the permission audit test reads."""
    for dependency in getattr(route, "dependencies", ()):
        if hasattr(dependency.dependency, "permission"):
            return True, dependency.dependency.permission
    return False, None
