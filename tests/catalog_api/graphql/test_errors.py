"""GraphQL errors: an unexpected failure is masked, so nothing it carried (such as a password) reaches the client."""

from __future__ import annotations

from catalog_api.services import browse
from tests.support.graphql import error


def test_unexpected_errors_are_masked(api_client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("connection to postgres://admin:hunter2@db failed")

    monkeypatch.setattr(browse, "search", broken)
    found = error(api_client, '{ search(q: "orders") { urn } }')
    assert "hunter2" not in found["message"]
    assert found["extensions"] == {"code": "internal_error", "status": 500, "field": None, "problems": []}
