"""Rate limits against the running application: a caller's burst is answered, the next request gets 429 with
`Retry-After` until its bucket refills; callers have their own buckets; probes are never limited; WebSocket
handshakes and SSE streams are metered when they open, and messages over an open WebSocket wait for their tokens; a
flood like the security finding's gets 429s with the default settings; Redis shares one bucket between instances,
expires idle ones and, when it is down, the limiter fails open to per-instance buckets.

In-process buckets run on a hand-moved clock, so refilling takes no waiting.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from catalog_api.app import create_app
from catalog_api.security.ratelimit import Limits, MemoryBuckets, RedisBuckets
from catalog_api.ui.routes import UI_STATIC_DIR
from tests.support.postgres import service_missing
from tests.support.server import serve

REDIS_URL = "redis://127.0.0.1:6379/9"
SOURCES = "/api/v1/sources"
GRAPHQL_WS = ["graphql-transport-ws"]
SOURCE_NAMES = "{ sources { edges { node { name } } } }"


def assert_rate_limited(response, retry_after: int | None = None) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1
    if retry_after is not None:
        assert response.headers["Retry-After"] == str(retry_after)
    assert response.headers["RateLimit-Remaining"] == "0"


@pytest.fixture
def limited(catalog_ctx, clock) -> Iterator[TestClient]:
    """The application with buckets of 5 requests refilled at one every 2 s, on the test's clock."""
    app = create_app(ctx=catalog_ctx, rate_limits=MemoryBuckets(Limits(per_s=0.5, burst=5), clock))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def secured_limited(secured, clock) -> Iterator[TestClient]:
    """The same, with authentication required (`secured.headers(role)` holds each role's API key)."""
    app = create_app(ctx=secured.ctx, rate_limits=MemoryBuckets(Limits(per_s=0.5, burst=5), clock))
    with TestClient(app) as client:
        yield client


# -- in-process buckets -----------------------------------------------------------------------------------------

def test_a_caller_gets_its_burst_then_429_with_retry_after_until_a_token_is_back(limited, clock):
    remaining = []
    for _ in range(5):
        response = limited.get(SOURCES)
        assert response.status_code == 200, response.text
        assert response.headers["RateLimit-Limit"] == "5"
        remaining.append(response.headers["RateLimit-Remaining"])
    assert remaining == ["4", "3", "2", "1", "0"]

    refused = limited.get(SOURCES)
    assert_rate_limited(refused, retry_after=2)  # one token per 2 s
    assert "retry in 2 s" in refused.json()["error"]["message"]

    clock.advance(1.5)
    assert_rate_limited(limited.get(SOURCES), retry_after=1)  # 0.5 s to go, rounded up to whole seconds
    clock.advance(0.5)
    assert limited.get(SOURCES).status_code == 200
    assert_rate_limited(limited.get(SOURCES), retry_after=2)

    clock.advance(60)  # refilled, but never beyond the burst
    assert [limited.get(SOURCES).status_code for _ in range(6)] == [200] * 5 + [429]


def test_graphql_is_limited_like_rest(limited):
    for _ in range(5):
        assert limited.post("/graphql", json={"query": SOURCE_NAMES}).is_success
    assert_rate_limited(limited.post("/graphql", json={"query": SOURCE_NAMES}))


def test_every_api_key_has_its_own_bucket(secured, secured_limited):
    viewer, curator = secured.headers("viewer"), secured.headers("curator")
    for _ in range(5):
        assert secured_limited.get(SOURCES, headers=viewer).status_code == 200
    assert_rate_limited(secured_limited.get(SOURCES, headers=viewer))
    assert secured_limited.get(SOURCES, headers=curator).headers["RateLimit-Remaining"] == "4"
    anonymous = secured_limited.get(SOURCES)  # refused by authentication, metered by the client address's bucket
    assert (anonymous.status_code, anonymous.headers["RateLimit-Remaining"]) == (401, "4")


def test_anonymous_callers_have_a_bucket_per_client_address(secured, clock):
    app = create_app(ctx=secured.ctx, rate_limits=MemoryBuckets(Limits(per_s=0.5, burst=2), clock))
    with TestClient(app, client=("192.0.2.1", 40000)) as first, TestClient(app, client=("192.0.2.2", 40000)) as second:
        assert [first.get(SOURCES).status_code for _ in range(3)] == [401, 401, 429]
        assert [second.get(SOURCES).status_code for _ in range(3)] == [401, 401, 429]


def test_probes_are_never_limited(limited):
    for _ in range(5):
        limited.get(SOURCES)
    assert_rate_limited(limited.get(SOURCES))
    for _ in range(20):
        for probe in ("/healthz", "/readyz"):
            response = limited.get(probe)
            assert response.status_code == 200, response.text
            assert "RateLimit-Remaining" not in response.headers


