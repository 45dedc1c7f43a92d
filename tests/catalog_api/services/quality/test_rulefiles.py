"""Rule files: a source's rules exported, applied to a fresh catalog and exported again unchanged; a second apply and
a dry run store nothing; a document with mistakes stores none of its rules and names each mistake."""

from __future__ import annotations

import json

import pytest

from catalog_api.errors import InvalidInput
from catalog_api.services import quality
from crawlers.snapshot import ColumnSnapshot, SchemaSnapshot, SourceSnapshot
from tests.support.catalog import query
from tests.support.events import outbox
from tests.support.factories import apply, make_source, make_table
from tests.support.quality import CUSTOMERS, ORDERS, RULES, rules_catalog
from tests.support.statements import counted_statements


@pytest.fixture
def fresh(tmp_path, catalog_settings):
    """A second, empty catalog with the same tables (as another environment would have them)."""
    from catalog_api.bootstrap import build_context

    ctx = build_context(catalog_settings.model_copy(update={"home": tmp_path / "other"}), migrate=True)
    rules_catalog(ctx)
    yield ctx
    ctx.close()


def state(ctx) -> tuple[int, int]:
    """(events in the outbox, rule history rows): what an apply that changes nothing must leave alone."""
    with ctx.db.session() as session:
        history = sum(len(quality.rule_history(session, urn, limit=1000)) for urn in RULES)
    return len(outbox(ctx)), history


def test_export_apply_on_a_fresh_catalog_and_export_again_round_trips(ruled, fresh):
    exported = quality.dump_yaml(query(ruled, quality.export_rules, "erp"))
    diff = quality.apply_rules(fresh, quality.load_yaml(exported))
    assert (diff.added, diff.changed, diff.removed, diff.unchanged) == (7, 0, 0, 0)
    assert quality.dump_yaml(query(fresh, quality.export_rules, "erp")) == exported

    document = quality.load_yaml(exported)
    assert [t["table"] for t in document["tables"]] == ["customers", "orders"]  # by schema, then table
    orders = document["tables"][1]["rules"]
    assert [r["name"] for r in orders] == sorted(r["name"] for r in RULES[ORDERS])  # by name
    assert next(r for r in orders if r["name"] == "id_not_null") == {
        "name": "id_not_null", "kind": "not_null", "column": "id", "params": {}, "severity": "error"}


def test_a_second_apply_and_a_dry_run_change_nothing(ruled):
    document = query(ruled, quality.export_rules, "erp")
    before, rules = state(ruled), query(ruled, quality.list_rules)
    again = quality.apply_rules(ruled, document)
    assert (again.added, again.changed, again.removed, again.unchanged, again.changes) == (0, 0, 0, 7, [])
    assert state(ruled) == before and query(ruled, quality.list_rules) == rules

    edited = json.loads(json.dumps(document))
    orders = edited["tables"][1]["rules"]
    orders[0]["severity"] = "warning"                   # changed
    del orders[1]                                       # removed
    orders.append({"name": "status_len", "kind": "length", "column": "status", "params": {"max": 12}})  # added
    planned = quality.apply_rules(ruled, edited, dry_run=True)
    assert (planned.dry_run, planned.added, planned.changed, planned.removed, planned.unchanged) == (True, 1, 1, 1, 5)
    assert [(c.name, c.change) for c in planned.changes] == [
        (orders[0]["name"], "changed"), ("id_not_null", "removed"), ("status_len", "added")]
    assert state(ruled) == before and query(ruled, quality.list_rules) == rules

    applied = quality.apply_rules(ruled, edited)
    assert applied.changes == planned.changes and not applied.dry_run
    events = [json.loads(e.event)["data"] for e in outbox(ruled)[before[0]:]]
    assert sorted((e["rule"], e["change"]) for e in events) == [
        (orders[0]["name"], "updated"), ("id_not_null", "removed"), ("status_len", "created")]
    orders[-1]["severity"] = "error"  # the default, which the export writes
    edited["tables"][1]["rules"] = sorted(orders, key=lambda r: r["name"])
    assert query(ruled, quality.export_rules, "erp") == edited
    assert quality.apply_rules(ruled, query(ruled, quality.export_rules, "erp")).changes == []


