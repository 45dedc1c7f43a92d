"""`diff` is pure: it reports every change between two snapshots, and nothing when they are equal.

The cases are data (tests/crawlers/diff_cases/*.json): two snapshots and what `diff` must report. A table in a
case starts as `orders` in schema `s` with integer columns c1 (not null, the primary key `pk`), c2 and c3; a case
states only what differs. Expected changes are compared on the fields they name (`after[0].on_delete` reaches
into a value), in order when `changes_in_order` is set and as a multiset otherwise; no other change may appear.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from crawlers.diff import Change, ChangeType, diff
from crawlers.snapshot import (
    ColumnSnapshot,
    ForeignKey,
    IndexSnapshot,
    SchemaSnapshot,
    SourceSnapshot,
    TableKind,
    TableSnapshot,
    UniqueConstraint,
)

CASES = sorted((Path(__file__).parent / "diff_cases").glob("*.json"))


def make_table(name: str = "orders", schema: str = "s", columns: int = 3, **fields) -> TableSnapshot:
    cols = tuple(ColumnSnapshot(f"c{i}", i, "integer", nullable=i > 1) for i in range(1, columns + 1))
    return TableSnapshot(schema=schema, name=name, columns=cols, primary_key=UniqueConstraint("pk", ("c1",)),
                         **fields)


def make_source(*tables: TableSnapshot, schemas: tuple[str, ...] = ("s",)) -> SourceSnapshot:
    return SourceSnapshot(schemas=tuple(SchemaSnapshot(s) for s in schemas), tables=tables)


# -- reading a case ---------------------------------------------------------------------------------------------

def _table(spec: dict[str, Any]) -> TableSnapshot:
    spec = dict(spec)
    columns = spec.pop("columns", 3)
    fields: dict[str, Any] = {}
    if "kind" in spec:
        fields["kind"] = TableKind(spec.pop("kind"))
    if "primary_key" in spec:
        key = spec.pop("primary_key")
        fields["primary_key"] = key and UniqueConstraint(key["name"], tuple(key["columns"]))
    if "indexes" in spec:
        fields["indexes"] = tuple(IndexSnapshot(**{**i, "columns": tuple(i["columns"])}) for i in spec.pop("indexes"))
    if "foreign_keys" in spec:
        fields["foreign_keys"] = tuple(
            ForeignKey(**{**fk, "columns": tuple(fk["columns"]), "referred_columns": tuple(fk["referred_columns"])})
            for fk in spec.pop("foreign_keys"))
    key = fields.pop("primary_key", None) if "primary_key" in fields else make_table().primary_key
    table = replace(make_table(spec.pop("name", "orders"), spec.pop("schema", "s"),
                               columns if isinstance(columns, int) else 0, **spec, **fields), primary_key=key)
    if not isinstance(columns, int):
        table = replace(table, columns=tuple(ColumnSnapshot(**c) for c in columns))
    return table


def _source(spec: dict[str, Any]) -> SourceSnapshot:
    return make_source(*(_table(t) for t in spec.get("tables", [])), schemas=tuple(spec.get("schemas", ["s"])))


def _field(change: Change, path: str) -> Any:
    """A change's field, or a part of one: `after[0].on_delete`."""
    value: Any = change
    for part in path.split("."):
        name, *indexes = re.findall(r"[^\[\]]+", part)
        value = getattr(value, name) if isinstance(value, Change) else value[name]
        for index in indexes:
            value = value[int(index)]
    return value.value if isinstance(value, ChangeType) else value


def _shown(change: Change, expected: dict[str, Any]) -> dict[str, Any] | None:
    """The fields of `change` that `expected` names; None when the change has no such field (another shape)."""
    try:
        return {path: _field(change, path) for path in expected}
    except (KeyError, IndexError, TypeError):
        return None


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_diff_case(path: Path):
    case = json.loads(path.read_text())
    before, after = _source(case["before"]), _source(case["after"])
    result = diff(before, after)

    if "empty" in case:
        assert result.empty is case["empty"]
    if "changes" in case:
        expected = case["changes"]
        if case.get("changes_in_order"):
            assert [_shown(c, e) for c, e in zip(result.changes, expected, strict=False)] == expected
            assert len(result.changes) == len(expected), result.changes
        else:
            unmatched = list(result.changes)
            for wanted in expected:
                match = next((c for c in unmatched if _shown(c, wanted) == wanted), None)
                assert match is not None, (wanted, unmatched)
                unmatched.remove(match)
            assert unmatched == [], unmatched
    if "tables_created" in case:
        assert [t.key for t in result.tables_created] == [tuple(k) for k in case["tables_created"]]
    if "tables_deleted" in case:
        assert result.tables_deleted == tuple(tuple(k) for k in case["tables_deleted"])
    if "tables_changed" in case:
        tables = after.table_map()
        assert result.tables_changed == tuple(tables[tuple(k)] for k in case["tables_changed"])


def test_there_are_diff_cases():
    assert len(CASES) >= 6


# -- procedural ---------------------------------------------------------------------------------------------------

def test_definition_hash_ignores_volatile_fields_only():
    table = make_table(row_estimate=5)
    assert table.definition_hash() == replace(table, row_estimate=6).definition_hash()
    assert table.definition_hash() != replace(table, comment="x").definition_hash()
