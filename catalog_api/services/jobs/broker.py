"""dramatiq brokers and actors: the job runner for production, where `catalog worker` processes run the jobs.

The broker is chosen by `CATALOG_BROKER_URL` (`redis://…` or `amqp://…`). Actors carry only a job id: the job
record in the catalog database holds everything else, so a job behaves the same whichever worker runs it. Each
job kind has a queue (`catalog_api.bootstrap.JOB_KINDS`); kinds may share one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

from catalog_api.errors import InvalidInput
from catalog_api.services.jobs.probe import open_probe
from catalog_api.settings import Settings

DEFAULT_QUEUE = "default"


def create_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.broker_url or ""
    if url.startswith(("redis://", "rediss://", "unix://")):
        broker = RedisBroker(url=url, namespace=settings.broker_namespace,
                             heartbeat_timeout=int(settings.broker_heartbeat_timeout_s * 1000),
                             maintenance_chance=settings.broker_maintenance_chance)
    elif url.startswith(("amqp://", "amqps://")):
        broker = RabbitmqBroker(url=url)
    else:
        raise InvalidInput("broker_url", "CATALOG_BROKER_URL must start with redis:// or amqp://")
    # Retries are decided by the job record (transient or not, attempts left), never by dramatiq itself.
    for middleware in list(broker.middleware):
        if isinstance(middleware, Retries):
            broker.middleware.remove(middleware)
    return broker


def _time_limit_ms(settings: Settings, queues: Mapping[str, str], queue: str) -> int:
    limits = [settings.time_limit_s(kind) or 0 for kind, q in queues.items() if q == queue]
    # dramatiq's limit is only the backstop: the job's own cooperative limit fires first and records why.
    return int((max(limits, default=0) or 24 * 3600) * 1000 + 60_000)


def build_actors(broker: dramatiq.Broker, settings: Settings, queues: Mapping[str, str],
                 run: Callable[[str], None]) -> dict[str, dramatiq.Actor]:
    """One actor per queue (`queues` maps job kinds to queues), declared on `broker`; each calls `run(job_id)`."""
    return {
        queue: dramatiq.actor(run, broker=broker, actor_name=f"catalog_{queue}_job", queue_name=queue,
                              max_retries=0, time_limit=_time_limit_ms(settings, queues, queue))
        for queue in sorted({*queues.values(), DEFAULT_QUEUE})
    }


class DramatiqJobRunner:
    """Sends job ids to dramatiq actors through the configured broker; `run_job` on a worker does the rest."""

    name = "dramatiq"

    def __init__(self, settings: Settings, queues: Mapping[str, str], run: Callable[[str], None]) -> None:
        self._broker = create_broker(settings)
        self._queues = dict(queues)
        self._actors = build_actors(self._broker, settings, queues, run)
        self._probe = open_probe(settings)

    def submit(self, job_id: str, kind: str, delay_s: float = 0) -> None:
        actor = self._actors[self._queues.get(kind, DEFAULT_QUEUE)]
        actor.send_with_options(args=(job_id,), delay=int(delay_s * 1000) if delay_s > 0 else None)

    def ping(self) -> None:
        """Raises when the broker does not answer, within `broker_probe_timeout_s` (the readiness probe asks)."""
        self._probe.ping()

    attempts_ended = 0
    """Attempts run in the workers, not here: none ends in this process."""

    def wait_for_attempt_end(self, seen: int, timeout_s: float) -> None:
        """Attempts end in the workers, unheard here: waits `timeout_s`, and the caller reads the job again."""
        time.sleep(max(0.0, timeout_s))

    def queue_depths(self) -> dict[tuple[str, str], int]:
        """Messages per (queue, state): `ready` to be taken, `delayed` until a retry is due (the metrics' gauge)."""
        return self._probe.queue_depths({actor.queue_name for actor in self._actors.values()})

    def shutdown(self) -> None:
        self._probe.close()
        self._broker.close()

