"""The GraphQL schema: the documented one is the running one, and GraphiQL is served to browsers."""

from catalog_api.graphql.schema import schema
from tests.support.paths import REPO

SDL = REPO / "docs" / "schema.graphql"


def test_docs_schema_matches_the_running_schema():
    assert SDL.read_text().strip() == str(schema).strip(), (
        "docs/schema.graphql is stale: regenerate it with "
        "python -c 'from catalog_api.graphql.schema import schema; print(schema)' > docs/schema.graphql"
    )


def test_graphiql_is_served_to_browsers(api_client):
    response = api_client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "graphiql" in response.text.lower()
