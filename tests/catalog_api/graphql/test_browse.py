"""The GraphQL API at /graphql over a real, migrated SQLite catalog.

Catalog content is built without a live source: a `DataSource` row plus synthetic snapshots applied with
`crawl.apply_snapshot`, exactly as a crawl would store them.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select

from catalog_api.db.models import DataSource
from catalog_api.services import browse, crawl, curation
from catalog_api.services.context import ServiceContext
from catalog_api.urns import column_urn, dataset_urn, schema_urn, source_urn
from crawlers.snapshot import ColumnSnapshot, SchemaSnapshot, SourceSnapshot, TableSnapshot

# -- helpers -----------------------------------------------------------------------------------------------------


def post(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def data(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    body = post(client, query, **variables)
    assert not body.get("errors"), body["errors"]
    return body["data"]


def error(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    """The first error of a request that must fail."""
    body = post(client, query, **variables)
    assert body.get("errors"), f"expected an error, got {body}"
    return body["errors"][0]


@contextmanager
def counted_statements(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


# -- factories ---------------------------------------------------------------------------------------------------


def make_source(ctx: ServiceContext, name: str = "warehouse") -> int:
    """A registered source row (no live database behind it); returns its id."""
    with ctx.db.session() as session:
        source = DataSource(
            name=name, urn=source_urn(name), kind="sqlite", config={"path": f"/nowhere/{name}.db"},
            secret_refs={}, lineage_namespace=f"test://{name}",
        )
        session.add(source)
        session.flush()
        return source.id


def make_columns(count: int, seed: int = 0) -> tuple[ColumnSnapshot, ...]:
    """`count` columns whose name order differs from their ordinal order."""
    names = [f"col_{n:03d}" for n in range(count)]
    random.Random(seed).shuffle(names)
    return tuple(
        ColumnSnapshot(name, ordinal, "integer" if ordinal % 2 else "text", nullable=ordinal != 1)
        for ordinal, name in enumerate(names, start=1)
    )


def make_table(schema: str, name: str, columns: int | tuple[ColumnSnapshot, ...] = 5, seed: int = 0,
               **fields: Any) -> TableSnapshot:
    cols = make_columns(columns, seed) if isinstance(columns, int) else columns
    return TableSnapshot(schema=schema, name=name, columns=cols, **fields)


def make_catalog(tables: int, schemas: int, seed: int = 0, prefix: str = "table") -> SourceSnapshot:
    """`tables` tables spread round-robin over `schemas` schemas, with 5 to 20 columns each, in shuffled order."""
    schema_names = [f"schema_{s}" for s in range(schemas)]
    names = [f"{prefix}_{t:04d}" for t in range(tables)]
    random.Random(seed).shuffle(names)
    return SourceSnapshot(
        schemas=tuple(SchemaSnapshot(s) for s in schema_names),
        tables=tuple(
            make_table(schema_names[i % schemas], name, 5 + (i * 7) % 16, seed=i, row_estimate=i * 1000)
            for i, name in enumerate(names)
        ),
    )


def apply(ctx: ServiceContext, source_id: int, snapshot: SourceSnapshot) -> None:
    with ctx.db.session() as session:
        crawl.apply_snapshot(session, session.get(DataSource, source_id), snapshot)


def source_count(ctx: ServiceContext) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(DataSource))


# -- (1) a constant number of statements -------------------------------------------------------------------------

WALK = """
query Walk {
  sources(first: 100) {
    totalCount
    edges { node { name tags
      schemas(first: 100) { totalCount edges { node { name tags
        tables(first: 1000) { totalCount edges { node { name tags rowEstimate
          columns(first: 100) { totalCount edges { node { name dataType tags } } }
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
  node(urn: $urn) { ... on Schema {
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
                                 lambda d: d["node"]["tables"])
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
  node(urn: $urn) { __typename urn name }
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
    assert found["node"] == {"__typename": "Table", "urn": urn, "name": ODD_TABLE}
    odd = found["table"]["columns"]["edges"][1]["node"]
    assert odd == {"urn": column_urn("erp", ODD_SCHEMA, ODD_TABLE, ODD_COLUMN), "name": ODD_COLUMN,
                   "table": {"urn": urn}}

    column = data(api_client, "query($urn: String!) { column(urn: $urn) { name dataType table { name } } }",
                  urn=odd["urn"])
    assert column["column"] == {"name": ODD_COLUMN, "dataType": "numeric(12,2)", "table": {"name": ODD_TABLE}}
    for entity_urn, typename in ((source_urn("erp"), "Source"), (schema_urn("erp", ODD_SCHEMA), "Schema"),
                                 (odd["urn"], "Column")):
        node = data(api_client, "query($urn: String!) { node(urn: $urn) { __typename urn } }", urn=entity_urn)
        assert node["node"] == {"__typename": typename, "urn": entity_urn}


@pytest.mark.parametrize("bad", [
    "orders",
    "urn:catalog:dataset:erp:public",
    "urn:catalog:dataset:erp:sales/eu:orders",  # '/' must be escaped
    "urn:catalog:dataset:erp:public:50%off",
    "urn:catalog:planet:erp",
])
def test_malformed_urn_is_invalid_input_on_the_urn_field(api_client, bad):
    for query in ("query($urn: String!) { table(urn: $urn) { name } }",
                  "query($urn: String!) { node(urn: $urn) { name } }"):
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


# -- (4) curation ------------------------------------------------------------------------------------------------

SET_DESCRIPTION = """
mutation($urn: String!, $text: String) {
  setDescription(urn: $urn, description: $text) { __typename urn description tags }
}
"""
SET_TAGS = "mutation($urn: String!, $tags: [String!]!) { setTags(urn: $urn, tags: $tags) { __typename urn tags } }"
TABLE_CURATION = """
query($urn: String!) {
  table(urn: $urn) { description tags columns { edges { node { name description tags } } } }
}
"""


def test_descriptions_and_tags_round_trip(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, make_catalog(1, 1))
    table = dataset_urn("erp", "schema_0", "table_0000")
    first_column = make_catalog(1, 1).tables[0].columns[0].name
    column = column_urn("erp", "schema_0", "table_0000", first_column)

    described = data(api_client, SET_DESCRIPTION, urn=table, text="  Orders placed in the web shop. ")
    assert described["setDescription"] == {"__typename": "Table", "urn": table,
                                           "description": "Orders placed in the web shop.", "tags": []}
    data(api_client, SET_DESCRIPTION, urn=column, text="Customer e-mail")
    tagged = data(api_client, SET_TAGS, urn=column, tags=["PII.Email", "gdpr", "gdpr"])
    assert tagged["setTags"] == {"__typename": "Column", "urn": column, "tags": ["gdpr", "pii.email"]}
    data(api_client, SET_TAGS, urn=table, tags=["finance"])

    later = data(api_client, TABLE_CURATION, urn=table)["table"]
    assert later["description"] == "Orders placed in the web shop."
    assert later["tags"] == ["finance"]
    first = later["columns"]["edges"][0]["node"]
    assert first == {"name": first_column, "description": "Customer e-mail", "tags": ["gdpr", "pii.email"]}

    cleared = data(api_client, SET_DESCRIPTION, urn=table, text=None)
    assert cleared["setDescription"]["description"] is None


def test_two_curations_in_one_request_each_see_their_own_result(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, make_catalog(1, 1))
    table = dataset_urn("erp", "schema_0", "table_0000")
    both = data(api_client, """
        mutation($urn: String!) { a: setTags(urn: $urn, tags: ["one"]) { tags }
                                  b: setTags(urn: $urn, tags: ["two"]) { tags } }""", urn=table)
    assert both == {"a": {"tags": ["one"]}, "b": {"tags": ["two"]}}


def test_invalid_tag_names_the_field_and_changes_nothing(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, make_catalog(1, 1))
    table = dataset_urn("erp", "schema_0", "table_0000")
    data(api_client, SET_TAGS, urn=table, tags=["finance"])

    found = error(api_client, SET_TAGS, urn=table, tags=["ok", "Bad Tag!"])
    assert found["extensions"]["code"] == "invalid_input"
    assert found["extensions"]["field"] == "tags.1"
    assert found["message"].startswith("tags.1:")
    assert data(api_client, TABLE_CURATION, urn=table)["table"]["tags"] == ["finance"]

    unknown = error(api_client, SET_TAGS, urn=dataset_urn("erp", "schema_0", "gone"), tags=["x"])
    assert unknown["extensions"]["code"] == "not_found"


# -- (5) sources -------------------------------------------------------------------------------------------------

REGISTER = """
mutation($input: RegisterSourceInput!) {
  registerSource(input: $input) { id urn name kind description config secretRefs lineageNamespace }
}
"""


def test_register_with_unknown_kind_stores_nothing(api_client, catalog_ctx):
    found = error(api_client, REGISTER, input={"name": "lake", "kind": "oracle-9i", "config": {}})
    assert found["extensions"]["code"] == "invalid_input"
    assert found["extensions"]["field"] == "kind"
    assert found["extensions"]["status"] == 422
    assert source_count(catalog_ctx) == 0
    assert data(api_client, "{ sources { totalCount } }")["sources"]["totalCount"] == 0


def test_register_reports_config_and_input_fields(api_client, catalog_ctx):
    missing_path = error(api_client, REGISTER, input={"name": "lite", "kind": "sqlite", "config": {}})
    assert missing_path["extensions"]["code"] == "invalid_input"
    assert missing_path["extensions"]["field"] == "config.path"

    bad_secret = error(api_client, REGISTER, input={"name": "lite", "kind": "sqlite", "config": {"path": "/x.db"},
                                                    "secrets": {"password": 5}})
    assert (bad_secret["extensions"]["code"], bad_secret["extensions"]["field"]) == ("invalid_input",
                                                                                      "secrets.password")
    not_an_object = error(api_client, REGISTER, input={"name": "lite", "kind": "sqlite", "config": [1, 2]})
    assert not_an_object["extensions"]["field"] == "config"
    bad_name = error(api_client, REGISTER, input={"name": "no spaces please", "kind": "sqlite",
                                                  "config": {"path": "/x.db"}})
    assert bad_name["extensions"]["field"] == "name"
    assert source_count(catalog_ctx) == 0


def test_register_fails_on_a_failing_connection_test_and_stores_nothing(api_client, catalog_ctx, tmp_path):
    pytest.importorskip("crawlers.connectors.sqlite")
    found = error(api_client, REGISTER, input={"name": "lite", "kind": "sqlite",
                                               "config": {"path": str(tmp_path / "missing.db")}})
    assert found["extensions"]["code"] not in ("internal_error", "invalid_input")
    assert found["extensions"]["status"] == 422
    assert found["extensions"]["field"] == "config.path"
    assert source_count(catalog_ctx) == 0


def make_sqlite_file(path) -> str:
    """A small SQLite database: two related tables and a view."""
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT);
            CREATE TABLE orders (
                id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
                amount NUMERIC(12, 2) DEFAULT 0, placed_at TEXT
            );
            CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100;
        """)
    conn.close()
    return str(path)


SOURCE_TREE = """
query($id: Int!) {
  source(id: $id) { name lastCrawledAt schemas { edges { node { name tables { totalCount edges { node {
    name kind viewDefinition primaryKey foreignKeys columns { edges { node { name dataType nullable } } }
  } } } } } } }
}
"""


def test_register_crawl_and_delete_a_sqlite_source(api_client, catalog_ctx, tmp_path):
    pytest.importorskip("crawlers.connectors.sqlite")  # written alongside; runs once it exists
    path = make_sqlite_file(tmp_path / "shop.db")

    source = data(api_client, REGISTER, input={"name": "shop", "kind": "sqlite", "description": "Web shop",
                                               "config": {"path": path}})["registerSource"]
    assert (source["name"], source["kind"], source["urn"]) == ("shop", "sqlite", "urn:catalog:source:shop")
    assert source["config"]["path"] == path and source["secretRefs"] == {}

    tested = data(api_client, "mutation($id: Int!) { testSource(id: $id) { ok server errorCode } }",
                  id=source["id"])["testSource"]
    assert tested["ok"] and tested["server"].startswith("SQLite")

    job = data(api_client, "mutation($id: Int!) { crawlSource(id: $id, wait: true) { id kind status errorCode "
                           "errorMessage result sourceId finishedAt } }", id=source["id"])["crawlSource"]
    assert job["status"] == "succeeded", job
    assert job["kind"] == "crawl" and job["sourceId"] == source["id"] and job["finishedAt"]
    assert job["result"]["tables_created"] == 3
    assert data(api_client, "query($id: String!) { job(id: $id) { status } }", id=job["id"])["job"]["status"] == \
        "succeeded"

    tree = data(api_client, SOURCE_TREE, id=source["id"])["source"]
    assert tree["lastCrawledAt"]
    tables = {t["node"]["name"]: t["node"] for t in tree["schemas"]["edges"][0]["node"]["tables"]["edges"]}
    assert sorted(tables) == ["big_orders", "customers", "orders"]
    assert tables["big_orders"]["kind"] == "view" and "amount > 100" in tables["big_orders"]["viewDefinition"]
    assert [c["node"]["name"] for c in tables["orders"]["columns"]["edges"]] == \
        ["id", "customer_id", "amount", "placed_at"]
    assert tables["orders"]["foreignKeys"][0]["referred_table"] == "customers"
    by_name = data(api_client, '{ source(name: "shop") { id } }')["source"]
    assert by_name["id"] == source["id"]

    updated = data(api_client, """mutation($id: Int!) { updateSource(id: $id, input: {description: "Shop DB"}) {
        description } }""", id=source["id"])
    assert updated["updateSource"]["description"] == "Shop DB"

    assert data(api_client, "mutation($id: Int!) { deleteSource(id: $id) }", id=source["id"]) == {"deleteSource": True}
    assert source_count(catalog_ctx) == 0
    gone = error(api_client, "query($id: Int!) { source(id: $id) { name } }", id=source["id"])
    assert gone["extensions"]["code"] == "not_found"
    assert error(api_client, "query($urn: String!) { table(urn: $urn) { name } }",
                 urn=dataset_urn("shop", "main", "orders"))["extensions"]["code"] == "not_found"


def test_source_needs_exactly_one_of_id_and_name(api_client):
    found = error(api_client, "{ source { name } }")
    assert (found["extensions"]["code"], found["extensions"]["field"]) == ("invalid_input", "id")


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


# -- (7) GraphiQL and error masking -------------------------------------------------------------------------------


def test_graphiql_is_served_to_browsers(api_client):
    response = api_client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "graphiql" in response.text.lower()


def test_unexpected_errors_are_masked(api_client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("connection to postgres://admin:hunter2@db failed")

    monkeypatch.setattr(browse, "search", broken)
    found = error(api_client, '{ search(q: "orders") { urn } }')
    assert "hunter2" not in found["message"]
    assert found["extensions"] == {"code": "internal_error", "status": 500, "field": None, "problems": []}


def test_search_finds_tables_and_columns(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, SourceSnapshot(
        schemas=(SchemaSnapshot("public"),),
        tables=(make_table("public", "customer_orders", (ColumnSnapshot("order_total", 1, "numeric"),)),),
    ))
    hits = data(api_client, '{ search(q: "order", limit: 10) { urn type name } }')["search"]
    assert {(h["type"], h["name"]) for h in hits} == {("dataset", "customer_orders"), ("column", "order_total")}
    assert error(api_client, '{ search(q: "") { urn } }')["extensions"]["field"] == "q"
