"""No secret ever appears in an API response, a log line or the catalog database in plaintext."""

from __future__ import annotations

import logging

import psycopg
import pytest

from catalog_api.bootstrap import build_context
from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import wait_for_job
from catalog_api.settings import Settings
from tests.support.jobs import rest_job

pytestmark = pytest.mark.postgres


def _dump_catalog_files(settings: Settings) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(settings.home.rglob("*")) if p.is_file())


def test_raw_password_is_encrypted_used_and_never_shown(api_client, catalog_ctx, catalog_settings,
                                                        pg_password_server, caplog):
    caplog.set_level(logging.DEBUG)
    server = dict(pg_password_server)
    password = server.pop("password")
    with psycopg.connect(dbname="postgres", password=password, **{k: server[k] for k in ("host", "port", "user")},
                         autocommit=True) as conn:
        conn.execute("create table if not exists vault_items (id int primary key, label text)")

    created = api_client.post("/api/v1/sources", json={
        "name": "vault", "kind": "postgres", "config": server, "secrets": {"password": password}})
    assert created.status_code == 201, created.text
    source = created.json()
    assert source["secret_refs"]["password"].startswith("local:")
    job = rest_job(api_client, api_client.post(f"/api/v1/sources/{source['id']}/crawl").json())
    assert job["status"] == "succeeded", job  # the stored secret really decrypts to the right password
    responses = [
        created.text,
        api_client.get("/api/v1/sources").text,
        api_client.get(f"/api/v1/sources/{source['id']}").text,
        api_client.post(f"/api/v1/sources/{source['id']}/test").text,
        api_client.get(f"/api/v1/jobs/{job['id']}").text,
        api_client.post("/graphql", json={"query": "{ sources { edges { node { config secretRefs } } } }"}).text,
    ]
    for text in responses:
        assert password not in text
    assert password not in caplog.text
    catalog_ctx.db.dispose()  # flush SQLite's WAL so the files hold everything written
    dump = _dump_catalog_files(catalog_settings)
    assert b"vault_items" in dump  # the catalog did record the crawl ...
    assert password.encode() not in dump  # ... but not the password


def test_wrong_password_error_does_not_echo_it(api_client, pg_password_server, caplog):
    caplog.set_level(logging.DEBUG)
    server = dict(pg_password_server)
    server.pop("password")
    response = api_client.post("/api/v1/sources", json={
        "name": "vault", "kind": "postgres", "config": server, "secrets": {"password": "Wr0ng-Pa55"}})
    assert response.status_code == 422 and response.json()["error"]["code"] == "authentication_failed"
    assert "Wr0ng-Pa55" not in response.text and "Wr0ng-Pa55" not in caplog.text


def test_env_reference_is_stored_as_reference(api_client, pg_password_server, monkeypatch):
    server = dict(pg_password_server)
    password = server.pop("password")
    monkeypatch.setenv("VAULT_DB_PASSWORD", password)
    response = api_client.post("/api/v1/sources", json={
        "name": "vault", "kind": "postgres", "config": server, "secret_refs": {"password": "env:VAULT_DB_PASSWORD"}})
    assert response.status_code == 201, response.text
    assert response.json()["secret_refs"] == {"password": "env:VAULT_DB_PASSWORD"}
    monkeypatch.delenv("VAULT_DB_PASSWORD")
    result = api_client.post(f"/api/v1/sources/{response.json()['id']}/test").json()
    assert result["ok"] is False and "VAULT_DB_PASSWORD" in result["error_message"]


def test_changed_secret_key_fails_the_crawl_clearly(catalog_settings, pg_password_server):
    server = dict(pg_password_server)
    password = server.pop("password")
    from catalog_api.services.sources import SourceRegistration, register_source

    ctx = build_context(catalog_settings, migrate=True)
    try:
        register_source(ctx, SourceRegistration(name="vault", kind="postgres", config=server,
                                                secrets={"password": password}))
    finally:
        ctx.close()
    rotated = build_context(catalog_settings.model_copy(update={"secret_key": "another-key"}), migrate=True)
    try:
        job = wait_for_job(rotated, request_crawl(rotated, "vault").id)
    finally:
        rotated.close()
    assert job.status == "failed" and job.error_code == "secret_unavailable"
    assert "CATALOG_SECRET_KEY" in job.error_message
