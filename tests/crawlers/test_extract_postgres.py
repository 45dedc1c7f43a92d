"""Incremental extraction from a real PostgreSQL server into a lake folder.

Oracles: the table itself, read with a plain psycopg SELECT (Python objects decoded by psycopg, not by Arrow), and
PostgreSQL's own text output where psycopg cannot decode a value (infinity, intervals). The crash tests kill a
real extraction process with SIGKILL and re-run it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time as time_module
from collections import Counter
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from crawlers.connectors.postgres import PostgresConfig, PostgresConnector
from crawlers.errors import ConnectorError, InvalidSourceConfig
from crawlers.extract import extract_increment, window_run_id
from crawlers.increment import (
    IncrementPlan,
    IncrementRequest,
    IncrementStrategy,
    decode_watermark,
    encode_watermark,
    suggest_plan,
)
from crawlers.lake import MANIFEST_NAME, Lake
from tests.support.postgres import pg_execute, pg_query

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]

EVENTS_DDL = """
create schema app;
create table app.events (
    id bigint primary key,
    payload text,
    amount numeric(12,2),
    updated_at timestamptz
);
"""


def connector_for(config: dict) -> PostgresConnector:
    return PostgresConnector(PostgresConfig(**config))


def table_of(connector: PostgresConnector, schema: str, name: str):
    return connector.discover().table_map()[(schema, name)]


def insert_events(config: dict, first: int, last: int, *, base: str = "2024-01-01", tie: int = 3) -> None:
    # `tie` rows share each timestamp, so chunk boundaries fall inside runs of equal values unless the cutter
    # moves them; commas, quotes and newlines in the payload exercise the CSV path.
    pg_execute(
        config,
        f"""insert into app.events
            select g, 'row ' || g || ', "quoted"' || case when g % 7 = 0 then E'\\nsecond line' else '' end,
                   g * 1.25, timestamptz '{base} 00:00:00+00' + (g / {tie}) * interval '1 second'
            from generate_series({first}, {last}) g""",
    )


def lake_rows(lake: Lake, source: str, schema: str, table: str) -> list[dict]:
    return lake.read_dataset(source, schema, table).to_pylist()


def source_rows(config: dict, sql: str, *, settings: str = "") -> list[dict]:
    import psycopg

    with psycopg.connect(
        host=config["host"], port=config["port"], user=config["user"], dbname=config["database"], autocommit=True
    ) as conn:
        conn.execute("set timezone = 'UTC'")
        if settings:
            conn.execute(settings)
        cursor = conn.execute(sql)
        names = [d.name for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def latest_versions(rows: list[dict], key: str, version: str) -> dict[Any, dict]:
    latest: dict[Any, dict] = {}
    for row in rows:
        current = latest.get(row[key])
        if current is None or row[version] > current[version]:
            latest[row[key]] = row
    return latest


def assert_each_version_once(lake: Lake, source: str) -> None:
    """Per committed run each id once; across runs each (id, updated_at) version once."""
    versions: Counter = Counter()
    for manifest in lake.committed_runs(source, "app", "events"):
        run = lake.read_run(source, "app", "events", manifest.run_id).to_pylist()
        ids = Counter(r["id"] for r in run)
        assert not [i for i, n in ids.items() if n > 1], f"run {manifest.run_id} holds an id twice"
        versions.update((r["id"], r["updated_at"]) for r in run)
    duplicated = [v for v, n in versions.items() if n > 1]
    assert not duplicated, f"row versions in two runs: {duplicated[:5]}"


def assert_lake_matches_source(lake: Lake, source: str, config: dict) -> None:
    """Replaying the committed runs (last version wins) gives exactly the table: nothing lost, nothing stale."""
    latest = latest_versions(lake_rows(lake, source, "app", "events"), "id", "updated_at")
    expected = {r["id"]: r for r in source_rows(config, "select * from app.events")}
    assert latest.keys() == expected.keys()
    mismatched = [i for i in expected if latest[i] != expected[i]]
    assert not mismatched, f"first mismatch: {latest[mismatched[0]]} != {expected[mismatched[0]]}"


class WatermarkStore:
    """The application's side, as the extraction contract asks: save what `on_chunk_durable` hands over."""

    def __init__(self) -> None:
        self.value: Any = None
        self.saves: list[Any] = []

    def save(self, chunk, watermark) -> None:
        self.value = decode_watermark(json.loads(json.dumps(encode_watermark(watermark))))
        self.saves.append(self.value)


