"""`catalog relay` killed with SIGKILL again and again while it delivers, on a PostgreSQL catalog, then left to finish.

The relay is its own process; a real webhook receiver on 127.0.0.1 counts the deliveries of each event id; the JSON
Lines file is the default sink. The outbox, read with SQL, is the oracle: nothing may be lost, a crash may repeat
only the batch that was in flight, and the file holds every event exactly once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.support.postgres import throwaway_pg_database
from tests.support.relay import CrashedRelay, kill_relay_while_it_delivers

pytestmark = pytest.mark.postgres

EVENTS = 600
KILLS = 4
COMMIT_SIZE = 40


@pytest.fixture(scope="module")
def crashed(tmp_path_factory) -> Iterator[CrashedRelay]:
    """The whole story once for the module: 600 events, a kill after every 100 deliveries (4 times), then a full run."""
    with throwaway_pg_database() as url:
        yield kill_relay_while_it_delivers(tmp_path_factory.mktemp("relay-crashes"), url, events=EVENTS, kills=KILLS,
                                           deliveries_per_run=100, commit_size=COMMIT_SIZE)


def test_every_event_reaches_the_webhook_and_is_marked_sent(crashed):
    assert len(crashed.outbox) == EVENTS
    assert set(crashed.runs.deliveries) == set(crashed.outbox)
    assert set(crashed.outbox.values()) == {"sent"}


def test_each_kill_repeats_at_most_the_batch_in_flight(crashed):
    repeats = crashed.runs.repeats_after_each_kill()
    assert len(repeats) == KILLS
    assert max(repeats) <= COMMIT_SIZE, repeats
    duplicates = len(crashed.runs.deliveries) - len(set(crashed.runs.deliveries))
    assert duplicates <= KILLS * COMMIT_SIZE


def test_the_json_lines_file_holds_each_event_exactly_once(crashed):
    lines = crashed.jsonl.read_bytes().split(b"\n")
    assert lines[-1] == b""  # the file ends with a complete line
    ids = Counter(json.loads(line)["id"] for line in lines[:-1])  # every line parses on its own
    assert set(ids) == set(crashed.outbox)
    assert ids.most_common(1)[0][1] == 1, ids.most_common(3)
