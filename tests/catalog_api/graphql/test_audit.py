"""GraphQL's audit: one entry per mutation field that ran (aliases and fragments included, skipped ones not), with
its error code when it failed; a mutation refused by a permission check is recorded too."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import strawberry
from fastapi.testclient import TestClient
from sqlalchemy import text
from strawberry.permission import BasePermission

from catalog_api.app import create_app
from catalog_api.graphql.audit import audited
from catalog_api.security.identity import Identity, acting_as
from tests.support.graphql import data, error
from tests.support.identity import as_caller
from tests.support.sources import register_sqlite

CURATOR = Identity(subject="k-curator", name="curation bot", method="api_key", roles=frozenset({"curator"}))
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


def curator_client(ctx) -> TestClient:
    return TestClient(as_caller(create_app(ctx=ctx), CURATOR))


def test_each_mutation_field_that_ran_is_one_entry(catalog_ctx, tmp_path):
    register_sqlite(catalog_ctx, tmp_path)
    data(curator_client(catalog_ctx), MUTATIONS, urn=SOURCE, skip=True)
    curated = (CURATOR.actor, "api_key", "k-curator")
    assert audit_rows(catalog_ctx) == [
        (*curated, "mutation setDescription", SOURCE, "ok"),
        (*curated, "mutation setTags", SOURCE, "ok"),
        (*curated, "mutation setDescription", SOURCE, "ok"),
    ]


def test_a_failed_mutation_field_records_its_error_code(catalog_ctx, tmp_path):
    register_sqlite(catalog_ctx, tmp_path)
    refused = error(curator_client(catalog_ctx), 'mutation($urn: String!) { setTags(urn: $urn, tags: ["Not A Tag"]) '
                                                 '{ urn } }', urn=SOURCE)
    assert refused["extensions"]["code"] == "invalid_input"
    assert audit_rows(catalog_ctx) == [(CURATOR.actor, "api_key", "k-curator", "mutation setTags", SOURCE,
                                        "invalid_input")]


class CuratorsOnly(BasePermission):
    message = "curators only"
    error_extensions = {"code": "forbidden"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.type
class _Query:
    ping: bool = True


@strawberry.type
class _Mutation:
    @strawberry.mutation(permission_classes=[CuratorsOnly])
    async def purge(self, urn: str) -> bool:
        return True


@dataclass
class _Context:
    ctx: Any
    request: Any = None


def test_a_mutation_refused_by_a_permission_check_is_recorded(catalog_ctx):
    """Permission checks (strawberry's permission classes) run inside the audit: the refusal is in the audit log."""
    schema = strawberry.Schema(query=_Query, mutation=audited(_Mutation))

    async def purge() -> Any:
        with acting_as(CURATOR):
            return await schema.execute('mutation { purge(urn: "urn:catalog:source:shop") }',
                                        context_value=_Context(catalog_ctx))

    result = asyncio.run(purge())
    assert result.errors and result.errors[0].message == "curators only"
    assert audit_rows(catalog_ctx) == [(CURATOR.actor, "api_key", "k-curator", "mutation purge", SOURCE,
                                        "forbidden")]
