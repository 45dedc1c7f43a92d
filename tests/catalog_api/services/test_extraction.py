"""Incremental extraction through the service and the API: plans, watermarks, and each row version once per run."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from urllib.parse import quote

import pytest

from catalog_api.services.extraction import lake
from catalog_api.urns import dataset_urn
from tests.support.api import register
from tests.support.jobs import rest_job
from tests.support.postgres import pg_execute, pg_query

pytestmark = pytest.mark.postgres

DDL = """
create schema app;
create table app.events (
    id bigint primary key, payload text, amount numeric(12, 2),
    updated_at timestamptz not null default now()
);
create table app.codes (code text primary key, label text);
insert into app.events (id, payload, amount, updated_at)
    select g, 'event ' || g, g * 1.25, timestamptz '2026-01-01' + g * interval '1 minute'
    from generate_series(1, 500) g;
insert into app.codes values ('a', 'alpha'), ('b', 'beta');
"""


def _path(urn: str) -> str:
    return "/api/v1/tables/" + quote(urn, safe="") + "/extraction"


@pytest.fixture
def source(api_client, make_pg_database):
    config = make_pg_database(DDL)
    created = register(api_client, config, name="app")
    assert rest_job(api_client, api_client.post(f"/api/v1/sources/{created['id']}/crawl").json())["status"] == \
        "succeeded"
    return created, config


def _extract(api_client, source_id: int, **body) -> dict:
    response = api_client.post(f"/api/v1/sources/{source_id}/extract", json=body or None)
    assert response.status_code == 202, response.text
    job = rest_job(api_client, response.json())
    assert job["status"] == "succeeded", job
    return job


def test_incremental_runs_hold_each_row_version_once(api_client, catalog_ctx, source):
    created, config = source
    events = dataset_urn("app", "app", "events")
    plan = api_client.get(_path(events)).json()
    assert (plan["strategy"], plan["column"], plan["overridden"]) == ("timestamp", "updated_at", False)
    assert api_client.get(_path(dataset_urn("app", "app", "codes"))).json()["strategy"] == "full"

    first = _extract(api_client, created["id"])
    by_table = {t["urn"]: t for t in first["result"]["tables"]}
    assert by_table[events]["rows"] == 500 and by_table[events]["bytes"] > 0
    state = api_client.get(_path(events)).json()
    newest = pg_query(config, "select max(updated_at) from app.events")[0][0]
    assert datetime.fromisoformat(state["watermark"].replace("Z", "+00:00")) == newest
    assert state["rows_extracted"] == 500 and state["lake_path"].endswith("/app/app/events")

    pg_execute(config, """
        insert into app.events (id, payload, amount) values (501, 'new', 1), (502, 'newer', 2);
        update app.events set payload = 'changed', updated_at = now() where id = 7;
    """)
    second = _extract(api_client, created["id"])
    assert {t["urn"]: t["rows"] for t in second["result"]["tables"]}[events] == 3

    data = lake(catalog_ctx.settings).read_dataset("app", "app", "events").to_pandas()
    versions = Counter(zip(data["id"], data["updated_at"], strict=True))
    assert max(versions.values()) == 1  # no row version twice
    assert len(data) == 503 and set(data["id"]) == set(range(1, 503))
    assert sorted(data.loc[data["id"] == 7, "payload"]) == ["changed", "event 7"]  # both versions, once each
    oracle = {r[0]: r[1] for r in pg_query(config, "select id, amount from app.events")}
    latest = data.sort_values("updated_at").groupby("id").last()
    assert {int(i): v for i, v in latest["amount"].items()} == oracle

    third = _extract(api_client, created["id"])
    assert {t["urn"]: t["rows"] for t in third["result"]["tables"]}[events] == 0
    assert api_client.get(_path(events)).json()["rows_extracted"] == 503


def test_plan_override_and_validation(api_client, source):
    created, _ = source
    codes = dataset_urn("app", "app", "codes")
    bad = api_client.put(_path(codes), json={"strategy": "key", "column": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "column"
    bad = api_client.put(_path(codes), json={"strategy": "sometimes"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "strategy"
    chosen = api_client.put(_path(codes), json={"strategy": "key", "column": "code"}).json()
    assert (chosen["strategy"], chosen["column"], chosen["overridden"]) == ("key", "code", True)
    job = _extract(api_client, created["id"], tables=[codes])
    assert [t["urn"] for t in job["result"]["tables"]] == [codes]
    assert job["result"]["tables"][0]["watermark_to"] == "b"
    back = api_client.put(_path(codes), json={"strategy": None}).json()
    assert (back["strategy"], back["overridden"]) == ("full", False)
    foreign = api_client.post(f"/api/v1/sources/{created['id']}/extract",
                              json={"tables": ["urn:catalog:dataset:other:s:t"]})
    assert foreign.status_code in (404, 422)


def test_extract_and_profile_refuse_a_dropped_table_and_queue_nothing(api_client, source):
    created, config = source
    codes = dataset_urn("app", "app", "codes")
    pg_execute(config, "drop table app.codes")
    crawled = api_client.post(f"/api/v1/sources/{created['id']}/crawl").json()
    assert rest_job(api_client, crawled)["status"] == "succeeded"
    jobs_before = api_client.get("/api/v1/jobs").json()
    for action in ("extract", "profile"):
        refused = api_client.post(f"/api/v1/sources/{created['id']}/{action}", json={"tables": [codes]})
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["field"] == "tables.0" and "no longer exists" in error["message"]
    assert api_client.get("/api/v1/jobs").json() == jobs_before


def test_deleting_the_source_while_it_is_extracted_cancels_the_job_and_says_why(api_client, catalog_ctx, source,
                                                                                 monkeypatch):
    from sqlalchemy import text

    from catalog_api.services import extraction

    created, _ = source
    real_extract = extraction.extract_increment

    def delete_then_extract(*args, **kwargs):
        # The source goes while the job reads its first table: its watermark row goes with it.
        assert api_client.delete(f"/api/v1/sources/{created['id']}").status_code == 204
        return real_extract(*args, **kwargs)

    monkeypatch.setattr(extraction, "extract_increment", delete_then_extract)
    response = api_client.post(f"/api/v1/sources/{created['id']}/extract")
    job = rest_job(api_client, response.json())
    assert (job["status"], job["error_code"]) == ("cancelled", "source_deleted"), job
    with catalog_ctx.db.session() as session:
        row = session.execute(text("select status, error_message from jobs where id = :id"), {"id": job["id"]}).one()
        assert session.scalar(text("select count(*) from extraction_state")) == 0
    assert tuple(row) == ("cancelled", "cancelled: its source 'app' was deleted")
