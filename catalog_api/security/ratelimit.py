"""Per-caller rate limits: a token bucket per caller, answered with 429 and `Retry-After` when it runs dry.

A caller is the identity authentication left in `scope["state"]["identity"]` (its `actor`) when credentials vouched
for it, else its client address (`ip:<host>`). Its bucket holds `rate_limit_burst` tokens and refills at
`rate_limit_per_s` tokens per second. Every HTTP request takes one token, an SSE stream one when it opens, and a
WebSocket (GraphQL subscriptions) one per connection attempt. A caller with no token left gets 429 with the error
body every API uses (`rate_limited`), `Retry-After` (whole seconds until a token is back) and `RateLimit-Limit`/
`RateLimit-Remaining`, which every metered HTTP response carries too. The probes (/healthz, /readyz) are never
metered: an orchestrator must see the process, whatever its address has spent.

Every message a client sends over an open WebSocket takes a token too, because graphql-transport-ws carries queries
and mutations as well as subscriptions: without it one socket would bypass the limit. A message over budget is not
dropped (the protocol has no way to say "later" for one message) but waits for its token, so a flooding socket is
slowed to the sustained rate while a subscriber that sends a few messages never notices.

Buckets live in this process (`MemoryBuckets`), or in Redis (`RedisBuckets`, `rate_limit_redis_url`) so that every
instance behind a load balancer draws on one bucket per caller. Redis runs the whole arithmetic in one Lua script on
the server's clock (`TIME`), so instances whose clocks disagree still agree on every bucket; a bucket's key expires
once it would be full again, so idle callers cost nothing.

When Redis cannot be reached the limiter fails open *to this process*: it logs one warning and meters callers with
in-process buckets until Redis answers again (asked again every few seconds), then logs that it recovered. The API
stays up and a flood is still stopped; while the outage lasts a caller spreading requests over N instances gets N
budgets. Failing closed would turn an outage of a cache into an outage of the whole API, a worse trade for a catalog
whose data is read-mostly.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog_api.errors import RateLimited, error_payload
from catalog_api.settings import Settings

log = logging.getLogger(__name__)

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
"""Liveness and readiness probes: a throttled probe would restart or unroute a healthy instance."""

EXEMPT_PREFIXES = ("/static/",)
"""The files pages load (the web UI's modules, GraphiQL's and Swagger UI's): a first visit to the UI fetches some 30
of them at once, which a 20-per-second bucket would refuse, and they touch no database (files named by their
content, cached by browsers for a year). The API requests the pages then make are metered like any other."""

REDIS_TIMEOUT_S = 0.25
"""Connect and reply timeout of the Redis store: far above a healthy round trip, far below what a caller notices."""

REDIS_RETRY_AFTER_S = 5.0
"""After a Redis failure, how long requests use the in-process buckets before Redis is asked again."""


@dataclass(frozen=True, slots=True)
class Limits:
    """A bucket's shape: at most `burst` tokens, refilled at `per_s` tokens per second."""

    per_s: float
    burst: int

    @property
    def full_after_s(self) -> float:
        """How long an empty bucket takes to fill up; a bucket untouched for that long equals a brand-new one."""
        return self.burst / self.per_s


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one request against its caller's bucket: admitted or not, and what the bucket holds now."""

    allowed: bool
    tokens: float
    limits: Limits

    @property
    def wait_s(self) -> float:
        """Seconds until the bucket holds a token again."""
        return max(0.0, (1 - self.tokens) / self.limits.per_s)

    @property
    def retry_after_s(self) -> int:
        """Whole seconds until the bucket holds a token again, rounded up so that a retry then is admitted."""
        return math.ceil(self.wait_s)

    def headers(self) -> dict[str, str]:
        headers = {"RateLimit-Limit": str(self.limits.burst), "RateLimit-Remaining": str(math.floor(self.tokens))}
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers


def spend(tokens: float, elapsed_s: float, limits: Limits) -> tuple[bool, float]:
    """Refills a bucket for the time elapsed since it was last touched, then takes one token if there is one."""
    tokens = min(float(limits.burst), tokens + max(0.0, elapsed_s) * limits.per_s)
    return (True, tokens - 1) if tokens >= 1 else (False, tokens)


class BucketStore(Protocol):
    """Where buckets live. `take` spends one token of `key`'s bucket, if it has one, and says what is left."""

    limits: Limits

    async def take(self, key: str) -> Decision: ...

    async def aclose(self) -> None: ...


class MemoryBuckets:
    """Buckets in this process; `clock` (monotonic seconds) is injectable so that a test moves time, not sleeps."""

    SWEEP_FLOOR = 1024

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when last touched)
        # One store may serve apps on several event loops (threads), e.g. test clients; a take never awaits.
        self._lock = threading.Lock()
        self._sweep_at = self.SWEEP_FLOOR

    async def take(self, key: str) -> Decision:
        with self._lock:
            now = self._clock()
            tokens, touched = self._buckets.get(key, (float(self.limits.burst), now))
            allowed, tokens = spend(tokens, now - touched, self.limits)
            self._buckets[key] = (tokens, now)
            if len(self._buckets) >= self._sweep_at:
                self._forget_full_buckets(now)
        return Decision(allowed, tokens, self.limits)

    def _forget_full_buckets(self, now: float) -> None:
        # A bucket untouched until it is full again says nothing a missing one would not, so idle callers are
        # dropped. Sweeping only when the table has doubled keeps the cost per request constant.
        full_after = self.limits.full_after_s
        self._buckets = {key: state for key, state in self._buckets.items() if now - state[1] < full_after}
        self._sweep_at = max(self.SWEEP_FLOOR, 2 * len(self._buckets))

    async def aclose(self) -> None:
        return None


