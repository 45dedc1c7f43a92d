"""How job ids reach `run_job` inside the service process: the embedded default when no broker is configured."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

from catalog_api.services.context import ServiceContext
from catalog_api.services.jobs.running import run_job


class InProcessJobRunner:
    """Runs jobs on a thread pool inside the service process: the embedded default, when no broker is configured."""

    name = "in-process"

    def __init__(self, ctx: ServiceContext, max_workers: int = 2) -> None:
        self._ctx = ctx
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="catalog-job")
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._ended = threading.Condition()
        self._ended_count = 0

    @property
    def attempts_ended(self) -> int:
        """How many `run_job` calls this runner has seen return (the mark `wait_for_attempt_end` compares with)."""
        with self._ended:
            return self._ended_count

    def wait_for_attempt_end(self, seen: int, timeout_s: float) -> None:
        """Returns once more than `seen` attempts have ended, or after `timeout_s`: whoever follows a job running in
        this very process (`catalog crawl --wait`) reads its outcome as soon as it is recorded, not at its next poll.
        """
        with self._ended:
            self._ended.wait_for(lambda: self._ended_count > seen, timeout=max(0.0, timeout_s))

    def _attempt_ended(self, _future: Future[None]) -> None:
        with self._ended:
            self._ended_count += 1
            self._ended.notify_all()

    def submit(self, job_id: str, kind: str, delay_s: float = 0) -> None:
        if self._ctx.in_flight.stopping:
            return  # the job stays queued: the service's next start submits it (`resubmit_stranded_jobs`)
        if delay_s <= 0:
            self._pool.submit(run_job, self._ctx, job_id).add_done_callback(self._attempt_ended)
            return
        timer = threading.Timer(delay_s, self._fire, args=(job_id, kind))
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.add(timer)
        timer.start()

    def ping(self) -> None:
        """Jobs run on this process's threads: nothing to reach."""

    def _fire(self, job_id: str, kind: str) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive() and t is not threading.current_thread()}
            if self._closed:
                return
        self.submit(job_id, kind)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            for timer in self._timers:
                timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=False)
