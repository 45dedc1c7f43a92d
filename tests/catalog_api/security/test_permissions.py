"""Every way into the catalog declares its permission, and each role is refused one step above its rights.

The first test walks the running application (its REST routes, its GraphQL mutations and subscriptions), so a
route added without a permission fails here, not in production.
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute

from catalog_api.app import create_app
from catalog_api.graphql.permissions import declared_permission as graphql_permission
from catalog_api.graphql.schema import schema
from catalog_api.rest.security import PUBLIC_PATHS, PUBLIC_PREFIXES, declared_permission
from catalog_api.services import jobs
from tests.support.sqlite import build_database

GRAPHQL_PATH = "/graphql"


def _routes(routes, prefix=""):
    """Every route of the app with its full path, through the routers it includes."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes, prefix + route.include_context.prefix)
        else:
            yield prefix + route.path, route


def test_every_rest_route_declares_its_permission(secured):
    app = create_app(ctx=secured.ctx)
    undeclared, public, walked = [], [], 0
    for path, route in _routes(app.routes):
        walked += 1
        if path.startswith(GRAPHQL_PATH):
            continue  # guarded by the GraphQL context (read) and each field's declaration, checked below
        if isinstance(route, APIRoute | APIWebSocketRoute):
            declared, permission = declared_permission(route)
            if not declared:
                undeclared.append(f"{sorted(getattr(route, 'methods', ['WS']))} {path}")
            elif permission is None:
                public.append(path)
        else:  # FastAPI's OpenAPI document, and the files GraphiQL, Swagger UI and the web UI load
            assert path in PUBLIC_PATHS or path + "/" in PUBLIC_PREFIXES, path
    assert undeclared == []
    assert sorted(public) == ["/", "/docs", "/docs/oauth2-redirect", "/healthz", "/readyz", "/ui", "/ui/{page:path}"]
    assert walked > 45  # the walk reached the included routers


def test_every_graphql_mutation_and_subscription_declares_its_permission():
    undeclared = []
    for type_name in ("Mutation", "Subscription"):
        for field in schema.get_type_by_name(type_name).fields:
            if graphql_permission(field) is None:
                undeclared.append(f"{type_name}.{field.python_name}")
    assert undeclared == []
    assert len(schema.get_type_by_name("Mutation").fields) >= 20  # the walk saw the real schema


@pytest.fixture
def crawled(secured, secured_client, tmp_path):
    """A SQLite source registered by the admin key and crawled by the operator key, through REST."""
    path = build_database(tmp_path / "shop.db", "create table orders (id integer primary key, note text);")
    registered = secured_client.post("/api/v1/sources", headers=secured.headers("admin"),
                                     json={"name": "shop", "kind": "sqlite", "config": {"path": str(path)}})
    assert registered.status_code == 201, registered.text
    source_id = registered.json()["id"]
    job = secured_client.post(f"/api/v1/sources/{source_id}/crawl", headers=secured.headers("operator"),
                              json={})
    assert job.status_code == 202, job.text
    assert jobs.wait_for_job(secured.ctx, job.json()["id"], timeout=60).status == "succeeded"
    return source_id


STEPS = [
    # (role, an operation the role may do, one the next role up may do)
    ("viewer", ("GET", "/api/v1/tables/urn:catalog:dataset:shop:main:orders", None),
     ("PUT", "/api/v1/entities/urn:catalog:dataset:shop:main:orders/description", {"description": "Orders"})),
    ("curator", ("PUT", "/api/v1/entities/urn:catalog:dataset:shop:main:orders/tags", {"tags": ["sales"]}),
     ("POST", "/api/v1/sources/{source}/crawl", {})),
    ("operator", ("PUT", "/api/v1/sources/{source}/schedule", {"cron": "0 2 * * *"}),
     ("DELETE", "/api/v1/sources/{source}", None)),
    ("admin", ("POST", "/api/v1/keys", {"name": "ci", "roles": ["viewer"]}), None),
]


@pytest.mark.parametrize(("role", "allowed", "above"), STEPS, ids=[step[0] for step in STEPS])
def test_each_role_does_its_work_and_gets_403_one_step_above(secured, secured_client, crawled, role, allowed, above):
    headers = {**secured.headers(role), "Content-Type": "application/json"}

    def call(method, path, body):
        return secured_client.request(method, path.format(source=crawled), headers=headers, json=body)

    response = call(*allowed)
    assert response.status_code < 300, (role, allowed, response.text)
    if above is not None:
        refused = call(*above)
        assert refused.status_code == 403, (role, above, refused.text)
        assert refused.json()["error"]["code"] == "forbidden"


GRAPHQL_STEPS = [
    ("viewer", 'mutation { setDescription(urn: "urn:catalog:dataset:shop:main:orders", description: "x") { urn } }'),
    ("curator", "mutation { crawlSource(id: {source}) { id } }"),
    ("operator", "mutation { deleteSource(id: {source}) }"),
]


@pytest.mark.parametrize(("role", "mutation"), GRAPHQL_STEPS, ids=[step[0] for step in GRAPHQL_STEPS])
def test_each_role_gets_forbidden_from_graphql_one_step_above(secured, secured_client, crawled, role, mutation):
    answer = secured_client.post("/graphql", headers=secured.headers(role),
                                 json={"query": mutation.replace("{source}", str(crawled))}).json()
    assert answer["errors"][0]["extensions"]["code"] == "forbidden", answer
    assert secured_client.get(f"/api/v1/sources/{crawled}", headers=secured.headers("viewer")).status_code == 200


def test_queries_of_operational_data_need_the_operator(secured, secured_client):
    query = {"query": "{ webhooks { id url } }"}
    viewer = secured_client.post("/graphql", headers=secured.headers("viewer"), json=query).json()
    assert viewer["errors"][0]["extensions"]["code"] == "forbidden"
    operator = secured_client.post("/graphql", headers=secured.headers("operator"), json=query).json()
    assert operator == {"data": {"webhooks": []}}


def test_the_openapi_document_says_how_to_authenticate(secured):
    document = create_app(ctx=secured.ctx).openapi()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": "An API key (`cat_…`) or a Microsoft Entra ID access token for the catalog's API."}
    assert document["components"]["securitySchemes"]["apiKey"]["name"] == "X-API-Key"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            expected = None if path in PUBLIC_PATHS else [{"bearer": []}, {"apiKey": []}]
            assert operation.get("security") == expected, (method, path)
