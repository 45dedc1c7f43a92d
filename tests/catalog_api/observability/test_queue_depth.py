"""The broker queue depth behind `catalog_broker_queue_messages`, on real Redis and RabbitMQ: ready and delayed
messages per queue against the messages the test sent. Queues of their own (nothing consumes them) keep other
tests' workers away."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.services.jobs.broker import DramatiqJobRunner
from catalog_api.settings import Settings
from tests.support.hung import broker_url, silent_port, within
from tests.support.metrics import scrape
from tests.support.postgres import service_missing

BROKERS = {"redis": "redis://127.0.0.1:6379/12", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F"}


@pytest.fixture(params=sorted(BROKERS))
def runner(request):
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    try:
        runner = DramatiqJobRunner(Settings(broker_url=BROKERS[request.param]), {"crawl": queue},
                                   run=lambda _job_id: None)
        runner.ping()
    except Exception as error:  # any failure to reach the broker
        service_missing(request.param, error)
    yield runner, queue
    broker = runner._broker  # the test's own queues go, on the broker the runner holds
    if request.param == "rabbitmq":
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            broker.channel.queue_delete(name)
    else:
        broker.flush(queue)
    runner.shutdown()


def test_queue_depths_count_ready_and_delayed_messages(runner):
    runner, queue = runner
    for n in range(4):
        runner.submit(f"job-{n}", "crawl")
    for n in range(2):
        runner.submit(f"later-{n}", "crawl", delay_s=600)
    # RabbitMQ counts a queue's messages asynchronously after unconfirmed publishes: a scrape may lag by moments,
    # so the counts must settle on what was sent (and stay wrong past the deadline if they are wrong).
    deadline = time.monotonic() + 10
    depths = runner.queue_depths()
    while (depths.get((queue, "ready")), depths.get((queue, "delayed"))) != (4, 2) and time.monotonic() < deadline:
        time.sleep(0.1)
        depths = runner.queue_depths()
    assert depths[queue, "ready"] == 4
    assert depths[queue, "delayed"] == 2


@pytest.mark.parametrize("scheme", sorted(BROKERS))
def test_a_scrape_gives_up_on_a_hung_broker_within_the_probe_timeout(catalog_settings, scheme):
    """The rest of the scrape still arrives; the queue depths are left out and counted as a scrape error."""
    with silent_port() as port:
        settings = catalog_settings.model_copy(update={
            "broker_url": broker_url(scheme, port), "broker_probe_timeout_s": 0.5, "metrics_public": True})
        ctx = build_context(settings, migrate=True)
        try:
            client = TestClient(create_app(ctx=ctx))
            # A generous ceiling (8 times the bound), not a timing test: the libraries' defaults wait 5 s or 15 s.
            samples = within(4, lambda: scrape(client))
        finally:
            ctx.close()
    assert "catalog_broker_queue_messages" not in samples.names()
    assert samples.value("catalog_metrics_scrape_errors_total", part="broker") == 1
    assert samples.value("catalog_metrics_scrape_errors_total", part="database") == 0
