"""A hung peer and a guard against hanging on it: for tests that a probe gives up within its bound."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest

T = TypeVar("T")


@contextmanager
def silent_port() -> Iterator[int]:
    """A local port that accepts connections (the kernel completes the handshake for the listen backlog) and never
    answers a byte: a hung broker, which a refused port cannot stand for."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def within(seconds: float, call: Callable[[], T]) -> T:
    """`call()`'s result, failing the test (instead of hanging it) when it has not returned after `seconds`; the
    thread is a daemon, so a call that never returns cannot hold up the test run's exit either."""
    results: list[T] = []
    thread = threading.Thread(target=lambda: results.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"no answer within {seconds:g} s: the hung peer stalled the call")
    assert results, "the call raised (see the thread's traceback above)"
    return results[0]


def broker_url(scheme: str, port: int) -> str:
    return f"redis://127.0.0.1:{port}/0" if scheme == "redis" else f"amqp://guest:guest@127.0.0.1:{port}/%2F"
