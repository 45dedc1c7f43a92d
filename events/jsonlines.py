"""`JsonLinesPublisher`: events appended to a local file, one JSON object per line (the embedded default).

Each `publish` writes its events with one `write` on a file opened in append mode, holding an exclusive `flock`
(POSIX) so that several processes never interleave lines, then flushes and (by default) fsyncs before reporting the
events delivered: the relay marks them sent only once they are on disk.

Each event id is written once, even when the relay publishes an event again after a crash (it died after the file
got the event, before it could mark the event sent). Under the lock, before appending, the publisher
- cuts off a torn last line (a writer killed mid-write): that event was never reported delivered, so it comes again;
- skips the events whose ids are among the file's last `remember` lines (10,000 by default; a relay repeats at most
  its batch in flight). Those ids are read from the file's tail when it was written by someone else since this
  publisher's last write (a restart, another process), and otherwise kept in memory.

An event is therefore skipped only if it is in the file (in its last `remember` lines); a file that was rotated away
starts afresh. `read_events` reads the file back; any JSON Lines tool (`jq -c`, `tail -f`) can follow it.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, ClassVar

from events.model import CatalogEvent
from events.publisher import PublishResult

try:
    import fcntl
except ImportError:  # Windows: the in-process lock still serialises this process's writers
    fcntl = None  # type: ignore[assignment]

DEFAULT_REMEMBER = 10_000
_BLOCK = 64 * 1024


class JsonLinesPublisher:
    """Appends events to `path` as JSON Lines, each id once; creates the file and its folder when missing."""

    deduplicates: ClassVar[bool] = True
    """Handing it an event it already wrote is harmless (see `EventPublisher`)."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True, remember: int = DEFAULT_REMEMBER) -> None:
        if remember < 1:
            raise ValueError("remember: at least 1 line")
        self.path = Path(path)
        self._fsync = fsync
        self._remember = remember
        self._lock = threading.Lock()
        self._written: set[str] = set()
        """Ids of the file's last `remember` lines; `_order` holds them oldest first."""
        self._order: deque[str] = deque()
        self._left_at: tuple[int, int, int] | None = None
        """(device, inode, size) of the file after this publisher's last write: unchanged means `_written` holds."""

    def publish(self, events: Sequence[CatalogEvent]) -> PublishResult:
        if not events:
            return PublishResult()
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a+b") as handle:
                    if fcntl is not None:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                    self._catch_up(handle)
                    new = {event.id: event for event in events if event.id not in self._written}
                    if new:
                        handle.write(b"".join(event.to_json_bytes() + b"\n" for event in new.values()))
                        handle.flush()
                        if self._fsync:
                            os.fsync(handle.fileno())
                        self._remember_ids(new)
                    self._left_at = _identity(handle)
        except OSError as error:
            self._left_at = None  # whatever reached the file is read back next time
            reason = f"cannot append to {self.path}: {error.strerror or error}"
            return PublishResult.all_failed(events, reason)
        return PublishResult.all_delivered(events)

    def close(self) -> None:
        """Nothing to release: the file is opened per `publish`."""

    def _catch_up(self, handle: BinaryIO) -> None:
        """Drops a torn last line and, if someone else wrote since our last write, rereads the ids of the tail."""
        if _identity(handle) == self._left_at:
            return
        end, lines = _tail(handle, self._remember)
        if end < handle.seek(0, os.SEEK_END):
            handle.truncate(end)
        self._written.clear()
        self._order.clear()
        self._remember_ids(event_id for event_id in map(_event_id, lines) if event_id is not None)

    def _remember_ids(self, ids: Iterable[str]) -> None:
        for event_id in ids:
            if event_id not in self._written:
                self._written.add(event_id)
                self._order.append(event_id)
        while len(self._order) > self._remember:
            self._written.discard(self._order.popleft())


def _identity(handle: BinaryIO) -> tuple[int, int, int]:
    stat = os.fstat(handle.fileno())
    return stat.st_dev, stat.st_ino, stat.st_size


def _tail(handle: BinaryIO, limit: int) -> tuple[int, list[bytes]]:
    """Where the file's complete lines end (after its last newline) and up to `limit` of its last complete lines."""
    position = handle.seek(0, os.SEEK_END)
    data = b""
    while position > 0 and data.count(b"\n") <= limit:
        step = min(_BLOCK, position)
        position -= step
        handle.seek(position)
        data = handle.read(step) + data
    complete = data.rfind(b"\n") + 1
    lines = data[:complete].split(b"\n")[:-1]
    if position > 0:
        lines = lines[1:]  # the first one began before what was read
    return position + complete, lines[-limit:]


def _event_id(line: bytes) -> str | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    event_id = value.get("id") if isinstance(value, dict) else None
    return event_id if isinstance(event_id, str) else None


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