# -- strategies -------------------------------------------------------------------------------------------------


def test_timestamp_strategy_picks_up_inserts_and_updates_once_per_run(make_pg_database, tmp_path):
    config = make_pg_database(EVENTS_DDL)
    insert_events(config, 1, 1000)
    connector = connector_for(config)
    table = table_of(connector, "app", "events")
    plan = suggest_plan(table)
    assert plan == IncrementPlan(IncrementStrategy.TIMESTAMP, "updated_at")
    lake, store = Lake(str(tmp_path / "lake")), WatermarkStore()

    first = extract_increment(connector, IncrementRequest(table, plan, None, batch_rows=128), lake, "pg",
                              chunk_rows=100, on_chunk_durable=store.save)
    assert first.rows == 1000 and first.committed
    assert len(first.chunks) > 5
    # Boundaries never split a timestamp: consecutive chunks hold disjoint, increasing value ranges.
    for before, after in zip(first.chunks, first.chunks[1:]):
        assert before.max < after.min
    assert store.value == first.watermark_to == source_rows(config, "select max(updated_at) m from app.events")[0]["m"]

    # Between runs: update 40 existing rows (new versions), insert 60 new ones.
    pg_execute(config, "update app.events set payload = 'changed', updated_at = timestamptz '2025-01-01 00:00:00+00'"
                       " + id * interval '1 millisecond' where id % 25 = 0")
    insert_events(config, 1001, 1060, base="2025-02-01")
    second = extract_increment(connector, IncrementRequest(table, plan, store.value, batch_rows=128), lake, "pg",
                               chunk_rows=100, on_chunk_durable=store.save)
    assert second.rows == 100
    assert second.watermark_from == first.watermark_to
    changed = lake.read_run("pg", "app", "events", second.run_id).to_pylist()
    assert sorted(r["id"] for r in changed) == sorted([i for i in range(25, 1001, 25)] + list(range(1001, 1061)))

    # Nothing changed: a run that finds nothing commits nothing and keeps the watermark.
    third = extract_increment(connector, IncrementRequest(table, plan, store.value), lake, "pg")
    assert (third.rows, third.committed, third.watermark_to) == (0, False, second.watermark_to)

    assert [m.run_id for m in lake.committed_runs("pg", "app", "events")] == [first.run_id, second.run_id]
    assert_each_version_once(lake, "pg")
    assert_lake_matches_source(lake, "pg", config)


def test_key_strategy_reads_appended_rows_and_retry_of_a_committed_window_reads_nothing(make_pg_database, tmp_path):
    config = make_pg_database(EVENTS_DDL)
    insert_events(config, 1, 500)
    connector = connector_for(config)
    table = table_of(connector, "app", "events")
    plan = IncrementPlan(IncrementStrategy.KEY, "id")
    lake = Lake(str(tmp_path / "lake"))

    first = extract_increment(connector, IncrementRequest(table, plan), lake, "pg", chunk_rows=200)
    assert (first.rows, [c.rows for c in first.chunks], first.watermark_to) == (500, [200, 200, 100], 500)
    insert_events(config, 501, 650)
    # The application lost its save and retries the same window: the committed run answers, nothing is re-read.
    again = extract_increment(connector, IncrementRequest(table, plan), lake, "pg", chunk_rows=200)
    assert again.reused and again.run_id == first.run_id and again.watermark_to == 500
    second = extract_increment(connector, IncrementRequest(table, plan, again.watermark_to), lake, "pg")
    assert (second.rows, second.watermark_to) == (150, 650)
    ids = [r["id"] for r in lake_rows(lake, "pg", "app", "events")]
    assert sorted(ids) == list(range(1, 651))


