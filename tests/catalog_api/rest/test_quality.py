"""Quality rules over REST: a curator adds, replaces and removes rules and applies rule files; a viewer reads them and
is refused every change; bad rules answer 422 naming the field, and store nothing. An operator runs the light rules
now (`POST /quality/run`, `runQualityRules`) and everyone reads their results."""

from __future__ import annotations

import sqlite3
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from catalog_api.services import quality
from catalog_api.urns import dataset_urn
from tests.support.auth import secured_catalog
from tests.support.catalog import crawl
from tests.support.graphql import data
from tests.support.jobs import rest_job
from tests.support.quality import CUSTOMERS, ORDERS, RULES, add_all, rules_catalog
from tests.support.sources import register_sqlite

RANGE = {"name": "total_in_range", "kind": "range", "column": "total", "params": {"min": 0}, "severity": "warning"}


@pytest.fixture
def secured(tmp_path):
    catalog = secured_catalog(tmp_path)
    rules_catalog(catalog.ctx)
    with TestClient(create_app(ctx=catalog.ctx)) as client:
        yield catalog, client
    catalog.ctx.close()


def test_a_curator_adds_replaces_and_removes_a_rule_a_viewer_reads_it(secured):
    catalog, client = secured
    curator, viewer = catalog.headers("curator"), catalog.headers("viewer")

    assert client.post("/api/v1/quality/rules", headers=viewer, json={"table": ORDERS, **RANGE}).status_code == 403
    created = client.post("/api/v1/quality/rules", headers=curator, json={"table": ORDERS, **RANGE})
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["table_urn"], rule["version"], rule["params"], rule["severity"]) == (ORDERS, 1, {"min": 0}, "warning")
    assert rule["created_by"].startswith("api_key:")
    again = client.post("/api/v1/quality/rules", headers=curator, json={"table": ORDERS, **RANGE})
    assert (again.status_code, again.json()["error"]["field"]) == (409, "name")

    path = f"/api/v1/quality/rules/{rule['id']}"
    assert client.put(path, headers=viewer, json=RANGE).status_code == 403
    replaced = client.put(path, headers=curator, json={**RANGE, "params": {"min": 0, "max": 10}})
    assert (replaced.status_code, replaced.json()["version"]) == (200, 2)
    assert client.get(path, headers=viewer).json() == replaced.json()
    listed = client.get(f"/api/v1/quality/rules?table={quote(ORDERS)}", headers=viewer)
    assert listed.json() == [replaced.json()]

    assert client.delete(path, headers=viewer).status_code == 403
    assert client.delete(path, headers=curator).status_code == 204
    assert client.get(path, headers=viewer).status_code == 404
    history = client.get(f"/api/v1/quality/history?table={quote(ORDERS)}&name=total_in_range", headers=viewer).json()
    assert [(h["change"], h["version"]) for h in history] == [("removed", 2), ("updated", 2), ("created", 1)]
    assert history[1]["before"]["params"] == {"min": 0} and history[1]["after"]["params"] == {"min": 0, "max": 10}


@pytest.mark.parametrize(("rule", "field"), [
    ({"kind": "regex", "column": "status", "params": {"pattern": "("}}, "params.pattern"),
    ({"kind": "range", "column": "total", "params": {"min": 3, "max": 1}}, "params.max"),
    ({"kind": "accepted_values", "column": "status", "params": {"values": "open"}}, "params.values"),
    ({"kind": "custom_sql", "params": {"sql": "UPDATE sales.orders SET total = 0"}}, "params.sql"),
    ({"kind": "row_count", "params": {"min": 1}, "column": "id"}, "column"),
    ({"kind": "not_null", "column": "missing"}, "column"),
    ({"kind": "sometimes", "column": "id"}, "kind"),
    ({"kind": "not_null", "column": "id", "owner": ""}, "owner"),
])
def test_a_bad_rule_answers_422_naming_the_field_and_stores_nothing(secured, rule, field):
    catalog, client = secured
    refused = client.post("/api/v1/quality/rules", headers=catalog.headers("curator"),
                          json={"table": ORDERS, "name": "r", **rule})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field
    assert client.get("/api/v1/quality/rules", headers=catalog.headers("viewer")).json() == []


