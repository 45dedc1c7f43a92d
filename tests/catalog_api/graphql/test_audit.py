"""GraphQL's audit, behind real authentication: one entry per mutation field that ran (aliases and fragments included,
skipped ones not), with its error code when it failed; a mutation refused by its permission check is recorded too."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from catalog_api.app import create_app
from tests.support.auth import key_holder, requiring_auth
from tests.support.graphql import data, error, post
from tests.support.sources import register_sqlite

SOURCE = "urn:catalog:source:shop"

MUTATIONS = """
mutation($urn: String!, $skip: Boolean!) {
  described: setDescription(urn: $urn, description: "the shop") { urn }
  ...Tagging
  ... on Mutation { again: setDescription(urn: $urn, description: "still the shop") { urn } }
  skipped: setTags(urn: $urn, tags: ["never"]) @skip(if: $skip) { urn }
}
fragment Tagging on Mutation { setTags(urn: $urn, tags: ["sales"]) { urn } }
"""


def audit_rows(ctx) -> list[tuple]:
    with ctx.db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            text("select actor, auth_method, subject, action, target, outcome from audit_log order by id"))]


@pytest.fixture
def curator(catalog_ctx):
    return key_holder(catalog_ctx, "curation bot", ["curator"])


@pytest.fixture
def app(catalog_ctx):
    return create_app(ctx=requiring_auth(catalog_ctx))


def test_each_mutation_field_that_ran_is_one_entry(app, catalog_ctx, curator, tmp_path):
    register_sqlite(catalog_ctx, tmp_path)
    data(TestClient(app, headers=curator.headers()), MUTATIONS, urn=SOURCE, skip=True)
    curated = (curator.actor, "api_key", curator.key_id)
    assert audit_rows(catalog_ctx) == [
        (*curated, "mutation setDescription", SOURCE, "ok"),
        (*curated, "mutation setTags", SOURCE, "ok"),
        (*curated, "mutation setDescription", SOURCE, "ok"),
    ]


def test_a_failed_mutation_field_records_its_error_code(app, catalog_ctx, curator, tmp_path):
    register_sqlite(catalog_ctx, tmp_path)
    refused = error(TestClient(app, headers=curator.headers()),
                    'mutation($urn: String!) { setTags(urn: $urn, tags: ["Not A Tag"]) { urn } }', urn=SOURCE)
    assert refused["extensions"]["code"] == "invalid_input"
    assert audit_rows(catalog_ctx) == [(curator.actor, "api_key", curator.key_id, "mutation setTags", SOURCE,
                                        "invalid_input")]


def test_a_mutation_refused_by_its_permission_check_is_recorded(app, catalog_ctx, curator, tmp_path):
    """Permission checks (`requires`, strawberry's permission classes) run inside the audit's field extension: the
    refusal is in the audit log, after the field the caller was allowed to run before it."""
    source_id = register_sqlite(catalog_ctx, tmp_path)
    body = post(TestClient(app, headers=curator.headers()),
                'mutation($id: Int!, $urn: String!) { setDescription(urn: $urn, description: "kept") { urn } '
                'deleteSource(id: $id) }', id=source_id, urn=SOURCE)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["forbidden"]
    curated = (curator.actor, "api_key", curator.key_id)
    assert audit_rows(catalog_ctx) == [
        (*curated, "mutation setDescription", SOURCE, "ok"),
        (*curated, "mutation deleteSource", str(source_id), "forbidden"),
    ]


def test_a_mutation_of_an_anonymous_caller_is_refused_before_graphql_runs_and_recorded_once(app, catalog_ctx):
    response = TestClient(app).post("/graphql", json={"query": "mutation { deleteSource(id: 1) }"})
    assert response.status_code == 401
    assert audit_rows(catalog_ctx) == [("anonymous", "none", "anonymous", "POST /graphql", None, "401")]
