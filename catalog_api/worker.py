"""dramatiq actors and the broker they use: `catalog worker` runs this module with dramatiq's worker.

The broker is chosen by `CATALOG_BROKER_URL` (`redis://…` or `amqp://…`). Actors carry only a job id: the job
record in the catalog database holds everything else, so a job behaves the same whichever worker runs it.
"""

from __future__ import annotations

import threading

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

from catalog_api.errors import InvalidInput
from catalog_api.settings import Settings, get_settings

# Job kinds and the actor (queue) that runs each; a kind without its own queue shares the default one.
QUEUES = {"crawl": "crawl", "extract": "extract", "profile": "profile", "ping": "default"}


def create_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.broker_url or ""
    if url.startswith(("redis://", "rediss://", "unix://")):
        broker = RedisBroker(url=url, heartbeat_timeout=int(settings.broker_heartbeat_timeout_s * 1000),
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


_context_lock = threading.Lock()
_context = None


def _service_context():
    """One service context per worker process, created on first use (after dramatiq forked)."""
    global _context
    with _context_lock:
        if _context is None:
            from catalog_api.services.context import ServiceContext

            _context = ServiceContext.create(get_settings(), migrate=False, runner="broker")
        return _context


def _run(job_id: str) -> None:
    from catalog_api.services.jobs import run_job

    run_job(_service_context(), job_id)


def _time_limit_ms(settings: Settings, queue: str) -> int:
    limits = [settings.time_limit_s(kind) or 0 for kind, q in QUEUES.items() if q == queue]
    # dramatiq's limit is only the backstop: the job's own cooperative limit fires first and records why.
    return int((max(limits, default=0) or 24 * 3600) * 1000 + 60_000)


def build_actors(broker: dramatiq.Broker, settings: Settings) -> dict[str, dramatiq.Actor]:
    """One actor per queue, declared on `broker`; every actor runs `run_job` for the job id it carries."""
    return {
        queue: dramatiq.actor(_run, broker=broker, actor_name=f"catalog_{queue}_job", queue_name=queue,
                              max_retries=0, time_limit=_time_limit_ms(settings, queue))
        for queue in sorted(set(QUEUES.values()))
    }


class DramatiqJobRunner:
    """Sends job ids to dramatiq actors through the configured broker; `run_job` on a worker does the rest."""

    name = "dramatiq"

    def __init__(self, settings: Settings) -> None:
        self._broker = create_broker(settings)
        self._actors = build_actors(self._broker, settings)

    def submit(self, job_id: str, kind: str, delay_s: float = 0) -> None:
        actor = self._actors[QUEUES.get(kind, "default")]
        actor.send_with_options(args=(job_id,), delay=int(delay_s * 1000) if delay_s > 0 else None)

    def shutdown(self) -> None:
        self._broker.close()


# `dramatiq catalog_api.worker` imports this module and serves the global broker's actors.
_settings = get_settings()
if _settings.broker_url:
    broker = create_broker(_settings)
    dramatiq.set_broker(broker)
    ACTORS = build_actors(broker, _settings)
