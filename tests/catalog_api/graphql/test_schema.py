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


def test_only_unguarded_fields_skip_strawberrys_resolver_chain():
    """The lean resolvers (catalog_api.graphql.lean) stand in for strawberry's only where the chain has nothing to
    do: a field with a permission, an extension (audited mutations) or arguments keeps strawberry's resolver."""
    from graphql import GraphQLObjectType

    lean, guarded = set(), set()
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for name, graphql_field in graphql_type.fields.items():
            field = graphql_field.extensions["strawberry-definition"]
            coordinate = f"{graphql_type.name}.{name}"
            if graphql_field.resolve.__module__ == "catalog_api.graphql.lean":
                lean.add(coordinate)
            if field.permission_classes or field.extensions or field.arguments:
                guarded.add(coordinate)
    assert {"Column.tags", "Table.tags", "Schema.tags", "Source.tags", "Column.name"} <= lean
    assert "Mutation.registerSource" in guarded and "Table.columns" in guarded
    assert not lean & guarded
