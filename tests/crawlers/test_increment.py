"""Strategy suggestion, watermark encoding, and incremental extraction from real SQLite files into a lake folder.

Oracles: SQLite itself (a direct SELECT on the file), and the tables the catalog's own discovery returns.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from crawlers.connectors.sqlite import SqliteConfig, SqliteConnector
from crawlers.errors import ConnectorError
from crawlers.extract import extract_increment, window_run_id
from crawlers.increment import (
    SMALL_TABLE_ROWS,
    IncrementPlan,
    IncrementRequest,
    IncrementStrategy,
    decode_watermark,
    encode_watermark,
    suggest_plan,
)
from crawlers.lake import Lake
from crawlers.snapshot import ColumnSnapshot, TableSnapshot, UniqueConstraint

REPO = Path(__file__).resolve().parents[2]
TIMESTAMP, KEY, FULL = IncrementStrategy.TIMESTAMP, IncrementStrategy.KEY, IncrementStrategy.FULL


def table(*columns: tuple[str, str], pk: tuple[str, ...] = (), rows: int | None = None) -> TableSnapshot:
    return TableSnapshot(
        schema="s",
        name="t",
        columns=tuple(ColumnSnapshot(name, i, kind) for i, (name, kind) in enumerate(columns, start=1)),
        primary_key=UniqueConstraint("pk", pk) if pk else None,
        row_estimate=rows,
    )


# -- suggest_plan -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("updated_at", "timestamp with time zone"),
        ("lastModifiedDate", "timestamp without time zone"),  # NetSuite's camelCase
        ("modified_on", "DATETIME"),  # SQLite/MySQL spelling
        ("LAST_UPDATED", "timestamp(3) without time zone"),
        ("date_modified", "datetime2"),
        ("changed", "timestamptz"),
    ],
)
def test_a_modification_timestamp_is_recognised_by_name_and_type(name, kind):
    plan = suggest_plan(table(("id", "integer"), ("note", "text"), (name, kind), pk=("id",), rows=10**6))
    assert plan == IncrementPlan(TIMESTAMP, name)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("updated_at", "text"),  # the right name, not a timestamp
        ("modified_date", "date"),  # a date: `> today` would miss the rest of today
        ("updated_time", "time with time zone"),  # a time of day
        ("created_at", "timestamp with time zone"),  # a timestamp, but not of modification
        ("updated_attempts", "timestamp"),  # only a prefix matches
    ],
)
def test_other_columns_are_not_taken_for_a_modification_timestamp(name, kind):
    plan = suggest_plan(table((name, kind), ("id", "bigint"), pk=("id",), rows=5))
    assert plan == IncrementPlan(FULL)


@pytest.mark.parametrize("kind", ["bigint", "integer", "INTEGER", "int(11) unsigned", "numeric(18,0)", "serial"])
def test_a_large_table_with_an_integer_key_is_read_by_key(kind):
    assert suggest_plan(table(("id", kind), ("v", "text"), pk=("id",), rows=SMALL_TABLE_ROWS + 1)) == IncrementPlan(
        KEY, "id")


@pytest.mark.parametrize(
    ("columns", "pk", "rows"),
    [
        ((("id", "bigint"),), ("id",), SMALL_TABLE_ROWS),  # small: a snapshot is cheap and sees deletes
        ((("id", "bigint"),), ("id",), None),  # size unknown
        ((("a", "int"), ("b", "int")), ("a", "b"), 10**7),  # composite key
        ((("id", "uuid"),), ("id",), 10**7),  # not increasing
        ((("id", "interval"),), ("id",), 10**7),  # contains "int", is not one
        ((("id", "numeric(12,2)"),), ("id",), 10**7),  # fractional
        ((("id", "bigint"),), (), 10**7),  # no primary key
    ],
)
def test_everything_else_is_a_full_snapshot(columns, pk, rows):
    assert suggest_plan(table(*columns, pk=pk, rows=rows)) == IncrementPlan(FULL)


def test_plans_and_requests_refuse_nonsense():
    with pytest.raises(ValueError, match="names its column"):
        IncrementPlan(KEY)
    with pytest.raises(ValueError, match="names none"):
        IncrementPlan(FULL, "id")
    with pytest.raises(ValueError, match="batch_rows must be a positive integer"):
        IncrementRequest(table(("id", "int")), IncrementPlan(FULL), batch_rows=0)
    with pytest.raises(ValueError, match="plan column 'nope' is not a column of s.t"):
        IncrementRequest(table(("id", "int")), IncrementPlan(KEY, "nope"))


@pytest.mark.parametrize(
    "value",
    [
        None, 0, -(2**70), "2024-01-01 10:00:00", Decimal("12345678901234567890.000000001"), 1.1,
        datetime(2024, 2, 29, 13, 14, 15, 123456, tzinfo=UTC),
        datetime(2024, 2, 29, 13, 14, 15, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2024, 2, 29, 13, 14, 15), date(1, 1, 1), time(23, 59, 59, 999999), b"\x00\xff",
    ],
)
def test_watermarks_survive_json_exactly(value):
    back = decode_watermark(json.loads(json.dumps(encode_watermark(value))))
    assert back == value and type(back) is type(value)
    if isinstance(value, datetime):
        assert back.utcoffset() == value.utcoffset()


def test_window_run_ids_depend_on_the_window_only():
    t = table(("id", "bigint"), pk=("id",))
    key = IncrementPlan(KEY, "id")
    same = window_run_id(IncrementRequest(t, key, 10, batch_rows=5))
    assert same == window_run_id(IncrementRequest(t, key, 10, batch_rows=99))
    assert same.startswith("key-")
    assert len({same, window_run_id(IncrementRequest(t, key, 11)), window_run_id(IncrementRequest(t, key, 10),
                salt="job-7"), window_run_id(IncrementRequest(t, IncrementPlan(FULL), 10))}) == 4


# -- SQLite extraction ------------------------------------------------------------------------------------------

EVENTS_SQL = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    payload TEXT,
    amount DECIMAL(10,2),
    done BOOLEAN,
    modified_at DATETIME
);
"""


