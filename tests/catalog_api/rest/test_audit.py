"""The audit middleware, behind real authentication: refused attempts (no credentials, refused credentials, a missing
permission, the rate limit) are recorded with whoever was known, reads are not, a failure is a 500 of its caller, and a
failure to audit never fails a request."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from catalog_api.app import create_app
from catalog_api.services import api_keys, sources
from tests.support.api import API_HEADERS
from tests.support.auth import key_holder, requiring_auth
from tests.support.sqlite import build_database

ANONYMOUS = ("anonymous", "none", "anonymous")


def audit_rows(ctx) -> list[tuple]:
    with ctx.db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            text("select actor, auth_method, subject, action, target, outcome from audit_log order by id"))]


def who(holder) -> tuple[str, str, str]:
    return holder.actor, "api_key", holder.key_id


@pytest.fixture
def viewer(catalog_ctx):
    return key_holder(catalog_ctx, "read-only dashboard", ["viewer"])


@pytest.fixture
def admin(catalog_ctx):
    return key_holder(catalog_ctx, "platform admin", ["admin"])


@pytest.fixture
def app(catalog_ctx):
    return create_app(ctx=requiring_auth(catalog_ctx))


def test_refused_attempts_are_recorded_with_whoever_was_known(app, catalog_ctx, viewer):
    client = TestClient(app)
    assert client.delete("/api/v1/sources/7").status_code == 401
    assert client.delete("/api/v1/sources/8", headers={"Authorization": "Bearer cat_0123456789ab_not-a-key"}
                         ).status_code == 401
    assert client.delete("/api/v1/sources/9", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
    assert client.delete("/api/v1/webhooks/w-1", headers=viewer.headers()).status_code == 403
    assert audit_rows(catalog_ctx) == [
        (*ANONYMOUS, "DELETE /api/v1/sources/{source_id}", "7", "401"),
        (*ANONYMOUS, "DELETE /api/v1/sources/{source_id}", "8", "401"),  # refused credentials name nobody
        (*ANONYMOUS, "DELETE /api/v1/sources/{source_id}", "9", "401"),
        (*who(viewer), "DELETE /api/v1/webhooks/{subscription_id}", "w-1", "403"),
    ]


def test_a_revoked_key_is_refused_and_recorded_as_anonymous(app, catalog_ctx, admin):
    api_keys.revoke_key(catalog_ctx, admin.key_id)
    assert TestClient(app).delete("/api/v1/sources/7", headers=admin.headers()).status_code == 401
    assert audit_rows(catalog_ctx) == [(*ANONYMOUS, "DELETE /api/v1/sources/{source_id}", "7", "401")]


def test_an_attempt_refused_before_routing_is_recorded_with_its_path_and_caller(catalog_ctx, viewer):
    """The rate limiter answers before any route is matched: the entry names the concrete path."""
    app = create_app(ctx=requiring_auth(catalog_ctx, rate_limit_per_s=0.001, rate_limit_burst=1))
    client = TestClient(app, headers=viewer.headers())
    assert client.delete("/api/v1/webhooks/w-1").status_code == 403
    assert client.delete("/api/v1/webhooks/w-1").status_code == 429
    assert audit_rows(catalog_ctx) == [
        (*who(viewer), "DELETE /api/v1/webhooks/{subscription_id}", "w-1", "403"),
        (*who(viewer), "DELETE /api/v1/webhooks/w-1", None, "429"),
    ]


def test_reads_and_graphql_requests_are_not_recorded_here(app, catalog_ctx, viewer):
    """GraphQL mutations are recorded field by field by the schema (tests/catalog_api/graphql/test_audit.py)."""
    client = TestClient(app, headers=viewer.headers())
    assert client.get("/api/v1/sources").status_code == 200
    assert client.post("/graphql", json={"query": "{ sources { totalCount } }"}).status_code == 200
    assert audit_rows(catalog_ctx) == []


def test_a_graphql_request_refused_before_graphql_ran_is_recorded(app, catalog_ctx):
    query = {"query": "{ sources { totalCount } }"}
    assert TestClient(app).post("/graphql", json=query).status_code == 401
    assert TestClient(app).post("/graphql", json=query, headers={"X-API-Key": "cat_0123456789ab_not-a-key"}
                                ).status_code == 401
    assert audit_rows(catalog_ctx) == [(*ANONYMOUS, "POST /graphql", None, "401")] * 2


def test_a_request_the_application_fails_is_recorded_as_a_500_of_its_caller(app, catalog_ctx, admin, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(sources, "delete_source", broken)
    client = TestClient(app, headers=admin.headers(), raise_server_exceptions=False)
    assert client.delete("/api/v1/sources/3").status_code == 500
    assert audit_rows(catalog_ctx) == [(*who(admin), "DELETE /api/v1/sources/{source_id}", "3", "500")]


def test_without_authentication_every_request_is_the_local_operators(catalog_ctx):
    assert TestClient(create_app(ctx=catalog_ctx), headers=API_HEADERS).delete("/api/v1/sources/7").status_code == 404
    assert audit_rows(catalog_ctx) == [("local", "none", "local", "DELETE /api/v1/sources/{source_id}", "7", "404")]


def test_a_request_keeps_its_outcome_when_its_audit_entry_cannot_be_written(app, catalog_ctx, admin, tmp_path,
                                                                            caplog):
    with catalog_ctx.db.engine.begin() as connection:
        connection.execute(text("drop table audit_log"))
    client = TestClient(app, headers=admin.headers())
    path = build_database(tmp_path / "shop.db", "create table orders (id integer primary key)")
    with caplog.at_level(logging.WARNING, logger="catalog_api.services.audit"):
        response = client.post("/api/v1/sources", json={"name": "shop", "kind": "sqlite",
                                                         "config": {"path": str(path)}})
    assert response.status_code == 201, response.text
    assert f"could not record the audit entry of POST /api/v1/sources by {admin.actor}" in caplog.text
    with catalog_ctx.db.session() as session:
        assert [s.name for s in sources.list_sources(session)] == ["shop"]