def test_full_snapshot_reads_everything_each_run_and_only_complete_runs_are_visible(make_pg_database, tmp_path):
    config = make_pg_database(EVENTS_DDL)
    insert_events(config, 1, 300)
    connector = connector_for(config)
    table = table_of(connector, "app", "events")
    plan = IncrementPlan(IncrementStrategy.FULL)
    lake = Lake(str(tmp_path / "lake"))
    seen = []

    first = extract_increment(connector, IncrementRequest(table, plan), lake, "pg", chunk_rows=128,
                              on_chunk_durable=lambda chunk, watermark: seen.append(watermark))
    assert [c.rows for c in first.chunks] == [128, 128, 44]
    assert seen == [None, None, None]  # a snapshot acknowledges nothing before it is complete
    assert isinstance(first.watermark_to, datetime)
    pg_execute(config, "delete from app.events where id > 200")
    second = extract_increment(connector, IncrementRequest(table, plan, first.watermark_to), lake, "pg")
    assert second.rows == 200 and second.run_id != first.run_id
    runs = lake.committed_runs("pg", "app", "events")
    assert [m.run_id for m in runs] == [first.run_id, second.run_id]
    latest = lake.read_run("pg", "app", "events", runs[-1].run_id).to_pylist()
    assert sorted(latest, key=lambda r: r["id"]) == source_rows(config, "select * from app.events order by id")

    # Retrying a window whose snapshot is committed (its watermark was not saved) takes a new snapshot.
    third = extract_increment(connector, IncrementRequest(table, plan, first.watermark_to), lake, "pg")
    assert third.run_id == f"{second.run_id}.1" and not third.reused and third.rows == 200


def test_null_plan_values_come_first_in_the_first_run_only(make_pg_database, tmp_path):
    config = make_pg_database(EVENTS_DDL)
    insert_events(config, 1, 50)
    pg_execute(config, "update app.events set updated_at = null where id <= 10")
    connector = connector_for(config)
    table = table_of(connector, "app", "events")
    plan = IncrementPlan(IncrementStrategy.TIMESTAMP, "updated_at")
    lake = Lake(str(tmp_path / "lake"))
    first = extract_increment(connector, IncrementRequest(table, plan), lake, "pg", chunk_rows=4)
    assert first.rows == 50
    # NULL counts as one value for the cutter: the ten NULL rows form the first chunk, ahead of every value.
    assert (first.chunks[0].rows, first.chunks[0].max, first.chunks[1].min) == (
        10, None, datetime(2024, 1, 1, 0, 0, 3, tzinfo=UTC))
    second = extract_increment(connector, IncrementRequest(table, plan, first.watermark_to), lake, "pg")
    assert second.rows == 0


# -- types ------------------------------------------------------------------------------------------------------

TYPES_DDL = '''
create type mood as enum ('sad', 'ok', 'happy');
create domain price as numeric(8,3);
create table public."Odd ""Table"", name" (
    id int primary key,
    i2 smallint, i4 integer, i8 bigint,
    f4 real, f8 double precision,
    n_small numeric(10,2), n_wide numeric(50,10), n_free numeric, n_domain price,
    flag boolean,
    t text, vc varchar(20), ch char(5), "Weird col, ""x""" text,
    d date, ts timestamp, tstz timestamptz, tm time, tmtz timetz, iv interval,
    u uuid, j json, jb jsonb, b bytea,
    ai int[], at2 text[][],
    e mood, ip inet
);
insert into public."Odd ""Table"", name" values
 (1, -32768, -2147483648, -9223372036854775808, 1.5, -2.25e-300, -12345678.91, 1234567890123456789012345678901234567890.0123456789,
  '3.14159265358979323846264338327950288419716939937510', 12345.678, true,
  'comma, "quote" and
newline', '', 'ab', 'x', '2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.5+05:30', '23:59:59.999999',
  '10:00:00+02', '1 year 2 months 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}',
  '{"b": {"c": null}}', '\\x00ff10', '{1,NULL,3}', '{{"a","b,c"},{"d\\"e",NULL}}', 'happy', '10.0.0.1/8'),
 (2, 32767, 2147483647, 9223372036854775807, 'NaN', 'Infinity', 0, 0, 'NaN', 0, false,
  'Grüße 😀', 'x', '', '', 'infinity', '-infinity', 'infinity', '24:00:00', '00:00:00+00', '-1 day', null, '[]',
  '"s"', '\\x', '{}', '{}', 'sad', '::1'),
 (3, null, null, null, '-Infinity', null, 'NaN', null, null, null, null, null, null, null, null, '-infinity',
  null, '-infinity', null, null, null, null, null, null, null, null, null, null, null);
'''