def test_the_files_a_page_loads_are_not_metered_but_its_api_requests_are(limited):
    """A first visit to the web UI loads its shell and some 30 modules at once: with a bucket of 5 they all load, and
    the caller still has its whole bucket for the API requests the pages make."""
    modules = ["/static/ui/" + str(path.relative_to(UI_STATIC_DIR)) for path in sorted(UI_STATIC_DIR.rglob("*.js"))]
    assert len(modules) > 10
    for path in modules + ["/static/vendor/preact-11.2.0/dist/preact.mjs"] * 10:
        response = limited.get(path)
        assert response.status_code == 200, (path, response.text)
    assert [limited.get(SOURCES).status_code for _ in range(6)] == [200] * 5 + [429]
    assert limited.get("/ui").status_code == 429  # the shell is a page the service renders: it takes a token


def test_probes_are_never_limited_behind_a_path_prefix(catalog_ctx, clock):
    """uvicorn's --root-path (a proxy mounting the API under /catalog) puts the prefix in front of every path."""
    app = create_app(ctx=catalog_ctx, rate_limits=MemoryBuckets(Limits(per_s=0.5, burst=1), clock))
    with serve(app, root_path="/catalog") as url, httpx.Client(base_url=url, timeout=10) as client:
        assert [client.get(SOURCES).status_code for _ in range(2)] == [200, 429]
        assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5


def test_a_websocket_handshake_takes_a_token_and_is_refused_with_429_when_none_is_left(limited):
    with limited.websocket_connect("/graphql", subprotocols=GRAPHQL_WS) as ws:
        ws.send_json({"type": "connection_init"})  # a message over the socket: one more token
        assert ws.receive_json()["type"] == "connection_ack"
    assert limited.get(SOURCES).headers["RateLimit-Remaining"] == "2"
    assert [limited.get(SOURCES).status_code for _ in range(2)] == [200] * 2
    with (pytest.raises(WebSocketDenialResponse) as refused,
          limited.websocket_connect("/graphql", subprotocols=GRAPHQL_WS)):
        pass
    assert_rate_limited(refused.value, retry_after=2)


def test_queries_over_an_open_websocket_wait_for_their_tokens_instead_of_bypassing_the_limit(catalog_ctx):
    app = create_app(ctx=catalog_ctx, rate_limits=MemoryBuckets(Limits(per_s=5, burst=2)))
    with TestClient(app) as client, client.websocket_connect("/graphql", subprotocols=GRAPHQL_WS) as ws:
        ws.send_json({"type": "connection_init"})  # the handshake and this message spend the burst
        assert ws.receive_json()["type"] == "connection_ack"
        started = time.monotonic()
        for n in range(10):
            ws.send_json({"id": str(n), "type": "subscribe", "payload": {"query": SOURCE_NAMES}})
        answers = [ws.receive_json() for _ in range(20)]  # each query: `next`, then `complete`
        elapsed = time.monotonic() - started
    assert sorted(a["id"] for a in answers if a["type"] == "next") == [str(n) for n in range(10)]
    assert all("errors" not in a["payload"] for a in answers if a["type"] == "next")
    # The bucket holds at most 2 tokens when the queries start, so 8 must be refilled: 1.6 s at 5 per second (10
    # queries take well under that unmetered).
    assert elapsed >= 0.95 * (10 - 2) / 5, elapsed


def test_an_event_stream_is_refused_with_429_when_no_token_is_left(limited):
    for _ in range(5):
        limited.get(SOURCES)
    assert_rate_limited(limited.get("/api/v1/events/stream"))


def test_websocket_and_sse_openings_are_metered_on_a_real_server(catalog_ctx, clock):
    """uvicorn, not the test client: the 429 reaches a WebSocket client as the handshake's answer."""
    app = create_app(ctx=catalog_ctx, rate_limits=MemoryBuckets(Limits(per_s=0.5, burst=2), clock))
    with serve(app, timeout_graceful_shutdown=2, ws="websockets-sansio") as url:
        with httpx.stream("GET", f"{url}/api/v1/events/stream", timeout=10) as stream:
            assert stream.status_code == 200 and stream.headers["RateLimit-Remaining"] == "1"
            assert next(stream.iter_lines()).startswith(": connected")
        with connect(f"ws://{url.removeprefix('http://')}/graphql", subprotocols=GRAPHQL_WS, open_timeout=10):
            pass
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://{url.removeprefix('http://')}/graphql", subprotocols=GRAPHQL_WS, open_timeout=10)
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["Retry-After"] == "2"
        assert_rate_limited(httpx.get(f"{url}/api/v1/events/stream", timeout=10), retry_after=2)


