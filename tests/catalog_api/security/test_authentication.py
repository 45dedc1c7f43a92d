"""Authentication with `CATALOG_AUTH=required`, tried against the running application as a client would: anonymous
callers get 401 on REST, GraphQL (query, mutation, subscription) and SSE; keys are shown once, stored hashed,
revocable and expirable; the mode refuses to expose an unauthenticated service on a network address."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from catalog_api.app import create_app
from catalog_api.db.models import utcnow
from catalog_api.services import api_keys
from catalog_api.services.authentication import UnsafeExposure
from catalog_api.settings import Settings
from tests.support.server import serve

SOURCES_QUERY = {"query": "{ sources { edges { node { id name } } } }"}
DELETE_MUTATION = {"query": "mutation { deleteSource(id: 1) }"}


def test_anonymous_callers_get_401_on_rest_graphql_and_sse(secured_client):
    for method, path in (("GET", "/api/v1/sources"), ("DELETE", "/api/v1/sources/1"),
                         ("POST", "/api/v1/sources/1/crawl"), ("GET", "/api/v1/events/stream")):
        response = secured_client.request(method, path, headers={"Content-Type": "application/json"})
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["www-authenticate"].startswith("Bearer")
    for body in (SOURCES_QUERY, DELETE_MUTATION):
        response = secured_client.post("/graphql", json=body)
        assert response.status_code == 401, response.text
    # Probes stay open: a platform's health checks carry no credentials.
    assert secured_client.get("/healthz").status_code == 200


def test_a_bad_or_unsupported_credential_is_refused_without_saying_which(secured_client, secured):
    key_id = secured.keys["viewer"].split("_")[1]
    for headers in ({"Authorization": f"Bearer cat_{key_id}_{'x' * 43}"}, {"Authorization": "Bearer cat_nonsense"},
                    {"X-API-Key": "cat_000000000000_" + "y" * 43}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = secured_client.get("/api/v1/sources", headers=headers)
        assert response.status_code == 401, headers
    message = secured_client.get("/api/v1/sources", headers={"Authorization": f"Bearer cat_{key_id}_{'x' * 43}"})
    assert message.json()["error"]["message"] == "the API key is unknown, revoked or expired"


def test_a_viewer_key_reads_but_cannot_mutate(secured_client, secured):
    viewer = secured.headers("viewer")
    assert secured_client.get("/api/v1/sources", headers=viewer).json() == []
    assert secured_client.post("/graphql", json=SOURCES_QUERY, headers=viewer).json() == {
        "data": {"sources": {"edges": []}}}
    # X-API-Key works as well as the bearer header.
    assert secured_client.get("/api/v1/sources", headers={"X-API-Key": secured.keys["viewer"]}).status_code == 200

    refused = secured_client.post("/api/v1/sources", headers=viewer,
                                  json={"name": "x", "kind": "sqlite", "config": {"path": "/nowhere.db"}})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    answer = secured_client.post("/graphql", json=DELETE_MUTATION, headers=viewer).json()
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "forbidden"


def test_me_tells_the_caller_who_they_are(secured_client, secured):
    me = secured_client.get("/api/v1/me", headers=secured.headers("pii")).json()
    key_id = secured.keys["pii"].split("_")[1]
    assert me["actor"] == f"api_key:{key_id}" and me["name"] == "pii reader" and me["method"] == "api_key"
    assert me["roles"] == ["pii:read", "viewer"]
    assert me["permissions"] == ["catalog:read", "pii:read"]


def test_keys_are_shown_once_stored_hashed_and_revocable_through_the_api(secured_client, secured):
    admin = secured.headers("admin")
    created = secured_client.post("/api/v1/keys", headers=admin, json={"name": "etl", "roles": ["operator"]})
    assert created.status_code == 201, created.text
    body = created.json()
    secret, key_id = body["secret"], body["key"]["id"]
    assert secret.startswith(f"cat_{key_id}_") and body["key"]["roles"] == ["operator"]

    listed = secured_client.get("/api/v1/keys", headers=admin).json()
    assert key_id in {k["id"] for k in listed} and secret not in json.dumps(listed)
    with secured.ctx.db.engine.connect() as conn:
        stored = [tuple(map(str, row)) for row in conn.execute(text("select * from api_keys"))]
    assert not any(secret.split("_", 2)[2] in value for row in stored for value in row)

    assert secured_client.get("/api/v1/sources", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert secured_client.get("/api/v1/keys", headers=admin).json()[-1]["last_used_at"] is not None
    revoked = secured_client.delete(f"/api/v1/keys/{key_id}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert secured_client.get("/api/v1/sources", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert key_id not in {k["id"] for k in secured_client.get("/api/v1/keys", headers=admin).json()}
    assert key_id in {k["id"] for k in secured_client.get("/api/v1/keys?include_revoked=true", headers=admin).json()}


def test_bad_key_requests_name_the_field(secured_client, secured):
    admin = secured.headers("admin")
    unknown_role = secured_client.post("/api/v1/keys", headers=admin, json={"name": "x", "roles": ["root"]})
    assert unknown_role.status_code == 422 and unknown_role.json()["error"]["field"] == "roles.0"
    past = secured_client.post("/api/v1/keys", headers=admin, json={
        "name": "x", "roles": ["viewer"], "expires_at": (utcnow() - timedelta(days=1)).isoformat()})
    assert past.status_code == 422 and past.json()["error"]["field"] == "expires_at"


def test_an_expired_key_is_refused(secured_client, secured):
    created = api_keys.create_key(secured.ctx, "short-lived", ["viewer"], utcnow() + timedelta(hours=1))
    headers = {"Authorization": f"Bearer {created.secret}"}
    assert secured_client.get("/api/v1/sources", headers=headers).status_code == 200
    with secured.ctx.db.engine.begin() as conn:
        conn.execute(text("update api_keys set expires_at = :past where id = :id"),
                     {"past": utcnow() - timedelta(seconds=1), "id": created.key.id})
    assert secured_client.get("/api/v1/sources", headers=headers).status_code == 401


def test_subscriptions_authenticate_with_the_connection_init_payload(secured):
    subscription = {"id": "1", "type": "subscribe", "payload": {"query": "subscription { catalogEvents { id } }"}}
    with serve(create_app(ctx=secured.ctx)) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
            ws.send(json.dumps({"type": "connection_init"}))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd.code == 4403
        with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer cat_bad"}}))
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=10)
        with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
            ws.send(json.dumps({"type": "connection_init",
                                "payload": {"Authorization": f"Bearer {secured.keys['viewer']}"}}))
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            ws.send(json.dumps(subscription))
            deadline_ok = True
            try:  # a live feed: nothing arrives, and nothing refuses the subscription
                message = json.loads(ws.recv(timeout=0.5))
                deadline_ok = message["type"] not in ("error",)
            except TimeoutError:
                pass
            assert deadline_ok


def test_without_authentication_the_service_stays_on_loopback(tmp_path, caplog):
    base = dict(home=tmp_path / "home", secret_key="k" * 20, scheduler_enabled=False, events_relay_enabled=False)
    with pytest.raises(UnsafeExposure, match="CATALOG_AUTH=required"):
        create_app(Settings(host="0.0.0.0", **base))
    with caplog.at_level(logging.WARNING):
        create_app(Settings(host="0.0.0.0", auth_none_off_loopback=True, **base))
    assert "WITHOUT AUTHENTICATION" in caplog.text
    create_app(Settings(host="0.0.0.0", auth="required", **base))  # configured: starts
    create_app(Settings(host="::1", **base))  # loopback: the zero-configuration default


def test_the_cli_creates_lists_and_revokes_keys(tmp_path, monkeypatch):
    from catalog_api import cli
    from catalog_api.cli import app
    from catalog_api.settings import get_settings

    monkeypatch.setattr(cli.console, "width", 200)  # a table of keys, not one wrapped to the test's terminal
    monkeypatch.setenv("CATALOG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CATALOG_SECRET_KEY", "k" * 20)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    created = runner.invoke(app, ["keys", "create", "--name", "nightly", "--role", "operator", "--role", "pii:read",
                                  "--expires-in-days", "30"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    key_id = secret.split("_")[1]
    listed = runner.invoke(app, ["keys", "list"])
    assert key_id in listed.output and "nightly" in listed.output and secret not in listed.output
    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    assert key_id not in runner.invoke(app, ["keys", "list"]).output
    assert key_id in runner.invoke(app, ["keys", "list", "--all"]).output
    get_settings.cache_clear()


def test_entra_id_tokens_authenticate_rest_graphql_and_subscriptions(tmp_path):
    """A token of the stand-in tenant (real RS256 keys, signing keys served over local HTTP) through every transport;
    the token's app roles decide what it may do."""
    from tests.support.auth import secured_catalog
    from tests.support.entra import entra_tenant

    with entra_tenant() as tenant:
        secured = secured_catalog(tmp_path, **tenant.settings())
        try:
            viewer = {"Authorization": f"Bearer {tenant.token(roles=['Catalog.Viewer'])}"}
            no_role = {"Authorization": f"Bearer {tenant.token()}"}
            expired = {"Authorization": f"Bearer {tenant.token(roles=['Catalog.Admin'], exp=int(time.time()) - 3600)}"}
            wrong_audience = {"Authorization": f"Bearer {tenant.token(roles=['Catalog.Admin'], aud='api://other')}"}
            with TestClient(create_app(ctx=secured.ctx)) as client:
                me = client.get("/api/v1/me", headers=viewer).json()
                assert me["method"] == "entra" and me["name"] == "ada@contoso.example" and me["roles"] == ["viewer"]
                assert me["actor"].startswith("entra:")
                assert client.post("/graphql", json=SOURCES_QUERY, headers=viewer).json()["data"] is not None
                assert client.delete("/api/v1/sources/1", headers=viewer).status_code == 403
                assert client.get("/api/v1/sources", headers=no_role).status_code == 403  # known, but no role
                for refused, reason in ((expired, "token expired"), (wrong_audience, "wrong audience")):
                    response = client.get("/api/v1/sources", headers=refused)
                    assert response.status_code == 401 and reason in response.json()["error"]["message"]
            with serve(create_app(ctx=secured.ctx)) as base:
                url = base.replace("http://", "ws://") + "/graphql"
                with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
                    ws.send(json.dumps({"type": "connection_init", "payload": viewer}))
                    assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        finally:
            secured.ctx.close()


