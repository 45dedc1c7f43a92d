"""Calling the application as a given caller (until authentication decides who calls)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from catalog_api.security.identity import Identity, acting_as


def as_caller(app: ASGIApp, identity: Identity) -> ASGIApp:
    """`app` answering every HTTP and WebSocket request inside `acting_as(identity)`."""

    async def called_as(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        with acting_as(identity):
            await app(scope, receive, send)

    return called_as
