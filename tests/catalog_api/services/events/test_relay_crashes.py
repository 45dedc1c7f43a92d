"""`catalog relay` killed with SIGKILL again and again while it delivers, on a PostgreSQL catalog, then left to finish.

The relay is its own process; a real webhook receiver on 127.0.0.1 counts the deliveries of each event id; the JSON
Lines file is the default sink. The outbox, read with SQL, is the oracle: nothing may be lost, a crash may repeat
only the batch that was in flight, and the file holds every event exactly once.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from catalog_api.bootstrap import build_context
from catalog_api.services.events import webhooks
from catalog_api.settings import Settings
from tests.support.events import FAST_EVENTS, Receiver, outbox_backlog
from tests.support.postgres import throwaway_pg_database
from tests.support.relay import KilledRelayRuns, run_relay_with_kills

pytestmark = pytest.mark.postgres

EVENTS = 600
KILLS = 4
COMMIT_SIZE = 40
SECRET_KEY = "relay-crash-test-key"
WEBHOOK_SECRET = "relay-crash-webhook-secret"


@dataclass(frozen=True)
class CrashedRelay:
    outbox: dict[str, str]
    """event id -> status of every outbox row, read with SQL once the last relay finished."""
    runs: KilledRelayRuns
    jsonl: Path


@pytest.fixture(scope="module")
def crashed(tmp_path_factory) -> Iterator[CrashedRelay]:
    """Runs the whole story once for the module: 600 events, 4 kills at every 100 deliveries, then a full run."""
    tmp = tmp_path_factory.mktemp("relay-crashes")
    jsonl = tmp / "events.jsonl"
    with throwaway_pg_database() as url:
        settings = Settings(home=tmp / "home", database_url=url, secret_key=SECRET_KEY,
                            webhook_allow_private_networks=True, **FAST_EVENTS)
        ctx = build_context(settings, migrate=True)
        receiver = Receiver(secret=WEBHOOK_SECRET, delay_s=0.002)  # ~2 ms of work per request, as receivers do
        try:
            webhooks.create_subscription(ctx, receiver.url, secret=WEBHOOK_SECRET)
            outbox_backlog(ctx, EVENTS)

            def outbox() -> dict[str, str]:
                with ctx.db.engine.connect() as conn:
                    return dict(conn.execute(text("select event_id, status from event_outbox")).all())

            env = {**os.environ, "CATALOG_HOME": str(tmp / "home"), "CATALOG_DATABASE_URL": url,
                   "CATALOG_SECRET_KEY": SECRET_KEY, "CATALOG_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
                   "CATALOG_EVENTS_JSONL_PATH": str(jsonl), "CATALOG_EVENTS_RELAY_COMMIT_SIZE": str(COMMIT_SIZE),
                   "CATALOG_EVENTS_RELAY_INTERVAL_S": "0.1"}
            runs = run_relay_with_kills(env, receiver, kills=KILLS, deliveries_per_run=100, logs=tmp,
                                        finished=lambda: "pending" not in outbox().values())
            yield CrashedRelay(outbox(), runs, jsonl)
        finally:
            receiver.close()
            ctx.close()


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
