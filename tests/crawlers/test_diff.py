"""`diff` is pure: it reports every change between two snapshots, and nothing when they are equal."""

from __future__ import annotations

from dataclasses import replace

from crawlers.diff import ChangeType, diff
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


def make_table(name: str = "orders", schema: str = "s", columns: int = 3, **fields) -> TableSnapshot:
    cols = tuple(ColumnSnapshot(f"c{i}", i, "integer", nullable=i > 1) for i in range(1, columns + 1))
    return TableSnapshot(schema=schema, name=name, columns=cols, primary_key=UniqueConstraint("pk", ("c1",)),
                         **fields)


def make_source(*tables: TableSnapshot, schemas: tuple[str, ...] = ("s",)) -> SourceSnapshot:
    return SourceSnapshot(schemas=tuple(SchemaSnapshot(s) for s in schemas), tables=tables)


def test_equal_snapshots_have_no_changes():
    table = make_table(indexes=(IndexSnapshot("ix", ("c2",)),))
    result = diff(make_source(table), make_source(make_table(indexes=(IndexSnapshot("ix", ("c2",)),))))
    assert result.empty and result.changes == ()


def test_row_estimate_is_not_a_change():
    assert diff(make_source(make_table(row_estimate=1)), make_source(make_table(row_estimate=99))).empty


def test_created_deleted_tables_and_schemas():
    before = make_source(make_table("a"), make_table("b"), schemas=("s", "old"))
    after = make_source(make_table("b"), make_table("c", schema="new"), schemas=("s", "new"))
    result = diff(before, after)
    kinds = [(c.type, c.schema, c.table) for c in result.changes]
    assert kinds == [
        (ChangeType.SCHEMA_CREATED, "new", None),
        (ChangeType.TABLE_CREATED, "new", "c"),
        (ChangeType.TABLE_DELETED, "s", "a"),
        (ChangeType.SCHEMA_DELETED, "old", None),
    ]
    assert [t.key for t in result.tables_created] == [("new", "c")]
    assert result.tables_deleted == (("s", "a"),)


def test_column_level_changes_carry_before_and_after():
    before = make_table()
    cols = list(before.columns)
    cols[1] = replace(cols[1], data_type="bigint", nullable=False, default="0", comment="n")
    cols[2] = ColumnSnapshot("c4", 3, "text")
    after = replace(before, columns=tuple(cols))
    changes = {(c.type, c.column): (c.before, c.after) for c in diff(make_source(before), make_source(after)).changes}
    assert changes == {
        (ChangeType.COLUMN_TYPE_CHANGED, "c2"): ("integer", "bigint"),
        (ChangeType.COLUMN_NULLABILITY_CHANGED, "c2"): (True, False),
        (ChangeType.COLUMN_DEFAULT_CHANGED, "c2"): (None, "0"),
        (ChangeType.COLUMN_COMMENT_CHANGED, "c2"): (None, "n"),
        (ChangeType.COLUMN_ADDED, "c4"): (None, {"data_type": "text", "nullable": True, "default": None,
                                                 "comment": None, "ordinal": 3}),
        (ChangeType.COLUMN_REMOVED, "c3"): ({"data_type": "integer", "nullable": True, "default": None,
                                             "comment": None, "ordinal": 3}, None),
    }


def test_table_level_changes():
    before = make_table(kind=TableKind.VIEW, view_definition="select 1")
    fk = ForeignKey("fk", ("c2",), "s", "other", ("id",), "CASCADE", "NO ACTION")
    after = replace(before, view_definition="select 2", comment="hi", foreign_keys=(fk,),
                    primary_key=UniqueConstraint("pk", ("c1", "c2")))
    result = diff(make_source(before), make_source(after))
    by_type = {c.type: c for c in result.changes}
    assert set(by_type) == {ChangeType.VIEW_DEFINITION_CHANGED, ChangeType.TABLE_COMMENT_CHANGED,
                            ChangeType.FOREIGN_KEYS_CHANGED, ChangeType.PRIMARY_KEY_CHANGED}
    assert by_type[ChangeType.PRIMARY_KEY_CHANGED].after == {"name": "pk", "columns": ["c1", "c2"]}
    assert by_type[ChangeType.FOREIGN_KEYS_CHANGED].after[0]["on_delete"] == "CASCADE"
    assert result.tables_changed == (after,)


def test_moved_column_updates_the_table_without_a_change_row():
    before = make_table()
    a, b, c = before.columns
    after = replace(before, columns=(a, replace(c, ordinal=2), replace(b, ordinal=3)))
    result = diff(make_source(before), make_source(after))
    assert result.changes == () and result.tables_changed == (after,)


def test_definition_hash_ignores_volatile_fields_only():
    table = make_table(row_estimate=5)
    assert table.definition_hash() == replace(table, row_estimate=6).definition_hash()
    assert table.definition_hash() != replace(table, comment="x").definition_hash()
