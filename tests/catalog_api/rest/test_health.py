"""The probes a platform routes traffic by: /readyz says ready only when a request could do its work, which with a
broker configured means the broker answers too (a crawl requested while it is down could not be queued)."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.services.jobs.broker import create_broker
from catalog_api.settings import Settings
from tests.support.hung import broker_url, silent_port, within
from tests.support.postgres import service_missing

LIVE_BROKERS = {"redis": "redis://127.0.0.1:6379/9", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F"}


def _closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _probe(settings: Settings, path: str) -> tuple[int, dict]:
    ctx = build_context(settings, migrate=True)
    try:
        response = TestClient(create_app(ctx=ctx)).get(path)
        return response.status_code, response.json()
    finally:
        ctx.close()


@pytest.mark.parametrize("scheme", ["redis", "rabbitmq"])
def test_readyz_answers_503_while_the_job_broker_is_down(catalog_settings, scheme):
    port = _closed_port()
    settings = catalog_settings.model_copy(update={"broker_url": broker_url(scheme, port)})
    assert _probe(settings, "/readyz") == (503, {"status": "unavailable", "reason": "job broker unreachable"})
    # The process itself is fine: liveness must not restart it for a broker outage.
    assert _probe(settings, "/healthz") == (200, {"status": "ok"})


@pytest.mark.parametrize("scheme", sorted(LIVE_BROKERS))
def test_readyz_is_ready_when_the_job_broker_answers(catalog_settings, scheme):
    url = LIVE_BROKERS[scheme]
    settings = catalog_settings.model_copy(update={"broker_url": url})
    broker = create_broker(settings)
    try:
        broker.client.ping() if scheme == "redis" else broker.connection.process_data_events(time_limit=0)
    except Exception as error:  # the local broker is missing
        service_missing(scheme, error)
    finally:
        broker.close()
    assert _probe(settings, "/readyz") == (200, {"status": "ready"})


CEILING_S = {"redis": 4.0, "rabbitmq": 10.0}


@pytest.mark.parametrize("scheme", ["redis", "rabbitmq"])
def test_readyz_answers_503_within_the_probe_timeout_while_the_broker_hangs(catalog_settings, scheme):
    with silent_port() as port:
        settings = catalog_settings.model_copy(update={"broker_url": broker_url(scheme, port),
                                                       "broker_probe_timeout_s": 0.5})
        ctx = build_context(settings, migrate=True)
        try:
            client = TestClient(create_app(ctx=ctx))
            # A generous ceiling, not a timing test: without the bound the request waits for the client libraries'
            # defaults, 5 s (redis-py 8's read timeout) or 15 s (pika's handshake timeout), so each ceiling stays
            # below its library's default and far above the 0.5 s bound (a loaded CI machine took over 4 s for pika).
            response = within(CEILING_S[scheme], lambda: client.get("/readyz"))
        finally:
            ctx.close()
    assert (response.status_code, response.json()) == (
        503, {"status": "unavailable", "reason": "job broker unreachable"})
