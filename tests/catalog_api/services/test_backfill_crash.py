"""A backfill whose worker is killed midway resumes on another worker and leaves each row in the lake once.

Real processes: `catalog worker` subprocesses on the local Redis and a PostgreSQL catalog; the worker running the
backfill is killed with SIGKILL (its whole process group, as a machine crash would) once some chunks are durable, a
second worker takes the job over. Oracle: the source's rows read with direct SQL against the lake read with pyarrow.
"""

from __future__ import annotations

import time
from collections import Counter
from urllib.parse import quote

import pytest

from catalog_api.services.extraction import lake
from catalog_api.urns import dataset_urn
from tests.support import workers
from tests.support.api import register
from tests.support.jobs import rest_job
from tests.support.mariadb import make_mariadb_database, mariadb_execute, mariadb_query, mariadb_server  # noqa: F401
from tests.support.postgres import pg_execute, pg_query

pytestmark = pytest.mark.postgres

ROWS = 200_000
SETTINGS = {"job_heartbeat_interval_s": "0.5", "job_stale_after_s": "3", "scheduler_enabled": "false",
            "extract_chunk_rows": "1000"}


def _postgres(make_pg_database, _make_mariadb_database):
    config = make_pg_database(f"""
        create schema app;
        create table app.items (id bigint primary key, name text, price numeric(12, 2));
        insert into app.items select g, 'item ' || g, g / 4.0 from generate_series(1, {ROWS}) g;
    """)
    return config, "postgres", "app", lambda sql: pg_execute(config, sql), lambda sql: pg_query(config, sql)


def _mariadb(_make_pg_database, make_mariadb_database):  # noqa: F811
    config = make_mariadb_database("create table items (id bigint primary key, name varchar(40), price decimal(12, 2))")
    mariadb_execute(config, f"insert into items select seq, concat('item ', seq), seq / 4 from seq_1_to_{ROWS}")
    return (config, "mysql", config["database"], lambda sql: mariadb_execute(config, sql.replace("app.", "")),
            lambda sql: mariadb_query(config, sql.replace("app.", "")))


def _job_when(client, job_id: str, ready, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if ready(job):
            return job
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.02)


@pytest.mark.parametrize("make_source", [_postgres, _mariadb], ids=["postgres", "mariadb"])
def test_a_backfill_killed_midway_resumes_and_holds_each_row_once(tmp_path, make_pg_database, make_mariadb_database,  # noqa: F811
                                                                   make_source):
    config, kind, schema, execute, query = make_source(make_pg_database, make_mariadb_database)
    with workers.runtime("redis", tmp_path, SETTINGS) as runtime:
        client = runtime.client
        source = register(client, config, name="shop", kind=kind)
        urn = dataset_urn("shop", schema, "items")
        first = runtime.start_worker("--processes", "1")
        runtime.wait_until_ready(first)
        assert rest_job(client, client.post(f"/api/v1/sources/{source['id']}/crawl").json(), timeout=120)[
            "status"] == "succeeded"
        plan = client.put(f"/api/v1/tables/{quote(urn, safe='')}/extraction", json={"strategy": "key", "column": "id"})
        assert plan.status_code == 200, plan.text
        extracted = rest_job(client, client.post(f"/api/v1/sources/{source['id']}/extract").json(), timeout=300)
        assert extracted["status"] == "succeeded" and extracted["result"]["rows"] == ROWS
        # What extraction cannot see, inside the range: deletes and corrections.
        execute("delete from app.items where id between 50000 and 50099")
        execute("update app.items set price = -1 where id between 120000 and 120009")

        response = client.post(f"/api/v1/sources/{source['id']}/extract",
                               json={"tables": [urn], "from": 20_500, "to": 180_500})
        assert response.status_code == 202, response.text
        running = _job_when(client, response.json()["id"], lambda job: job["progress_done"] >= 5000)
        assert running["status"] == "running" and running["progress_done"] < 150_000, running
        runtime.kill(first)

        second = runtime.start_worker("--processes", "1")
        runtime.wait_until_ready(second)
        done = rest_job(client, running, timeout=300)

        assert (done["status"], done["attempts"]) == ("succeeded", 2), done
        assert done["result"]["backfill"]["resumed_chunks"] >= 5  # carried on after the durable chunks
        table = lake(runtime.settings).read_dataset("shop", schema, "items")
        ids = Counter(table.column("id").to_pylist())
        source_ids = [row[0] for row in query("select id from app.items")]
        assert ids == Counter(source_ids)  # each source row once, and no other
        prices = dict(zip(table.column("id").to_pylist(), table.column("price").to_pylist(), strict=True))
        in_range = dict(query("select id, price from app.items where id >= 20500 and id < 180500"))
        assert {key: prices[key] for key in in_range} == in_range
