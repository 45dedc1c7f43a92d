"""The module `catalog worker` hands to dramatiq's worker: it declares one actor per job queue on the broker that
`CATALOG_BROKER_URL` names. Each actor runs `run_job` for the job id it carries, on this process's services.

Each worker process also sweeps for jobs whose worker died (`services.jobs.takeover`) every
`CATALOG_JOB_HEARTBEAT_INTERVAL_S`, so as long as one worker lives, a dead one's jobs are taken over within
`CATALOG_JOB_STALE_AFTER_S` plus that interval, whatever the broker does with its unacknowledged messages.

On SIGTERM (to the `catalog worker` process, which forwards it to its processes), each process stops as
`services.shutdown` says: no new jobs, running ones handed back (queued again and sent to the broker for another
worker; their own messages are acknowledged) and gone within `CATALOG_SHUTDOWN_TIMEOUT_S`.
"""

from __future__ import annotations

import threading

import dramatiq

from catalog_api.bootstrap import JOB_QUEUES, build_context
from catalog_api.observability.logs import ensure_logging
from catalog_api.observability.tracing import configure_tracing
from catalog_api.observability.worker import worker_metrics_enabled
from catalog_api.services.context import ServiceContext
from catalog_api.services.jobs.broker import build_actors, create_broker
from catalog_api.services.jobs.periodic import Periodic
from catalog_api.services.jobs.running import run_job
from catalog_api.services.jobs.takeover import take_over_silent_jobs
from catalog_api.services.shutdown import GracefulShutdown
from catalog_api.settings import get_settings

_context_lock = threading.Lock()
_context: ServiceContext | None = None


def _service_context() -> ServiceContext:
    """One service context per worker process, created on first use (after dramatiq forked)."""
    global _context
    with _context_lock:
        if _context is None:
            _context = build_context(get_settings(), migrate=False, runner="broker")
        return _context


def _run(job_id: str) -> None:
    run_job(_service_context(), job_id)


class TakeOverSweeps(dramatiq.Middleware):
    """Runs the take-over sweep on a thread of each worker process, from its boot to its shutdown."""

    def __init__(self, interval_s: float) -> None:
        self._sweeps = Periodic("catalog-takeover", interval_s, lambda: take_over_silent_jobs(_service_context()))

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._sweeps.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._sweeps.stop()


class GracefulStop(dramatiq.Middleware):
    """Hands the process's running jobs back when dramatiq begins to stop it, and bounds the stop in time."""

    def __init__(self) -> None:
        self._shutdown: GracefulShutdown | None = None

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._shutdown = GracefulShutdown(_service_context())
        self._shutdown.begin()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self._shutdown is not None:
            self._shutdown.finish()


_settings = get_settings()
if _settings.broker_url:
    ensure_logging(_settings.log_format, _settings.log_level)
    configure_tracing("catalog-worker")  # in each worker process: dramatiq imports this module after it forks
    broker = create_broker(_settings)
    broker.add_middleware(TakeOverSweeps(_settings.job_heartbeat_interval_s))
    broker.add_middleware(GracefulStop())
    if worker_metrics_enabled():  # `catalog worker --metrics-port` (catalog_api.observability.worker)
        from dramatiq.middleware.prometheus import Prometheus

        broker.add_middleware(Prometheus())
    dramatiq.set_broker(broker)
    ACTORS = build_actors(broker, _settings, JOB_QUEUES, _run)