def test_types_round_trip_against_a_direct_select(make_pg_database, tmp_path):
    config = make_pg_database(TYPES_DDL)
    connector = connector_for(config)
    table = table_of(connector, "public", 'Odd "Table", name')
    batches = list(connector.read_increment(IncrementRequest(table, IncrementPlan(IncrementStrategy.KEY, "id"))))
    got = {r["id"]: r for r in pa.Table.from_batches(batches).to_pylist()}
    types = {f.name: f.type for f in batches[0].schema}
    assert types == {
        "id": pa.int32(), "i2": pa.int16(), "i4": pa.int32(), "i8": pa.int64(), "f4": pa.float32(),
        "f8": pa.float64(), "n_small": pa.decimal128(10, 2), "n_wide": pa.decimal256(50, 10),
        "n_free": pa.string(), "n_domain": pa.decimal128(8, 3), "flag": pa.bool_(), "t": pa.string(),
        "vc": pa.string(), "ch": pa.string(), 'Weird col, "x"': pa.string(), "d": pa.date32(),
        "ts": pa.timestamp("us"), "tstz": pa.timestamp("us", "UTC"), "tm": pa.time64("us"), "tmtz": pa.string(),
        "iv": pa.string(), "u": pa.string(), "j": pa.string(), "jb": pa.string(), "b": pa.binary(),
        "ai": pa.string(), "at2": pa.string(), "e": pa.string(), "ip": pa.string(),
    }

    # Row 1 holds only values psycopg can decode: compare every column with psycopg's own objects.
    row = source_rows(config, 'select * from public."Odd ""Table"", name" where id = 1')[0]
    text = source_rows(
        config, 'select iv::text, tmtz::text, ip::text, n_free::text from public."Odd ""Table"", name" where id = 1',
        settings="set intervalstyle = 'iso_8601'")[0]
    one = got[1]
    for name in ("i2", "i4", "i8", "f8", "n_small", "n_wide", "n_domain", "flag", "t", "vc", "ch",
                 'Weird col, "x"', "d", "ts", "tstz", "tm", "e"):
        assert one[name] == row[name], name
    assert one["f4"] == pytest.approx(row["f4"])
    assert one["n_free"] == text["n_free"] == "3.14159265358979323846264338327950288419716939937510"
    assert one["u"] == str(row["u"])
    assert json.loads(one["j"]) == row["j"] and json.loads(one["jb"]) == row["jb"]
    assert one["b"] == bytes(row["b"]) == b"\x00\xff\x10"
    assert json.loads(one["ai"]) == row["ai"] == [1, None, 3]
    assert json.loads(one["at2"]) == row["at2"] == [["a", "b,c"], ['d"e', None]]
    assert (one["iv"], one["tmtz"], one["ip"]) == (text["iv"], text["tmtz"], text["ip"])
    assert one["tstz"] == datetime(2024, 2, 29, 7, 44, 15, 500000, tzinfo=UTC)

    # Rows 2 and 3: the edges, each mapped as documented.
    two, three = got[2], got[3]
    assert (two["i2"], two["i4"], two["i8"]) == (32767, 2**31 - 1, 2**63 - 1)
    assert two["f4"] != two["f4"] and two["f8"] == float("inf") and three["f4"] == float("-inf")
    assert two["n_free"] == "NaN" and three["n_small"] is None  # NaN: kept as text / no decimal can hold it
    assert (two["t"], two["vc"], two["ch"], two['Weird col, "x"']) == ("Grüße 😀", "x", "     ", "")
    assert three["t"] is None and two["vc"] == "x"
    assert two["d"] == date(9999, 12, 31) and three["d"] == date(1, 1, 1)
    assert two["ts"] == datetime(1, 1, 1) and two["tstz"] == datetime(9999, 12, 31, 23, 59, 59, 999999, UTC)
    assert three["tstz"] == datetime(1, 1, 1, tzinfo=UTC)
    assert two["tm"] == time(23, 59, 59, 999999)
    assert two["b"] == b"" and three["b"] is None
    assert (json.loads(two["ai"]), two["j"], json.loads(two["jb"])) == ([], "[]", "s")
    assert {k: v for k, v in three.items() if v is not None} == {
        "id": 3, "f4": float("-inf"), "d": date(1, 1, 1), "tstz": datetime(1, 1, 1, tzinfo=UTC)}


