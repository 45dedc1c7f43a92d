"""Relay's object identification: every fetchable type's global `id` comes back through `node(id:)` as the same
object, the id is the base64 of `Type:key` (decoded here by hand, not by the code under test), `databaseId` is the
row's key as the catalog's own tables hold it, and a garbage id or an id of something the caller may not see is
refused with a clear error."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from catalog_api.app import create_app
from catalog_api.services import quality
from catalog_api.services.events import webhooks
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import column_urn, dataset_urn, schema_urn, source_urn
from tests.support.auth import key_holder, requiring_auth
from tests.support.graphql import data, error, post
from tests.support.jobs import crawled
from tests.support.sqlite import build_database
from tests.support.statements import counted_statements

DDL = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), total REAL);
"""
ORDERS = dataset_urn("shop", "main", "orders")
NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Entity { urn }
  ... on Source { databaseId } ... on Schema { databaseId } ... on Table { databaseId } ... on Column { databaseId }
  ... on QualityRule { databaseId name } ... on Job { jobId kind } ... on WebhookSubscriptionNode { webhookId url }
} }"""


def _decoded(global_id: str) -> tuple[str, str]:
    type_name, _, key = base64.b64decode(global_id).decode().partition(":")
    return type_name, key


def _row_id(ctx, table: str, urn: str) -> int:
    with ctx.db.session() as session:
        return session.execute(text(f"select id from {table} where urn = :urn"), {"urn": urn}).scalar_one()


@pytest.fixture
def shop(catalog_ctx, tmp_path):
    path = build_database(tmp_path / "shop.db", DDL)
    source = register_source(catalog_ctx, SourceRegistration(name="shop", kind="sqlite", config={"path": str(path)}))
    job = crawled(catalog_ctx, source.id)
    return source.id, job.id


def test_every_entity_comes_back_by_its_global_id(api_client, catalog_ctx, shop):
    entities = {
        "Source": (source_urn("shop"), "data_sources"), "Schema": (schema_urn("shop", "main"), "schemas"),
        "Table": (ORDERS, "tables"), "Column": (column_urn("shop", "main", "orders", "total"), "columns"),
    }
    for type_name, (urn, table) in entities.items():
        found = data(api_client, "query($urn: String!) { entity(urn: $urn) { id } }", urn=urn)["entity"]
        assert _decoded(found["id"]) == (type_name, urn)
        node = data(api_client, NODE, id=found["id"])["node"]
        assert node == {"__typename": type_name, "id": found["id"], "urn": urn,
                        "databaseId": _row_id(catalog_ctx, table, urn)}


def test_a_page_shows_the_same_ids_as_node(api_client, shop):
    page = data(api_client, "{ sources(first: 5) { edges { node { id schemas(first: 5) { edges { node { id "
                            "tables(first: 5) { edges { node { id urn columns(first: 5) { edges { node { id urn } } } "
                            "} } } } } } } } } }")
    source = page["sources"]["edges"][0]["node"]
    tables = [e["node"] for e in source["schemas"]["edges"][0]["node"]["tables"]["edges"]]
    columns = [e["node"] for t in tables for e in t["columns"]["edges"]]
    assert len({source["id"], *(t["id"] for t in tables), *(c["id"] for c in columns)}) == 1 + 2 + 5
    for item in [*tables, *columns]:
        assert data(api_client, NODE, id=item["id"])["node"]["urn"] == item["urn"]


def test_jobs_rules_and_webhooks_come_back_by_their_global_ids(api_client, catalog_ctx, shop):
    _, job_id = shop
    rule = quality.add_rule(catalog_ctx, ORDERS, {"name": "total_positive", "kind": "range", "column": "total",
                                                  "params": {"min": 0}})
    hook = webhooks.create_subscription(catalog_ctx, "https://hooks.example.invalid/catalog").subscription
    for type_name, key, extra in (("Job", job_id, {"jobId": job_id, "kind": "crawl"}),
                                  ("QualityRule", rule.id, {"databaseId": rule.id, "name": rule.name}),
                                  ("WebhookSubscriptionNode", hook.id, {"webhookId": hook.id, "url": hook.url})):
        global_id = base64.b64encode(f"{type_name}:{key}".encode()).decode()
        node = data(api_client, NODE, id=global_id)["node"]
        assert node == {"__typename": type_name, "id": global_id, **extra}
    # A job's own look-up takes its global id as well as its own id: clients that read `id` keep working.
    job_global = data(api_client, "query($id: String!) { job(id: $id) { id } }", id=job_id)["job"]["id"]
    assert data(api_client, "query($id: String!) { job(id: $id) { jobId } }", id=job_global) == {
        "job": {"jobId": job_id}}


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


@pytest.mark.parametrize(("bad", "code"), [
    ("", "invalid_input"),
    ("not base64!", "invalid_input"),
    (_b64("no-colon-here"), "invalid_input"),
    (_b64("Planet:1"), "invalid_input"),  # a type this API does not serve
    (_b64("Connection:1"), "invalid_input"),  # a type it serves, but not a node
    (_b64("Source:urn:catalog:dataset:shop:main:orders"), "invalid_input"),  # a table's URN as a source's key
    (_b64("Table:orders"), "invalid_input"),  # not a URN
    (_b64("Table:" + dataset_urn("shop", "main", "nope")), "not_found"),
    (_b64("Job:no-such-job"), "not_found"),
    (_b64("QualityRule:12x"), "not_found"),
    (_b64("QualityRule:" + "9" * 30), "not_found"),
    (_b64("TableProfile:424242"), "not_found"),
    ("A" * 5000, "invalid_input"),
])
def test_a_bad_id_is_a_clear_error_on_the_id_argument(api_client, shop, bad, code):
    body = post(api_client, "query($id: ID!) { node(id: $id) { id } }", id=bad)
    assert body["data"] == {"node": None}
    (found,) = body["errors"]
    assert found["path"] == ["node"]
    assert (found["extensions"]["code"], found["extensions"]["field"]) == (code, "id"), found


def test_an_id_with_its_padding_changed_is_not_one_this_api_gave_out(api_client, shop):
    good = data(api_client, "query($urn: String!) { entity(urn: $urn) { id } }", urn=ORDERS)["entity"]["id"]
    assert error(api_client, "query($id: ID!) { node(id: $id) { id } }", id=" " + good)["extensions"]["code"] == \
        "invalid_input"


def test_node_needs_what_the_objects_own_lookup_needs(catalog_ctx, shop):
    hook = webhooks.create_subscription(catalog_ctx, "https://hooks.example.invalid/catalog").subscription
    hook_id = _b64(f"WebhookSubscriptionNode:{hook.id}")
    table_id = _b64(f"Table:{ORDERS}")
    app = create_app(ctx=requiring_auth(catalog_ctx))
    viewer, operator = (key_holder(catalog_ctx, role, [role]) for role in ("viewer", "operator"))
    with TestClient(app, headers=viewer.headers()) as client:
        assert data(client, "query($id: ID!) { node(id: $id) { id } }", id=table_id) == {"node": {"id": table_id}}
        refused = error(client, "query($id: ID!) { node(id: $id) { id } }", id=hook_id)
        assert refused["extensions"]["code"] == "forbidden"
        # The same as the subscription's own look-up answers the same caller.
        assert error(client, "query($id: String!) { webhook(id: $id) { url } }", id=hook.id)["extensions"]["code"] \
            == "forbidden"
    with TestClient(app, headers=operator.headers()) as client:
        assert data(client, "query($id: ID!) { node(id: $id) { id } }", id=hook_id) == {"node": {"id": hook_id}}
    with TestClient(app) as anonymous:
        answer = anonymous.post("/graphql", json={"query": "query($id: ID!) { node(id: $id) { id } }",
                                                  "variables": {"id": table_id}})
        assert answer.status_code == 401


# -- nodes(ids:) ---------------------------------------------------------------------------------------------------

NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Entity { urn } ... on Job { jobId } } }"


def _entity_ids(api_client) -> list[tuple[str, str]]:
    """(global id, URN) of every table and column of the shop."""
    page = data(api_client, "{ sources(first: 5) { edges { node { schemas(first: 5) { edges { node { tables(first: 5) "
                            "{ edges { node { id urn columns(first: 5) { edges { node { id urn } } } } } } } } } } } } }")
    tables = [e["node"] for e in page["sources"]["edges"][0]["node"]["schemas"]["edges"][0]["node"]["tables"]["edges"]]
    return [(item["id"], item["urn"]) for t in tables for item in (t, *(e["node"] for e in t["columns"]["edges"]))]


def test_nodes_answers_in_the_order_asked_with_null_for_what_does_not_exist(api_client, shop):
    _, job_id = shop
    (table_id, table_urn), (column_id, column_urn_) = _entity_ids(api_client)[:2]
    missing = _b64("Table:" + dataset_urn("shop", "main", "nope"))
    job = _b64(f"Job:{job_id}")
    found = data(api_client, NODES, ids=[column_id, missing, job, table_id, column_id, _b64("Job:gone")])["nodes"]
    assert found == [{"__typename": "Column", "id": column_id, "urn": column_urn_}, None,
                     {"__typename": "Job", "id": job, "jobId": job_id},
                     {"__typename": "Table", "id": table_id, "urn": table_urn},
                     {"__typename": "Column", "id": column_id, "urn": column_urn_}, None]
    assert data(api_client, NODES, ids=[]) == {"nodes": []}


def test_nodes_costs_the_same_statements_for_one_id_as_for_many(api_client, catalog_ctx, shop):
    _, job_id = shop
    entities = [global_id for global_id, _ in _entity_ids(api_client)]
    assert len(entities) == 7  # 2 tables, 5 columns
    counts = []
    for ids in ([entities[0], entities[1], _b64(f"Job:{job_id}")], [*entities, _b64(f"Job:{job_id}")] * 12):
        with counted_statements(catalog_ctx.db.engine) as statements:
            found = data(api_client, NODES, ids=ids)["nodes"]
        assert [node["id"] for node in found] == ids
        counts.append(len(statements))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(("ids", "field"), [
    ([_b64("Job:x")] * 101, "ids"),
    ([_b64("Job:x"), "not base64!"], "ids.1"),
    ([_b64("Planet:1")], "ids.0"),
])
def test_nodes_refuses_too_many_ids_and_ids_it_did_not_give_out(api_client, shop, ids, field):
    found = error(api_client, NODES, ids=ids)
    assert (found["extensions"]["code"], found["extensions"]["field"]) == ("invalid_input", field)


def test_nodes_needs_what_the_objects_own_lookup_needs(catalog_ctx, shop):
    hook = webhooks.create_subscription(catalog_ctx, "https://hooks.example.invalid/catalog").subscription
    ids = [_b64(f"Table:{ORDERS}"), _b64(f"WebhookSubscriptionNode:{hook.id}")]
    app = create_app(ctx=requiring_auth(catalog_ctx))
    viewer, operator = (key_holder(catalog_ctx, role, [role]) for role in ("viewer", "operator"))
    with TestClient(app, headers=viewer.headers()) as client:
        assert error(client, NODES, ids=ids)["extensions"]["code"] == "forbidden"
        assert data(client, NODES, ids=ids[:1]) == {"nodes": [{"__typename": "Table", "id": ids[0], "urn": ORDERS}]}
    with TestClient(app, headers=operator.headers()) as client:
        assert [n["id"] for n in data(client, NODES, ids=ids)["nodes"]] == ids
