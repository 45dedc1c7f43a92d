"""A daemon thread that runs one step every few seconds until stopped: the scheduler's ticks, the take-over sweeps."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Self

log = logging.getLogger(__name__)


class Periodic:
    """Runs `step` at once and then every `interval_s` on a daemon thread named `name`, until `stop`.

    A failing step is logged and the next one runs on time: the database restarting, say, must not end the loop.
    """

    def __init__(self, name: str, interval_s: float, step: Callable[[], object]) -> None:
        self._name, self._interval, self._step = name, interval_s, step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    @property
    def interval_s(self) -> float:
        return self._interval

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:
                log.exception("%s failed; trying again in %g s", self._name, self._interval)
            self._stop.wait(self._interval)
