"""Backfills through REST, GraphQL and the CLI, from real PostgreSQL and MariaDB sources into the lake.

Oracles: the source's own rows (direct SQL) against the lake read with pyarrow (`Lake.read_dataset`, and the runs the
profiler would read through `complete_lake_runs`); the catalog database's job record and event outbox.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote

import pyarrow.parquet as pq
import pytest

from catalog_api.services.extraction import lake
from catalog_api.services.jobs.records import add_job
from catalog_api.services.profiling import complete_lake_runs
from catalog_api.urns import dataset_urn
from tests.support import graphql
from tests.support.api import register
from tests.support.cli import rows as catalog_rows
from tests.support.jobs import rest_job
from tests.support.mariadb import make_mariadb_database, mariadb_execute, mariadb_query, mariadb_server  # noqa: F401
from tests.support.postgres import pg_execute, pg_query

pytestmark = pytest.mark.postgres

READINGS = """
create schema app;
create table app.readings (id bigint primary key, meter text, value numeric(12, 2), updated_at timestamptz);
insert into app.readings select g, 'm' || (g % 7), g * 0.5, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute'
    from generate_series(1, 5000) g;
create table app.codes (code text primary key, label text);
insert into app.codes values ('a', 'alpha'), ('b', 'beta');
"""
READINGS_URN = dataset_urn("app", "app", "readings")
# 2026-01-02 00:00 is reading 1440, 2026-01-03 00:00 reading 2880: [from, to) holds readings 1440-2879.
FROM, TO = "2026-01-02T00:00:00+00:00", "2026-01-03"


@pytest.fixture
def catalog_settings(catalog_settings):
    return catalog_settings.model_copy(update={"extract_chunk_rows": 1000})


@pytest.fixture
def pg_source(api_client, make_pg_database):
    config = make_pg_database(READINGS)
    created = register(api_client, config, name="app")
    assert _job(api_client, f"/api/v1/sources/{created['id']}/crawl")["status"] == "succeeded"
    return created, config


def _job(api_client, path: str, body: dict | None = None) -> dict:
    response = api_client.post(path, json=body)
    assert response.status_code == 202, response.text
    return rest_job(api_client, response.json())


def _extract(api_client, source_id: int, body: dict | None = None) -> dict:
    job = _job(api_client, f"/api/v1/sources/{source_id}/extract", body)
    assert job["status"] == "succeeded", job
    return job


def _lake_readings(catalog_ctx, source: str, schema: str, table: str) -> list[dict]:
    return lake(catalog_ctx.settings).read_dataset(source, schema, table).to_pylist()


def _extraction(api_client, urn: str) -> dict:
    return api_client.get("/api/v1/tables/" + quote(urn, safe="") + "/extraction").json()


def test_a_backfill_holds_the_range_as_the_source_has_it_and_every_other_row_once(api_client, catalog_ctx, pg_source):
    created, config = pg_source
    first = _extract(api_client, created["id"])
    assert {t["urn"]: t["rows"] for t in first["result"]["tables"]}[READINGS_URN] == 5000
    watermark = _extraction(api_client, READINGS_URN)["watermark"]
    # What an incremental extraction cannot see: deletes, corrections that keep their timestamp, late rows.
    pg_execute(config, """
        delete from app.readings where id between 1500 and 1509;
        update app.readings set value = -1 where id between 2000 and 2009;
        insert into app.readings select g, 'late', 7, timestamptz '2026-01-02 12:00:30+00' + (g - 9000) * interval '1 s'
            from generate_series(9001, 9005) g;
        update app.readings set value = -2 where id = 100;  -- outside the range: the lake keeps the old value
    """)

    job = _extract(api_client, created["id"], {"tables": [READINGS_URN], "from": FROM, "to": TO})

    in_range = {row[0]: row[1] for row in pg_query(config, "select id, value from app.readings where updated_at >= "
                                                           "'2026-01-02 00:00+00' and updated_at < '2026-01-03 00:00+00'")}
    lake_rows = _lake_readings(catalog_ctx, "app", "app", "readings")
    counts = Counter(row["id"] for row in lake_rows)
    assert max(counts.values()) == 1  # each row once
    expected_ids = (set(range(1, 5001)) - set(range(1500, 1510))) | set(range(9001, 9006))
    assert set(counts) == expected_ids
    values = {row["id"]: row["value"] for row in lake_rows}
    assert {i: values[i] for i in in_range} == in_range  # the range as the source has it now
    assert values[100] == Decimal("50.00") and values[2000] == Decimal("-1.00")
    result = job["result"]
    assert result["rows"] == len(in_range) == 1440 - 10 + 5
    # Chunks of 1000 rows: 1001-2000 and 2001-3000 hold rows of the range; their 439 + 121 others are kept.
    assert (result["backfill"]["superseded_chunks"], result["backfill"]["kept_rows"]) == (2, 560)
    assert _extraction(api_client, READINGS_URN)["watermark"] == watermark  # a backfill never moves it

    # The next extraction reads only what is new; the lake still holds each row once.
    pg_execute(config, "insert into app.readings values (20000, 'new', 1, timestamptz '2026-02-01 00:00+00')")
    after = _extract(api_client, created["id"])
    assert {t["urn"]: t["rows"] for t in after["result"]["tables"]}[READINGS_URN] == 1
    ids = Counter(row["id"] for row in _lake_readings(catalog_ctx, "app", "app", "readings"))
    assert set(ids) == expected_ids | {20000} and max(ids.values()) == 1


def test_a_backfill_is_recorded_as_an_extract_job_with_its_event(api_client, catalog_ctx, pg_source):
    created, _ = pg_source
    _extract(api_client, created["id"])
    job = _extract(api_client, created["id"], {"tables": [READINGS_URN], "backfill": True})
    assert job["kind"] == "extract" and job["progress_done"] == job["progress_total"] == 5000
    assert job["result"]["backfill"]["from"] is None and job["result"]["rows"] == 5000
    events = [json.loads(e) for (e,) in catalog_rows(catalog_ctx, "select event from event_outbox where type = "
                                                                 "'catalog.job.succeeded' order by id")]
    assert events[-1]["data"]["job_id"] == job["id"] and events[-1]["data"]["result"]["backfill"]["kept_rows"] == 0
    ids = Counter(row["id"] for row in _lake_readings(catalog_ctx, "app", "app", "readings"))
    assert len(ids) == 5000 and max(ids.values()) == 1


def test_a_bad_backfill_is_refused_naming_the_field_and_queues_nothing(api_client, catalog_ctx, pg_source):
    created, _ = pg_source
    path = f"/api/v1/sources/{created['id']}/extract"

    def refused(body: dict, status: int = 422) -> dict:
        response = api_client.post(path, json=body)
        assert response.status_code == status, response.text
        return response.json()["error"]

    assert refused({"tables": [READINGS_URN], "backfill": True}, 409)["field"] == "table"  # nothing extracted yet
    _extract(api_client, created["id"])
    assert refused({"tables": [READINGS_URN], "from": TO, "to": FROM})["field"] == "from"
    assert refused({"tables": [READINGS_URN], "from": "yesterday"})["field"] == "from"
    assert refused({"tables": [READINGS_URN], "to": 12})["field"] == "to"
    assert refused({"tables": [READINGS_URN], "from": "2030-01-01"})["field"] == "from"  # after the watermark
    codes = dataset_urn("app", "app", "codes")
    body = refused({"tables": [codes], "from": "a"})
    assert body["field"] == "from" and "no incremental column" in body["message"]
    assert refused({"tables": [READINGS_URN, codes], "backfill": True})["field"] == "tables"
    assert refused({"tables": [READINGS_URN], "from": "x" * 65})["field"] == "from"
    jobs = catalog_rows(catalog_ctx, "select count(*) from jobs where kind = 'extract'")
    assert jobs == [(1,)]


def test_graphql_and_the_cli_queue_the_same_backfill(api_client, catalog_ctx, pg_source):
    created, config = pg_source
    _extract(api_client, created["id"])
    pg_execute(config, "delete from app.readings where id = 1441")
    job = graphql.data(api_client, """mutation($s: Int!, $t: String!) {
        backfillTable(id: $s, table: $t, from: "2026-01-02T00:00:00Z", to: "2026-01-03", wait: true) {
          status kind result } }""", s=created["id"], t=READINGS_URN)["backfillTable"]
    assert (job["status"], job["kind"], job["result"]["rows"]) == ("succeeded", "extract", 1439)
    ids = Counter(row["id"] for row in _lake_readings(catalog_ctx, "app", "app", "readings"))
    assert 1441 not in ids and len(ids) == 4999 and max(ids.values()) == 1
    refused = graphql.error(api_client, """mutation($s: Int!, $t: String!) {
        backfillTable(id: $s, table: $t, from: "soon") { id } }""", s=created["id"], t=READINGS_URN)
    assert refused["extensions"]["field"] == "from"


def test_a_mariadb_key_backfill_leaves_the_profiled_runs_holding_each_row_once(api_client, catalog_ctx,
                                                                                make_mariadb_database):  # noqa: F811
    config = make_mariadb_database("""
        create table items (id int primary key, name varchar(40), price decimal(10, 2));
    """)
    mariadb_execute(config, "insert into items select seq, concat('item ', seq), seq / 4 from seq_1_to_3000")
    created = register(api_client, config, name="shop", kind="mysql")
    assert _job(api_client, f"/api/v1/sources/{created['id']}/crawl")["status"] == "succeeded"
    schema = config["database"]  # a MariaDB database is the catalog's schema
    urn = dataset_urn("shop", schema, "items")
    response = api_client.put("/api/v1/tables/" + quote(urn, safe="") + "/extraction",
                              json={"strategy": "key", "column": "id"})
    assert response.status_code == 200, response.text
    _extract(api_client, created["id"])
    mariadb_execute(config, "delete from items where id between 1200 and 1249")
    mariadb_execute(config, "update items set price = 0 where id between 1800 and 1809")

    job = _extract(api_client, created["id"], {"tables": [urn], "from": 1000, "to": "2000"})
    assert job["result"]["rows"] == 1000 - 50

    target = lake(catalog_ctx.settings)
    runs = complete_lake_runs(target.committed_runs("shop", schema, "items"))
    assert runs is not None  # a key plan's runs still hold the whole table
    profiled = [row for run in runs for chunk in run.chunks for row in pq.read_table(chunk.path).to_pylist()]
    source = {row[0]: row[1] for row in mariadb_query(config, "select id, price from items")}
    assert Counter(row["id"] for row in profiled) == Counter(source.keys())  # each source row once, no other
    assert {row["id"]: row["price"] for row in profiled} == source


def test_the_cli_backfills_and_prints_what_it_replaced(run_cli, make_pg_database, tmp_path):
    config = make_pg_database(READINGS)
    run_cli("source", "add", "app", "--kind", "postgres", *[arg for key, value in config.items()
                                                            for arg in ("-c", f"{key}={value}")])
    run_cli("crawl", "app")
    run_cli("extract", "app")
    refused = run_cli("extract", "app", "--table", READINGS_URN, "--from", "later", ok=False)
    assert refused.returncode == 1 and "from" in refused.stderr
    done = run_cli("extract", "app", "--table", READINGS_URN, "--from", FROM, "--to", TO, "--json")
    result = json.loads(done.stdout)
    assert result["rows"] == 1440 and result["backfill"]["superseded_chunks"] > 0
    assert datetime.fromisoformat(result["backfill"]["from"]["value"]) == datetime(2026, 1, 2, tzinfo=UTC)


def test_a_backfill_and_an_extraction_of_one_source_never_run_side_by_side(api_client, catalog_ctx, pg_source):
    created, _ = pg_source
    _extract(api_client, created["id"])
    path = f"/api/v1/sources/{created['id']}/extract"
    body = {"tables": [READINGS_URN], "from": FROM, "to": TO}
    with catalog_ctx.db.session() as session:  # a backfill queued, its worker not yet there
        queued, _ = add_job(session, catalog_ctx, "extract", created["id"],
                            params={"tables": [READINGS_URN], "backfill": {"from": FROM, "to": TO}})
        queued_id = queued.id
    assert api_client.post(path, json=body).json()["id"] == queued_id  # the same backfill: that job
    other = api_client.post(path, json={**body, "to": "2026-01-04"})
    assert other.status_code == 409 and other.json()["error"]["field"] == "table" and queued_id in other.text
    extraction = api_client.post(path)
    assert extraction.status_code == 409 and extraction.json()["error"]["field"] == "id"
    assert catalog_rows(catalog_ctx, "select count(*) from jobs where kind = 'extract'") == [(2,)]
