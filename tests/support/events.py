"""Consumers of catalog events for tests: a collecting publisher, a real signed-webhook receiver, the outbox rows."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from catalog_api.db.models import OutboxEvent
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.outbox import record_events
from events import CatalogEvent, PublishResult
from events.data import DescriptionChanged
from events.schemas import validate
from events.webhooks import SIGNATURE_HEADER, SignatureError, verify

FAST_EVENTS = {
    "webhook_attempts": 2, "webhook_initial_wait_s": 0.01, "webhook_max_wait_s": 0.02, "webhook_timeout_s": 5,
    "events_retry_min_backoff_s": 0.5, "events_retry_max_backoff_s": 2, "events_max_attempts": 3,
    "events_relay_enabled": False,
}
"""Quick retry timings and no background relay: a test drives `Relay.run_once` itself."""


class Collector:
    """A publisher that keeps what it was given, like a consumer would."""

    def __init__(self) -> None:
        self.events: list[CatalogEvent] = []

    def publish(self, events: Sequence[CatalogEvent]) -> PublishResult:
        self.events.extend(events)
        return PublishResult(delivered=tuple(e.id for e in events))


class Receiver:
    """A real HTTP server on 127.0.0.1 that verifies signatures and answers with scripted statuses.

    Webhooks reach it only where private networks are allowed (`webhook_allow_private_networks`). Its answers carry
    `reply` as their body, so a test can check that nothing of it shows up anywhere.
    """

    reply = b"internal answer of the receiver"

    def __init__(self, secret: str | None = None, port: int = 0, delay_s: float = 0.0) -> None:
        self.secret = secret
        self.delay_s = delay_s  # time taken to handle each request, like a receiver doing some work
        self.script: list[int] = []  # statuses for the next requests; 200 once it is empty
        self.requests: list[tuple[int, dict, bytes]] = []  # (status answered, headers, body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: nothing was delivered
                    self.close_connection = True
                    return
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                status = receiver.script.pop(0) if receiver.script else 200
                if receiver.secret is not None:
                    try:
                        verify(body, self.headers.get(SIGNATURE_HEADER), receiver.secret)
                    except SignatureError:
                        status = 401
                receiver.requests.append((status, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def accepted_ids(self) -> list[str]:
        return [json.loads(body)["id"] for status, _, body in self.requests if status == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def outbox(ctx: ServiceContext) -> list[OutboxEvent]:
    """Every outbox row, oldest first."""
    with ctx.db.session() as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


def outbox_events(ctx: ServiceContext, event_type: str | None = None) -> list[dict]:
    """The events in the outbox (of `event_type`, if given) as JSON objects, oldest first, each checked against the
    published JSON Schema of its type."""
    found = [json.loads(row.event) for row in outbox(ctx) if event_type in (None, row.type)]
    for event in found:
        validate(event)
    return found


def outbox_backlog(ctx: ServiceContext, count: int, sources: int = 10) -> None:
    """Writes `count` pending events spread over `sources` sources to the outbox, in one transaction."""
    events = [
        CatalogEvent.create(DescriptionChanged(entity_kind="dataset", before=None, after=f"d{i}"),
                            subject=f"urn:catalog:dataset:src{i % sources}:public:t{i}")
        for i in range(count)
    ]
    with ctx.db.session() as session:
        record_events(session, events)
