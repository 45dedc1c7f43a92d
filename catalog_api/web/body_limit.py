"""The request body limit: `max_request_body_bytes` for every route, and for each GraphQL WebSocket message."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog_api.errors import RequestTooLarge, error_payload


class _Overflow(Exception):
    """Raised into the application when the body passes the limit, so that it stops reading."""


class BodySizeLimit:
    """Answers 413 (the repo's JSON error) to a request whose body is larger than `max_bytes`: at once when its
    Content-Length says so, else as soon as the streamed bytes pass the limit (a chunked body declares no length).
    A WebSocket message over the limit closes the connection with 1009 (message too big)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _refusal(self) -> JSONResponse:
        status, body = error_payload(RequestTooLarge(f"the request body is larger than {self.max_bytes} bytes"))
        return JSONResponse({"error": body}, status_code=status)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refusal()(scope, receive, send)
            return
        received, over, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    raise _Overflow
            return message

        async def answered(message: Message) -> None:
            nonlocal started
            if over:
                return  # what the application makes of a body it could not finish reading gives way to the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, answered)
        except Exception:
            if not over:  # frameworks wrap the overflow in their own errors; any of them is the same refusal
                raise
        if over and not started:
            await self._refusal()(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        closed = False

        async def counted() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive":
                size = len(message.get("bytes") or b"") + len((message.get("text") or "").encode())
                if size > self.max_bytes:
                    closed = True
                    await send({"type": "websocket.close", "code": 1009, "reason": "message too big"})
                    return {"type": "websocket.disconnect", "code": 1009}
            return message

        async def unless_closed(message: Message) -> None:
            if not closed:  # the socket is gone: the application's goodbye has nowhere to go
                await send(message)

        await self.app(scope, counted, unless_closed)