def make_events(path: Path, first: int, last: int, *, tie: int = 4, day: str = "2024-01-01") -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(EVENTS_SQL) if first == 1 else None
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
            [(i, f"row {i}, \"q\"\n" if i % 9 == 0 else f"row {i}", i * 0.25, i % 2,
              f"{day} {(i // tie) // 3600:02d}:{(i // tie) // 60 % 60:02d}:{(i // tie) % 60:02d}")
             for i in range(first, last + 1)],
        )


def sqlite_rows(path: Path, sql: str) -> list[dict]:
    with sqlite3.connect(path) as conn:
        cursor = conn.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def connector_for(path: Path) -> SqliteConnector:
    return SqliteConnector(SqliteConfig(path=str(path)))


def events_table(connector: SqliteConnector) -> TableSnapshot:
    return connector.discover().table_map()[("main", "events")]


def check_once_and_complete(lake: Lake, path: Path) -> None:
    versions: Counter = Counter()
    latest: dict[int, dict] = {}
    for manifest in lake.committed_runs("lite", "main", "events"):
        run = lake.read_run("lite", "main", "events", manifest.run_id).to_pylist()
        assert len({r["id"] for r in run}) == len(run), f"run {manifest.run_id} holds an id twice"
        versions.update((r["id"], r["modified_at"]) for r in run)
        for row in run:
            if row["id"] not in latest or row["modified_at"] > latest[row["id"]]["modified_at"]:
                latest[row["id"]] = row
    assert max(versions.values()) == 1
    expected = {r["id"]: {**r, "done": bool(r["done"])} for r in sqlite_rows(path, "SELECT * FROM events")}
    assert latest == expected