def test_keys_through_graphql(secured_client, secured):
    admin = secured.headers("admin")
    created = secured_client.post("/graphql", headers=admin, json={
        "query": 'mutation { createApiKey(name: "bi", roles: ["viewer"]) { secret key { id roles } } }'}).json()
    secret, key_id = created["data"]["createApiKey"]["secret"], created["data"]["createApiKey"]["key"]["id"]
    me = secured_client.post("/graphql", headers={"Authorization": f"Bearer {secret}"},
                             json={"query": "{ me { name method roles } }"}).json()
    assert me == {"data": {"me": {"name": "bi", "method": "api_key", "roles": ["viewer"]}}}
    listed = secured_client.post("/graphql", headers={"Authorization": f"Bearer {secret}"},
                                 json={"query": "{ apiKeys { id } }"}).json()
    assert listed["errors"][0]["extensions"]["code"] == "forbidden"
    revoked = secured_client.post("/graphql", headers=admin, json={
        "query": f'mutation {{ revokeApiKey(id: "{key_id}") {{ revokedAt }} }}'}).json()
    assert revoked["data"]["revokeApiKey"]["revokedAt"] is not None
    assert secured_client.post("/graphql", headers={"Authorization": f"Bearer {secret}"},
                               json={"query": "{ me { name } }"}).status_code == 401


