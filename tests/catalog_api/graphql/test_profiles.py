"""Profiles through GraphQL: profile jobs started by mutations, statistics checked against PostgreSQL's own
aggregates, history, anomalies, per-table anomaly settings, and column profiles batched into one statement."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import wait_for_job
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import column_urn, dataset_urn, schema_urn
from crawlers.snapshot import SchemaSnapshot, SourceSnapshot
from tests.support.factories import apply, make_source, make_table
from tests.support.graphql import data, error
from tests.support.jobs import graphql_job_succeeded
from tests.support.postgres import pg_execute, pg_query
from tests.support.statements import counted_statements

WIDE_COLUMNS = [f"c{k:02d}" for k in range(1, 50)]

SHOP = f"""
create schema shop;
create table shop.orders (
    id bigint primary key, customer_id bigint, total numeric(12, 2), placed_at timestamptz not null, note text
);
insert into shop.orders
    select g, 1 + (g * 7) % 90, case when g % 10 = 0 then null else (g % 97) * 1.5 end,
           timestamptz '2026-02-01' + g * interval '1 minute', case when g % 3 = 0 then null else 'n' || g end
    from generate_series(1, 1000) g;
create table shop.wide (id bigint primary key, {", ".join(f"{c} integer" for c in WIDE_COLUMNS)});
insert into shop.wide
    select g, {", ".join(f"case when g % {k + 1} = 0 then null else g * {k} end"
                         for k in range(1, 50))}
    from generate_series(1, 120) g;
"""

ORDERS = dataset_urn("shop", "shop", "orders")
WIDE = dataset_urn("shop", "shop", "wide")
ORDER_COLUMNS = ["id", "customer_id", "total", "placed_at", "note"]

PROFILE_TABLE = "mutation($urn: String!) { profileTable(urn: $urn) { id kind status } }"
PROFILE_SOURCE = "mutation($id: Int!, $tables: [String!]) { profileSource(id: $id, tables: $tables) { id kind } }"

LATEST = """
query($urn: String!) {
  table(urn: $urn) {
    profile {
      databaseId rowCount columnCount readFrom reportUrl reportStatus reportJobId anomalyCount
      duplicateRows { value exact low high method confidence }
      candidateKeys { columns verified declared }
      columns { name columnUrn kind count nullCount nullRate min max sum mean stats }
      anomalies { kind column severity subjectUrn }
    }
    columns(first: 100) { edges { node { name profile { nullCount count } } } }
  }
}
"""


def pg_column_figures(config: dict, table: str, columns: list[str]) -> dict[str, tuple[int, int]]:
    """(non-null count, null count) of each column, counted by PostgreSQL."""
    counts = ", ".join(f"count({c}), count(*) - count({c})" for c in columns)
    (row,) = pg_query(config, f"select {counts} from shop.{table}")
    return {c: (row[2 * i], row[2 * i + 1]) for i, c in enumerate(columns)}


@pytest.fixture
def shop(catalog_ctx, make_pg_database, spark):
    config = make_pg_database(SHOP)
    source = register_source(catalog_ctx, SourceRegistration(name="shop", kind="postgres", config=config))
    assert wait_for_job(catalog_ctx, request_crawl(catalog_ctx, source.id).id, timeout=300).status == "succeeded"
    return source.id, config


def check_against_postgres(client: TestClient, config: dict) -> dict:
    """The newest profile of shop.orders as GraphQL shows it, asserted equal to PostgreSQL's aggregates."""
    table = data(client, LATEST, urn=ORDERS)["table"]
    # The profile is readable at once; its HTML report is rendered by a report job after the profile job.
    assert table["profile"]["reportStatus"] in ("pending", "ready") and table["profile"]["reportJobId"]
    graphql_job_succeeded(client, table["profile"]["reportJobId"])
    table = data(client, LATEST, urn=ORDERS)["table"]
    profile = table["profile"]
    assert profile["reportStatus"] == "ready"
    ((rows, low, high, total, mean, first, last, low_id, high_id),) = pg_query(config, """
        select count(*), min(total), max(total), sum(total), avg(total), min(placed_at), max(placed_at),
               min(id), max(id)
        from shop.orders""")
    assert profile["rowCount"] == rows and profile["columnCount"] == len(ORDER_COLUMNS)
    assert profile["reportUrl"] == f"/api/v1/tables/{quote(ORDERS, safe='')}/profile/report?profile_id={profile['databaseId']}"
    assert {"columns": ["id"], "verified": True, "declared": True} in profile["candidateKeys"]

    expected = pg_column_figures(config, "orders", ORDER_COLUMNS)
    columns = {c["name"]: c for c in profile["columns"]}
    assert [c["name"] for c in profile["columns"]] == ORDER_COLUMNS
    for name, (non_null, nulls) in expected.items():
        assert (columns[name]["count"], columns[name]["nullCount"]) == (non_null, nulls), name
        assert columns[name]["nullRate"] == pytest.approx(nulls / rows)
        assert columns[name]["columnUrn"] == column_urn("shop", "shop", "orders", name)
    amount = columns["total"]
    # Decimals arrive as exact text, never rounded through a float.
    assert (Decimal(amount["min"]), Decimal(amount["max"]), Decimal(amount["sum"])) == (low, high, total)
    assert amount["mean"] == pytest.approx(float(mean), rel=1e-9)
    assert amount["stats"]["null_count"] == amount["nullCount"]
    assert (columns["placed_at"]["min"], columns["placed_at"]["max"]) == (first.isoformat(), last.isoformat())
    assert (columns["id"]["min"], columns["id"]["max"]) == (str(low_id), str(high_id))

    # Column.profile (through the DataLoader) shows the same figures as the table's profile.
    by_column = {e["node"]["name"]: e["node"]["profile"] for e in table["columns"]["edges"]}
    assert {n: (p["count"], p["nullCount"]) for n, p in by_column.items()} == expected
    return profile


