"""Free text holding NUL (U+0000) is refused with 422 on its field, on REST and GraphQL, and nothing is stored.

PostgreSQL cannot store NUL at all (its INSERT fails after validation passed, a 500); SQLite stores it and hands
C-string readers a text cut short. Every free-text input goes through services/text.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support.graphql import error
from tests.support.sqlite import build_database

NUL = "a\x00b"


def _sqlite_source(tmp_path, **fields) -> dict:
    path = build_database(tmp_path / "nul.db", "create table t (id integer)")
    return {"name": "nul", "kind": "sqlite", "config": {"path": str(path)}, **fields}


def _stored(catalog_ctx, sql: str) -> list[tuple]:
    with catalog_ctx.db.session() as session:  # the catalog's rows, not a service's view of them
        return [tuple(row) for row in session.execute(text(sql))]


def _refused(response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == ("invalid_input", field)


@pytest.mark.parametrize(("fields", "field"), [
    ({"description": NUL}, "description"),
    ({"config": {"path": NUL}}, "config.path"),
])
def test_a_source_registration_holding_nul_is_refused(api_client, catalog_ctx, tmp_path, fields, field):
    body = _sqlite_source(tmp_path)
    body.update({key: {**body[key], **value} if isinstance(value, dict) else value for key, value in fields.items()})
    _refused(api_client.post("/api/v1/sources", json=body), field)
    found = error(api_client, "mutation($input: RegisterSourceInput!) { registerSource(input: $input) { id } }",
                  input=body)
    assert (found["extensions"]["code"], found["extensions"]["field"]) == ("invalid_input", field)
    assert _stored(catalog_ctx, "select name from data_sources") == []


def test_a_source_update_holding_nul_is_refused(api_client, catalog_ctx, tmp_path):
    source_id = api_client.post("/api/v1/sources", json=_sqlite_source(tmp_path, description="kept")).json()["id"]
    _refused(api_client.patch(f"/api/v1/sources/{source_id}", json={"description": NUL}), "description")
    found = error(api_client, "mutation($id: Int!, $input: UpdateSourceInput!) { updateSource(id: $id, input: $input)"
                              " { id } }", id=source_id, input={"description": NUL})
    assert (found["extensions"]["code"], found["extensions"]["field"]) == ("invalid_input", "description")
    assert _stored(catalog_ctx, "select description from data_sources") == [("kept",)]


def test_other_free_text_holding_nul_is_refused(api_client, catalog_ctx, tmp_path):
    _refused(api_client.post("/api/v1/keys", json={"name": NUL, "roles": ["viewer"]}), "name")
    assert _stored(catalog_ctx, "select name from api_keys") == []
    hook = {"url": "https://hooks.example.com/catalog"}
    _refused(api_client.post("/api/v1/webhooks", json={**hook, "description": NUL}), "description")
    _refused(api_client.post("/api/v1/webhooks", json={**hook, "urn_prefix": "urn:catalog:\x00"}), "urn_prefix")
    assert _stored(catalog_ctx, "select url from webhook_subscriptions") == []
    created = api_client.post("/api/v1/webhooks", json={**hook, "description": "kept"})
    assert created.status_code == 201, created.text
    _refused(api_client.patch(f"/api/v1/webhooks/{created.json()['id']}", json={"description": NUL}), "description")
    assert _stored(catalog_ctx, "select description from webhook_subscriptions") == [("kept",)]
    _refused(api_client.get("/api/v1/search", params={"q": NUL}), "q")

