"""Signed webhooks: subscriptions with filters, HMAC-SHA256 signatures, retries, and a record per delivery.

Each matching event is POSTed to the subscription's URL on its own, in CloudEvents structured mode
(`Content-Type: application/cloudevents+json; charset=utf-8`, the body is the event's JSON), with

    X-Catalog-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>

Receivers call `verify(body, header, secret)`: it recomputes the HMAC over the raw body, compares in constant time
and refuses timestamps more than `tolerance_s` (5 minutes) away from their clock, so a captured request cannot be
replayed later. Each attempt is signed afresh.

Delivery: 2xx is success; 408, 429, 5xx, timeouts and connection errors are retried with exponential backoff and
jitter (tenacity), honouring `Retry-After`; any other status is final (a receiver saying 400 will say it again).
Where a request may go is decided by an `EgressPolicy` (`events.egress`): every connection, redirects included, goes
to an address the policy checked, and a refused destination is a final failure. Up to `MAX_REDIRECTS` 307/308
redirects are followed (they keep the POST and its body); other redirects are final failures. Nothing of a
response's body is kept: the record holds the status, the error, attempts and timing.

Subscriptions are served in parallel, each one's events in order; once an event exhausts its retries on a
subscription, that subscription's later events in the same call are not attempted (recorded as such), so a retry by
the relay keeps them in order and a dead endpoint costs one backoff, not one per event.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from events.egress import CheckedTransport, DestinationRefused, EgressPolicy
from events.filters import EventFilter, InvalidFilter, check_urn_prefix, parse_event_types
from events.model import CLOUDEVENTS_JSON, CatalogEvent
from events.publisher import PublishFailure, PublishResult
from events.types import EventType

SIGNATURE_HEADER = "X-Catalog-Signature"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300
MIN_SECRET_LENGTH = 16
MAX_REDIRECTS = 3
_FOLLOWED_REDIRECTS = (307, 308)  # the only redirects that keep a POST a POST with its body
_DRAIN_BYTES = 64 * 1024  # read small responses whole so the connection can be reused


class InvalidWebhookSubscription(InvalidFilter):
    """A subscription field is malformed; `field` names it."""


class SignatureError(ValueError):
    """A webhook request failed verification; `reason` says why (receivers answer 401 or 400)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def generate_secret() -> str:
    """A fresh random signing secret (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def _signature(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else bytes(body)


def sign(body: bytes | str, secret: str, timestamp: int) -> dict[str, str]:
    """The signature header for `body` sent at `timestamp` (unix seconds)."""
    mac = _signature(_as_bytes(body), secret, int(timestamp))
    return {SIGNATURE_HEADER: f"t={int(timestamp)},{SIGNATURE_VERSION}={mac}"}


def verify(body: bytes | str, header: str | None, secret: str, *, tolerance_s: float = DEFAULT_TOLERANCE_S,
           now: float | None = None) -> int:
    """Checks a received request; returns its timestamp or raises `SignatureError` with the reason.

    `body` must be the raw request body, byte for byte (not re-serialised JSON). Several `v1=` entries are
    accepted (one per secret while a secret is being rotated); one must match.
    """
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("malformed signature header: t is not a unix timestamp") from None
        elif key == SIGNATURE_VERSION:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"malformed signature header: expected 't=<unix>,{SIGNATURE_VERSION}=<hex>'")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError(
            f"timestamp {timestamp} is {abs(current - timestamp):.0f} s away from now (tolerance {tolerance_s:g} s): "
            "refused as a possible replay"
        )
    expected = _signature(_as_bytes(body), secret, timestamp)
    # Compare against every candidate without stopping early: timing reveals nothing about which matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("signature does not match the body and secret")
    return timestamp


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """Where to POST which events, and the secret to sign them with (never shown in repr)."""

    id: str
    url: str
    secret: str = field(repr=False)
    event_types: frozenset[EventType] = frozenset()
    urn_prefix: str = ""
    _filter: EventFilter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidWebhookSubscription("id", "is empty")
        try:
            url = httpx.URL(self.url)
        except (httpx.InvalidURL, TypeError) as error:
            raise InvalidWebhookSubscription("url", f"not a URL: {error}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise InvalidWebhookSubscription("url", f"expected an absolute http(s) URL, got {self.url!r}")
        if not isinstance(self.secret, str) or len(self.secret) < MIN_SECRET_LENGTH:
            raise InvalidWebhookSubscription(
                "secret", f"needs at least {MIN_SECRET_LENGTH} characters (use events.webhooks.generate_secret())"
            )
        try:
            types = parse_event_types(self.event_types)
            prefix = check_urn_prefix(self.urn_prefix)
        except InvalidFilter as error:
            raise InvalidWebhookSubscription(error.field, error.reason) from None
        object.__setattr__(self, "event_types", types)
        object.__setattr__(self, "urn_prefix", prefix)
        object.__setattr__(self, "_filter", EventFilter(types, prefix))

    def matches(self, event: CatalogEvent) -> bool:
        """Whether the event passes the type filter (empty = all) and the URN prefix (see `EventFilter`)."""
        return self._filter.matches(event)


@dataclass(frozen=True, slots=True)
class WebhookRetryPolicy:
    """How hard to try one delivery: attempts in total, backoff bounds, jitter and per-attempt timeout."""

    attempts: int = 5
    initial_wait_s: float = 1.0
    max_wait_s: float = 60.0
    jitter_s: float = 1.0
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts: at least 1")
        for name in ("initial_wait_s", "max_wait_s", "jitter_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must not be negative")
        if self.timeout_s <= 0:
            raise ValueError("timeout_s: must be positive")


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One event to one subscription: what the application stores in the subscription's delivery log."""

    subscription_id: str
    url: str
    event_id: str
    event_type: str
    delivered: bool
    attempts: int
    """HTTP requests made; 0 when not attempted because an earlier event to this subscription failed."""
    status_code: int | None
    """Status of the last attempt; None when no response came (timeout, connection error)."""
    error: str | None
    duration_ms: float
    """Wall time from the first attempt to the outcome, backoff included."""
    retryable: bool
    """For a failure: whether trying again later may succeed (not so after a 4xx such as 400 or 401)."""
    started_at: datetime