# KEYS[1]: the bucket; ARGV: refill per second, capacity, time to live in ms. Returns {admitted (0/1), tokens left}.
TAKE_SCRIPT = """
local now = redis.call('TIME')
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokens, elapsed = burst, 0
local state = redis.call('HMGET', KEYS[1], 'tokens', 's', 'us')
if state[1] then
  -- seconds and microseconds kept apart: microseconds since 1970 need more digits than tostring() writes
  tokens = tonumber(state[1])
  elapsed = (tonumber(now[1]) - tonumber(state[2])) + (tonumber(now[2]) - tonumber(state[3])) / 1000000
end
tokens = math.min(burst, tokens + math.max(0, elapsed) * rate)
local admitted = 0
if tokens >= 1 then
  tokens = tokens - 1
  admitted = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 's', now[1], 'us', now[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {admitted, tostring(tokens)}
"""


class RedisBuckets:
    """Buckets in Redis, shared by every instance given the same URL; `fallback` meters callers while Redis is
    unreachable (see the module's docstring)."""

    KEY_PREFIX = "catalog:ratelimit:"

    def __init__(self, limits: Limits, url: str, *, fallback: MemoryBuckets | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.url = url
        self.fallback = fallback or MemoryBuckets(limits, clock)
        self._clock = clock
        # A key expires once its bucket would be full again, which is exactly when it stops carrying information.
        self._ttl_ms = max(1, math.ceil(limits.full_after_s * 1000))
        self._down_until: float | None = None  # None while Redis answers
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._script: Any = None

    def key(self, caller: str) -> str:
        return self.KEY_PREFIX + caller

    def _take_script(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # redis.asyncio connections belong to the event loop that opened them; another loop needs its own client.
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # No retries: a failed call falls back to the in-process buckets at once instead of stalling a request.
            self._client = Redis.from_url(self.url, socket_timeout=REDIS_TIMEOUT_S,
                                          socket_connect_timeout=REDIS_TIMEOUT_S, retry=Retry(NoBackoff(), 0))
            # register_script sends EVALSHA, and loads the script once if the server does not know it (NOSCRIPT).
            self._script = self._client.register_script(TAKE_SCRIPT)
            self._loop = loop
        return self._script

    async def take(self, key: str) -> Decision:
        from redis.exceptions import RedisError

        now = self._clock()
        if self._down_until is not None and now < self._down_until:
            return await self.fallback.take(key)
        try:
            admitted, tokens = await self._take_script()(
                keys=[self.key(key)], args=[self.limits.per_s, self.limits.burst, self._ttl_ms])
        except (RedisError, OSError) as error:  # OSError covers TimeoutError
            if self._down_until is None:
                log.warning("rate limits: Redis unreachable (%s: %s); each instance limits callers on its own until "
                            "it answers again", type(error).__name__, error)
            self._down_until = now + REDIS_RETRY_AFTER_S
            return await self.fallback.take(key)
        if self._down_until is not None:
            log.warning("rate limits: Redis answers again; buckets are shared between instances again")
            self._down_until = None
        return Decision(bool(admitted), float(tokens), self.limits)

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = self._script = self._loop = None


def buckets_for(settings: Settings) -> BucketStore | None:
    """The bucket store the settings ask for, or None when rate limiting is off (`rate_limit_per_s=0`)."""
    if settings.rate_limit_per_s <= 0:
        return None
    limits = Limits(per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst)
    if settings.rate_limit_redis_url:
        return RedisBuckets(limits, settings.rate_limit_redis_url)
    return MemoryBuckets(limits)


def caller_key(scope: Scope) -> str:
    """Whose bucket a request draws on: the actor of a caller who presented credentials, else the client address.

    An identity no credential vouched for (method `none`: an anonymous caller, or the local operator without
    authentication) names no one in particular, so it would put every such caller in one bucket.
    """
    identity = (scope.get("state") or {}).get("identity")
    if identity is not None and identity.method != "none":
        return identity.actor
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


class RateLimitMiddleware:
    """Pure ASGI middleware metering HTTP requests, WebSocket connection attempts and WebSocket messages against a
    `BucketStore`."""

    def __init__(self, app: ASGIApp, buckets: BucketStore) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing_on_shutdown(send))
            return
        path = _app_path(scope)
        if scope["type"] not in ("http", "websocket") or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        caller = caller_key(scope)
        decision = await self.buckets.take(caller)
        if not decision.allowed:
            await refuse(scope, receive, send, decision)
            return
        if scope["type"] == "http":
            send = _adding_headers(send, decision.headers())
        else:
            receive = self._metering_messages(receive, caller)
        await self.app(scope, receive, send)

    def _metering_messages(self, receive: Receive, caller: str) -> Receive:
        async def metered() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                while not (decision := await self.buckets.take(caller)).allowed:
                    await asyncio.sleep(decision.wait_s)
            return message

        return metered

    def _closing_on_shutdown(self, send: Send) -> Send:
        async def closing(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.buckets.aclose()
            await send(message)

        return closing


def _app_path(scope: Scope) -> str:
    # Behind a proxy that mounts the API under a prefix, servers put the prefix (root_path) in front of the path.
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _adding_headers(send: Send, headers: dict[str, str]) -> Send:
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def adding(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *raw]}
        await send(message)

    return adding


async def refuse(scope: Scope, receive: Receive, send: Send, decision: Decision) -> None:
    """Answers 429 with the `rate_limited` error body and the rate-limit headers, to a request or a WebSocket
    handshake."""
    limits, retry_after = decision.limits, decision.retry_after_s
    status, body = error_payload(RateLimited(
        f"too many requests: at most {limits.burst} at once and {limits.per_s:g} per second per caller; "
        f"retry in {retry_after} s", retry_after_s=retry_after))
    response = JSONResponse({"error": body}, status_code=status, headers=decision.headers())
    if scope["type"] == "websocket":
        await receive()  # the client's `websocket.connect`: the answer below is the handshake's
        if "websocket.http.response" not in (scope.get("extensions") or {}):
            # Without the denial-response extension a server can only refuse the handshake (it answers 403).
            await send({"type": "websocket.close", "code": 1013, "reason": "rate limited"})
            return
    await response(scope, receive, send)
