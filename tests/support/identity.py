"""Calling the application as a particular caller, until requests carry their own credentials."""

from __future__ import annotations

from typing import Any

from catalog_api.security.identity import Identity, acting_as

VIEWER = Identity(subject="viewer", name="a viewer", method="api_key", roles=frozenset({"viewer"}))
PII_READER = Identity(subject="pii-reader", name="a viewer with pii:read", method="api_key",
                      roles=frozenset({"viewer", "pii:read"}))


def as_caller(app: Any, identity: Identity) -> Any:
    """The ASGI application `app` with every HTTP request and WebSocket connection run as `identity`."""

    async def caller(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        with acting_as(identity):
            await app(scope, receive, send)

    return caller