@dataclass(frozen=True)
class WebhookPublishResult(PublishResult):
    """`PublishResult` plus one `WebhookDelivery` per (event, matching subscription).

    An event is delivered when every subscription it matches got it (an event matching none is delivered
    trivially). A retry by the relay re-sends to all matching subscriptions; receivers deduplicate by event id.
    """

    deliveries: tuple[WebhookDelivery, ...] = ()


class _Retryable(Exception):
    def __init__(self, status: int | None, error: str, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.retry_after = status, error, retry_after


class _Final(Exception):
    def __init__(self, status: int | None, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


def _retry_after_s(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # '²'.isdigit() is true too, and float() refuses it
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


def _drain(response: httpx.Response) -> None:
    # The body is read only so that the connection can serve the next request, and then dropped: keeping it would
    # let whoever reads the delivery log read whatever the target answers.
    read = 0
    for part in response.iter_raw():
        read += len(part)
        if read >= _DRAIN_BYTES:  # a huge answer is cut short: closing drops the connection
            break


SubscriptionSource = Sequence[WebhookSubscription] | Callable[[], Iterable[WebhookSubscription]]


class WebhookPublisher:
    """Delivers events to webhook subscriptions; `publish` returns a `WebhookPublishResult`.

    `subscriptions` is a list, or a callable returning the current list (the application keeps them in its
    database). `egress` decides which addresses may be reached (default: public addresses only). `clock` gives the
    signing timestamps and `sleep` waits between attempts; both exist for tests.
    """

    def __init__(self, subscriptions: SubscriptionSource, *, retry: WebhookRetryPolicy | None = None,
                 egress: EgressPolicy | None = None, max_workers: int = 8,
                 user_agent: str = "catalog-webhooks/1.0", clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._subscriptions = subscriptions
        self._retry = retry or WebhookRetryPolicy()
        limits = httpx.Limits(max_connections=max_workers * 2, max_keepalive_connections=max_workers)
        self._client = httpx.Client(transport=CheckedTransport(egress or EgressPolicy(), limits=limits),
                                    follow_redirects=False, trust_env=False)
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="webhooks")
        self._user_agent = user_agent
        self._clock = clock
        self._sleep = sleep
        # initial, 2x initial, 4x initial... up to max_wait_s, plus up to jitter_s so that many catalogs (or many
        # subscriptions) hitting one recovering endpoint do not retry in lockstep.
        self._base_wait = wait_exponential(multiplier=self._retry.initial_wait_s, max=self._retry.max_wait_s) + (
            wait_random(0, self._retry.jitter_s)
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._client.close()

    def current_subscriptions(self) -> list[WebhookSubscription]:
        source = self._subscriptions
        return list(source() if callable(source) else source)

    def publish(self, events: Sequence[CatalogEvent]) -> WebhookPublishResult:
        """Delivers every event to every subscription it matches (see the module docstring)."""
        return self.deliver(events, self.current_subscriptions())

    def deliver(self, events: Sequence[CatalogEvent],
                subscriptions: Sequence[WebhookSubscription]) -> WebhookPublishResult:
        """Like `publish`, to the given subscriptions (e.g. a manual re-delivery to one of them)."""
        bodies = {event.id: event.to_json_bytes() for event in events}
        plans = [(sub, [e for e in events if sub.matches(e)]) for sub in subscriptions]
        plans = [(sub, matched) for sub, matched in plans if matched]
        if len(plans) == 1:
            per_subscription = [self._deliver_in_order(plans[0][0], plans[0][1], bodies)]
        else:
            futures = [self._executor.submit(self._deliver_in_order, sub, matched, bodies) for sub, matched in plans]
            per_subscription = [future.result() for future in futures]
        deliveries = [d for batch in per_subscription for d in batch]

        by_event: dict[str, list[WebhookDelivery]] = {}
        for delivery in deliveries:
            by_event.setdefault(delivery.event_id, []).append(delivery)
        delivered: list[str] = []
        failed: list[PublishFailure] = []
        for event in events:
            misses = [d for d in by_event.get(event.id, []) if not d.delivered]
            if not misses:
                delivered.append(event.id)
                continue
            error = "; ".join(f"{d.subscription_id}: {d.error}" for d in misses)
            failed.append(PublishFailure(event.id, error, retryable=any(d.retryable for d in misses)))
        return WebhookPublishResult(tuple(delivered), tuple(failed), tuple(deliveries))

    def deliver_one(self, event: CatalogEvent, subscription: WebhookSubscription) -> WebhookDelivery:
        """One event to one subscription, with retries, whatever the subscription's filters say."""
        return self._attempt_delivery(subscription, event, event.to_json_bytes())

    def _deliver_in_order(self, subscription: WebhookSubscription, events: list[CatalogEvent],
                          bodies: dict[str, bytes]) -> list[WebhookDelivery]:
        records: list[WebhookDelivery] = []
        blocked: WebhookDelivery | None = None
        for event in events:
            if blocked is not None:
                records.append(WebhookDelivery(
                    subscription.id, subscription.url, event.id, event.type.value, delivered=False, attempts=0,
                    status_code=None, retryable=True, duration_ms=0.0, started_at=datetime.now(UTC),
                    error=f"not attempted: event {blocked.event_id} to this subscription failed first "
                          f"({blocked.error})",
                ))
                continue
            record = self._attempt_delivery(subscription, event, bodies[event.id])
            records.append(record)
            if not record.delivered and record.retryable:
                blocked = record
        return records

    def _wait(self, state: RetryCallState) -> float:
        delay = self._base_wait(state)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            delay = max(delay, min(error.retry_after, self._retry.max_wait_s))
        return delay

    def _attempt_delivery(self, subscription: WebhookSubscription, event: CatalogEvent,
                          body: bytes) -> WebhookDelivery:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        attempts = 0

        # The distributed tracing extension's HTTP form: a receiver's tracing continues the change's trace.
        trace = {"traceparent": event.traceparent} if event.traceparent else {}

        def attempt() -> int:
            nonlocal attempts
            attempts += 1
            return self._post(subscription, body, trace)

        retrying = Retrying(
            stop=stop_after_attempt(self._retry.attempts), wait=self._wait,
            retry=retry_if_exception_type(_Retryable), sleep=self._sleep, reraise=True,
        )
        status: int | None
        error: str | None = None
        retryable = False
        try:
            status = retrying(attempt)
        except _Retryable as failure:
            status, retryable = failure.status, True
            error = f"{failure.error} (gave up after {attempts} attempt{'s' if attempts != 1 else ''})"
        except _Final as failure:
            status, error = failure.status, failure.error
        return WebhookDelivery(
            subscription.id, subscription.url, event.id, event.type.value, delivered=error is None,
            attempts=attempts, status_code=status, error=error,
            duration_ms=round((time.perf_counter() - started) * 1000, 3), retryable=retryable,
            started_at=started_at,
        )

    def _post(self, subscription: WebhookSubscription, body: bytes, extra_headers: dict[str, str]) -> int:
        """One attempt: the POST, and the 307/308 redirects it leads to, each target checked like the first."""
        headers = {
            "Content-Type": f"{CLOUDEVENTS_JSON}; charset=utf-8",
            "User-Agent": self._user_agent,
            **extra_headers,
            **sign(body, subscription.secret, int(self._clock())),
        }
        url = httpx.URL(subscription.url)
        for hop in range(MAX_REDIRECTS + 1):
            response = self._send(url, body, headers, hop)
            status = response.status_code
            if 200 <= status < 300:
                return status
            if status in (408, 429) or status >= 500:
                raise _Retryable(status, f"HTTP {status}", _retry_after_s(response.headers.get("Retry-After"),
                                                                          self._clock()))
            location = response.headers.get("Location")
            if status not in _FOLLOWED_REDIRECTS or not location:
                if 300 <= status < 400:
                    raise _Final(status, f"HTTP {status}: only 307 and 308 redirects are followed (they keep the "
                                         "POST); subscribe the URL the receiver redirects to")
                raise _Final(status, f"HTTP {status}")
            try:
                url = response.url.join(location)
            except httpx.InvalidURL:
                raise _Final(status, f"HTTP {status}: the redirect's Location is not a URL") from None
            if url.scheme not in ("http", "https"):
                raise _Final(status, f"HTTP {status}: a redirect to a {url.scheme!r} URL is refused")
        raise _Final(status, f"HTTP {status}: more than {MAX_REDIRECTS} redirects")

    def _send(self, url: httpx.URL, body: bytes, headers: dict[str, str], hop: int) -> httpx.Response:
        where = f"redirect to {url.host}" if hop else "destination"
        try:
            with self._client.stream("POST", url, content=body, headers=headers,
                                     timeout=self._retry.timeout_s) as response:
                _drain(response)
        except DestinationRefused as refused:
            raise _Final(None, f"{where} refused: {refused.reason}") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise _Final(None, f"{type(error).__name__}: {error}") from None
        except httpx.TimeoutException as error:
            raise _Retryable(None, f"timed out after {self._retry.timeout_s:g} s ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise _Retryable(None, f"{type(error).__name__}: {error}") from None
        return response