# -- the finding: "No rate limit: 300 requests in 1.8 s, all answered" ------------------------------------------

FLOODS = {"rest": ("GET", SOURCES, None),
          "graphql": ("POST", "/graphql", {"query": SOURCE_NAMES})}


@pytest.mark.parametrize("flood", FLOODS)
def test_a_flood_of_300_requests_gets_429s_with_the_default_settings(api_client, catalog_ctx, flood):
    method, path, body = FLOODS[flood]
    settings = catalog_ctx.settings
    started = time.monotonic()
    answers = [api_client.request(method, path, json=body) for _ in range(300)]
    elapsed = time.monotonic() - started

    statuses = [a.status_code for a in answers]
    assert set(statuses) == {200, 429}
    assert statuses[: settings.rate_limit_burst] == [200] * settings.rate_limit_burst
    admitted = statuses.count(200)
    assert admitted <= settings.rate_limit_burst + settings.rate_limit_per_s * elapsed + 1
    for refused in (a for a in answers if a.status_code == 429):
        assert_rate_limited(refused)


# -- Redis --------------------------------------------------------------------------------------------------------

@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        service_missing("Redis", error)
    yield client
    client.close()


@pytest.fixture
def caller() -> tuple[str, int]:
    """A client address of its own, so that no earlier run's bucket (still in Redis) is shared."""
    return (f"test-{uuid.uuid4().hex[:12]}", 40000)


def _redis_settings(catalog_ctx, url: str, per_s: float, burst: int) -> None:
    settings = catalog_ctx.settings
    settings.rate_limit_redis_url, settings.rate_limit_per_s, settings.rate_limit_burst = url, per_s, burst
    settings.events_relay_enabled = False  # two apps share this context; one relay is enough (none is needed)


def test_two_instances_share_one_bucket_through_redis(catalog_ctx, redis_client, caller):
    _redis_settings(catalog_ctx, REDIS_URL, per_s=0.1, burst=5)
    with TestClient(create_app(ctx=catalog_ctx), client=caller) as first, \
            TestClient(create_app(ctx=catalog_ctx), client=caller) as second:
        assert [first.get(SOURCES).headers["RateLimit-Remaining"] for _ in range(3)] == ["4", "3", "2"]
        assert [second.get(SOURCES).headers["RateLimit-Remaining"] for _ in range(2)] == ["1", "0"]
        refused = second.get(SOURCES)
        assert_rate_limited(refused)
        assert 1 <= int(refused.headers["Retry-After"]) <= 10  # one token per 10 s
        assert_rate_limited(first.get(SOURCES))
    redis_client.delete(RedisBuckets.KEY_PREFIX + f"ip:{caller[0]}")


def test_an_idle_callers_bucket_expires_from_redis_once_it_would_be_full(catalog_ctx, redis_client, caller):
    _redis_settings(catalog_ctx, REDIS_URL, per_s=1, burst=3)  # full again 3 s after the last request
    key = RedisBuckets.KEY_PREFIX + f"ip:{caller[0]}"
    with TestClient(create_app(ctx=catalog_ctx), client=caller) as client:
        asked = time.monotonic()
        response = client.get(SOURCES)
        assert (response.status_code, response.headers["RateLimit-Remaining"]) == (200, "2")
        ttl_ms = redis_client.pttl(key)
        since_ms = (time.monotonic() - asked) * 1000
        # The request set it to the 3 s the bucket needs to fill up: at most 3000 ms are left, and at least 3000 ms
        # less the time since the request (less 1 ms: Redis counts whole milliseconds). 3 s leave a busy machine
        # room to ask before the key is gone.
        assert 0 < ttl_ms <= 3000 and ttl_ms >= 3000 - since_ms - 1, (ttl_ms, since_ms)
        deadline = time.monotonic() + 30
        while redis_client.exists(key):
            assert time.monotonic() < deadline, "the idle bucket never expired"
            time.sleep(0.05)
        assert client.get(SOURCES).headers["RateLimit-Remaining"] == "2"  # a fresh, full bucket


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_with_redis_down_the_api_answers_and_each_instance_limits_on_its_own(catalog_ctx, caplog):
    _redis_settings(catalog_ctx, f"redis://127.0.0.1:{_closed_port()}/0", per_s=0.1, burst=3)
    with caplog.at_level(logging.WARNING, logger="catalog_api.security.ratelimit"), \
            TestClient(create_app(ctx=catalog_ctx)) as client:
        assert [client.get(SOURCES).status_code for _ in range(4)] == [200, 200, 200, 429]
        assert client.get("/healthz").status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.name == "catalog_api.security.ratelimit"]
    assert len(warnings) == 1 and "Redis unreachable" in warnings[0], warnings
