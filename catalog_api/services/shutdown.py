"""A bounded, graceful stop of a process that runs jobs (`catalog serve`, each `catalog worker` process) on SIGTERM.

`GracefulShutdown.begin()` (from the signal, or dramatiq's `before_worker_shutdown`):
1. the process claims no new job, and each running attempt stops at its next check (`JobControl.check`, between
   the batches of a source read) and hands its job back: queued again, due at once, the attempt not counted
   (`running.hand_back`); a broker delivers it to another worker, a service without one submits it at its next
   start;
2. Spark jobs in progress are cancelled (again every half second while attempts run), so a thread waiting for one
   returns at once instead of when the table is done; if attempts still run `SPARK_GRACE_S` later (a session that
   is still starting cannot be cancelled; starting one takes seconds), the Spark driver's JVM is ended;
3. live feeds (SSE, GraphQL subscriptions) end, so their connections do not hold the server.
The caller then stops the rest as usual (the relay finishes the batch in flight) and calls `finish()`.

Whatever happens, the process ends within `shutdown_timeout_s` of `begin()`: past it, the attempts still running
are handed back, logged as abandoned, and the process exits with status 1.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable

from catalog_api.services.context import ServiceContext
from catalog_api.services.jobs.running import hand_back

log = logging.getLogger(__name__)

ABANDONED_EXIT_STATUS = 1
CANCEL_EVERY_S = 0.5
SPARK_GRACE_S = 2.0


class GracefulShutdown:
    """Stops one process's work within `ctx.settings.shutdown_timeout_s` (see the module's docstring). `exit` is the
    hard exit used past the timeout (`os._exit`: other threads may hold locks a normal exit would wait for)."""

    def __init__(self, ctx: ServiceContext, *, exit: Callable[[int], object] = os._exit) -> None:
        self._ctx, self._exit = ctx, exit
        self._timeout = ctx.settings.shutdown_timeout_s
        self._deadline: float | None = None
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="catalog-shutdown", daemon=True)

    def begin(self) -> None:
        """Starts the stop; returns at once (safe in a signal handler). Later calls do nothing."""
        if not self._ctx.in_flight.stop():
            return
        self._deadline = time.monotonic() + self._timeout
        self._thread.start()

    def finish(self) -> None:
        """The process's own stop is done: attempts still running are abandoned (and the process exits with status
        1), else the Spark session ends and the process may exit normally."""
        if self._deadline is None:
            return
        if not self._ctx.in_flight.wait_until_idle(self._deadline - time.monotonic()):
            self._abandon()
            return
        self._finished.set()
        _stop_spark()
        # A session still starting when its job was handed back has a JVM but no session for stop_spark to stop;
        # left alone, that JVM would outlive this process until it noticed its closed standard input.
        _end_spark_driver()
        log.info("stopped cleanly")

    def _watch(self) -> None:
        log.info("stopping: no new jobs; %d running job(s) to hand back; exiting within %g s",
                 len(self._ctx.in_flight.attempts()), self._timeout)
        self._ctx.bus.close()
        begun, driver_ended = time.monotonic(), False
        while not self._finished.is_set():
            if self._ctx.in_flight.attempts():
                _cancel_spark_jobs()
                if not driver_ended and time.monotonic() - begun >= SPARK_GRACE_S:
                    driver_ended = _end_spark_driver()
            if time.monotonic() >= self._deadline:
                self._abandon()
                return
            self._finished.wait(CANCEL_EVERY_S)

    def _abandon(self) -> None:
        left = self._ctx.in_flight.attempts()
        for attempt in left:
            try:
                kind = hand_back(self._ctx, attempt.job_id, attempt.attempt)
                if kind is not None:
                    self._ctx.jobs.submit(attempt.job_id, kind)
            except Exception:  # the database may be what hangs: the take-over sweep requeues it later
                log.exception("could not hand back job %s", attempt.job_id)
            frame = sys._current_frames().get(attempt.thread_id)
            log.error("abandoned job %s (%s, attempt %s): still running %g s after the stop began, in\n%s",
                      attempt.job_id, attempt.kind, attempt.attempt, self._timeout,
                      "".join(traceback.format_stack(frame)) if frame is not None else "(its thread has ended)")
        _end_spark_driver()
        log.error("exiting with status %d: the stop took longer than shutdown_timeout_s (%g s); %d job(s) abandoned",
                  ABANDONED_EXIT_STATUS, self._timeout, len(left))
        for handler in logging.getLogger().handlers:
            handler.flush()
        self._exit(ABANDONED_EXIT_STATUS)


def _cancel_spark_jobs() -> None:
    from profiler.session import cancel_spark_jobs

    cancel_spark_jobs()


def _end_spark_driver() -> bool:
    from profiler.session import end_spark_driver

    return end_spark_driver()


def _stop_spark() -> None:
    from profiler.session import stop_spark

    try:
        stop_spark()
    except Exception:  # exiting anyway: the JVM ends with this process
        log.warning("the Spark session did not stop cleanly", exc_info=True)
