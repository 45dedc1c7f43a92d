"""A counting session on a SQLite connection that interrupts any statement outliving the statement timeout.

SQLite has no server-side timeout: a progress handler, called every `_PROGRESS_STEPS` virtual-machine
instructions, abandons the running statement once `_clock()` passes its deadline (SQLITE_INTERRUPT).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from crawlers.connectors.sql import Session

# The progress handler runs every this many virtual-machine instructions: often enough to stop a statement within
# milliseconds of its deadline, rarely enough to cost nothing measurable.
_PROGRESS_STEPS = 1_000

# A seam for tests, which replace it to make time jump forward instead of running a truly slow statement.
_clock = time.monotonic


class SqliteSession(Session):
    """One open connection that counts the statements it sends and interrupts any that outlive the timeout."""

    def __init__(self, conn: sqlite3.Connection, timeout_ms: int) -> None:
        super().__init__(conn)
        self._timeout_ms = timeout_ms
        self._deadline = float("inf")
        conn.set_progress_handler(self._on_progress, _PROGRESS_STEPS)

    def _on_progress(self) -> int:
        # A non-zero return makes SQLite abandon the running statement with SQLITE_INTERRUPT.
        return 1 if _clock() > self._deadline else 0

    def _run(self, sql: Any, params: Sequence[Any] | None, *, rows: bool) -> list[tuple]:
        self._deadline = _clock() + self._timeout_ms / 1000
        try:
            cursor = self.conn.execute(sql, params or ())
            self.columns = [d[0] for d in cursor.description or ()]
            return cursor.fetchall() if rows else []
        finally:
            self._deadline = float("inf")
