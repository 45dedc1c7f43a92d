"""A monotonic clock that moves only when the test says so, for code that takes `clock` (rate-limit buckets, the
Key Vault cache, the Entra ID key refresh): time-dependent behaviour is then checked at its exact bounds, with no
sleeping and no window a busy machine can miss."""

from __future__ import annotations


class Clock:
    """Monotonic seconds, starting at 1000, moved by `advance` (or by setting `now`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
