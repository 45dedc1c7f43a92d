"""`Table.lineage`: the lineage query's walk, reached from a table. Views of a crawled SQLite source give the
edges; the tables each view's SQL reads (written below, not derived by the code under test) are the oracle, and
the `lineage` query is the reference the field must equal, limits and errors included."""

from __future__ import annotations

import pytest

from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import dataset_urn
from tests.support.graphql import data, error
from tests.support.jobs import crawled
from tests.support.sqlite import build_database

DDL = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL);
CREATE VIEW order_customers AS SELECT o.id, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id;
CREATE VIEW big_orders AS SELECT id, email FROM order_customers WHERE total > 100;
"""


def urn(name: str) -> str:
    return dataset_urn("shop", "main", name)


RESULT = """nodes { urn distance placeholder } edges { upstream downstream upstreamColumn downstreamColumn origin }
            truncated truncatedReason urn depth columnLevel direction"""
BY_TABLE = f"""query($urn: String!, $direction: LineageDirection!, $depth: Int!, $columns: Boolean!, $limit: Int) {{
  table(urn: $urn) {{
    lineage(direction: $direction, depth: $depth, columnLevel: $columns, limit: $limit) {{ {RESULT} }}
  }}
}}"""
BY_QUERY = f"""query($urn: String!, $direction: LineageDirection!, $depth: Int!, $columns: Boolean!, $limit: Int) {{
  lineage(urn: $urn, direction: $direction, depth: $depth, columnLevel: $columns, limit: $limit) {{ {RESULT} }}
}}"""


@pytest.fixture
def shop(catalog_ctx, tmp_path):
    path = build_database(tmp_path / "shop.db", DDL)
    source = register_source(catalog_ctx, SourceRegistration(name="shop", kind="sqlite", config={"path": str(path)}))
    crawled(catalog_ctx, source.id)


def _both(client, **arguments) -> tuple[dict, dict]:
    return (data(client, BY_TABLE, **arguments)["table"]["lineage"], data(client, BY_QUERY, **arguments)["lineage"])


def test_a_views_lineage_is_the_tables_its_sql_reads(api_client, shop):
    by_table, by_query = _both(api_client, urn=urn("order_customers"), direction="BOTH", depth=1, columns=False)
    assert by_table == by_query
    assert {(n["urn"], n["distance"]) for n in by_table["nodes"]} == {
        (urn("order_customers"), 0), (urn("orders"), -1), (urn("customers"), -1), (urn("big_orders"), 1)}
    assert {(e["upstream"], e["downstream"]) for e in by_table["edges"]} == {
        (urn("orders"), urn("order_customers")), (urn("customers"), urn("order_customers")),
        (urn("order_customers"), urn("big_orders"))}


@pytest.mark.parametrize(("start", "direction", "depth", "columns", "limit"), [
    ("big_orders", "UPSTREAM", 2, False, None),
    ("big_orders", "UPSTREAM", 1, False, None),  # cut short by depth
    ("orders", "DOWNSTREAM", 3, True, None),
    ("orders", "BOTH", 3, False, 2),  # cut short by the node limit
])
def test_the_field_answers_what_the_lineage_query_answers(api_client, shop, start, direction, depth, columns, limit):
    by_table, by_query = _both(api_client, urn=urn(start), direction=direction, depth=depth, columns=columns,
                               limit=limit)
    assert by_table == by_query
    assert by_table["truncated"] == (depth == 1 or limit is not None)


def test_column_level_edges_name_the_columns_the_view_reads(api_client, shop):
    found, _ = _both(api_client, urn=urn("big_orders"), direction="UPSTREAM", depth=2, columns=True)
    assert {(e["upstream"], e["upstreamColumn"], e["downstreamColumn"]) for e in found["edges"]
            if e["downstream"] == urn("big_orders") and e["upstreamColumn"]} >= {
        (urn("order_customers"), "id", "id"), (urn("order_customers"), "email", "email")}


@pytest.mark.parametrize(("depth", "limit", "field"), [(0, None, "depth"), (21, None, "depth"), (2, 0, "limit")])
def test_out_of_range_arguments_are_refused_as_by_the_lineage_query(api_client, shop, depth, limit, field):
    arguments = {"urn": urn("orders"), "direction": "BOTH", "depth": depth, "columns": False, "limit": limit}
    by_table, by_query = error(api_client, BY_TABLE, **arguments), error(api_client, BY_QUERY, **arguments)
    assert by_table["extensions"] == by_query["extensions"]
    assert (by_table["extensions"]["code"], by_table["extensions"]["field"]) == ("invalid_input", field)