@pytest.mark.postgres
def test_profiles_through_graphql_match_postgres_and_keep_history(api_client, catalog_ctx, shop):
    source_id, config = shop
    assert data(api_client, LATEST, urn=ORDERS)["table"]["profile"] is None  # not profiled yet

    job = data(api_client, PROFILE_TABLE, urn=ORDERS)["profileTable"]
    assert job["kind"] == "profile"
    graphql_job_succeeded(api_client, job["id"])
    first = check_against_postgres(api_client, config)
    assert first["anomalies"] == [] and first["anomalyCount"] == 0

    # Four in five orders disappear: the second run (of the source's two tables) reports the drop in volume.
    pg_execute(config, "delete from shop.orders where id > 200")
    job = data(api_client, PROFILE_SOURCE, id=source_id, tables=[ORDERS, WIDE])["profileSource"]
    graphql_job_succeeded(api_client, job["id"])
    second = check_against_postgres(api_client, config)
    assert second["databaseId"] != first["databaseId"]
    assert ("volume", None, ORDERS) in {(a["kind"], a["column"], a["subjectUrn"]) for a in second["anomalies"]}
    assert second["anomalyCount"] == len(second["anomalies"])

    history = data(api_client, """
        query($urn: String!, $column: String!) {
          table(urn: $urn) {
            profiles(limit: 10) { databaseId rowCount columns { name nullCount } }
            anomalies { kind profileId }
          }
          column(urn: $column) { profileHistory { profileId nullCount profiledAt } }
        }""", urn=ORDERS, column=column_urn("shop", "shop", "orders", "total"))
    runs = history["table"]["profiles"]
    assert [(p["databaseId"], p["rowCount"]) for p in runs] == [(second["databaseId"], 200), (first["databaseId"], 1000)]
    # A history entry still answers with its own column statistics: the older run's nulls, not today's.
    older_total = next(c for c in runs[1]["columns"] if c["name"] == "total")
    assert older_total["nullCount"] == 100
    assert [(c["profileId"], c["nullCount"]) for c in history["column"]["profileHistory"]] == [
        (second["databaseId"], 20), (first["databaseId"], 100)]
    assert {a["profileId"] for a in history["table"]["anomalies"]} == {second["databaseId"]}

    by_id = data(api_client, "query($id: Int!) { profile(id: $id) { tableUrn rowCount columns { name } } }",
                 id=first["databaseId"])["profile"]
    assert (by_id["tableUrn"], by_id["rowCount"], len(by_id["columns"])) == (ORDERS, 1000, len(ORDER_COLUMNS))
    found = data(api_client, """{ anomalies(source: "shop", limit: 50) { tableUrn kind }
                                  critical: anomalies(source: "shop", severity: "critical") { kind column } }""")
    assert {(a["tableUrn"], a["kind"]) for a in found["anomalies"]} == {
        (ORDERS, a["kind"]) for a in second["anomalies"]}
    assert sorted((a["kind"], a["column"] or "") for a in found["critical"]) == sorted(
        (a["kind"], a["column"] or "") for a in second["anomalies"] if a["severity"] == "critical")

    # A page of column profiles costs one statement whatever its size: 5 columns and 50 cost the same.
    wide_columns = ["id", *WIDE_COLUMNS]
    page = """query($urn: String!, $first: Int!) { table(urn: $urn) {
                columns(first: $first) { edges { node { name profile { count nullCount } } } } } }"""
    with counted_statements(catalog_ctx.db.engine) as few:
        small = data(api_client, page, urn=WIDE, first=5)
    with counted_statements(catalog_ctx.db.engine) as many:
        large = data(api_client, page, urn=WIDE, first=50)
    assert len(small["table"]["columns"]["edges"]) == 5 and len(large["table"]["columns"]["edges"]) == 50
    assert len(few) == len(many)
    expected = pg_column_figures(config, "wide", wide_columns)
    shown = {e["node"]["name"]: e["node"]["profile"] for e in large["table"]["columns"]["edges"]}
    assert {n: (p["count"], p["nullCount"]) for n, p in shown.items()} == expected

    # Table profiles over a page of tables are batched too: one table and two cost the same statements.
    tables = """query($urn: String!, $first: Int!) { entity(urn: $urn) { ... on Schema {
                  tables(first: $first) { edges { node { urn profile { rowCount columns { name } } } } } } } }"""
    schema = schema_urn("shop", "shop")
    with counted_statements(catalog_ctx.db.engine) as one_table:
        data(api_client, tables, urn=schema, first=1)
    with counted_statements(catalog_ctx.db.engine) as two_tables:
        both = data(api_client, tables, urn=schema, first=2)["entity"]["tables"]["edges"]
    assert len(one_table) == len(two_tables)
    profiles = {e["node"]["urn"]: e["node"]["profile"] for e in both}
    ((orders_rows, wide_rows),) = pg_query(
        config, "select (select count(*) from shop.orders), (select count(*) from shop.wide)")
    assert {urn: p["rowCount"] for urn, p in profiles.items()} == {ORDERS: orders_rows, WIDE: wide_rows}
    assert [c["name"] for c in profiles[WIDE]["columns"]] == wide_columns


