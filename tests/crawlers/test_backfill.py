"""Backfills of the lake from a real PostgreSQL table (`crawlers.backfill`).

Oracles: the table read with a plain psycopg SELECT against the lake read with pyarrow through `Lake.read_dataset`
(the committed runs without the chunks a backfill superseded). The crash tests kill a real backfill process with
SIGKILL at each step (a range chunk durable, a remainder chunk written, before the manifest) and run it again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.backfill import backfill
from crawlers.connectors.postgres import PostgresConfig, PostgresConnector
from crawlers.extract import extract_increment
from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy, ValueRange
from crawlers.lake import MANIFEST_NAME, Lake
from tests.support.postgres import pg_execute, pg_query

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
DDL = """
create schema app;
create table app.events (id bigint primary key, payload text, seq bigint, updated_at timestamptz);
insert into app.events select g, 'row ' || g, g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
    from generate_series(1, 1000) g;
"""
TIMESTAMP = IncrementPlan(IncrementStrategy.TIMESTAMP, "updated_at")
KEY = IncrementPlan(IncrementStrategy.KEY, "seq")


def _start(seconds: int) -> datetime:
    """The `updated_at` of row `seconds`."""
    return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


def _setup(make_pg_database):
    config = make_pg_database(DDL)
    connector = PostgresConnector(PostgresConfig(**config))
    return config, connector, connector.discover().table_map()[("app", "events")]


def _extract(connector, table, plan, lake, watermark=None):
    return extract_increment(connector, IncrementRequest(table, plan, watermark, batch_rows=64), lake, "pg",
                             chunk_rows=100).watermark_to


def _lake_ids(lake: Lake) -> Counter:
    return Counter(lake.read_dataset("pg", "app", "events").column("id").to_pylist())


def _source_ids(config) -> Counter:
    return Counter(row[0] for row in pg_query(config, "select id from app.events"))


def test_a_backfill_replaces_the_old_versions_of_a_timestamp_range(make_pg_database, tmp_path):
    config, connector, table = _setup(make_pg_database)
    lake = Lake(str(tmp_path / "lake"))
    watermark = _extract(connector, table, TIMESTAMP, lake)
    # Row 250 moves forward (the next extraction brings its new version: a change history); row 260 is deleted.
    pg_execute(config, "update app.events set payload = 'moved', updated_at = timestamptz '2024-02-01 00:00+00' "
                       "where id = 250; delete from app.events where id = 260")
    watermark = _extract(connector, table, TIMESTAMP, lake, watermark)
    assert _lake_ids(lake)[250] == 2

    covers = ValueRange(low=_start(200), high=_start(400))  # rows 200-399 as they were
    result = backfill(connector, IncrementRequest(table, TIMESTAMP, range=covers), lake, "pg", watermark=watermark,
                      chunk_rows=100)

    assert (result.rows, result.superseded, result.kept_rows) == (198, 3, 100)  # chunks 101-200, 201-300, 301-400
    assert _lake_ids(lake) == _source_ids(config)  # the old version of 250 and the deleted 260 are gone
    every = lake.committed_runs("pg", "app", "events", superseded=True)
    assert sum(len(run.chunks) for run in every) > sum(len(run.chunks) for run in lake.committed_runs(
        "pg", "app", "events"))  # superseded chunks stay on disk, listed by the older manifests


def test_a_backfill_on_another_column_reads_the_older_chunks_to_find_its_rows(make_pg_database, tmp_path):
    config, connector, table = _setup(make_pg_database)
    lake = Lake(str(tmp_path / "lake"))
    _extract(connector, table, TIMESTAMP, lake)  # runs of the timestamp plan
    pg_execute(config, "update app.events set payload = 'fixed' where seq between 500 and 549")

    result = backfill(connector, IncrementRequest(table, KEY, range=ValueRange(low=500, high=550)), lake, "pg",
                      watermark=None, chunk_rows=100)

    assert result.rows == 50
    data = lake.read_dataset("pg", "app", "events").to_pylist()
    assert Counter(row["id"] for row in data) == _source_ids(config)
    assert {row["id"] for row in data if row["payload"] == "fixed"} == set(range(500, 550))


def test_a_full_backfill_replaces_every_chunk(make_pg_database, tmp_path):
    config, connector, table = _setup(make_pg_database)
    lake = Lake(str(tmp_path / "lake"))
    full = IncrementPlan(IncrementStrategy.FULL)
    _extract(connector, table, full, lake)
    pg_execute(config, "delete from app.events where id > 900")
    result = backfill(connector, IncrementRequest(table, full), lake, "pg", chunk_rows=100)
    assert (result.rows, result.superseded, result.kept_rows) == (900, 10, 0)
    assert _lake_ids(lake) == _source_ids(config)
    again = backfill(connector, IncrementRequest(table, full), lake, "pg", chunk_rows=100)
    assert again.reused and again.run_id == result.run_id  # one backfill is not run twice
    assert _lake_ids(lake) == _source_ids(config)


# -- crashes ----------------------------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from datetime import datetime
    from crawlers.backfill import backfill
    from crawlers.connectors.postgres import PostgresConfig, PostgresConnector
    from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy, ValueRange
    from crawlers.lake import Lake

    config, lake_dir, mode, at = json.loads(sys.argv[1])
    connector = PostgresConnector(PostgresConfig(**config))
    table = connector.discover().table_map()[("app", "events")]
    lake = Lake(lake_dir)

    def die(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    write_chunk = lake.write_chunk
    def write_then_maybe_die(*args, **options):
        chunk = write_chunk(*args, **options)
        role = options["metadata"]["role"]
        if (mode, role, chunk.chunk_no) in (("after_range_chunk", "range", at), ("after_remainder", "remainder", at)):
            die()
        return chunk
    lake.write_chunk = write_then_maybe_die
    if mode == "before_manifest":
        lake.write_manifest = die
    request = IncrementRequest(table, IncrementPlan(IncrementStrategy.KEY, "seq"), batch_rows=64,
                               range=ValueRange(low=150, high=851))
    result = backfill(connector, request, lake, "pg", watermark=1000, salt="job-1", chunk_rows=100)
    print(json.dumps({"resumed": result.resumed_chunks, "rows": result.rows}))
    """
)


