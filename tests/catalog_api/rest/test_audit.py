"""The audit middleware: refused attempts are recorded, reads are not, and a failure to audit never fails a request."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse

from catalog_api.app import create_app
from catalog_api.security.identity import SYSTEM, Identity, current_identity
from catalog_api.services import sources
from tests.support.identity import as_caller
from tests.support.sqlite import build_database

VIEWER = Identity(subject="k-viewer", name="read-only dashboard", method="api_key", roles=frozenset({"viewer"}))


def refusing_deletes(app):
    """Stands in for authentication added before the audit middleware: a DELETE from nobody is refused with 401, from
    anybody else with 403; everything else passes."""

    async def authenticate(scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "DELETE":
            status = 401 if current_identity() == SYSTEM else 403
            await PlainTextResponse("refused", status_code=status)(scope, receive, send)
            return
        await app(scope, receive, send)

    return authenticate


def audit_rows(ctx) -> list[tuple]:
    with ctx.db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            text("select actor, auth_method, subject, action, target, outcome from audit_log order by id"))]


@pytest.fixture
def guarded_app(catalog_ctx):
    app = create_app(ctx=catalog_ctx)
    app.user_middleware.append(Middleware(refusing_deletes))  # inside the audit middleware, as authentication is
    return app


def test_attempts_refused_before_routing_are_recorded_with_whoever_was_known(guarded_app, catalog_ctx):
    assert TestClient(guarded_app).delete("/api/v1/sources/7").status_code == 401
    assert TestClient(as_caller(guarded_app, VIEWER)).delete("/api/v1/webhooks/w-1").status_code == 403
    assert audit_rows(catalog_ctx) == [
        ("anonymous", "none", "anonymous", "DELETE /api/v1/sources/7", None, "401"),
        (VIEWER.actor, "api_key", "k-viewer", "DELETE /api/v1/webhooks/w-1", None, "403"),
    ]


def test_reads_and_graphql_requests_are_not_recorded_here(guarded_app, catalog_ctx):
    """GraphQL mutations are recorded field by field by the schema (tests/catalog_api/graphql/test_audit.py)."""
    client = TestClient(as_caller(guarded_app, VIEWER))
    assert client.get("/api/v1/sources").status_code == 200
    assert client.post("/graphql", json={"query": "{ sources { totalCount } }"}).status_code == 200
    assert audit_rows(catalog_ctx) == []


def test_a_graphql_request_refused_before_graphql_ran_is_recorded(catalog_ctx):
    app = create_app(ctx=catalog_ctx)
    app.user_middleware.append(Middleware(lambda _app: PlainTextResponse("no token", status_code=401)))
    assert TestClient(app).post("/graphql", json={"query": "{ sources { totalCount } }"}).status_code == 401
    assert audit_rows(catalog_ctx) == [("anonymous", "none", "anonymous", "POST /graphql", None, "401")]


def test_a_request_the_application_fails_is_recorded_as_a_500(catalog_ctx, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(sources, "delete_source", broken)
    client = TestClient(as_caller(create_app(ctx=catalog_ctx), VIEWER), raise_server_exceptions=False)
    assert client.delete("/api/v1/sources/3").status_code == 500
    assert audit_rows(catalog_ctx) == [(VIEWER.actor, "api_key", "k-viewer", "DELETE /api/v1/sources/{source_id}",
                                        "3", "500")]


def test_a_request_keeps_its_outcome_when_its_audit_entry_cannot_be_written(catalog_ctx, tmp_path, caplog):
    with catalog_ctx.db.engine.begin() as connection:
        connection.execute(text("drop table audit_log"))
    client = TestClient(as_caller(create_app(ctx=catalog_ctx), VIEWER))
    path = build_database(tmp_path / "shop.db", "create table orders (id integer primary key)")
    with caplog.at_level(logging.WARNING, logger="catalog_api.services.audit"):
        response = client.post("/api/v1/sources", json={"name": "shop", "kind": "sqlite",
                                                         "config": {"path": str(path)}})
    assert response.status_code == 201, response.text
    assert "could not record the audit entry of POST /api/v1/sources by api_key:k-viewer" in caplog.text
    with catalog_ctx.db.session() as session:
        assert [s.name for s in sources.list_sources(session)] == ["shop"]
