"""Quality rules through GraphQL: the same rules, checks, history and rule files as REST; a viewer is refused every
mutation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from tests.support.auth import secured_catalog
from tests.support.graphql import data, error
from tests.support.quality import CUSTOMERS, ORDERS, add_all, rules_catalog

RULE_FIELDS = "id databaseId tableUrn name kind column params severity owner version updatedBy"
ADD = f"""mutation($table: String!, $rule: QualityRuleInput!) {{
  addQualityRule(table: $table, rule: $rule) {{ {RULE_FIELDS} }} }}"""
UPDATE = f"mutation($id: Int!, $rule: QualityRuleInput!) {{ updateQualityRule(id: $id, rule: $rule) {{ {RULE_FIELDS} }} }}"
REMOVE = "mutation($id: Int!) { removeQualityRule(id: $id) { name version } }"
READ = f"""query($table: String!) {{ qualityRules(table: $table) {{ {RULE_FIELDS} }}
  qualityRuleHistory(table: $table) {{ ruleName change version before after actor }} }}"""
APPLY = """mutation($file: JSON!, $dry: Boolean!) { applyQualityRules(file: $file, dryRun: $dry) {
  dryRun added changed removed unchanged changes { tableUrn name change } } }"""


@pytest.fixture
def ruled(catalog_ctx, api_client):
    rules_catalog(catalog_ctx)
    return api_client


def test_rules_are_added_updated_and_removed_through_graphql(ruled):
    rule = {"name": "status_values", "kind": "accepted_values", "column": "status",
            "params": {"values": ["open", "shipped"]}, "severity": "warning", "owner": "sales-data"}
    added = data(ruled, ADD, table=ORDERS, rule=rule)["addQualityRule"]
    assert {k: added[k] for k in ("tableUrn", "name", "params", "severity", "version", "updatedBy")} == {
        "tableUrn": ORDERS, "name": "status_values", "params": {"values": ["open", "shipped"]},
        "severity": "warning", "version": 1, "updatedBy": "local"}
    updated = data(ruled, UPDATE, id=added["databaseId"], rule={**rule, "params": {"values": ["open"]}})["updateQualityRule"]
    assert (updated["version"], updated["params"]) == (2, {"values": ["open"]})

    read = data(ruled, READ, table=ORDERS)
    assert read["qualityRules"] == [updated]
    assert [(h["change"], h["version"]) for h in read["qualityRuleHistory"]] == [("updated", 2), ("created", 1)]
    assert read["qualityRuleHistory"][0]["before"]["params"] == {"values": ["open", "shipped"]}

    assert data(ruled, REMOVE, id=added["databaseId"])["removeQualityRule"] == {"name": "status_values", "version": 2}
    assert data(ruled, READ, table=ORDERS)["qualityRules"] == []
    assert error(ruled, REMOVE, id=added["databaseId"])["extensions"]["code"] == "not_found"


def test_a_bad_rule_is_refused_naming_the_field(ruled):
    refused = error(ruled, ADD, table=ORDERS, rule={"name": "r", "kind": "length", "column": "status",
                                                     "params": {"min": 4, "max": 1}})
    assert (refused["extensions"]["code"], refused["extensions"]["field"]) == ("invalid_input", "params.max")
    refused = error(ruled, ADD, table=ORDERS, rule={"name": "r", "kind": "custom_sql",
                                                     "params": {"sql": "DROP TABLE sales.orders"}})
    assert refused["extensions"]["field"] == "params.sql"
    assert data(ruled, READ, table=ORDERS)["qualityRules"] == []


def test_rule_files_round_trip_through_graphql(ruled, catalog_ctx):
    add_all(catalog_ctx)
    exported = data(ruled, 'query { qualityRuleFile(source: "erp") }')["qualityRuleFile"]
    same = data(ruled, APPLY, file=exported, dry=False)["applyQualityRules"]
    assert (same["added"], same["changed"], same["removed"], same["changes"]) == (0, 0, 0, [])
    only_orders = {"source": "erp", "tables": [t for t in exported["tables"] if t["table"] == "orders"]}
    planned = data(ruled, APPLY, file=only_orders, dry=True)["applyQualityRules"]
    assert planned["dryRun"] and {c["tableUrn"] for c in planned["changes"]} == {CUSTOMERS}
    assert data(ruled, 'query { qualityRuleFile(source: "erp") }')["qualityRuleFile"] == exported


def test_a_viewer_reads_rules_but_cannot_change_them(tmp_path):
    catalog = secured_catalog(tmp_path)
    rules_catalog(catalog.ctx)
    try:
        with TestClient(create_app(ctx=catalog.ctx)) as client:
            rule = {"name": "ids", "kind": "unique", "column": "id"}
            variables = {"table": ORDERS, "rule": rule}
            viewer = client.post("/graphql", headers=catalog.headers("viewer"),
                                 json={"query": ADD, "variables": variables}).json()
            assert viewer["errors"][0]["extensions"]["code"] == "forbidden"
            curator = client.post("/graphql", headers=catalog.headers("curator"),
                                  json={"query": ADD, "variables": variables}).json()
            assert curator["data"]["addQualityRule"]["name"] == "ids"
            read = client.post("/graphql", headers=catalog.headers("viewer"),
                               json={"query": READ, "variables": {"table": ORDERS}}).json()
            assert [r["name"] for r in read["data"]["qualityRules"]] == ["ids"]
    finally:
        catalog.ctx.close()


def test_results_and_health_through_graphql(ruled, catalog_ctx):
    from catalog_api.services import quality
    from tests.support.catalog import query

    add_all(catalog_ctx)
    rule_id = query(catalog_ctx, quality.find_rule, ORDERS, "total_in_range").id
    quality.record_results(catalog_ctx, ORDERS, "run-1", [quality.RuleOutcome(rule_id, "passed", observed=42.5)])
    found = data(ruled, """query($id: Int!, $table: String!) {
      qualityResults(id: $id) { runId outcome observed masked ruleName }
      latestQualityResults(table: $table) { runId outcome observed masked ruleName }
      qualityHealth(table: $table) { rules passing notEvaluated failingRules } }""", id=rule_id, table=ORDERS)
    assert found["qualityResults"] == [{"runId": "run-1", "outcome": "passed", "observed": 42.5, "masked": [],
                                        "ruleName": "total_in_range"}]
    assert found["latestQualityResults"] == found["qualityResults"]  # the only rule evaluated
    assert found["qualityHealth"] == {"rules": 5, "passing": 1, "notEvaluated": 4, "failingRules": []}
    on_table = data(ruled, """query($table: String!) { table(urn: $table) {
      qualityRules { name } qualityHealth { rules passing notEvaluated failingRules } } }""", table=ORDERS)["table"]
    assert on_table["qualityHealth"] == found["qualityHealth"]
    assert [r["name"] for r in on_table["qualityRules"]] == ["fresh", "id_not_null", "no_orphans", "status_values",
                                                             "total_in_range"]
