"""Registering sources (validation, connection tests, saving without a test, name conflicts), through the API.

Every refused registration names the field at fault and stores nothing.
"""

from __future__ import annotations

import pytest

from tests.support.api import register
from tests.support.jobs import rest_job

pytestmark = pytest.mark.postgres


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
    job = rest_job(api_client, api_client.post(f"/api/v1/sources/{source.json()['id']}/crawl").json())
    assert job["status"] == "failed" and job["error_code"] == "source_unreachable"
    assert "127.0.0.1:1" in job["error_message"]


def test_name_conflicts_and_unknown_ids(api_client, make_pg_database):
    config = make_pg_database()
    register(api_client, config, name="dup")
    again = api_client.post("/api/v1/sources", json={"name": "dup", "kind": "postgres", "config": config})
    assert again.status_code == 409 and again.json()["error"]["field"] == "name"
    assert api_client.get("/api/v1/sources/999").status_code == 404
    assert api_client.get("/api/v1/jobs/nope").status_code == 404
    assert api_client.post("/api/v1/sources/999/crawl").status_code == 404
