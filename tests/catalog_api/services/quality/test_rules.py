"""Quality rules through the service: added, replaced and removed with history and events, on SQLite and PostgreSQL;
every kind's parameters checked, and a refused rule leaves nothing behind."""

from __future__ import annotations

import json

import pytest

from catalog_api.errors import Conflict, InvalidInput, NotFound
from catalog_api.security.identity import Identity, acting_as
from catalog_api.services import quality
from tests.support.catalog import query
from tests.support.events import outbox
from tests.support.quality import CUSTOMERS, ORDERS, rules_catalog_store  # noqa: F401 (fixture: store)

ANA = Identity(subject="k1", name="ana", method="api_key", roles=frozenset({"curator"}))


def rule_events(ctx) -> list[dict]:
    return [json.loads(row.event) for row in outbox(ctx) if row.type == "catalog.quality.rule_changed"]


def test_a_rule_is_added_replaced_and_removed_with_its_history_and_events(store):
    with acting_as(ANA):
        added = quality.add_rule(store, ORDERS, {"name": "total_in_range", "kind": "range", "column": "total",
                                                 "params": {"min": 0}, "severity": "warning"})
        assert (added.table_urn, added.version, added.params, added.created_by) == (ORDERS, 1, {"min": 0}, "api_key:k1")
        changed = quality.update_rule(store, added.id, {"name": "total_in_range", "kind": "range", "column": "total",
                                                        "params": {"min": 0, "max": 100}, "owner": "sales-data"})
        same = quality.update_rule(store, added.id, {"name": "total_in_range", "kind": "range", "column": "total",
                                                     "params": {"max": 100, "min": 0}, "owner": "sales-data"})
        assert (changed.version, changed.severity, same.version) == (2, "error", 2)
        assert query(store, quality.list_rules, table_urn=ORDERS) == [same]
        quality.remove_rule(store, added.id)

    assert query(store, quality.list_rules, source="erp") == []
    history = query(store, quality.rule_history, ORDERS, name="total_in_range")
    assert [(h.change, h.version, h.actor) for h in history] == [
        ("removed", 2, "api_key:k1"), ("updated", 2, "api_key:k1"), ("created", 1, "api_key:k1")]
    assert history[1].before["params"] == {"min": 0} and history[1].after["params"] == {"min": 0, "max": 100}
    assert history[0].after is None and history[2].before is None

    events = rule_events(store)
    assert [(e["data"]["change"], e["subject"], e["actor"], e["data"]["changed_by"]) for e in events] == [
        ("created", ORDERS, "api_key:k1", "ana"), ("updated", ORDERS, "api_key:k1", "ana"),
        ("removed", ORDERS, "api_key:k1", "ana")]
    assert events[1]["data"]["before"] == history[1].before and events[1]["data"]["after"] == history[1].after


def test_a_table_has_one_rule_per_name_and_rules_only_on_its_live_columns(store):
    quality.add_rule(store, ORDERS, {"name": "id_not_null", "kind": "not_null", "column": "id"})
    with pytest.raises(Conflict) as taken:
        quality.add_rule(store, ORDERS, {"name": "id_not_null", "kind": "unique", "column": "id"})
    assert taken.value.field == "name"
    quality.add_rule(store, CUSTOMERS, {"name": "id_not_null", "kind": "not_null", "column": "id"})  # other table
    with pytest.raises(InvalidInput) as no_column:
        quality.add_rule(store, ORDERS, {"name": "x", "kind": "not_null", "column": "email"})
    assert (no_column.value.field, no_column.value.problems[0].reason) == (
        "column", f"{ORDERS} has no column 'email'")
    with pytest.raises(NotFound):
        quality.add_rule(store, ORDERS.replace("orders", "returns"), {"name": "x", "kind": "row_count",
                                                                      "params": {"min": 1}})
    with pytest.raises(NotFound):
        quality.update_rule(store, 999_999, {"name": "x", "kind": "row_count", "params": {"min": 1}})
    assert [r.table_urn for r in query(store, quality.list_rules)] == [CUSTOMERS, ORDERS]