def test_refused_credentials_are_rate_limited_by_address(tmp_path):
    """Guessing keys or replaying bad tokens costs the guesser's own budget: the refusal happens after metering."""
    from tests.support.auth import secured_catalog

    secured = secured_catalog(tmp_path, rate_limit_burst=3, rate_limit_per_s=0.01)
    try:
        with TestClient(create_app(ctx=secured.ctx)) as client:
            statuses = [client.get("/api/v1/sources", headers={"Authorization": f"Bearer cat_{i:012x}_{'z' * 43}"}
                                   ).status_code for i in range(5)]
            assert statuses == [401, 401, 401, 429, 429]
    finally:
        secured.ctx.close()


def test_a_mutation_sent_over_a_websocket_acts_as_the_connection_s_caller(secured):
    mutation = 'mutation { createApiKey(name: "over-ws", roles: ["viewer"]) { key { createdBy } } }'
    admin_key_id = secured.keys["admin"].split("_")[1]
    with serve(create_app(ctx=secured.ctx)) as base:
        with connect(base.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"],
                     open_timeout=10) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": {"apiKey": secured.keys["admin"]}}))
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": mutation}}))
            answer = json.loads(ws.recv(timeout=10))
    assert answer["payload"]["data"]["createApiKey"]["key"]["createdBy"] == f"api_key:{admin_key_id}"
