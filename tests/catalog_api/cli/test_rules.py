"""`catalog rule add|list|remove|history|export|apply|run`: rules on the crawled shop, checked against the catalog's
rows; a rule file applied twice changes nothing the second time, and a dry run changes nothing at all."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import yaml

from tests.support.cli import rows, table_rows

ORDERS = "urn:catalog:dataset:shop:main:orders"
RULES = "select r.name, r.kind, r.params, r.version from quality_rules r order by r.name"
EVENTS = "select count(*) from event_outbox where type = 'catalog.quality.rule_changed'"


def test_add_list_remove_and_history_of_a_rule(shop, cli_in_process):
    added = cli_in_process("rule", "add", ORDERS, "amount_range", "--kind", "range", "--column", "amount",
                           "--param", "min=0", "--param", "max=1000", "--severity", "warning").stdout
    assert f"rule amount_range (range) added to {ORDERS}" in added
    assert [(n, k, json.loads(p) if isinstance(p, str) else p, v) for n, k, p, v in rows(shop, RULES)] == [
        ("amount_range", "range", {"min": 0, "max": 1000}, 1)]
    listed = json.loads(cli_in_process("rule", "list", "--json").stdout)
    assert [(r["table"], r["name"], r["column"], r["severity"]) for r in listed] == [
        (ORDERS, "amount_range", "amount", "warning")]
    assert table_rows(cli_in_process("rule", "list", "--source", "shop").stdout)[0][1:3] == ["amount_range", "range"]

    assert "removed" in cli_in_process("rule", "remove", ORDERS, "amount_range").stdout
    assert rows(shop, RULES) == []
    history = table_rows(cli_in_process("rule", "history", ORDERS).stdout)
    assert [(r[1], r[2], r[4]) for r in history] == [("amount_range", "removed", "local"),
                                                    ("amount_range", "created", "local")]


def test_a_bad_rule_names_its_field_and_changes_nothing(shop, cli_in_process):
    refused = cli_in_process("rule", "add", ORDERS, "r", "--kind", "regex", "--column", "placed_at",
                             "--param", "pattern=([", ok=False)
    assert refused.exit_code == 1
    assert "params.pattern: is not a valid regular expression" in refused.output
    refused = cli_in_process("rule", "add", ORDERS, "r", "--kind", "not_null", "--column", "nope", ok=False)
    assert f"column: {ORDERS} has no column 'nope'" in refused.output
    assert rows(shop, RULES) == [] and rows(shop, EVENTS) == [(0,)]


def test_export_then_apply_with_a_dry_run_and_twice(shop, cli_in_process, tmp_path):
    cli_in_process("rule", "add", ORDERS, "ids", "--kind", "unique", "--column", "id")
    cli_in_process("rule", "add", ORDERS, "rows", "--kind", "row_count", "--param", "min=1")
    exported = cli_in_process("rule", "export", "shop").stdout
    document = yaml.safe_load(exported)
    assert document == {"source": "shop", "tables": [{"schema": "main", "table": "orders", "rules": [
        {"name": "ids", "kind": "unique", "column": "id", "params": {}, "severity": "error"},
        {"name": "rows", "kind": "row_count", "params": {"min": 1}, "severity": "error"}]}]}

    rules = document["tables"][0]["rules"]
    rules[1]["params"]["max"] = 10_000
    rules.pop(0)
    rules.append({"name": "fresh", "kind": "freshness", "column": "placed_at", "params": {"max_age": "2d"},
                  "owner": "shop-team"})
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(document))
    before_rules, before_events = rows(shop, RULES), rows(shop, EVENTS)

    planned = cli_in_process("rule", "apply", str(tmp_path / "rules.yaml"), "--dry-run").stdout
    assert f"+ {ORDERS} fresh" in planned and f"- {ORDERS} ids" in planned and f"~ {ORDERS} rows: params" in planned
    assert "1 added, 1 changed, 1 removed, 0 unchanged (would be applied with no --dry-run)" in planned
    assert rows(shop, RULES) == before_rules and rows(shop, EVENTS) == before_events

    applied = cli_in_process("rule", "apply", str(tmp_path / "rules.yaml")).stdout
    assert "shop: 1 added, 1 changed, 1 removed, 0 unchanged" in applied
    assert [r[0] for r in rows(shop, RULES)] == ["fresh", "rows"]
    events = rows(shop, EVENTS)
    again = cli_in_process("rule", "apply", str(tmp_path / "rules.yaml")).stdout
    assert "shop: 0 added, 0 changed, 0 removed, 2 unchanged" in again
    assert rows(shop, EVENTS) == events == [(before_events[0][0] + 3,)]
    assert yaml.safe_load(cli_in_process("rule", "export", "shop").stdout)["tables"][0]["rules"][0] == {
        "name": "fresh", "kind": "freshness", "column": "placed_at", "params": {"max_age": "2d"}, "severity": "error",
        "owner": "shop-team"}


def test_run_evaluates_custom_sql_and_freshness_against_the_source(shop, cli_in_process, tmp_path):
    with sqlite3.connect(tmp_path / "sources" / "shop.db") as db:
        db.execute("insert into customers values (1, 'a@example.com', 'A')")
        db.executemany("insert into orders values (?, 1, ?, ?)",
                       [(i, 50 * i, (datetime.now(UTC) - timedelta(hours=i)).isoformat()) for i in range(1, 6)])
    big = "SELECT id, amount FROM orders WHERE amount > 100"
    cli_in_process("rule", "add", ORDERS, "no_big", "--kind", "custom_sql", "--param", f"sql={big}")
    cli_in_process("rule", "add", ORDERS, "fresh", "--kind", "freshness", "--column", "placed_at",
                   "--param", "max_age=30m")
    cli_in_process("rule", "add", ORDERS, "amount_cap", "--kind", "range", "--column", "amount", "--param", "max=100")

    run = cli_in_process("rule", "run", "shop").stdout
    assert "aggregate rules: profile job" in run  # the range rule is evaluated by the profile the run queued
    listed = {r[1]: r for r in table_rows(run)}
    with sqlite3.connect(tmp_path / "sources" / "shop.db") as db:
        expected = db.execute(f"select count(*) from ({big})").fetchone()[0]
    assert (listed["no_big"][2], listed["no_big"][3]) == ("failed", str(expected))
    assert listed["fresh"][2] == "failed" and listed["fresh"][4].startswith("max(placed_at) is 1h")
    stored = rows(shop, "select r.name, q.outcome, q.failing_rows from quality_results q "
                        "join quality_rules r on r.id = q.rule_id order by r.name")
    assert stored == [("amount_cap", "failed", expected), ("fresh", "failed", None), ("no_big", "failed", expected)]
    assert (listed["amount_cap"][2], listed["amount_cap"][3]) == ("failed", str(expected))