def test_sqlite_timestamp_strategy_each_version_once_per_run(tmp_path):
    db = tmp_path / "shop.db"
    make_events(db, 1, 500)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    connector = connector_for(db)
    events = events_table(connector)
    plan = suggest_plan(events)
    assert plan == IncrementPlan(TIMESTAMP, "modified_at")
    lake = Lake(str(tmp_path / "lake"))
    saved: list = []

    first = extract_increment(connector, IncrementRequest(events, plan, batch_rows=33), lake, "lite",
                              chunk_rows=50, on_chunk_durable=lambda c, w: saved.append(w))
    assert first.rows == 500 and saved[-1] == first.watermark_to == "2024-01-01 00:02:05"
    assert all(before.max < after.min for before, after in zip(first.chunks, first.chunks[1:]))
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest  # read-only

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE events SET payload = 'new', modified_at = '2024-01-02 00:00:00' WHERE id % 50 = 0")
    make_events(db, 501, 520, day="2024-01-03")
    second = extract_increment(connector, IncrementRequest(events, plan, first.watermark_to), lake, "lite")
    assert second.rows == 30
    check_once_and_complete(lake, db)


def test_sqlite_key_and_full_strategies(tmp_path):
    db = tmp_path / "shop.db"
    make_events(db, 1, 120)
    connector = connector_for(db)
    events = events_table(connector)
    lake = Lake(str(tmp_path / "lake"))
    key = IncrementPlan(KEY, "id")
    first = extract_increment(connector, IncrementRequest(events, key), lake, "lite", chunk_rows=50)
    assert ([c.rows for c in first.chunks], first.watermark_to) == ([50, 50, 20], 120)
    make_events(db, 121, 130)
    second = extract_increment(connector, IncrementRequest(events, key, 120), lake, "lite")
    assert (second.rows, second.watermark_to) == (10, 130)

    full = extract_increment(connector, IncrementRequest(events, IncrementPlan(FULL)), lake, "full")
    snapshot = lake.read_run("full", "main", "events", full.run_id)
    assert snapshot.num_rows == 130 and full.committed
    assert sorted(snapshot.column("id").to_pylist()) == list(range(1, 131))


def test_sqlite_types_follow_declared_affinity(tmp_path):
    db = tmp_path / "types.db"
    with sqlite3.connect(db) as conn:
        conn.execute('CREATE TABLE "odd ""name""" (i INTEGER, t VARCHAR(10), b BLOB, r DOUBLE, f BOOLEAN, '
                     "d DATE, n NUMERIC(10,2), anything)")
        conn.execute('INSERT INTO "odd ""name""" VALUES (1, \'x\', x\'00ff\', 1.5, 1, \'2024-02-29\', 12.5, 7)')
        conn.execute('INSERT INTO "odd ""name""" VALUES (NULL, \'\', NULL, NULL, 0, NULL, 3, x\'0a\')')
    connector = connector_for(db)
    snapshot = connector.discover().table_map()[("main", 'odd "name"')]
    batches = list(connector.read_increment(IncrementRequest(snapshot, IncrementPlan(FULL))))
    got = pa.Table.from_batches(batches)
    assert dict(zip(got.schema.names, got.schema.types)) == {
        "i": pa.int64(), "t": pa.string(), "b": pa.binary(), "r": pa.float64(), "f": pa.bool_(), "d": pa.string(),
        "n": pa.float64(), "anything": pa.string()}
    assert got.to_pylist() == [
        {"i": 1, "t": "x", "b": b"\x00\xff", "r": 1.5, "f": True, "d": "2024-02-29", "n": 12.5, "anything": "7"},
        {"i": None, "t": "", "b": None, "r": None, "f": False, "d": None, "n": 3.0, "anything": "0a"},
    ]


def test_sqlite_value_that_does_not_fit_its_declared_type_is_named(tmp_path):
    db = tmp_path / "loose.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE loose (id INTEGER, qty INTEGER)")
        conn.execute("INSERT INTO loose VALUES (1, 'many')")
    connector = connector_for(db)
    snapshot = connector.discover().table_map()[("main", "loose")]
    with pytest.raises(ConnectorError, match=r"column 'qty' of main\.loose holds str value 'many'"):
        list(connector.read_increment(IncrementRequest(snapshot, IncrementPlan(FULL))))