def test_a_document_with_mistakes_stores_nothing_and_names_each_mistake(ruled):
    before, rules = state(ruled), query(ruled, quality.list_rules)
    document = {"source": "erp", "tables": [
        {"schema": "sales", "table": "orders", "rules": [
            {"name": "ok", "kind": "not_null", "column": "id"},
            {"name": "bad_range", "kind": "range", "column": "total", "params": {"min": 9, "max": 1}},
            {"name": "ok", "kind": "unique", "column": "id"},
        ]},
        {"schema": "sales", "table": "returns", "rules": []},
        {"schema": "sales", "table": "customers", "rules": [{"name": "x", "kind": "regex", "column": "nope",
                                                             "params": {"pattern": "a"}}]},
    ]}
    with pytest.raises(InvalidInput) as refused:
        quality.apply_rules(ruled, document)
    assert [p.field for p in refused.value.problems] == [
        "tables.0.rules.1.params.max", "tables.0.rules.2.name", "tables.1", "tables.2.rules.0.column"]
    assert state(ruled) == before and query(ruled, quality.list_rules) == rules


@pytest.mark.parametrize(("text", "field", "reason"), [
    ("source: [", "file", "is not valid YAML at line 1"),
    ("- just a list", "file", "a rule file is a mapping"),
    ("source: erp\ntables: {}\n", "tables", "valid list"),
    ("source: erp\nextra: 1\n", "extra", "unknown field"),
    ("source: nowhere\n", "id", "no source 'nowhere'"),
])
def test_a_malformed_file_is_refused_naming_where(ruled, text, field, reason):
    with pytest.raises(Exception) as refused:
        quality.apply_rules(ruled, quality.load_yaml(text))
    assert refused.value.field == field and reason in refused.value.message


def test_the_rules_of_a_table_gone_from_its_source_are_kept_and_left_alone(ruled):
    from catalog_api.db.models import Table, utcnow

    with ruled.db.session() as session:  # as a crawl leaves a table that disappeared: soft-deleted
        session.query(Table).filter(Table.urn == CUSTOMERS).update({"deleted_at": utcnow()})
    exported = query(ruled, quality.export_rules, "erp")
    assert [t["table"] for t in exported["tables"]] == ["orders"]
    assert quality.apply_rules(ruled, exported).changes == []
    assert len(query(ruled, quality.list_rules, table_urn=CUSTOMERS)) == len(RULES[CUSTOMERS])


def _wide_source(ctx, name: str, tables: int) -> None:
    """Source `name` with `tables` tables t0.. of four text columns c1..c4."""
    columns = tuple(ColumnSnapshot(f"c{i}", i, "text") for i in range(1, 5))
    apply(ctx, make_source(ctx, name), SourceSnapshot(schemas=(SchemaSnapshot("main"),), tables=tuple(
        make_table("main", f"t{n}", columns) for n in range(tables))))


def _wide_file(name: str, tables: int, rules: int) -> dict:
    kinds = [{"kind": "not_null", "column": "c1"}, {"kind": "range", "column": "c2", "params": {"min": 0}},
             {"kind": "row_count", "params": {"min": 1}}, {"kind": "regex", "column": "c3", "params": {"pattern": "x"}}]
    return {"source": name, "tables": [{"schema": "main", "table": f"t{n}", "rules": [
        {"name": f"r{r}", **kinds[r % len(kinds)]} for r in range(rules)]} for n in range(tables)]}


def _statements(ctx, step) -> int:
    with counted_statements(ctx.db.engine) as statements:
        step()
    return len(statements)


def test_an_apply_runs_the_same_number_of_statements_whatever_the_file_holds(catalog_ctx):
    counts = []
    for name, tables, rules in (("small", 2, 2), ("large", 12, 9)):
        _wide_source(catalog_ctx, name, tables)
        document = _wide_file(name, tables, rules)
        edited = json.loads(json.dumps(document))
        for entry in edited["tables"]:
            entry["rules"][0]["severity"] = "warning"  # changed
            del entry["rules"][1]                      # removed
            entry["rules"].append({"name": "added", "kind": "unique", "column": "c4"})
        counts.append([_statements(catalog_ctx, lambda d=d, dry=dry: quality.apply_rules(catalog_ctx, d, dry_run=dry))
                       for d, dry in ((document, False), (document, False), (edited, True), (edited, False))])
        assert len(query(catalog_ctx, quality.list_rules, source=name)) == tables * rules
        assert len(query(catalog_ctx, quality.rule_history, f"urn:catalog:dataset:{name}:main:t0")) == rules + 3
    assert counts[0] == counts[1], counts  # first apply, idempotent apply, dry run, apply of the edits