def test_identifiers_are_quoted_not_interpolated(make_pg_database, tmp_path):
    name = 'x"; drop table app.events; --'
    config = make_pg_database(EVENTS_DDL + f'create table app."{name.replace(chr(34), chr(34) * 2)}" (id int);'
                                           'insert into app."x""; drop table app.events; --" values (1), (2);')
    connector = connector_for(config)
    table = table_of(connector, "app", name)
    result = extract_increment(connector, IncrementRequest(table, IncrementPlan(IncrementStrategy.FULL)),
                               Lake(str(tmp_path / "lake")), "pg")
    assert result.rows == 2
    assert pg_query(config, "select count(*) from app.events") == [(0,)]  # still there


def test_plan_column_must_exist(make_pg_database):
    config = make_pg_database(EVENTS_DDL)
    connector = connector_for(config)
    table = table_of(connector, "app", "events")
    with pytest.raises(ValueError, match="plan column 'nope'"):
        IncrementRequest(table, IncrementPlan(IncrementStrategy.KEY, "nope"))
    bare = type(table)(schema="app", name="events")  # no columns known: the connector checks against the source
    with pytest.raises(InvalidSourceConfig, match="plan column 'nope'") as caught:
        list(connector.read_increment(IncrementRequest(bare, IncrementPlan(IncrementStrategy.KEY, "nope"))))
    assert caught.value.field == "plan.column"


def test_years_outside_arrow_range_are_a_clear_error(make_pg_database):
    config = make_pg_database("create table d (id int, day date); insert into d values (1, '0044-03-15 BC');")
    connector = connector_for(config)
    table = table_of(connector, "public", "d")
    with pytest.raises(ConnectorError, match=r"column 'day' of public\.d.*BC"):
        list(connector.read_increment(IncrementRequest(table, IncrementPlan(IncrementStrategy.FULL))))


def test_closing_the_reader_early_ends_the_copy_on_the_server(make_pg_database):
    config = make_pg_database(EVENTS_DDL)
    insert_events(config, 1, 5000)
    connector = connector_for(config)
    table = table_of(connector, "app", "events")
    reader = connector.read_increment(IncrementRequest(table, IncrementPlan(IncrementStrategy.FULL), batch_rows=100))
    assert next(reader).num_rows == 100
    reader.close()
    # The client has closed its socket; the server backend notices and exits on its own, a moment later.
    for _ in range(100):
        active = pg_query(config, "select count(*) from pg_stat_activity where datname = current_database() "
                                  "and application_name = 'catalog-crawler'")
        if active == [(0,)]:
            break
        time_module.sleep(0.05)
    assert active == [(0,)]


