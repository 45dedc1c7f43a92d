"""JsonLinesPublisher appends one event per line, safely across threads and processes, each id once even when a
restarted relay hands it events again or a writer died mid-line, and reads back."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from events import CatalogEvent, EventType, JsonLinesPublisher, read_events
from events.examples import example_events
from events.jsonlines import DEFAULT_REMEMBER
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
        # 5 lines per write, numbered: a torn or interleaved write would show as a broken line or a gap.
        publisher.publish([fresh_numbered(worker, n, line) for line in range(5)])


def fresh_numbered(worker: int, write: int, line: int) -> CatalogEvent:
    return fresh(EventType.DESCRIPTION_CHANGED).model_copy(update={"id": f"{worker}-{write}-{line}"})


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
    assert len({e.id for e in events}) == len(events)
    # Each write's 5 events stay together, in order.
    for i in range(0, len(events), 5):
        writes = {e.id.rpartition("-")[0] for e in events[i:i + 5]}
        assert len(writes) == 1 and [e.id.rpartition("-")[2] for e in events[i:i + 5]] == list("01234")


@pytest.mark.parametrize("remember", [100, DEFAULT_REMEMBER])  # 100: the tail is read from mid-file, mid-line
def test_a_restarted_relay_handing_over_events_already_in_the_file_gets_each_written_once(tmp_path: Path,
                                                                                           remember: int) -> None:
    path = tmp_path / "events.jsonl"
    earlier = [fresh(EventType.TABLE_CREATED) for _ in range(300)]  # > 64 KiB: the tail spans several reads
    assert JsonLinesPublisher(path).publish(earlier).ok  # written; then the relay died before marking the last sent
    in_flight, later = earlier[-50:], fresh(EventType.TABLE_DELETED)

    again = JsonLinesPublisher(path, remember=remember).publish([*in_flight, later])  # the restarted relay
    assert again.delivered == tuple(e.id for e in [*in_flight, later])
    assert path.stat().st_size > 64 * 1024
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [e.id for e in [*earlier, later]]


def test_events_another_writer_added_since_this_publishers_last_write_are_not_written_again(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    first, taken_over = JsonLinesPublisher(path), JsonLinesPublisher(path)
    one, two, three = (fresh(EventType.COLUMN_ADDED) for _ in range(3))
    assert first.publish([one]).ok
    assert taken_over.publish([two]).ok  # another relay led for a while and wrote `two`
    assert first.publish([two, three]).ok
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [one.id, two.id, three.id]


def test_a_torn_last_line_is_cut_off_and_its_event_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "torn.jsonl"
    good, torn = fresh(EventType.TABLE_CREATED), fresh(EventType.TABLE_DELETED)
    path.write_bytes(good.to_json_bytes() + b"\n" + torn.to_json_bytes()[:40])  # a writer killed mid-write
    later = fresh(EventType.COLUMN_ADDED)
    assert JsonLinesPublisher(path).publish([good, torn, later]).ok  # the relay repeats its batch in flight

    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and [json.loads(line)["id"] for line in lines[:-1]] == [good.id, torn.id, later.id]
    assert list(read_events(path)) == [good, torn, later]


def test_a_file_that_is_one_torn_line_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "torn.jsonl"
    torn = fresh(EventType.TABLE_DELETED)
    path.write_bytes(torn.to_json_bytes()[:40])
    assert JsonLinesPublisher(path).publish([torn]).ok
    assert list(read_events(path)) == [torn]


def test_only_the_last_remembered_lines_are_looked_at(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    old, *recent = (fresh(EventType.TABLE_CREATED) for _ in range(4))
    JsonLinesPublisher(path).publish([old, *recent])
    JsonLinesPublisher(path, remember=3).publish([old, *recent])  # `old` is beyond the 3 lines it reads back
    assert [e.id for e in read_events(path)] == [e.id for e in [old, *recent, old]]


def test_an_unwritable_file_fails_every_event_with_the_reason(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    events = [fresh(EventType.TABLE_CREATED), fresh(EventType.TABLE_DELETED)]
    result = JsonLinesPublisher(blocker / "events.jsonl").publish(events)
    assert result.delivered == () and [f.event_id for f in result.failed] == [e.id for e in events]
    assert all(f.retryable and "cannot append to" in f.error for f in result.failed)
