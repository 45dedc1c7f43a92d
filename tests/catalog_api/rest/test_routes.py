"""The REST routes end to end: register, test, crawl, browse, curate, delete; URNs in paths; health and OpenAPI.

How registration refuses bad input is in tests/catalog_api/services/test_sources.py.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from catalog_api.urns import column_urn, dataset_urn
from tests.support.api import register
from tests.support.jobs import rest_job
from tests.support.postgres import pg_execute

pytestmark = pytest.mark.postgres

DDL = """
create schema app;
create table app.users (id int primary key, email text not null, "display name" varchar(80));
comment on column app.users.email is 'where we write to';
create table app."odd:name/with%chars" (x int);
create view app.active_users as select id, email from app.users;
"""


def _table_path(urn: str) -> str:
    return "/api/v1/tables/" + quote(urn, safe="")


def test_register_crawl_browse_curate_delete(api_client, make_pg_database):
    config = make_pg_database(DDL)
    source = register(api_client, config, description="the app")
    assert source["urn"] == "urn:catalog:source:app_db"
    assert source["lineage"] == {"namespace": f"postgres://{config['host']}:{config['port']}",
                                 "name_prefix": f"{config['database']}."}
    assert [s["name"] for s in api_client.get("/api/v1/sources").json()] == ["app_db"]
    assert api_client.post(f"/api/v1/sources/{source['id']}/test").json()["ok"] is True

    response = api_client.post(f"/api/v1/sources/{source['id']}/crawl")
    assert response.status_code == 202
    job = rest_job(api_client, response.json())
    assert job["status"] == "succeeded" and job["result"]["tables_created"] == 3
    assert job["progress_done"] == job["progress_total"] == 3 and job["finished_at"] >= job["started_at"]

    users = dataset_urn("app_db", "app", "users")
    table = api_client.get(_table_path(users)).json()
    assert [c["name"] for c in table["columns"]] == ["id", "email", "display name"]
    assert table["columns"][1]["comment"] == "where we write to" and table["columns"][1]["nullable"] is False
    assert table["primary_key"]["columns"] == ["id"] and table["links"]["self"] == _table_path(users)
    odd = dataset_urn("app_db", "app", "odd:name/with%chars")
    assert odd == "urn:catalog:dataset:app_db:app:odd%3Aname%2Fwith%25chars"
    odd_response = api_client.get(_table_path(odd))
    assert odd_response.json()["name"] == "odd:name/with%chars", odd_response.text

    put = api_client.put(f"/api/v1/entities/{quote(users, safe='')}/description", json={"description": "Accounts"})
    assert put.status_code == 200 and put.json()["description"] == "Accounts"
    email = column_urn("app_db", "app", "users", "email")
    tags = api_client.put(f"/api/v1/entities/{quote(email, safe='')}/tags", json={"tags": ["PII.email", "gdpr"]})
    assert tags.json()["tags"] == ["gdpr", "pii.email"]
    table = api_client.get(_table_path(users)).json()
    assert table["description"] == "Accounts" and table["columns"][1]["tags"] == ["gdpr", "pii.email"]
    hits = api_client.get("/api/v1/search", params={"q": "EMAIL"}).json()["hits"]
    assert {h["urn"] for h in hits} >= {email, column_urn("app_db", "app", "active_users", "email")}

    pg_execute(config, "alter table app.users add column last_login timestamptz")
    job = rest_job(api_client, api_client.post(f"/api/v1/sources/{source['id']}/crawl").json())
    changes = api_client.get(_table_path(users) + "/changes").json()
    # newest first: the crawl's new column, the curator's tag and description edits, then the first crawl's table
    assert [(c["change_type"], c["entity_urn"]) for c in changes["items"]] == [
        ("column_added", column_urn("app_db", "app", "users", "last_login")), ("tags_changed", email),
        ("description_changed", users), ("table_created", users)]
    assert [changes["items"][1]["before"], changes["items"][1]["after"]] == [[], ["gdpr", "pii.email"]]
    assert changes["items"][0]["after"]["data_type"] == "timestamp with time zone"
    added_at = changes["items"][0]["detected_at"]
    window = api_client.get(_table_path(users) + "/changes", params={"since": added_at}).json()
    assert window["total"] == 1 and window["items"][0]["change_type"] == "column_added"
    before = api_client.get(_table_path(users) + "/changes", params={"until": added_at}).json()
    assert [c["change_type"] for c in before["items"]] == ["tags_changed", "description_changed", "table_created"]

    assert api_client.delete(f"/api/v1/sources/{source['id']}").status_code == 204
    assert api_client.get(f"/api/v1/sources/{source['id']}").status_code == 404
    assert api_client.get(_table_path(users)).status_code == 404


def test_second_crawl_request_returns_the_running_job(api_client, make_pg_database, catalog_ctx):
    source = register(api_client, make_pg_database(DDL))
    first = api_client.post(f"/api/v1/sources/{source['id']}/crawl").json()
    second = api_client.post(f"/api/v1/sources/{source['id']}/crawl").json()
    if rest_job(api_client, first)["status"] == "succeeded" and second["id"] != first["id"]:
        # The first crawl may have finished before the second request; then a new job is right.
        assert rest_job(api_client, second)["status"] == "succeeded"
    else:
        assert second["id"] == first["id"]


def test_malformed_urns_are_rejected_with_the_reason(api_client):
    for urn in ["garbage", "urn:catalog:dataset:only:two", "urn:catalog:nope:a", "urn:catalog:dataset:a:b:c%zz",
                "urn:catalog:dataset:a:b:c d"]:
        response = api_client.get(_table_path(urn))
        assert response.status_code == 422, (urn, response.text)
        assert response.json()["error"]["field"] == "urn"
    response = api_client.get(_table_path("urn:catalog:dataset:a:b:c"))
    assert response.status_code == 404
    column = api_client.put(f"/api/v1/entities/{quote('urn:catalog:column:a:b:c:d', safe='')}/tags",
                            json={"tags": ["Not Valid!"]})
    assert column.status_code == 422 and column.json()["error"]["field"] == "tags.0"


def test_health_readiness_and_openapi(api_client):
    assert api_client.get("/healthz").json() == {"status": "ok"}
    assert api_client.get("/readyz").json() == {"status": "ready"}
    spec = api_client.get("/openapi.json").json()
    assert {"/api/v1/sources", "/api/v1/sources/{source_id}/crawl", "/api/v1/jobs/{job_id}"} <= set(spec["paths"])
    assert api_client.get("/docs").status_code == 200
