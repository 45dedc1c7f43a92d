"""`Table.keys` of a crawled PostgreSQL source: the primary key, unique constraints, foreign keys (with the referenced
table's URN) and indexes, typed, checked against PostgreSQL's information_schema and pg_indexes (not the pg_catalog
queries the connector reads); the JSON fields they replace still answer, deprecated."""

from __future__ import annotations

import pytest

from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import dataset_urn
from tests.support.catalog import crawl
from tests.support.graphql import data
from tests.support.postgres import pg_query

pytestmark = pytest.mark.postgres

DDL = """
create schema sales;
create schema ref;
create table ref.currencies (code char(3) primary key);
create table sales.customers (id int primary key, tenant int not null, email text not null,
                              constraint customers_tenant_email unique (tenant, email));
create table sales.orders (
    id int, line int, customer_id int, currency char(3), note text,
    primary key (line, id),
    constraint orders_note_key unique (note),
    constraint orders_customer foreign key (customer_id) references sales.customers (id) on delete cascade,
    constraint orders_currency foreign key (currency) references ref.currencies (code) on update set null);
create index orders_by_customer on sales.orders (customer_id, currency);
create unique index orders_lower_note on sales.orders (lower(note));
create view sales.order_customers as
    select o.id, c.email from sales.orders o join sales.customers c on c.id = o.customer_id;
"""
ORDERS = dataset_urn("shop", "sales", "orders")
KEYS = """query($urn: String!) { table(urn: $urn) {
  keys {
    primaryKey { name columns }
    uniqueConstraints { name columns }
    foreignKeys { name columns referencedTableUrn referencedSchema referencedTable referencedColumns onDelete onUpdate }
    indexes { name columns unique definition }
  }
  primaryKey uniqueConstraints foreignKeys indexes
} }"""

CONSTRAINT_COLUMNS = """
select tc.constraint_name, tc.constraint_type, array_agg(k.column_name::text order by k.ordinal_position)
from information_schema.table_constraints tc
join information_schema.key_column_usage k
  on k.constraint_schema = tc.constraint_schema and k.constraint_name = tc.constraint_name
where tc.table_schema = %s and tc.table_name = %s
group by tc.constraint_name, tc.constraint_type
"""
REFERENCES = """
select rc.constraint_name, u.table_schema, u.table_name, array_agg(u.column_name::text), rc.delete_rule, rc.update_rule
from information_schema.referential_constraints rc
join information_schema.constraint_column_usage u
  on u.constraint_schema = rc.constraint_schema and u.constraint_name = rc.constraint_name
where rc.constraint_schema = %s
group by rc.constraint_name, u.table_schema, u.table_name, rc.delete_rule, rc.update_rule
"""


@pytest.fixture
def shop(make_pg_database, catalog_ctx):
    config = make_pg_database(DDL)
    source = register_source(catalog_ctx, SourceRegistration(name="shop", kind="postgres", config=config))
    crawl(catalog_ctx, source.id)
    return config


def test_keys_are_those_postgres_declares(api_client, shop):
    table = data(api_client, KEYS, urn=ORDERS)["table"]
    keys = table["keys"]
    rows = pg_query(shop, CONSTRAINT_COLUMNS, ("sales", "orders"))
    declared = {name: (kind, columns) for name, kind, columns in rows}
    (primary,) = [(name, columns) for name, (kind, columns) in declared.items() if kind == "PRIMARY KEY"]
    assert (keys["primaryKey"]["name"], keys["primaryKey"]["columns"]) == primary
    assert keys["primaryKey"]["columns"] == ["line", "id"]  # key order, not table order
    assert {(u["name"], tuple(u["columns"])) for u in keys["uniqueConstraints"]} == {
        (name, tuple(columns)) for name, (kind, columns) in declared.items() if kind == "UNIQUE"}

    references = {name: row for name, *row in pg_query(shop, REFERENCES, ("sales",))}
    assert {f["name"] for f in keys["foreignKeys"]} == {
        name for name, (kind, _) in declared.items() if kind == "FOREIGN KEY"} == set(references)
    for fk in keys["foreignKeys"]:
        schema, name, columns, on_delete, on_update = references[fk["name"]]
        assert fk["columns"] == declared[fk["name"]][1]
        assert (fk["referencedSchema"], fk["referencedTable"], fk["referencedColumns"]) == (schema, name, columns)
        assert fk["referencedTableUrn"] == dataset_urn("shop", schema, name)
        assert (fk["onDelete"], fk["onUpdate"]) == (on_delete, on_update)


def test_a_foreign_keys_urn_names_the_table_the_catalog_holds(api_client, shop):
    keys = data(api_client, KEYS, urn=ORDERS)["table"]["keys"]
    for fk in keys["foreignKeys"]:
        found = data(api_client, "query($urn: String!) { table(urn: $urn) { schema { name } name columns { edges { "
                                 "node { name } } } } }", urn=fk["referencedTableUrn"])["table"]
        assert (found["schema"]["name"], found["name"]) == (fk["referencedSchema"], fk["referencedTable"])
        assert set(fk["referencedColumns"]) <= {e["node"]["name"] for e in found["columns"]["edges"]}


def test_indexes_are_those_postgres_has(api_client, shop):
    indexes = {i["name"]: i for i in data(api_client, KEYS, urn=ORDERS)["table"]["keys"]["indexes"]}
    expected = pg_query(shop, "select indexname, indexdef from pg_indexes where schemaname = 'sales' and "
                              "tablename = 'orders'")
    assert {name: i["definition"] for name, i in indexes.items()} == dict(expected)
    assert {name: i["unique"] for name, i in indexes.items()} == {
        name: definition.startswith("CREATE UNIQUE INDEX") for name, definition in expected}
    assert indexes["orders_by_customer"]["columns"] == ["customer_id", "currency"]
    assert indexes["orders_lower_note"]["columns"] == ["lower(note)"]  # an expression is named by its text


def test_the_json_fields_still_answer_the_same_keys(api_client, shop):
    table = data(api_client, KEYS, urn=ORDERS)["table"]
    keys = table["keys"]
    assert table["primaryKey"] == keys["primaryKey"]
    assert table["uniqueConstraints"] == keys["uniqueConstraints"]
    assert [(f["name"], f["referred_table"]) for f in table["foreignKeys"]] == [
        (f["name"], f["referencedTable"]) for f in keys["foreignKeys"]]
    assert table["indexes"] == keys["indexes"]


def test_a_view_answers_empty_keys(api_client, shop):
    view = data(api_client, KEYS, urn=dataset_urn("shop", "sales", "order_customers"))["table"]["keys"]
    assert view == {"primaryKey": None, "uniqueConstraints": [], "foreignKeys": [], "indexes": []}
