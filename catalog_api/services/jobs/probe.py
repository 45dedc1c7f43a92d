"""Bounded questions to the job broker: does it answer (the readiness probe), and how many messages wait on each
queue (the `catalog_broker_queue_messages` gauge of a /metrics scrape).

Both are asked by something that must answer quickly whatever the broker does: a platform marks a replica unready
when /readyz is slower than its probe timeout, and a scraper drops a slow scrape. So the probe has connections of its
own, every wait on them bounded by `broker_probe_timeout_s` — connecting, each reply, and for AMQP the handshake —
while the broker's own connections (sending jobs, workers consuming) keep the client libraries' defaults: a
2-second read timeout could cut a worker's fetch or requeue short on a busy broker. A broker that accepts connections but never answers costs a probe
that bound and ends it with an error (an exception the caller turns into 503 or a scrape error), never a hang.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from contextlib import closing
from typing import Protocol

import pika
import pika.exceptions
import redis
from dramatiq.common import dq_name
from redis.backoff import NoBackoff
from redis.retry import Retry

from catalog_api.settings import Settings

QUEUE_STATES = ("ready", "delayed")


class BrokerProbe(Protocol):
    def ping(self) -> None:
        """Returns when the broker answers; raises within the bound when it does not."""

    def queue_depths(self, queues: Iterable[str]) -> dict[tuple[str, str], int]:
        """Messages per (queue, state): `ready` to be taken, `delayed` until a retry is due."""

    def close(self) -> None: ...


class RedisProbe:
    """One small client, shared by the threads that ask: no retries (redis-py retries three times by default, which
    would triple the bound), each connect and each reply bounded."""

    def __init__(self, url: str, namespace: str, timeout_s: float) -> None:
        self._namespace = namespace
        self._client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s,
                                            retry=Retry(NoBackoff(), 0))

    def ping(self) -> None:
        self._client.ping()

    def queue_depths(self, queues: Iterable[str]) -> dict[tuple[str, str], int]:
        # dramatiq's Redis broker keeps a queue's waiting messages in the list `<namespace>:<queue>`.
        queues = sorted(queues)
        with self._client.pipeline(transaction=False) as pipe:  # one round trip, so one bound
            for queue in queues:
                pipe.llen(f"{self._namespace}:{queue}")
                pipe.llen(f"{self._namespace}:{dq_name(queue)}")
            counts = pipe.execute()
        return {(queue, state): int(counts[2 * i + j]) for i, queue in enumerate(queues)
                for j, state in enumerate(QUEUE_STATES)}

    def close(self) -> None:
        self._client.close()


class RabbitmqProbe:
    """A connection per question, closed after it: a blocking pika connection only answers the broker's heartbeats
    while it is being used, so one kept open between probes would be dropped by RabbitMQ and fail the next probe."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self._parameters = pika.URLParameters(url)
        self._parameters.connection_attempts = 1
        # socket_timeout bounds the TCP connect, stack_timeout the whole handshake (TLS and AMQP included), and the
        # heartbeat a broker that goes silent after it (pika notices heartbeat + 5 s later).
        self._parameters.socket_timeout = self._parameters.stack_timeout = timeout_s
        self._parameters.blocked_connection_timeout = timeout_s
        self._parameters.heartbeat = max(1, math.ceil(timeout_s))

    def ping(self) -> None:
        with closing(pika.BlockingConnection(self._parameters)) as connection:
            connection.process_data_events(time_limit=0)

    def queue_depths(self, queues: Iterable[str]) -> dict[tuple[str, str], int]:
        depths = {}
        with closing(pika.BlockingConnection(self._parameters)) as connection:
            channel = connection.channel()
            for queue in sorted(queues):
                # dramatiq's RabbitMQ broker delays messages on the queue `<queue>.DQ`.
                for state, name in zip(QUEUE_STATES, (queue, dq_name(queue)), strict=True):
                    try:
                        # Passive: count what is there without creating a queue no message has needed yet.
                        depths[queue, state] = channel.queue_declare(name, passive=True).method.message_count
                    except pika.exceptions.ChannelClosedByBroker as error:
                        if error.reply_code != 404:
                            raise
                        depths[queue, state] = 0
                        channel = connection.channel()  # the broker closes a channel that asked for a missing queue
        return depths

    def close(self) -> None:
        """Nothing stays open between questions."""


def open_probe(settings: Settings) -> BrokerProbe:
    """The probe of the broker `settings.broker_url` names (`create_broker` has already checked its scheme)."""
    url, timeout_s = settings.broker_url or "", settings.broker_probe_timeout_s
    if url.startswith(("amqp://", "amqps://")):
        return RabbitmqProbe(url, timeout_s)
    return RedisProbe(url, settings.broker_namespace, timeout_s)
