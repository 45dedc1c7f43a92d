"""The documented GraphQL schema is the running one."""

from pathlib import Path

from catalog_api.graphql.schema import schema

SDL = Path(__file__).resolve().parents[2] / "docs" / "schema.graphql"


def test_docs_schema_matches_the_running_schema():
    assert SDL.read_text().strip() == str(schema).strip(), (
        "docs/schema.graphql is stale: regenerate it with "
        "python -c 'from catalog_api.graphql.schema import schema; print(schema)' > docs/schema.graphql"
    )