def _run_child(config: dict, lake_dir: Path, mode: str, at: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, json.dumps([config, str(lake_dir), mode, at])],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize(("mode", "at", "resumed"), [
    ("after_range_chunk", 3, 4),  # range chunks 0-3 durable: the rerun keeps them and reads after seq 550
    ("after_remainder", 8, 7),  # every range chunk and one remainder durable, nothing committed
    ("before_manifest", -1, 7),
])
def test_a_killed_backfill_resumes_and_holds_each_row_once(make_pg_database, tmp_path, mode, at, resumed):
    config, connector, table = _setup(make_pg_database)
    lake_dir = tmp_path / "lake"
    lake = Lake(str(lake_dir))
    _extract(connector, table, KEY, lake)
    pg_execute(config, "delete from app.events where seq between 300 and 309; "
                       "update app.events set payload = 'fixed' where seq between 700 and 709")

    killed = _run_child(config, lake_dir, mode, at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _lake_ids(lake) == Counter(range(1, 1001))  # uncommitted: readers still see the lake as it was

    rerun = _run_child(config, lake_dir, "none", -1)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout) == {"resumed": resumed, "rows": 691}
    data = lake.read_dataset("pg", "app", "events").to_pylist()
    assert Counter(row["id"] for row in data) == _source_ids(config)
    assert {row["id"] for row in data if row["payload"] == "fixed"} == set(range(700, 710))
    for run in lake.committed_runs("pg", "app", "events", superseded=True):  # no orphan file in a committed run
        folder = sorted(p.name for p in (lake_dir / "pg" / "app" / "events" / f"run={run.run_id}").iterdir())
        assert folder == sorted([MANIFEST_NAME] + [Path(c.path).name for c in run.chunks])