SQLITE_CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from crawlers.connectors.sqlite import SqliteConfig, SqliteConnector
    from crawlers.extract import extract_increment
    from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy, decode_watermark, encode_watermark
    from crawlers.lake import Lake

    db, lake_dir, store, kill_at = json.loads(sys.argv[1])
    connector = SqliteConnector(SqliteConfig(path=db))
    table = connector.discover().table_map()[("main", "events")]
    watermark = decode_watermark(json.load(open(store))) if os.path.exists(store) else None

    def save(chunk, new_watermark):
        if chunk.chunk_no == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # the chunk is durable, its watermark not saved
        with open(store, "w") as handle:
            json.dump(encode_watermark(new_watermark), handle)

    extract_increment(connector, IncrementRequest(table, IncrementPlan(IncrementStrategy.TIMESTAMP, "modified_at"),
                      watermark, batch_rows=40), Lake(lake_dir), "lite", chunk_rows=60, on_chunk_durable=save)
    """
)


def test_sqlite_extraction_killed_after_a_chunk_is_written_reruns_without_duplicate_or_loss(tmp_path):
    db, lake_dir, store = tmp_path / "shop.db", tmp_path / "lake", tmp_path / "wm.json"
    make_events(db, 1, 400)

    def child(kill_at: int) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", SQLITE_CHILD, json.dumps([str(db), str(lake_dir), str(store), kill_at])],
            env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120, check=False,
        )

    killed = child(2)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert decode_watermark(json.loads(store.read_text())) is not None  # chunks 0 and 1 were acknowledged
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE events SET payload = 'late', modified_at = '2024-02-01 00:00:00' WHERE id IN (3, 333)")
    make_events(db, 401, 410, day="2024-03-01")
    rerun = child(-1)
    assert rerun.returncode == 0, rerun.stderr
    lake = Lake(str(lake_dir))
    runs = lake.committed_runs("lite", "main", "events")
    assert [r.recovered for r in runs] == [True, False]
    assert [c.chunk_no for c in runs[0].chunks] == [0, 1]
    assert len(lake.run_ids("lite", "main", "events")) == 2
    check_once_and_complete(lake, db)


def test_a_caller_chosen_run_id_retried_carries_on_after_its_acknowledged_chunks(tmp_path):
    db = tmp_path / "shop.db"
    make_events(db, 1, 200)
    connector = connector_for(db)
    events = events_table(connector)
    lake = Lake(str(tmp_path / "lake"))
    plan = IncrementPlan(KEY, "id")
    saved: list = []

    def fail_on_third(chunk, watermark):
        if chunk.chunk_no == 2:
            raise RuntimeError("catalog unavailable")
        saved.append(watermark)

    with pytest.raises(RuntimeError):
        extract_increment(connector, IncrementRequest(events, plan), lake, "lite", run_id="job-17", chunk_rows=50,
                          on_chunk_durable=fail_on_third)
    assert saved == [50, 100]
    retry = extract_increment(connector, IncrementRequest(events, plan, saved[-1]), lake, "lite", run_id="job-17",
                              chunk_rows=50)
    assert (retry.rows, [c.chunk_no for c in retry.chunks], retry.recovered_runs) == (100, [2, 3], ())
    manifest = lake.manifest("lite", "main", "events", "job-17")
    assert [c.chunk_no for c in manifest.chunks] == [0, 1, 2, 3]
    assert (manifest.watermark_from, manifest.watermark_to, manifest.rows) == (None, 200, 200)
    assert sorted(lake.read_dataset("lite", "main", "events").column("id").to_pylist()) == list(range(1, 201))


def test_json_schema_timestamps_are_modification_columns():
    # NetSuite's record metadata types a timestamp as `string(date-time)`; its audit column is lastModifiedDate.
    from crawlers.increment import IncrementStrategy, suggest_plan
    from crawlers.snapshot import ColumnSnapshot, TableSnapshot, UniqueConstraint

    table = TableSnapshot(
        "record", "customer",
        columns=(ColumnSnapshot("id", 1, "integer"), ColumnSnapshot("lastModifiedDate", 2, "string(date-time)"),
                 ColumnSnapshot("dateCreated", 3, "string(date)")),
        primary_key=UniqueConstraint("pk", ("id",)),
    )
    plan = suggest_plan(table)
    assert (plan.strategy, plan.column) == (IncrementStrategy.TIMESTAMP, "lastModifiedDate")