INVALID = [
    ({"kind": "not_null"}, "column", "a not_null rule checks a column: name it"),
    ({"kind": "row_count", "column": "id", "params": {"min": 1}}, "column",
     "a row_count rule checks the whole table: give no column"),
    ({"kind": "nope", "column": "id"}, "kind", "Input should be 'not_null'"),
    ({"kind": "not_null", "column": "id", "params": {"min": 1}}, "params.min", "unknown field"),
    ({"kind": "accepted_values", "column": "status", "params": {"values": []}}, "params.values", "at least 1 item"),
    ({"kind": "accepted_values", "column": "status", "params": {"values": list(range(1001))}}, "params.values",
     "at most 1000 items"),
    ({"kind": "accepted_values", "column": "status", "params": {"values": ["a", "a"]}}, "params.values",
     "lists a value twice"),
    ({"kind": "range", "column": "total", "params": {}}, "params.max", "give min, max or both"),
    ({"kind": "range", "column": "total", "params": {"min": 5, "max": 1}}, "params.max", "must be at least min (5)"),
    ({"kind": "range", "column": "total", "params": {"min": "0"}}, "params.min", "must be a number"),
    ({"kind": "regex", "column": "status", "params": {"pattern": "(open"}}, "params.pattern",
     "is not a valid regular expression"),
    ({"kind": "regex", "column": "status", "params": {"pattern": "a" * 1001}}, "params.pattern", "at most 1000"),
    ({"kind": "length", "column": "status", "params": {"min": -1, "max": 3}}, "params.min",
     "greater than or equal to 0"),
    ({"kind": "type_conformance", "column": "status", "params": {"type": "money"}}, "params.type", "Input should be"),
    ({"kind": "row_count_change", "params": {"max_decrease_pct": 150}}, "params.max_decrease_pct",
     "less than or equal to 100"),
    ({"kind": "freshness", "params": {"max_age": "6 hours"}}, "params.max_age", "e.g. 30m, 6h or 2d"),
    ({"kind": "custom_sql", "params": {"sql": "DELETE FROM sales.orders"}}, "params.sql",
     "must be a SELECT that returns the failing rows"),
    ({"kind": "custom_sql", "params": {"sql": "SELECT 1; SELECT 2"}}, "params.sql",
     "must be exactly one statement, found 2"),
    ({"kind": "custom_sql", "params": {"sql": "SELECT * INTO copy FROM sales.orders"}}, "params.sql",
     "must only read: it holds INTO"),
    ({"kind": "custom_sql", "params": {"sql": "SELECT FROM WHERE ("}}, "params.sql", "does not parse as sqlite SQL"),
    ({"kind": "custom_sql", "params": {"sql": "SELECT id FROM orders WHERE reflect('java.lang.System', 'exit', 1) "
                                              "IS NULL", "run_against": "lake"}}, "params.sql",
     "may not call reflect(): it reaches outside Spark SQL"),
    ({"kind": "custom_sql", "params": {"sql": "SELECT * FROM read_files('/etc/passwd')", "run_against": "lake"}},
     "params.sql", "may read only tables of the source (and range()), not read_files()"),
    ({"kind": "custom_sql", "params": {"sql": "SELECT 1", "run_against": "warehouse"}}, "params.run_against",
     "Input should be 'source' or 'lake'"),
    ({"kind": "not_null", "column": "id", "severity": "fatal"}, "severity", "Input should be 'warning' or 'error'"),
    ({"kind": "not_null", "column": "id", "name": "has space"}, "name", "should match pattern"),
    ({"kind": "not_null", "column": "id", "owner": "o" * 256}, "owner", "at most 255"),
]


@pytest.mark.parametrize(("rule", "field", "reason"), INVALID, ids=[f"{r['kind']}-{f}" for r, f, _ in INVALID])
def test_each_kind_refuses_bad_parameters_naming_the_field(store, rule, field, reason):
    with pytest.raises(InvalidInput) as refused:
        quality.add_rule(store, ORDERS, {"name": "r", **rule})
    assert refused.value.field == field
    assert reason in refused.value.problems[0].reason
    assert query(store, quality.list_rules) == []
    assert rule_events(store) == []


def test_custom_sql_runs_against_the_lake_where_the_source_speaks_no_sql(store):
    from catalog_api.db.models import DataSource

    with store.db.session() as session:  # a files source: no SQL to run against it, only against the lake
        session.query(DataSource).filter_by(name="erp").update({"kind": "files"})
    sql = "SELECT id FROM orders WHERE total < 0"
    with pytest.raises(InvalidInput) as refused:
        quality.add_rule(store, ORDERS, {"name": "q", "kind": "custom_sql", "params": {"sql": sql}})
    assert refused.value.field == "params.sql"
    assert "run the query against the lake" in refused.value.problems[0].reason
    added = quality.add_rule(store, ORDERS, {"name": "q", "kind": "custom_sql",
                                             "params": {"sql": sql, "run_against": "lake"}})
    assert added.params == {"sql": sql, "run_against": "lake", "max_failing_rows": 0}


def test_a_name_taken_between_the_check_and_the_insert_is_a_conflict(store):
    from catalog_api.services.quality import rules

    quality.add_rule(store, ORDERS, {"name": "ids", "kind": "unique", "column": "id"})
    with pytest.raises(Conflict) as taken, store.db.session() as session:  # as a concurrent request would find it
        table = rules.live_table(session, ORDERS)
        rules.create(session, table, rules.check(session, table, {"name": "ids", "kind": "not_null", "column": "id"}))
    assert taken.value.field == "name"
    assert [(r.name, r.kind) for r in query(store, quality.list_rules)] == [("ids", "unique")]
