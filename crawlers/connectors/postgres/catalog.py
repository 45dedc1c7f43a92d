"""PostgreSQL's catalog, read in bulk: five queries over `pg_catalog`, whatever the size of the database.

The schema list is filtered by the scope in Python, and the oids that survive are passed as array parameters to
the bulk queries that follow. Names and patterns are never interpolated into SQL.
"""

from __future__ import annotations

from collections import defaultdict

from crawlers.connector import ProgressCallback
from crawlers.connectors.sql import Session
from crawlers.scope import Scope
from crawlers.snapshot import (
    ColumnSnapshot, ForeignKey, IndexSnapshot, SchemaSnapshot, SourceSnapshot, TableKind, TableSnapshot,
    UniqueConstraint,
)

_EXCLUDED_SCHEMAS_SQL = """
    n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
    and n.nspname not like 'pg\\_temp\\_%'
    and n.nspname not like 'pg\\_toast\\_temp\\_%'
"""

_SCHEMAS_SQL = f"""
select n.oid, n.nspname::text, d.description
from pg_catalog.pg_namespace n
left join pg_catalog.pg_description d
       on d.objoid = n.oid and d.classoid = 'pg_catalog.pg_namespace'::regclass and d.objsubid = 0
where {_EXCLUDED_SCHEMAS_SQL}
"""

# Partitions (`relispartition`) are left out: their parent stands for them. The parent's estimate is the sum over
# its leaves, because the parent itself stores no rows and its own reltuples is only set by a manual ANALYZE.
_RELATIONS_SQL = """
select c.oid, c.relnamespace, c.relname::text, c.relkind::text, c.reltuples,
       case when c.relkind = 'p' then pg_catalog.pg_get_partkeydef(c.oid) end,
       case when c.relkind in ('v', 'm') then pg_catalog.pg_get_viewdef(c.oid, true) end,
       d.description,
       case when c.relkind = 'p' then (
           select sum(leaf.reltuples) filter (where leaf.reltuples >= 0)
           from pg_catalog.pg_partition_tree(c.oid) t
           join pg_catalog.pg_class leaf on leaf.oid = t.relid
           where t.isleaf
       ) end
from pg_catalog.pg_class c
left join pg_catalog.pg_description d
       on d.objoid = c.oid and d.classoid = 'pg_catalog.pg_class'::regclass and d.objsubid = 0
where c.relnamespace = any(%s::oid[])
  and c.relkind in ('r', 'p', 'v', 'm', 'f')
  and not c.relispartition
"""

_COLUMNS_SQL = """
select a.attrelid, a.attnum, a.attname::text,
       pg_catalog.format_type(a.atttypid, a.atttypmod),
       a.attnotnull,
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid),
       d.description,
       a.attgenerated::text,
       a.attidentity::text
from pg_catalog.pg_attribute a
left join pg_catalog.pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
left join pg_catalog.pg_description d
       on d.objoid = a.attrelid and d.classoid = 'pg_catalog.pg_class'::regclass and d.objsubid = a.attnum
where a.attrelid = any(%s::oid[]) and a.attnum > 0 and not a.attisdropped
"""

# `conparentid = 0` drops the clones PostgreSQL adds for a foreign key that refers to a partitioned table (one
# per referenced partition, all on the referencing table): the user declared one key, not one per partition.
_CONSTRAINTS_SQL = """
select con.conrelid, con.conname::text, con.contype::text,
       array(select a.attname::text
             from unnest(con.conkey) with ordinality k(attnum, ord)
             join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
             order by k.ord),
       fn.nspname::text, fc.relname::text,
       array(select a.attname::text
             from unnest(con.confkey) with ordinality k(attnum, ord)
             join pg_catalog.pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum
             order by k.ord),
       con.confdeltype::text, con.confupdtype::text
from pg_catalog.pg_constraint con
left join pg_catalog.pg_class fc on fc.oid = con.confrelid
left join pg_catalog.pg_namespace fn on fn.oid = fc.relnamespace
where con.conrelid = any(%s::oid[]) and con.contype in ('p', 'u', 'f') and con.conparentid = 0
"""

# Key columns only (INCLUDE columns are payload, and they are in the definition anyway); an expression column
# (attnum 0) is named by its expression text.
_INDEXES_SQL = """
select i.indrelid, ic.relname::text, i.indisunique, pg_catalog.pg_get_indexdef(i.indexrelid),
       array(select coalesce(a.attname::text, pg_catalog.pg_get_indexdef(i.indexrelid, k.ord::int, true))
             from unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
             left join pg_catalog.pg_attribute a
                    on a.attrelid = i.indrelid and a.attnum = k.attnum and k.attnum > 0
             where k.ord <= i.indnkeyatts
             order by k.ord)
from pg_catalog.pg_index i
join pg_catalog.pg_class ic on ic.oid = i.indexrelid
where i.indrelid = any(%s::oid[])
"""

_KINDS = {
    "r": TableKind.TABLE,
    "p": TableKind.TABLE,
    "v": TableKind.VIEW,
    "m": TableKind.MATERIALIZED_VIEW,
    "f": TableKind.FOREIGN_TABLE,
}

_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

DISCOVERY_STEPS = 6  # connect + five catalog queries


