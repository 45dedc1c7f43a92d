"""The GraphQL API at /graphql over a real, migrated SQLite catalog: browsing (a constant number of statements,
cursor pagination, look-ups by URN, change history, search).

Catalog content is built without a live source: a `DataSource` row plus synthetic snapshots applied with
`crawl.apply_snapshot`, exactly as a crawl would store them (tests/support/factories.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from catalog_api.services import curation
from catalog_api.services.context import ServiceContext
from catalog_api.urns import column_urn, dataset_urn, schema_urn, source_urn
from crawlers.snapshot import ColumnSnapshot, SchemaSnapshot, SourceSnapshot
from tests.support.factories import apply, make_catalog, make_columns, make_source, make_table
from tests.support.graphql import data, error
from tests.support.statements import counted_statements

# -- (1) a constant number of statements -------------------------------------------------------------------------

WALK = """
query Walk {
  sources(first: 10) {
    totalCount
    edges { node { id name tags
      schemas(first: 10) { totalCount edges { node { id name tags
        tables(first: 200) { totalCount edges { node { id name tags rowEstimate
          keys { primaryKey { columns } foreignKeys { referencedTableUrn } indexes { name } }
          columns(first: 50) { totalCount edges { node { id name dataType tags } } }
          changes(first: 5) { totalCount edges { node { changeType } } }
        } } }
      } } }
    } }
  }
}
"""


def _tag_some(ctx: ServiceContext, snapshots: dict[str, SourceSnapshot]) -> None:
    for source, snapshot in snapshots.items():
        curation.set_tags(ctx, source_urn(source), ["tier.gold"])
        for table in snapshot.tables[:3]:
            curation.set_tags(ctx, dataset_urn(source, table.schema, table.name), ["finance"])
            curation.set_tags(ctx, column_urn(source, table.schema, table.name, table.columns[0].name), ["pii.email"])


def _walk(client: TestClient, ctx: ServiceContext) -> tuple[int, dict[str, Any]]:
    with counted_statements(ctx.db.engine) as statements:
        result = data(client, WALK)
    return len(statements), result


def _table_and_column_counts(result: dict[str, Any]) -> tuple[int, int]:
    tables = [
        t["node"]
        for s in result["sources"]["edges"]
        for sc in s["node"]["schemas"]["edges"]
        for t in sc["node"]["tables"]["edges"]
    ]
    return len(tables), sum(len(t["columns"]["edges"]) for t in tables)


def test_statement_count_does_not_grow_with_the_catalog(api_client, catalog_ctx):
    ids = {"erp": make_source(catalog_ctx, "erp"), "crm": make_source(catalog_ctx, "crm")}

    # The large catalog replaces the small one (other table names), so the small one's tables are soft-deleted.
    small = {"erp": make_catalog(6, 2, seed=1, prefix="small"), "crm": make_catalog(4, 2, seed=2, prefix="small")}
    for name, snapshot in small.items():
        apply(catalog_ctx, ids[name], snapshot)
    _tag_some(catalog_ctx, small)
    small_count, small_result = _walk(api_client, catalog_ctx)
    assert _table_and_column_counts(small_result)[0] == 10

    large = {"erp": make_catalog(300, 4, seed=3, prefix="large"), "crm": make_catalog(200, 3, seed=4, prefix="large")}
    for name, snapshot in large.items():
        apply(catalog_ctx, ids[name], snapshot)
    _tag_some(catalog_ctx, large)
    large_count, large_result = _walk(api_client, catalog_ctx)
    tables, columns = _table_and_column_counts(large_result)
    assert tables == 500
    assert columns == sum(len(t.columns) for s in large.values() for t in s.tables)

    print(f"\nGraphQL walk statements: 10 tables -> {small_count}, 500 tables -> {large_count}")
    assert small_count == large_count
    ids = [t["node"]["id"] for s in large_result["sources"]["edges"] for sc in s["node"]["schemas"]["edges"]
           for t in sc["node"]["tables"]["edges"]]
    assert len(set(ids)) == tables  # every table its own global id, at no statement's cost
    tagged = [
        t["node"] for s in large_result["sources"]["edges"] for sc in s["node"]["schemas"]["edges"]
        for t in sc["node"]["tables"]["edges"] if t["node"]["tags"]
    ]
    assert sorted(t["name"] for t in tagged) == sorted(t.name for s in large.values() for t in s.tables[:3])
    assert all(t["tags"] == ["finance"] for t in tagged)
    assert all(t["columns"]["edges"][0]["node"]["tags"] == ["pii.email"] for t in tagged)
    assert [s["node"]["tags"] for s in large_result["sources"]["edges"]] == [["tier.gold"], ["tier.gold"]]


# -- (2) cursor pagination ---------------------------------------------------------------------------------------

SCHEMA_TABLES = """
query Tables($urn: String!, $after: String) {
  entity(urn: $urn) { ... on Schema {
    tables(first: 7, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name } } }
  } }
}
"""

TABLE_COLUMNS = """
query Columns($urn: String!, $after: String) {
  table(urn: $urn) {
    columns(first: 7, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name ordinal } }
    }
  }
}
"""


def _walk_pages(client: TestClient, query: str, urn: str, pick) -> tuple[list[Any], set[int]]:
    seen: list[Any] = []
    totals: set[int] = set()
    after = None
    for _ in range(100):
        page = pick(data(client, query, urn=urn, after=after))
        totals.add(page["totalCount"])
        assert len(page["edges"]) <= 7
        seen.extend(e["node"] for e in page["edges"])
        if page["edges"]:
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return seen, totals
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("pagination did not end")


def test_cursor_pagination_visits_every_table_and_column_once_in_order(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    snapshot = make_catalog(45, 1, seed=7)  # 45 = 6 full pages of 7 and a partial one
    wide = make_table("schema_0", "wide_table", 20, seed=3)
    apply(catalog_ctx, source_id, SourceSnapshot(schemas=snapshot.schemas, tables=(*snapshot.tables, wide)))

    tables, totals = _walk_pages(api_client, SCHEMA_TABLES, schema_urn("erp", "schema_0"),
                                 lambda d: d["entity"]["tables"])
    names = [t["name"] for t in tables]
    expected = sorted([t.name for t in snapshot.tables] + ["wide_table"])
    assert names == expected
    assert totals == {46}

    columns, totals = _walk_pages(api_client, TABLE_COLUMNS, dataset_urn("erp", "schema_0", "wide_table"),
                                  lambda d: d["table"]["columns"])
    assert [c["ordinal"] for c in columns] == list(range(1, 21))
    assert [c["name"] for c in columns] == [c.name for c in wide.columns]
    assert totals == {20}


def test_invalid_page_arguments_name_the_argument(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, make_catalog(3, 1))
    urn = dataset_urn("erp", "schema_0", "table_0000")
    bad_cursor = error(api_client, TABLE_COLUMNS, urn=urn, after="not-a-cursor")
    assert bad_cursor["extensions"]["code"] == "invalid_input"
    assert bad_cursor["extensions"]["field"] == "after"
    too_many = error(api_client, "query($urn: String!) { table(urn: $urn) { columns(first: 5000) { totalCount } } }",
                     urn=urn)
    assert (too_many["extensions"]["code"], too_many["extensions"]["field"]) == ("invalid_input", "first")


# -- (3) look-ups by URN -----------------------------------------------------------------------------------------

ODD_SCHEMA = "sales/eu 2024"
ODD_TABLE = "orders:2024 50% Ünïcødé 表"
ODD_COLUMN = "net:amount %/€ x"

LOOKUP = """
query Lookup($urn: String!) {
  table(urn: $urn) { urn name schema { urn name source { name } } source { name }
                     columns { edges { node { urn name table { urn } } } } }
  entity(urn: $urn) { __typename urn name }
}
"""


def test_lookup_by_urn_with_separators_and_unicode(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    columns = (ColumnSnapshot("id", 1, "integer", False), ColumnSnapshot(ODD_COLUMN, 2, "numeric(12,2)"))
    apply(catalog_ctx, source_id, SourceSnapshot(
        schemas=(SchemaSnapshot(ODD_SCHEMA),), tables=(make_table(ODD_SCHEMA, ODD_TABLE, columns),),
    ))
    urn = dataset_urn("erp", ODD_SCHEMA, ODD_TABLE)
    assert "%3A" in urn and "%25" in urn and "%2F" in urn and "%20" in urn

    found = data(api_client, LOOKUP, urn=urn)
    assert found["table"]["urn"] == urn and found["table"]["name"] == ODD_TABLE
    assert found["table"]["schema"] == {"urn": schema_urn("erp", ODD_SCHEMA), "name": ODD_SCHEMA,
                                        "source": {"name": "erp"}}
    assert found["entity"] == {"__typename": "Table", "urn": urn, "name": ODD_TABLE}
    odd = found["table"]["columns"]["edges"][1]["node"]
    assert odd == {"urn": column_urn("erp", ODD_SCHEMA, ODD_TABLE, ODD_COLUMN), "name": ODD_COLUMN,
                   "table": {"urn": urn}}

    column = data(api_client, "query($urn: String!) { column(urn: $urn) { name dataType table { name } } }",
                  urn=odd["urn"])
    assert column["column"] == {"name": ODD_COLUMN, "dataType": "numeric(12,2)", "table": {"name": ODD_TABLE}}
    for entity_urn, typename in ((source_urn("erp"), "Source"), (schema_urn("erp", ODD_SCHEMA), "Schema"),
                                 (odd["urn"], "Column")):
        node = data(api_client, "query($urn: String!) { entity(urn: $urn) { __typename urn } }", urn=entity_urn)
        assert node["entity"] == {"__typename": typename, "urn": entity_urn}


@pytest.mark.parametrize("bad", [
    "orders",
    "urn:catalog:dataset:erp:public",
    "urn:catalog:dataset:erp:sales/eu:orders",  # '/' must be escaped
    "urn:catalog:dataset:erp:public:50%off",
    "urn:catalog:planet:erp",
])
def test_malformed_urn_is_invalid_input_on_the_urn_field(api_client, bad):
    for query in ("query($urn: String!) { table(urn: $urn) { name } }",
                  "query($urn: String!) { entity(urn: $urn) { name } }"):
        found = error(api_client, query, urn=bad)
        assert found["extensions"]["code"] == "invalid_input"
        assert found["extensions"]["field"] == "urn"
        assert found["extensions"]["status"] == 422
        assert found["extensions"]["problems"][0]["field"] == "urn"


def test_unknown_urn_is_not_found_and_wrong_kind_is_invalid(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, make_catalog(1, 1))
    missing = error(api_client, "query($urn: String!) { table(urn: $urn) { name } }",
                    urn=dataset_urn("erp", "schema_0", "nope"))
    assert (missing["extensions"]["code"], missing["extensions"]["status"]) == ("not_found", 404)
    assert missing["path"] == ["table"]
    wrong_kind = error(api_client, "query($urn: String!) { table(urn: $urn) { name } }", urn=schema_urn("erp", "schema_0"))
    assert (wrong_kind["extensions"]["code"], wrong_kind["extensions"]["field"]) == ("invalid_input", "urn")


# -- (6) change history ------------------------------------------------------------------------------------------

CHANGES = """
query($urn: String!, $first: Int!, $after: String, $since: DateTime) {
  table(urn: $urn) {
    changes(first: $first, after: $after, since: $since) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id entityUrn changeType before after jobId detectedAt } }
    }
  }
}
"""


def test_change_history_of_a_table(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    columns = make_columns(3)
    before = make_table("public", "orders", columns)
    after = make_table("public", "orders", (*columns, ColumnSnapshot("discount", 4, "numeric", True, "0")))
    schemas = (SchemaSnapshot("public"),)
    apply(catalog_ctx, source_id, SourceSnapshot(schemas=schemas, tables=(before,)))
    apply(catalog_ctx, source_id, SourceSnapshot(schemas=schemas, tables=(after,)))
    urn = dataset_urn("erp", "public", "orders")

    history = data(api_client, CHANGES, urn=urn, first=100)["table"]["changes"]
    kinds = [e["node"]["changeType"] for e in history["edges"]]
    assert kinds == ["column_added", "table_created"]
    assert history["totalCount"] == 2 and not history["pageInfo"]["hasNextPage"]
    added = history["edges"][0]["node"]
    assert added["entityUrn"] == column_urn("erp", "public", "orders", "discount")
    assert added["before"] is None
    assert added["after"]["data_type"] == "numeric" and added["after"]["ordinal"] == 4

    first_page = data(api_client, CHANGES, urn=urn, first=1)["table"]["changes"]
    assert first_page["pageInfo"]["hasNextPage"] and first_page["totalCount"] == 2
    rest = data(api_client, CHANGES, urn=urn, first=1, after=first_page["pageInfo"]["endCursor"])["table"]["changes"]
    assert [e["node"]["changeType"] for e in rest["edges"]] == ["table_created"]

    future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    assert data(api_client, CHANGES, urn=urn, first=10, since=future)["table"]["changes"]["totalCount"] == 0


# -- (7) search ------------------------------------------------------------------------------------------------

def test_search_finds_tables_and_columns(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, SourceSnapshot(
        schemas=(SchemaSnapshot("public"),),
        tables=(make_table("public", "customer_orders", (ColumnSnapshot("order_total", 1, "numeric"),)),),
    ))
    hits = data(api_client, '{ search(q: "order", limit: 10) { urn type name } }')["search"]
    assert {(h["type"], h["name"]) for h in hits} == {("dataset", "customer_orders"), ("column", "order_total")}
    assert error(api_client, '{ search(q: "") { urn } }')["extensions"]["field"] == "q"
