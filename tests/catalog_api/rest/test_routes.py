"""The REST API end to end: register, test, crawl, browse, curate, delete; and how it refuses bad input."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from catalog_api.urns import column_urn, dataset_urn
from tests.conftest import pg_execute

pytestmark = pytest.mark.postgres

DDL = """
create schema app;
create table app.users (id int primary key, email text not null, "display name" varchar(80));
comment on column app.users.email is 'where we write to';
create table app."odd:name/with%chars" (x int);
create view app.active_users as select id, email from app.users;
"""


def _wait(client, job: dict, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
        job = client.get(f"/api/v1/jobs/{job['id']}").json()
    return job


def _register(client, config: dict, name: str = "app_db", **extra) -> dict:
    response = client.post("/api/v1/sources", json={"name": name, "kind": "postgres", "config": config, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def _table_path(urn: str) -> str:
    return "/api/v1/tables/" + quote(urn, safe="")


def test_register_crawl_browse_curate_delete(api_client, make_pg_database):
    config = make_pg_database(DDL)
    source = _register(api_client, config, description="the app")
    assert source["urn"] == "urn:catalog:source:app_db"
    assert source["lineage"] == {"namespace": f"postgres://{config['host']}:{config['port']}",
                                 "name_prefix": f"{config['database']}."}
    assert [s["name"] for s in api_client.get("/api/v1/sources").json()] == ["app_db"]
    assert api_client.post(f"/api/v1/sources/{source['id']}/test").json()["ok"] is True

    response = api_client.post(f"/api/v1/sources/{source['id']}/crawl")
    assert response.status_code == 202
    job = _wait(api_client, response.json())
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
    hits = api_client.get("/api/v1/search", params={"q": "EMAIL"}).json()
    assert {h["urn"] for h in hits} >= {email, column_urn("app_db", "app", "active_users", "email")}

    pg_execute(config, "alter table app.users add column last_login timestamptz")
    job = _wait(api_client, api_client.post(f"/api/v1/sources/{source['id']}/crawl").json())
    changes = api_client.get(_table_path(users) + "/changes").json()
    assert [c["change_type"] for c in changes["items"]] == ["column_added", "table_created"]
    assert changes["items"][0]["after"]["data_type"] == "timestamp with time zone"
    added_at = changes["items"][0]["detected_at"]
    window = api_client.get(_table_path(users) + "/changes", params={"since": added_at}).json()
    assert window["total"] == 1 and window["items"][0]["change_type"] == "column_added"
    before = api_client.get(_table_path(users) + "/changes", params={"until": added_at}).json()
    assert [c["change_type"] for c in before["items"]] == ["table_created"]

    assert api_client.delete(f"/api/v1/sources/{source['id']}").status_code == 204
    assert api_client.get(f"/api/v1/sources/{source['id']}").status_code == 404
    assert api_client.get(_table_path(users)).status_code == 404


def test_second_crawl_request_returns_the_running_job(api_client, make_pg_database, catalog_ctx):
    source = _register(api_client, make_pg_database(DDL))
    first = api_client.post(f"/api/v1/sources/{source['id']}/crawl").json()
    second = api_client.post(f"/api/v1/sources/{source['id']}/crawl").json()
    if _wait(api_client, first)["status"] == "succeeded" and second["id"] != first["id"]:
        # The first crawl may have finished before the second request; then a new job is right.
        assert _wait(api_client, second)["status"] == "succeeded"
    else:
        assert second["id"] == first["id"]


def _assert_refused(client, body: dict, status: int, field: str, code: str | None = None) -> dict:
    response = client.post("/api/v1/sources", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    if code:
        assert error["code"] == code
    assert client.get("/api/v1/sources").json() == []
    return error


def test_bad_registrations_name_the_field_and_store_nothing(api_client, make_pg_database, pg_password_server):
    config = make_pg_database()
    ok = {"name": "src", "kind": "postgres", "config": config}
    _assert_refused(api_client, {**ok, "kind": "oracle"}, 422, "kind", "invalid_input")
    missing = {k: v for k, v in config.items() if k != "database"}
    _assert_refused(api_client, {**ok, "config": missing}, 422, "config.database")
    _assert_refused(api_client, {**ok, "config": {**config, "port": 70000}}, 422, "config.port")
    _assert_refused(api_client, {**ok, "config": {**config, "colour": "red"}}, 422, "config.colour")
    _assert_refused(api_client, {**ok, "config": {**config, "password": "x"}}, 422, "config.password")
    _assert_refused(api_client, {**ok, "secrets": {"token": "x"}}, 422, "secrets.token")
    _assert_refused(api_client, {**ok, "secret_refs": {"password": "file:/etc/passwd"}}, 422,
                    "secret_refs.password")
    _assert_refused(api_client, {**ok, "name": "x" * 129}, 422, "name")
    _assert_refused(api_client, {**ok, "name": "bad name;"}, 422, "name")
    _assert_refused(api_client, {**ok, "config": {**config, "database": "d" * 64}}, 422, "config.database")
    _assert_refused(api_client, {**ok, "unexpected": 1}, 422, "unexpected")
    for pattern in ["public'; drop table users; --", 'x" or 1=1', "a\\b", "s;t"]:
        error = _assert_refused(api_client, {**ok, "config": {**config, "include_schemas": [pattern]}}, 422,
                                "config.include_schemas.0")
        assert "pattern" in error["message"]
    _assert_refused(api_client, {**ok, "config": {**config, "exclude_tables": ["ok", "t;"]}}, 422,
                    "config.exclude_tables.1")

    wrong = {**pg_password_server}
    wrong.pop("password")
    error = _assert_refused(api_client, {**ok, "config": wrong, "secrets": {"password": "not-it"}}, 422,
                            "secrets.password", "authentication_failed")
    assert "not-it" not in error["message"]
    error = _assert_refused(api_client, {**ok, "config": {**config, "host": "127.0.0.1", "port": 1}}, 422,
                            "config.host", "source_unreachable")
    assert "127.0.0.1:1" in error["message"]
    _assert_refused(api_client, {**ok, "config": {**config, "database": "no_such_db"}}, 422, "config.database",
                    "source_not_found")
    _assert_refused(api_client, {**ok, "config": {**config, "user": "no_such_role"}}, 422, "config.user")


def test_unreachable_source_can_be_saved_without_test(api_client):
    body = {"name": "later", "kind": "postgres", "test_connection": False,
            "config": {"host": "127.0.0.1", "port": 1, "database": "d", "user": "u"}}
    source = api_client.post("/api/v1/sources", json=body)
    assert source.status_code == 201
    result = api_client.post(f"/api/v1/sources/{source.json()['id']}/test").json()
    assert result["ok"] is False and result["error_code"] == "source_unreachable"
    job = _wait(api_client, api_client.post(f"/api/v1/sources/{source.json()['id']}/crawl").json())
    assert job["status"] == "failed" and job["error_code"] == "source_unreachable"
    assert "127.0.0.1:1" in job["error_message"]


def test_name_conflicts_and_unknown_ids(api_client, make_pg_database):
    config = make_pg_database()
    _register(api_client, config, name="dup")
    again = api_client.post("/api/v1/sources", json={"name": "dup", "kind": "postgres", "config": config})
    assert again.status_code == 409 and again.json()["error"]["field"] == "name"
    assert api_client.get("/api/v1/sources/999").status_code == 404
    assert api_client.get("/api/v1/jobs/nope").status_code == 404
    assert api_client.post("/api/v1/sources/999/crawl").status_code == 404


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