def read_catalog(session: Session, scope: Scope, report: ProgressCallback, address: str) -> SourceSnapshot:
    """Schemas, relations, columns, keys and indexes in scope, in five statements."""
    report(1, DISCOVERY_STEPS, f"connected to {address}")
    schema_rows = session.fetch(_SCHEMAS_SQL)
    schemas = {oid: (name, comment) for oid, name, comment in schema_rows if scope.schema_in_scope(name)}
    report(2, DISCOVERY_STEPS, f"read {len(schemas)} schemas")

    relation_rows = session.fetch(_RELATIONS_SQL, (list(schemas),))
    relations: dict[int, tuple] = {}
    for oid, nsp, name, relkind, reltuples, partkey, viewdef, comment, leaf_tuples in relation_rows:
        schema_name = schemas[nsp][0]
        if scope.table_in_scope(schema_name, name):
            relations[oid] = (schema_name, name, relkind, reltuples, partkey, viewdef, comment, leaf_tuples)
    oids = list(relations)
    report(3, DISCOVERY_STEPS, f"read {len(relations)} tables and views")

    columns: dict[int, list[ColumnSnapshot]] = defaultdict(list)
    column_rows = session.fetch(_COLUMNS_SQL, (oids,))
    for relid, attnum, name, data_type, notnull, default, comment, generated, identity in column_rows:
        columns[relid].append(_column(attnum, name, data_type, notnull, default, comment, generated, identity))
    report(4, DISCOVERY_STEPS, f"read {len(column_rows)} columns")

    primary: dict[int, UniqueConstraint] = {}
    uniques: dict[int, list[UniqueConstraint]] = defaultdict(list)
    foreign: dict[int, list[ForeignKey]] = defaultdict(list)
    constraint_rows = session.fetch(_CONSTRAINTS_SQL, (oids,))
    for relid, name, contype, cols, ref_schema, ref_table, ref_cols, on_delete, on_update in constraint_rows:
        if contype == "p":
            primary[relid] = UniqueConstraint(name, tuple(cols))
        elif contype == "u":
            uniques[relid].append(UniqueConstraint(name, tuple(cols)))
        else:
            foreign[relid].append(
                ForeignKey(
                    name=name,
                    columns=tuple(cols),
                    referred_schema=ref_schema,
                    referred_table=ref_table,
                    referred_columns=tuple(ref_cols),
                    on_delete=_FK_ACTIONS.get(on_delete),
                    on_update=_FK_ACTIONS.get(on_update),
                )
            )
    report(5, DISCOVERY_STEPS, f"read {len(constraint_rows)} keys")

    indexes: dict[int, list[IndexSnapshot]] = defaultdict(list)
    index_rows = session.fetch(_INDEXES_SQL, (oids,))
    for relid, name, unique, definition, cols in index_rows:
        indexes[relid].append(IndexSnapshot(name=name, columns=tuple(cols), unique=unique, definition=definition))
    report(6, DISCOVERY_STEPS, f"read {len(index_rows)} indexes")

    tables = []
    for oid, (schema_name, name, relkind, reltuples, partkey, viewdef, comment, leaf_tuples) in relations.items():
        tables.append(
            TableSnapshot(
                schema=schema_name,
                name=name,
                kind=_KINDS[relkind],
                columns=tuple(sorted(columns.get(oid, ()), key=lambda c: c.ordinal)),
                comment=comment,
                view_definition=viewdef,
                primary_key=primary.get(oid),
                unique_constraints=tuple(sorted(uniques.get(oid, ()), key=lambda u: u.name)),
                foreign_keys=tuple(sorted(foreign.get(oid, ()), key=lambda f: f.name)),
                indexes=tuple(sorted(indexes.get(oid, ()), key=lambda i: i.name)),
                partition_key=partkey,
                row_estimate=_row_estimate(relkind, reltuples, leaf_tuples),
            )
        )
    tables.sort(key=lambda t: (t.schema, t.name))
    schema_snapshots = sorted((SchemaSnapshot(n, c) for n, c in schemas.values()), key=lambda s: s.name)
    return SourceSnapshot(schemas=tuple(schema_snapshots), tables=tuple(tables))


def _column(
    attnum: int,
    name: str,
    data_type: str,
    notnull: bool,
    default: str | None,
    comment: str | None,
    generated: str,
    identity: str,
) -> ColumnSnapshot:
    # pg_attrdef holds the generation expression of a stored generated column: report it as `generated`, not as
    # a default, which is what information_schema does too.
    generation: str | None = None
    if generated == "s":
        generation, default = default, None
    elif identity in ("a", "d"):
        generation, default = "identity", None
    return ColumnSnapshot(
        name=name,
        ordinal=attnum,
        data_type=data_type,
        nullable=not notnull,
        default=default,
        comment=comment,
        generated=generation,
    )


def _row_estimate(relkind: str, reltuples: float | None, leaf_tuples: float | None) -> int | None:
    if relkind == "v":
        return None
    if relkind == "p":
        return None if leaf_tuples is None else int(round(leaf_tuples))
    # reltuples is -1 until the first VACUUM/ANALYZE: unknown, not zero.
    if reltuples is None or reltuples < 0:
        return None
    return int(round(reltuples))
