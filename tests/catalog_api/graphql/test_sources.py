"""Sources through GraphQL: register (and how a bad registration is refused, storing nothing), test, crawl,
browse the crawled tree, update and delete.

The same rules through REST are in tests/catalog_api/services/test_sources.py.
"""

from __future__ import annotations

import pytest

from catalog_api.urns import dataset_urn
from tests.support.factories import source_count
from tests.support.graphql import data, error
from tests.support.sources import sqlite_shop

REGISTER = """
mutation($input: RegisterSourceInput!) {
  registerSource(input: $input) { id databaseId urn name kind description config secretRefs lineageNamespace }
}
"""


def test_register_with_unknown_kind_stores_nothing(api_client, catalog_ctx):
    found = error(api_client, REGISTER, input={"name": "lake", "kind": "oracle-9i", "config": {}})
    assert found["extensions"]["code"] == "invalid_input"
    assert found["extensions"]["field"] == "kind"
    assert found["extensions"]["status"] == 422
    assert source_count(catalog_ctx) == 0
    assert data(api_client, "{ sources { totalCount } }")["sources"]["totalCount"] == 0


def test_register_reports_config_and_input_fields(api_client, catalog_ctx):
    missing_path = error(api_client, REGISTER, input={"name": "lite", "kind": "sqlite", "config": {}})
    assert missing_path["extensions"]["code"] == "invalid_input"
    assert missing_path["extensions"]["field"] == "config.path"

    bad_secret = error(api_client, REGISTER, input={"name": "lite", "kind": "sqlite", "config": {"path": "/x.db"},
                                                    "secrets": {"password": 5}})
    assert (bad_secret["extensions"]["code"], bad_secret["extensions"]["field"]) == ("invalid_input",
                                                                                      "secrets.password")
    not_an_object = error(api_client, REGISTER, input={"name": "lite", "kind": "sqlite", "config": [1, 2]})
    assert not_an_object["extensions"]["field"] == "config"
    bad_name = error(api_client, REGISTER, input={"name": "no spaces please", "kind": "sqlite",
                                                  "config": {"path": "/x.db"}})
    assert bad_name["extensions"]["field"] == "name"
    assert source_count(catalog_ctx) == 0


def test_register_fails_on_a_failing_connection_test_and_stores_nothing(api_client, catalog_ctx, tmp_path):
    pytest.importorskip("crawlers.connectors.sqlite")
    found = error(api_client, REGISTER, input={"name": "lite", "kind": "sqlite",
                                               "config": {"path": str(tmp_path / "missing.db")}})
    assert found["extensions"]["code"] not in ("internal_error", "invalid_input")
    assert found["extensions"]["status"] == 422
    assert found["extensions"]["field"] == "config.path"
    assert source_count(catalog_ctx) == 0


SOURCE_TREE = """
query($id: Int!) {
  source(id: $id) { name lastCrawledAt schemas { edges { node { name tables { totalCount edges { node {
    name kind viewDefinition primaryKey foreignKeys columns { edges { node { name dataType nullable } } }
  } } } } } } }
}
"""


def test_register_crawl_and_delete_a_sqlite_source(api_client, catalog_ctx, tmp_path):
    pytest.importorskip("crawlers.connectors.sqlite")  # written alongside; runs once it exists
    path = sqlite_shop(tmp_path / "shop.db")

    source = data(api_client, REGISTER, input={"name": "shop", "kind": "sqlite", "description": "Web shop",
                                               "config": {"path": path}})["registerSource"]
    assert (source["name"], source["kind"], source["urn"]) == ("shop", "sqlite", "urn:catalog:source:shop")
    assert source["config"]["path"] == path and source["secretRefs"] == {}

    tested = data(api_client, "mutation($id: Int!) { testSource(id: $id) { ok server errorCode } }",
                  id=source["databaseId"])["testSource"]
    assert tested["ok"] and tested["server"].startswith("SQLite")

    job = data(api_client, "mutation($id: Int!) { crawlSource(id: $id, wait: true) { id kind status errorCode "
                           "errorMessage result sourceId finishedAt } }", id=source["databaseId"])["crawlSource"]
    assert job["status"] == "succeeded", job
    assert job["kind"] == "crawl" and job["sourceId"] == source["databaseId"] and job["finishedAt"]
    assert job["result"]["tables_created"] == 3
    assert data(api_client, "query($id: String!) { job(id: $id) { status } }", id=job["id"])["job"]["status"] == \
        "succeeded"

    tree = data(api_client, SOURCE_TREE, id=source["databaseId"])["source"]
    assert tree["lastCrawledAt"]
    tables = {t["node"]["name"]: t["node"] for t in tree["schemas"]["edges"][0]["node"]["tables"]["edges"]}
    assert sorted(tables) == ["big_orders", "customers", "orders"]
    assert tables["big_orders"]["kind"] == "view" and "amount > 100" in tables["big_orders"]["viewDefinition"]
    assert [c["node"]["name"] for c in tables["orders"]["columns"]["edges"]] == \
        ["id", "customer_id", "amount", "placed_at"]
    assert tables["orders"]["foreignKeys"][0]["referred_table"] == "customers"
    by_name = data(api_client, '{ source(name: "shop") { id databaseId } }')["source"]
    assert by_name == {"id": source["id"], "databaseId": source["databaseId"]}

    updated = data(api_client, """mutation($id: Int!) { updateSource(id: $id, input: {description: "Shop DB"}) {
        description } }""", id=source["databaseId"])
    assert updated["updateSource"]["description"] == "Shop DB"

    assert data(api_client, "mutation($id: Int!) { deleteSource(id: $id) }", id=source["databaseId"]) == {"deleteSource": True}
    assert source_count(catalog_ctx) == 0
    gone = error(api_client, "query($id: Int!) { source(id: $id) { name } }", id=source["databaseId"])
    assert gone["extensions"]["code"] == "not_found"
    assert error(api_client, "query($urn: String!) { table(urn: $urn) { name } }",
                 urn=dataset_urn("shop", "main", "orders"))["extensions"]["code"] == "not_found"


def test_source_needs_exactly_one_of_id_and_name(api_client):
    found = error(api_client, "{ source { name } }")
    assert (found["extensions"]["code"], found["extensions"]["field"]) == ("invalid_input", "id")
