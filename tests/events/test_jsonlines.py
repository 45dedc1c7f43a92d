"""JsonLinesPublisher appends one event per line, safely across threads and processes, and reads back."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from events import CatalogEvent, EventType, JsonLinesPublisher, read_events
from events.examples import example_events
from events.schemas import validate

EXAMPLES = example_events()


def fresh(event_type: EventType) -> CatalogEvent:
    example = EXAMPLES[event_type]
    return CatalogEvent.create(example.payload(), subject=example.subject)


def test_appends_events_one_json_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "events" / "catalog.jsonl"  # the folder does not exist yet
    publisher = JsonLinesPublisher(path)
    first = [fresh(EventType.TABLE_CREATED), fresh(EventType.COLUMN_ADDED)]
    second = [fresh(EventType.JOB_SUCCEEDED)]
    assert publisher.publish(first).delivered == tuple(e.id for e in first)
    assert publisher.publish(second).ok
    assert publisher.publish([]).delivered == ()

    lines = path.read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        validate(json.loads(line))  # any JSON Lines reader gets valid CloudEvents
    assert list(read_events(path)) == first + second


def _append_from_process(path: str, worker: int) -> None:
    publisher = JsonLinesPublisher(path, fsync=False)
    for n in range(20):
        event = fresh(EventType.DESCRIPTION_CHANGED)
        publisher.publish([event] * 5)  # 5 lines per write: a torn write would show as a broken line


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    # Processes first: forking while this process's writer threads run could copy a held lock.
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_append_from_process, args=(str(path), 10 + n)) for n in range(2)]
    threads = [threading.Thread(target=_append_from_process, args=(str(path), n)) for n in range(4)]
    for worker in [*processes, *threads]:
        worker.start()
    for worker in [*threads, *processes]:
        worker.join()
    assert all(p.exitcode == 0 for p in processes)

    events = list(read_events(path))  # raises on any broken line
    assert len(events) == 6 * 20 * 5
    # Each write's 5 copies of one event stay together.
    assert all(len({e.id for e in events[i:i + 5]}) == 1 for i in range(0, len(events), 5))


def test_a_torn_last_line_is_isolated_and_can_be_skipped(tmp_path: Path) -> None:
    path = tmp_path / "torn.jsonl"
    good = fresh(EventType.TABLE_CREATED)
    path.write_bytes(good.to_json_bytes() + b"\n" + good.to_json_bytes()[:40])  # a crash mid-write
    later = fresh(EventType.TABLE_DELETED)
    assert JsonLinesPublisher(path).publish([later]).ok

    with pytest.raises(ValueError, match=r"torn.jsonl:2: not a valid catalog event"):
        list(read_events(path))
    assert list(read_events(path, skip_invalid=True)) == [good, later]


def test_an_unwritable_file_fails_every_event_with_the_reason(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    events = [fresh(EventType.TABLE_CREATED), fresh(EventType.TABLE_DELETED)]
    result = JsonLinesPublisher(blocker / "events.jsonl").publish(events)
    assert result.delivered == () and [f.event_id for f in result.failed] == [e.id for e in events]
    assert all(f.retryable and "cannot append to" in f.error for f in result.failed)