def test_anomaly_thresholds_are_validated_and_name_the_bad_setting(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, SourceSnapshot(schemas=(SchemaSnapshot("public"),),
                                                 tables=(make_table("public", "orders"),)))
    urn = dataset_urn("erp", "public", "orders")
    query = "query($urn: String!) { table(urn: $urn) { anomalyThresholds profile { id } profiles { id } } }"
    mutation = "mutation($urn: String!, $t: JSON) { setAnomalyThresholds(urn: $urn, thresholds: $t) }"
    defaults = data(api_client, query, urn=urn)["table"]
    assert defaults["profile"] is None and defaults["profiles"] == []
    assert defaults["anomalyThresholds"]["volume_change"] == 0.3

    bad = error(api_client, mutation, urn=urn, t={"volume_change": -1})
    assert bad["extensions"]["code"] == "invalid_input"
    assert bad["extensions"]["field"] == "thresholds.volume_change"
    unknown = error(api_client, mutation, urn=urn, t={"volume": 0.5})
    assert unknown["extensions"]["code"] == "invalid_input" and "volume" in unknown["message"]
    assert data(api_client, query, urn=urn)["table"]["anomalyThresholds"] == defaults["anomalyThresholds"]

    settings = data(api_client, mutation, urn=urn, t={"volume_change": 0.9})["setAnomalyThresholds"]
    assert settings["volume_change"] == 0.9 and settings["min_history"] == 5
    assert data(api_client, query, urn=urn)["table"]["anomalyThresholds"] == settings
    reset = data(api_client, mutation, urn=urn, t=None)["setAnomalyThresholds"]
    assert reset == defaults["anomalyThresholds"]


def test_profile_queries_report_bad_arguments_on_their_field(api_client, catalog_ctx):
    missing = error(api_client, "{ profile(id: 424242) { id } }")
    assert missing["extensions"]["code"] == "not_found"
    severity = error(api_client, '{ anomalies(severity: "bad") { id } }')
    assert (severity["extensions"]["code"], severity["extensions"]["field"]) == ("invalid_input", "severity")
    unknown_table = error(api_client, 'mutation { profileTable(urn: "urn:catalog:dataset:erp:public:nope") { id } }')
    assert unknown_table["extensions"]["code"] == "not_found"
    assert data(api_client, "{ anomalies { id } }")["anomalies"] == []
