"""Webhooks against a real HTTP receiver on 127.0.0.1 that checks every request with `events.webhooks.verify`.

The receiver (http.server in a thread) answers per path: `/hook` 200, `/flaky` 500 twice then 200, `/bad` 400,
`/down` 503, `/throttled` 429 with Retry-After then 200, `/slow` slower than the publisher's timeout, and the
redirects in `REDIRECTS`. A request whose signature does not verify gets 401 before any of that. Every answer's body
names the receiver (`TARGET_SAYS`), so a test can tell that none of it is kept. The publishers here may reach
loopback addresses (`LOCAL`): the receiver is on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from events import (
    CatalogEvent,
    EgressPolicy,
    EventType,
    InvalidWebhookSubscription,
    SignatureError,
    WebhookDelivery,
    WebhookPublisher,
    WebhookRetryPolicy,
    WebhookSubscription,
    generate_secret,
    sign,
    verify,
)
from events.examples import example_events
from events.webhooks import SIGNATURE_HEADER

SECRET = "whsec-test-0123456789abcdef"
QUICK = WebhookRetryPolicy(attempts=3, initial_wait_s=0.01, max_wait_s=0.05, jitter_s=0.0, timeout_s=2.0)
LOCAL = EgressPolicy(allow_private=True)
TARGET_SAYS = b"internal answer of the target: "
REDIRECTS = {
    "/moved": (307, "/hook"),
    "/moved-for-good": (308, "/hook"),
    "/found": (302, "/hook"),
    "/to-metadata": (307, "http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
    "/to-metadata-decimal": (307, "http://2852039166/latest/meta-data/"),
    "/to-metadata-mapped": (308, "http://[::ffff:169.254.169.254]/latest/meta-data/"),
    "/to-file": (307, "file:///etc/passwd"),
    "/loop": (307, "/loop"),
}
EXAMPLES = example_events()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """A webhook endpoint: verifies signatures with `verify`, then answers as its path says."""

    secret: str = SECRET
    clock_offset_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        status, extra, answer = self._answer(path, headers, body)
        return status, extra, TARGET_SAYS + answer

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            count = self._counts[path] = self._counts.get(path, 0) + 1
        try:
            verify(body, headers.get(SIGNATURE_HEADER), self.secret, now=time.time() + self.clock_offset_s)
        except SignatureError as error:
            return 401, {}, error.reason.encode()
        if path == "/flaky":
            return (500, {}, b"database is locked") if count <= 2 else (200, {}, b"ok")
        if path == "/bad":
            return 400, {}, b"unknown event type"
        if path == "/down":
            return 503, {"Retry-After": "0"}, b"maintenance"
        if path == "/throttled":
            return (429, {"Retry-After": "2"}, b"slow down") if count == 1 else (200, {}, b"ok")
        if path == "/superscript":  # '²' counts as a digit to str.isdigit(), but no number parser takes it
            return (429, {"Retry-After": "\u00b2"}, b"slow down") if count == 1 else (200, {}, b"ok")
        if path == "/slow":
            time.sleep(0.6)
        if path in REDIRECTS:
            status, location = REDIRECTS[path]
            return status, {"Location": location}, b"moved"
        return 200, {}, b"ok"

    def received(self, path: str) -> list[Received]:
        """Requests answered on `path`."""
        return [r for r in self.requests if r.path == path]

    def arrived(self, path: str) -> int:
        """Requests that reached `path`, answered or not yet."""
        return self._counts.get(path, 0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k: v for k, v in self.headers.items()}
            with state._lock:
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                status, extra, answer = state.handle(self.path, headers, body)
            finally:
                with state._lock:
                    state.in_flight -= 1
            with state._lock:
                state.requests.append(Received(self.path, headers, body, status))
            try:
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def http_client() -> Iterator[httpx.Client]:
    """A plain client, to send the receiver requests of our own (building one loads the CA bundle: ~0.2 s)."""
    with httpx.Client(follow_redirects=False) as client:
        yield client


def hooks(subscriptions: Any, **options: Any) -> WebhookPublisher:
    """A publisher that may reach the local receiver, with quick retries unless told otherwise."""
    return WebhookPublisher(subscriptions, **({"retry": QUICK, "egress": LOCAL} | options))


def subscription(receiver: Receiver, path: str = "/hook", sub_id: str = "sub-1", **fields: Any) -> WebhookSubscription:
    return WebhookSubscription(id=sub_id, url=receiver.base_url + path, secret=fields.pop("secret", SECRET), **fields)


def event(event_type: EventType = EventType.COLUMN_ADDED) -> CatalogEvent:
    """A fresh copy of the documented example (new id) so each delivery is distinct."""
    example = EXAMPLES[event_type]
    return CatalogEvent.create(example.payload(), subject=example.subject)


def test_a_signed_event_is_accepted_and_arrives_as_a_structured_cloudevent(receiver: Receiver) -> None:
    sent = event()
    with hooks([subscription(receiver)]) as publisher:
        result = publisher.publish([sent])

    assert result.ok and result.delivered == (sent.id,)
    [request] = receiver.received("/hook")
    assert request.status == 200
    assert request.headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    assert CatalogEvent.from_json(request.body) == sent
    [delivery] = result.deliveries
    assert (delivery.subscription_id, delivery.event_id, delivery.event_type) == ("sub-1", sent.id,
                                                                                  "catalog.column.added")
    assert delivery.delivered and delivery.attempts == 1 and delivery.status_code == 200
    assert delivery.error is None and delivery.duration_ms >= 0


def test_an_events_trace_context_is_also_its_requests_traceparent_header(receiver: Receiver) -> None:
    traced = event().model_copy(update={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    untraced = event()
    with hooks([subscription(receiver)]) as publisher:
        assert publisher.publish([traced, untraced]).ok
    first, second = receiver.received("/hook")
    assert first.headers["traceparent"] == CatalogEvent.from_json(first.body).traceparent == traced.traceparent
    assert "traceparent" not in second.headers


def test_a_wrong_secret_is_rejected_and_not_retried(receiver: Receiver) -> None:
    wrong_secret = subscription(receiver, secret="another-secret-of-the-right-length")
    with hooks([wrong_secret]) as publisher:
        result = publisher.publish([event()])
    [delivery] = result.deliveries
    assert not delivery.delivered and delivery.status_code == 401 and delivery.attempts == 1
    assert not delivery.retryable and delivery.error == "HTTP 401"
    assert result.failed[0].retryable is False and "sub-1: HTTP 401" in result.failed[0].error


def test_a_tampered_body_or_a_replayed_request_is_rejected(receiver: Receiver, http_client: httpx.Client) -> None:
    with hooks([subscription(receiver)]) as publisher:
        assert publisher.publish([event()]).ok
    [original] = receiver.received("/hook")
    headers = {"Content-Type": original.headers["Content-Type"], SIGNATURE_HEADER: original.headers[SIGNATURE_HEADER]}
    tampered = original.body.replace(b'"nullable":false', b'"nullable":true')
    assert tampered != original.body

    url = receiver.base_url + "/hook"
    assert http_client.post(url, content=tampered, headers=headers).status_code == 401
    assert http_client.post(url, content=original.body, headers=headers).status_code == 200  # same, in time
    receiver.clock_offset_s = 10 * 60  # ten minutes later: the captured request is a replay
    replay = http_client.post(url, content=original.body, headers=headers)
    assert replay.status_code == 401 and "possible replay" in replay.text


def test_a_stale_signing_clock_is_rejected_by_the_receiver(receiver: Receiver) -> None:
    with hooks([subscription(receiver)], clock=lambda: time.time() - 3600) as publisher:
        [delivery] = publisher.publish([event()]).deliveries
    assert delivery.status_code == 401 and not delivery.delivered and delivery.attempts == 1
    assert [r.status for r in receiver.requests] == [401]


def test_500_twice_then_200_is_three_signed_attempts(receiver: Receiver) -> None:
    waits: list[float] = []
    sent = event()
    with hooks([subscription(receiver, "/flaky")], sleep=waits.append) as publisher:
        result = publisher.publish([sent])

    assert result.ok
    [delivery] = result.deliveries
    assert delivery.delivered and delivery.attempts == 3 and delivery.status_code == 200
    attempts = receiver.received("/flaky")
    assert [r.status for r in attempts] == [500, 500, 200]
    assert all(r.body == sent.to_json_bytes() for r in attempts)  # every attempt verified (else 401)
    assert waits == [0.01, 0.02]  # exponential backoff (jitter 0 here)


def test_400_is_final_after_one_attempt(receiver: Receiver) -> None:
    waits: list[float] = []
    with hooks([subscription(receiver, "/bad")], sleep=waits.append) as publisher:
        [delivery] = publisher.publish([event()]).deliveries
    assert delivery.attempts == 1 and delivery.status_code == 400 and not delivery.retryable
    assert delivery.error == "HTTP 400"
    assert len(receiver.received("/bad")) == 1 and waits == []


def test_retry_after_is_honoured(receiver: Receiver) -> None:
    waits: list[float] = []
    policy = WebhookRetryPolicy(attempts=3, initial_wait_s=0.01, max_wait_s=5, jitter_s=0, timeout_s=2)
    with hooks([subscription(receiver, "/throttled")], retry=policy, sleep=waits.append) as publisher:
        [delivery] = publisher.publish([event()]).deliveries
    assert delivery.delivered and delivery.attempts == 2
    assert waits == [2.0]


def test_a_retry_after_that_is_no_number_falls_back_to_the_policy_wait(receiver: Receiver) -> None:
    waits: list[float] = []
    policy = WebhookRetryPolicy(attempts=3, initial_wait_s=0.01, max_wait_s=5, jitter_s=0, timeout_s=2)
    with hooks([subscription(receiver, "/superscript")], retry=policy, sleep=waits.append) as publisher:
        [delivery] = publisher.publish([event()]).deliveries
    assert delivery.delivered and delivery.attempts == 2
    assert waits == [0.01]


def test_a_dead_endpoint_fails_once_holds_its_later_events_and_other_subscribers_still_get_theirs(
    receiver: Receiver,
) -> None:
    events = [event(), event(EventType.TABLE_CREATED), event(EventType.JOB_FAILED)]
    subs = [subscription(receiver, "/down", "down"), subscription(receiver, "/hook", "up")]
    with hooks(subs, sleep=lambda s: None) as publisher:
        result = publisher.publish(events)

    down = [d for d in result.deliveries if d.subscription_id == "down"]
    up = [d for d in result.deliveries if d.subscription_id == "up"]
    assert [d.attempts for d in down] == [3, 0, 0] and [d.status_code for d in down] == [503, None, None]
    assert all(not d.delivered and d.retryable for d in down)
    assert down[0].error == "HTTP 503 (gave up after 3 attempts)"
    assert down[1].error.startswith(f"not attempted: event {events[0].id} to this subscription failed first")
    assert len(receiver.received("/down")) == 3
    assert all(d.delivered for d in up) and [r.body for r in receiver.received("/hook")] == [
        e.to_json_bytes() for e in events]
    assert result.delivered == () and [f.event_id for f in result.failed] == [e.id for e in events]
    assert all(f.retryable and f.error.startswith("down: ") for f in result.failed)


def test_timeouts_and_refused_connections_are_retried(receiver: Receiver) -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    policy = WebhookRetryPolicy(attempts=2, initial_wait_s=0.01, max_wait_s=0.01, jitter_s=0, timeout_s=0.2)
    subs = [subscription(receiver, "/slow", "slow"),
            WebhookSubscription(id="refused", url=f"http://127.0.0.1:{closed_port}/hook", secret=SECRET)]
    with hooks(subs, retry=policy) as publisher:
        deliveries = {d.subscription_id: d for d in publisher.publish([event()]).deliveries}
    slow, refused = deliveries["slow"], deliveries["refused"]
    assert slow.attempts == 2 and slow.status_code is None and slow.retryable
    assert slow.error.startswith("timed out after 0.2 s")
    assert receiver.arrived("/slow") == 2
    assert refused.attempts == 2 and refused.status_code is None and refused.retryable
    assert refused.error.startswith("ConnectError")


def test_filters_select_what_each_subscription_receives(receiver: Receiver) -> None:
    columns_of_erp = subscription(receiver, "/hook", "columns", event_types=["catalog.column.added",
                                                                            "catalog.column.removed"],
                                  urn_prefix="urn:catalog:source:erp")
    events = [event(EventType.COLUMN_ADDED), event(EventType.TABLE_CREATED), event(EventType.COLUMN_REMOVED)]
    other_source = CatalogEvent.create(
        events[0].payload().model_copy(update={"dataset": "urn:catalog:dataset:crm:sales:orders"}),
        subject="urn:catalog:column:crm:sales:orders:total",
    )
    with hooks([columns_of_erp]) as publisher:
        result = publisher.publish([*events, other_source])
    assert [CatalogEvent.from_json(r.body).id for r in receiver.received("/hook")] == [events[0].id, events[2].id]
    assert {d.event_id for d in result.deliveries} == {events[0].id, events[2].id}
    # Events no subscription wants are done with: nothing to retry.
    assert result.ok and len(result.delivered) == 4


def test_subscriptions_are_read_afresh_on_each_publish(receiver: Receiver) -> None:
    current: list[WebhookSubscription] = []
    with hooks(lambda: current) as publisher:
        assert publisher.publish([event()]).deliveries == ()
        current.append(subscription(receiver))
        assert len(publisher.publish([event()]).deliveries) == 1


def test_verify_accepts_good_signatures_and_explains_refusals() -> None:
    body = EXAMPLES[EventType.COLUMN_ADDED].to_json_bytes()
    now = 1_800_000_000
    header = sign(body, SECRET, now)[SIGNATURE_HEADER]
    assert header.startswith(f"t={now},v1=") and len(header.split("v1=")[1]) == 64
    assert verify(body, header, SECRET, now=now + 299) == now
    assert verify(body.decode(), header, SECRET, now=now) == now

    refusals = {
        "signature does not match": (body + b" ", header, SECRET, now),
        "signature does not match ": (body, header, "some-other-secret-value", now),
        "possible replay": (body, header, SECRET, now + 301),
        "possible replay ": (body, header, SECRET, now - 301),  # from the future: clocks disagree too much
        "missing X-Catalog-Signature": (body, None, SECRET, now),
        "malformed signature header": (body, f"v1={'0' * 64}", SECRET, now),
        "t is not a unix timestamp": (body, "t=yesterday,v1=00", SECRET, now),
    }
    for expected, (payload, sig, secret, at) in refusals.items():
        with pytest.raises(SignatureError, match=expected.strip()):
            verify(payload, sig, secret, now=at)

    rotated = f"t={now},v1={'0' * 64},v1={header.split('v1=')[1]}"  # old and new secret during a rotation
    assert verify(body, rotated, SECRET, now=now) == now


@pytest.mark.parametrize(("fields", "field_name"), [
    ({"id": ""}, "id"),
    ({"url": "ftp://example.com/hook"}, "url"),
    ({"url": "/relative/hook"}, "url"),
    ({"secret": "short"}, "secret"),
    ({"event_types": ["catalog.column.renamed"]}, "event_types"),
    ({"event_types": "catalog.column.added"}, "event_types"),
    ({"urn_prefix": "erp.sales"}, "urn_prefix"),
])
def test_bad_subscriptions_name_the_field(fields: dict[str, Any], field_name: str) -> None:
    values = {"id": "s", "url": "https://hooks.example.com/catalog", "secret": generate_secret()} | fields
    with pytest.raises(InvalidWebhookSubscription) as error:
        WebhookSubscription(**values)
    assert error.value.field == field_name
    assert SECRET not in repr(WebhookSubscription(id="s", url="https://x.example", secret=SECRET))


def test_deliveries_to_several_subscriptions_run_in_parallel(receiver: Receiver) -> None:
    """Four slow endpoints (0.6 s each) with two workers: the receiver sees two requests in flight at once, and
    never more. Checked by the overlap of the receiver's request handling, not by timing the call."""
    subs = [subscription(receiver, "/slow", f"s{n}") for n in range(4)]
    with hooks(subs, max_workers=2) as publisher:
        result = publisher.publish([event()])
    assert result.ok and len(result.deliveries) == 4
    assert receiver.max_in_flight == 2
    assert json.loads(receiver.received("/slow")[0].body)["type"] == "catalog.column.added"