def test_rule_files_export_apply_and_dry_run_over_rest(secured):
    catalog, client = secured
    add_all(catalog.ctx)
    curator, viewer = catalog.headers("curator"), catalog.headers("viewer")
    exported = client.get("/api/v1/quality/export?source=erp", headers=viewer).json()
    assert sum(len(t["rules"]) for t in exported["tables"]) == sum(len(r) for r in RULES.values())

    unchanged = client.post("/api/v1/quality/apply", headers=curator, json=exported).json()
    assert (unchanged["added"], unchanged["changed"], unchanged["removed"], unchanged["changes"]) == (0, 0, 0, [])
    assert client.post("/api/v1/quality/apply", headers=viewer, json=exported).status_code == 403

    without_customers = {"source": "erp", "tables": [t for t in exported["tables"] if t["table"] == "orders"]}
    planned = client.post("/api/v1/quality/apply?dry_run=true", headers=curator, json=without_customers).json()
    assert (planned["dry_run"], planned["removed"]) == (True, 2)
    assert {c["table_urn"] for c in planned["changes"]} == {CUSTOMERS}
    assert client.get("/api/v1/quality/export?source=erp", headers=viewer).json() == exported
    applied = client.post("/api/v1/quality/apply", headers=curator, json=without_customers).json()
    assert (applied["dry_run"], applied["removed"], applied["unchanged"]) == (False, 2, len(RULES[ORDERS]))
    assert client.get("/api/v1/quality/export?source=erp", headers=viewer).json() == without_customers

    bad = {**without_customers, "tables": [{**without_customers["tables"][0], "rules": [
        {"name": "x", "kind": "length", "column": "status", "params": {"min": 5, "max": 2}}]}]}
    refused = client.post("/api/v1/quality/apply", headers=curator, json=bad)
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "tables.0.rules.0.params.max")
    assert client.get("/api/v1/quality/export?source=erp", headers=viewer).json() == without_customers


def test_results_and_the_tables_health_are_read_over_rest(secured):
    from catalog_api.services import quality

    catalog, client = secured
    add_all(catalog.ctx)
    viewer = catalog.headers("viewer")
    rule = next(r for r in client.get(f"/api/v1/quality/rules?table={quote(ORDERS)}", headers=viewer).json()
                if r["name"] == "id_not_null")
    quality.record_results(catalog.ctx, ORDERS, "run-1", [quality.RuleOutcome(rule["id"], "failed", observed=2,
                                                                              failing_rows=2,
                                                                              sample_keys=[{"id": 4}])])
    results = client.get(f"/api/v1/quality/rules/{rule['id']}/results", headers=viewer).json()
    assert [(r["run_id"], r["outcome"], r["failing_rows"], r["sample_keys"]) for r in results] == [
        ("run-1", "failed", 2, [{"id": 4}])]
    latest = client.get(f"/api/v1/quality/results/latest?table={quote(ORDERS)}", headers=viewer).json()
    assert latest == results  # the one rule evaluated so far, by its newest result
    health = client.get(f"/api/v1/quality/health?table={quote(ORDERS)}", headers=viewer).json()
    assert (health["rules"], health["failing_errors"], health["failing_rules"], health["not_evaluated"]) == (
        len(RULES[ORDERS]), 1, ["id_not_null"], len(RULES[ORDERS]) - 1)


LITE_ORDERS = "create table orders (id integer primary key, total real); " + \
    "insert into orders values (1, -5), (2, 10), (3, -1), (4, 7);"
NEGATIVE = "SELECT id, total FROM orders WHERE total < 0"


def test_an_operator_runs_rules_now_over_rest_and_graphql_and_reads_the_results(tmp_path):
    catalog = secured_catalog(tmp_path)
    try:
        source_id = register_sqlite(catalog.ctx, tmp_path, "lite", LITE_ORDERS)
        crawl(catalog.ctx, source_id)
        table = dataset_urn("lite", "main", "orders")
        rule = quality.add_rule(catalog.ctx, table, {"name": "no_negative", "kind": "custom_sql",
                                                     "params": {"sql": NEGATIVE}})
        with TestClient(create_app(ctx=catalog.ctx)) as client:
            for role in ("viewer", "curator"):
                refused = client.post("/api/v1/quality/run", headers=catalog.headers(role), json={"source": "lite"})
                assert refused.status_code == 403
            operator = catalog.headers("operator")
            client.headers.update(operator)  # also for following the job
            wrong = client.post("/api/v1/quality/run", headers=operator,
                                json={"source": "lite", "tables": [dataset_urn("lite", "main", "nope")]})
            assert wrong.status_code in (404, 422) and wrong.json()["error"]["field"].startswith("tables"), wrong.text
            queued = client.post("/api/v1/quality/run", headers=operator, json={"source": "lite"})
            assert queued.status_code == 202, queued.text
            job = rest_job(client, queued.json())
            assert (job["kind"], job["status"], job["result"]["failed"]) == ("quality", "succeeded", 1)
            results = client.get(f"/api/v1/quality/rules/{rule.id}/results", headers=catalog.headers("viewer")).json()
            expected = sqlite3.connect(tmp_path / "lite.db").execute(f"select count(*) from ({NEGATIVE})").fetchone()
            assert [(r["outcome"], r["failing_rows"], r["run_id"]) for r in results] == [
                ("failed", expected[0], job["id"])]
            assert sorted(key["id"] for key in results[0]["sample_keys"]) == [1, 3]

            ran = data(client, 'mutation { runQualityRules(source: "lite", wait: true) { kind status } }')
            assert ran["runQualityRules"] == {"kind": "quality", "status": "succeeded"}
            assert len(client.get(f"/api/v1/quality/rules/{rule.id}/results").json()) == 2
    finally:
        catalog.ctx.close()
