"""The job attempts this process is running, and whether it is stopping: what a graceful stop (SIGTERM) needs to
hand them back (`catalog_api.services.shutdown`). Plain threading, no database: every service context holds one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of a job running on a thread of this process."""

    job_id: str
    attempt: int
    kind: str
    thread_id: int = field(default_factory=threading.get_ident)
    """The thread running it (its stack is logged if the attempt has to be abandoned)."""


class InFlight:
    """This process's running attempts, and its stop: once `stop()` is called, jobs claim no new work and running
    attempts hand their jobs back at their next check (`running.JobControl`)."""

    def __init__(self) -> None:
        self._attempts: set[Attempt] = set()
        self._changed = threading.Condition()
        self._stopping = threading.Event()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> bool:
        """Asks every attempt to stop; True the first time it is called."""
        with self._changed:
            first = not self._stopping.is_set()
            self._stopping.set()
            return first

    @contextmanager
    def running(self, attempt: Attempt) -> Iterator[None]:
        with self._changed:
            self._attempts.add(attempt)
        try:
            yield
        finally:
            with self._changed:
                self._attempts.discard(attempt)
                self._changed.notify_all()

    def attempts(self) -> list[Attempt]:
        with self._changed:
            return sorted(self._attempts, key=lambda a: a.job_id)

    def wait_until_idle(self, timeout_s: float) -> bool:
        """Waits until no attempt runs; False when some still do after `timeout_s`."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._attempts, timeout=max(0.0, timeout_s))