def test_the_default_policy_refuses_the_local_receiver_without_sending_anything(receiver: Receiver) -> None:
    with WebhookPublisher([subscription(receiver)], retry=QUICK) as publisher:
        [delivery] = publisher.publish([event()]).deliveries
    assert not delivery.delivered and not delivery.retryable and delivery.attempts == 1
    assert delivery.status_code is None
    assert delivery.error == ("destination refused: 127.0.0.1 is a loopback address, refused unless private networks "
                              "are allowed")
    assert receiver.requests == []


@pytest.mark.parametrize("path", ["/moved", "/moved-for-good"])
def test_307_and_308_are_followed_with_the_same_signed_body(receiver: Receiver, path: str) -> None:
    sent = event()
    with hooks([subscription(receiver, path)]) as publisher:
        [delivery] = publisher.publish([sent]).deliveries
    assert delivery.delivered and delivery.status_code == 200 and delivery.attempts == 1
    assert [(r.path, r.status) for r in receiver.requests] == [(path, 307 if path == "/moved" else 308), ("/hook", 200)]
    assert receiver.received("/hook")[0].body == sent.to_json_bytes()  # verified by the receiver, else 401


@pytest.mark.parametrize(("path", "error"), [
    ("/to-metadata", "redirect to 169.254.169.254 refused: 169.254.169.254 is a link-local address"),
    ("/to-metadata-decimal", "redirect to 2852039166 refused: 2852039166 resolves to a link-local address"),
    ("/to-metadata-mapped", "redirect to ::ffff:169.254.169.254 refused: ::ffff:169.254.169.254 is a link-local"),
    ("/to-file", "HTTP 307: a redirect to a 'file' URL is refused"),
    ("/found", "HTTP 302: only 307 and 308 redirects are followed"),
    ("/loop", "HTTP 307: more than 3 redirects"),
])
def test_redirects_are_checked_like_the_first_request_and_fail_for_good(receiver: Receiver, path: str,
                                                                        error: str) -> None:
    """Private networks are allowed here (the receiver is local), yet a redirect to the metadata endpoint, however
    spelled, is refused before any connection: each hop goes through the same check as the subscription's URL."""
    with hooks([subscription(receiver, path)]) as publisher:
        [delivery] = publisher.publish([event()]).deliveries
    assert not delivery.delivered and not delivery.retryable and delivery.attempts == 1
    assert delivery.error.startswith(error), delivery.error
    assert receiver.arrived("/hook") == 0
    assert receiver.arrived(path) == (4 if path == "/loop" else 1)


def test_nothing_the_target_answers_is_kept_in_the_delivery(receiver: Receiver) -> None:
    with hooks([subscription(receiver, "/hook", "ok"), subscription(receiver, "/bad", "bad")]) as publisher:
        deliveries = publisher.publish([event()]).deliveries
    assert {d.subscription_id: d.status_code for d in deliveries} == {"ok": 200, "bad": 400}
    for delivery in deliveries:
        assert TARGET_SAYS.decode() not in repr(delivery)
        assert "response_excerpt" not in WebhookDelivery.__dataclass_fields__
