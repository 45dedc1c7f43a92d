"""`JsonLinesPublisher`: events appended to a local file, one JSON object per line (the embedded default).

Each `publish` writes all its events with one `write` on a file opened in append mode, holding an exclusive
`flock` (POSIX) so that several processes (the web app and a worker) never interleave lines, then flushes and
(by default) fsyncs before reporting the events delivered: the relay marks them sent only once they are on disk.
`read_events` reads the file back; any JSON Lines tool (`jq -c`, `tail -f`) can follow it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from events.model import CatalogEvent
from events.publisher import PublishFailure, PublishResult

try:
    import fcntl
except ImportError:  # Windows: the in-process lock still serialises this process's writers
    fcntl = None  # type: ignore[assignment]


class JsonLinesPublisher:
    """Appends events to `path` as JSON Lines; creates the file and its folder when missing."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._lock = threading.Lock()

    def publish(self, events: Sequence[CatalogEvent]) -> PublishResult:
        if not events:
            return PublishResult()
        payload = b"".join(event.to_json_bytes() + b"\n" for event in events)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a+b") as handle:
                    if fcntl is not None:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                    handle.write(_after_torn_line(handle) + payload)
                    handle.flush()
                    if self._fsync:
                        os.fsync(handle.fileno())
        except OSError as error:
            reason = f"cannot append to {self.path}: {error.strerror or error}"
            return PublishResult(failed=tuple(PublishFailure(e.id, reason) for e in events))
        return PublishResult(delivered=tuple(e.id for e in events))

    def close(self) -> None:
        """Nothing to release: the file is opened per `publish`."""


def _after_torn_line(handle: BinaryIO) -> bytes:
    # A crash in the middle of a write leaves a line without its newline; start on a fresh line so the
    # fragment stays one bad line instead of corrupting the next event too.
    end = handle.seek(0, os.SEEK_END)
    if end == 0:
        return b""
    handle.seek(end - 1)
    return b"" if handle.read(1) == b"\n" else b"\n"


def read_events(path: str | os.PathLike[str], *, skip_invalid: bool = False) -> Iterator[CatalogEvent]:
    """The events of a JSON Lines file, in order; a bad line raises with its line number unless skipped."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield CatalogEvent.from_json(line)
            except ValueError as error:
                if skip_invalid:
                    continue
                raise ValueError(f"{path}:{number}: not a valid catalog event: {error}") from None
