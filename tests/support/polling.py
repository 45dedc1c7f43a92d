"""Watching something while a block runs: `polling(interval_s, probe)` calls `probe` in a thread every `interval_s`
until the block ends, then once more, for figures only sampling can give (a process tree's peak memory, folders
that exist for a moment)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def polling(interval_s: float, probe: Callable[[], None]) -> Iterator[None]:
    done = threading.Event()

    def run() -> None:
        while not done.wait(interval_s):
            probe()

    thread = threading.Thread(target=run, name="polling", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        probe()
