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


def test_a_source_named_by_digits_past_64_bits_is_not_found_rather_than_an_overflow(api_client):
    # `anomalies(source:)` takes a name or an id; digits that no 64-bit column can hold name no source.
    for digits in (str(2**63), str(2**53)):
        found = error(api_client, '{ anomalies(source: "%s") { id } }' % digits)
        assert found["extensions"]["code"] == "not_found", found


def test_int_arguments_past_32_bits_are_refused_by_graphql_itself(api_client):
    # GraphQL's Int is 32-bit, so ids given as Int (source, profile, jobs' sourceId) never reach the database.
    found = error(api_client, "{ profile(id: %d) { id } }" % 2**63)
    assert "Int cannot represent" in found["message"]