# -- crashes ----------------------------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from crawlers.connectors.postgres import PostgresConfig, PostgresConnector
    from crawlers.extract import extract_increment
    from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy, decode_watermark, encode_watermark
    from crawlers.lake import Lake

    config, lake_dir, store, mode, at = json.loads(sys.argv[1])
    connector = PostgresConnector(PostgresConfig(**config))
    table = connector.discover().table_map()[("app", "events")]
    watermark = decode_watermark(json.load(open(store))) if os.path.exists(store) else None
    lake = Lake(lake_dir)

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def save(chunk, new_watermark):
        if mode == "after_chunk_written" and chunk.chunk_no == at:
            die()  # the chunk is durable, its watermark not saved
        with open(store + ".tmp", "w") as handle:
            json.dump(encode_watermark(new_watermark), handle)
        os.replace(store + ".tmp", store)

    if mode == "before_manifest":
        lake.write_manifest = lambda *args, **kwargs: die()
    write_chunk = lake.write_chunk
    if mode == "while_writing_chunk":
        def write_and_die(source, schema, table, run_id, chunk_no, batches, **options):
            def dying():
                for number, batch in enumerate(batches):
                    if chunk_no == at and number == 1:
                        die()  # mid-chunk: the temporary file is open, the first batch handed to the writer
                    yield batch
            return write_chunk(source, schema, table, run_id, chunk_no, dying(), **options)
        lake.write_chunk = write_and_die
    extract_increment(connector, IncrementRequest(table, IncrementPlan(IncrementStrategy.TIMESTAMP, "updated_at"),
                      watermark, batch_rows=50), lake, "pg", chunk_rows=100, on_chunk_durable=save)
    print("finished")
    """
)


def run_child(config: dict, lake_dir: Path, store: Path, mode: str, at: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([config, str(lake_dir), str(store), mode, at])],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize(
    ("mode", "at"),
    [
        ("after_chunk_written", 0),  # nothing acknowledged yet: the re-run has the same run id
        ("after_chunk_written", 3),  # chunks 0-2 acknowledged, chunk 3 durable but not
        ("while_writing_chunk", 3),  # chunks 0-2 acknowledged, killed while chunk 3 is being written
        ("before_manifest", 0),  # every chunk acknowledged, the run never committed
    ],
)
def test_killed_extraction_rerun_has_no_duplicate_and_no_lost_row(make_pg_database, tmp_path, mode, at):
    config = make_pg_database(EVENTS_DDL)
    insert_events(config, 1, 1000)
    lake_dir, store = tmp_path / "lake", tmp_path / "watermark.json"
    killed = run_child(config, lake_dir, store, mode, at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    lake = Lake(str(lake_dir))
    assert lake.committed_runs("pg", "app", "events") == []
    crashed = lake.run_ids("pg", "app", "events")
    assert len(crashed) == 1 and lake.chunk_files("pg", "app", "events", crashed[0])

    # While it was down: updates to rows on both sides of the saved watermark, and new rows.
    pg_execute(config, "update app.events set payload = 'after crash', updated_at = timestamptz '2030-01-01 00:00:00+00'"
                       " + id * interval '1 second' where id in (1, 2, 500, 999)")
    insert_events(config, 1001, 1020, base="2030-06-01")
    rerun = run_child(config, lake_dir, store, "none", -1)
    assert rerun.returncode == 0 and "finished" in rerun.stdout, rerun.stderr

    runs = lake.committed_runs("pg", "app", "events")
    assert all(lake.manifest("pg", "app", "events", r) for r in lake.run_ids("pg", "app", "events"))
    for run in runs:  # what is committed is exactly what is in the folder: no orphan chunk, no temporary file
        folder = sorted(p.name for p in (lake_dir / "pg" / "app" / "events" / f"run={run.run_id}").iterdir())
        assert folder == sorted([MANIFEST_NAME] + [Path(c.path).name for c in run.chunks])
    acknowledged = mode == "before_manifest" or (mode == "after_chunk_written" and at > 0) or mode.startswith("while")
    assert [r.recovered for r in runs] == ([True, False] if acknowledged else [False])
    assert_each_version_once(lake, "pg")
    assert_lake_matches_source(lake, "pg", config)


def test_callback_failure_stops_the_run_uncommitted_and_the_retry_repairs_it(make_pg_database, tmp_path):
    config = make_pg_database(EVENTS_DDL)
    insert_events(config, 1, 400)
    connector = connector_for(config)
    table = table_of(connector, "app", "events")
    plan = IncrementPlan(IncrementStrategy.TIMESTAMP, "updated_at")
    lake, store = Lake(str(tmp_path / "lake")), WatermarkStore()

    def save_then_fail(chunk, watermark):
        if chunk.chunk_no == 2:
            raise RuntimeError("catalog database went away")
        store.save(chunk, watermark)

    with pytest.raises(RuntimeError):
        extract_increment(connector, IncrementRequest(table, plan), lake, "pg", chunk_rows=100,
                          on_chunk_durable=save_then_fail)
    crashed = window_run_id(IncrementRequest(table, plan))
    assert lake.manifest("pg", "app", "events", crashed) is None
    result = extract_increment(connector, IncrementRequest(table, plan, store.value), lake, "pg", chunk_rows=100,
                               on_chunk_durable=store.save)
    assert result.recovered_runs == (crashed,)
    sealed = lake.manifest("pg", "app", "events", crashed)
    assert sealed.recovered and [c.chunk_no for c in sealed.chunks] == [0, 1]
    assert sealed.watermark_from is None and sealed.watermark_to == result.watermark_from
    assert sealed.rows + result.rows == 400
    assert_each_version_once(lake, "pg")
    assert_lake_matches_source(lake, "pg", config)
