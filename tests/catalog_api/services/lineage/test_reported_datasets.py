"""Datasets known only from OpenLineage keep the columns of their `schema` facet: REST `GET /api/v1/tables/{urn}` and
GraphQL `table(urn:)` answer with them, marked as reported (not crawled), until a crawl finds the table.

Events are built with the openlineage-python client's classes; the facet a test sends is the oracle of the answer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset
from openlineage.client.serde import Serde

from catalog_api.services.lineage import openlineage_placeholder_urn
from catalog_api.services.lineage.openlineage import MAX_FACET_FIELDS
from catalog_api.urns import column_urn, dataset_urn
from tests.support.graphql import data
from tests.support.jobs import crawled
from tests.support.lineage import lineage
from tests.support.sources import register_sqlite

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
WAREHOUSE = "s3://warehouse"
REVENUE = openlineage_placeholder_urn(WAREHOUSE, "mart.revenue")
RAW_ORDERS = openlineage_placeholder_urn("kafka://raw", "orders")

REVENUE_FIELDS = [("day", "date", "the business day"), ("region", "varchar(20)", None),
                  ("revenue", "decimal(18,2)", "gross, in EUR"), ("orders", None, None)]
ORDERS_FIELDS = [("order_id", "bigint", "key"), ("amount", "double", None)]

TABLE = """
query ($urn: String!) {
  table(urn: $urn) {
    databaseId urn name kind origin schema { name } source { name }
    reported { reporter jobNamespace jobName runId eventTime producer }
    columns { totalCount edges { node { databaseId name ordinal dataType comment nullable table { urn origin } } } }
  }
}
"""



@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_settings(request, catalog_settings):
    """Every test on both catalog stores: the embedded SQLite and PostgreSQL."""
    if request.param == "postgres":
        return catalog_settings.model_copy(update={"database_url": request.getfixturevalue("pg_catalog_url")})
    return catalog_settings


NODE = "query ($urn: String!) { entity(urn: $urn) { urn ... on Table { origin columns { totalCount } } } }"
BY_ID = "query ($id: ID!) { node(id: $id) { ... on Table { urn origin databaseId } } }"


def schema_facet(fields) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(fields=[
        schema_dataset.SchemaDatasetFacetFields(name=name, type=type_, description=description)
        for name, type_, description in fields])


def send(client, *, time: datetime, outputs=(), inputs=(), run_id: str | None = None, job: str = "daily_revenue",
         state: RunState = RunState.COMPLETE) -> dict:
    event = RunEvent(eventType=state, eventTime=time.isoformat(), run=Run(runId=run_id or str(uuid.uuid4())),
                     job=Job(namespace="spark", name=job), producer="https://example.com/tests",
                     inputs=list(inputs), outputs=list(outputs))
    response = client.post("/api/v1/lineage", json=Serde.to_dict(event))
    assert response.status_code == 201, response.text
    return response.json()


def revenue_output(fields=REVENUE_FIELDS) -> OutputDataset:
    return OutputDataset(WAREHOUSE, "mart.revenue", facets={"schema": schema_facet(fields)})


def table(client, urn: str) -> dict:
    response = client.get("/api/v1/tables/" + quote(urn, safe=""))
    assert response.status_code == 200, response.text
    return response.json()


def rest_columns(body: dict) -> list[tuple]:
    return [(c["name"], c["data_type"], c["comment"]) for c in body["columns"]]


def graphql_columns(body: dict) -> list[tuple]:
    return [(e["node"]["name"], e["node"]["dataType"], e["node"]["comment"]) for e in body["columns"]["edges"]]


def test_an_uncrawled_output_answers_with_the_columns_of_its_schema_facet(api_client):
    run_id = str(uuid.uuid4())
    send(api_client, time=T0, run_id=run_id, outputs=[revenue_output()])

    body = table(api_client, REVENUE)
    assert rest_columns(body) == REVENUE_FIELDS
    assert [c["ordinal"] for c in body["columns"]] == [1, 2, 3, 4]
    assert [c["urn"] for c in body["columns"]] == [column_urn("_openlineage", WAREHOUSE, "mart.revenue", name)
                                                   for name, _, _ in REVENUE_FIELDS]
    assert body["origin"] == "reported"
    assert body["reported"] == {"reporter": "openlineage", "job_namespace": "spark", "job_name": "daily_revenue",
                                "run_id": run_id, "event_time": "2026-12-05T10:00:00Z",
                                "producer": "https://example.com/tests"}
    assert (body["source"], body["schema_name"], body["name"]) == ("_openlineage", WAREHOUSE, "mart.revenue")

    found = data(api_client, TABLE, urn=REVENUE)["table"]
    assert graphql_columns(found) == REVENUE_FIELDS and found["columns"]["totalCount"] == len(REVENUE_FIELDS)
    assert found["origin"] == "reported"
    assert found["reported"]["jobName"] == "daily_revenue" and found["reported"]["runId"] == run_id
    # nothing only a crawl knows is made up: no ids, no nullability, no source or schema for an _openlineage dataset
    assert (found["databaseId"], found["schema"], found["source"]) == (None, None, None)
    columns = [e["node"] for e in found["columns"]["edges"]]
    assert {(c["databaseId"], c["nullable"]) for c in columns} == {(None, None)}
    assert {(c["table"]["urn"], c["table"]["origin"]) for c in columns} == {(REVENUE, "reported")}
    assert data(api_client, NODE, urn=REVENUE)["entity"] == {"urn": REVENUE, "origin": "reported",
                                                           "columns": {"totalCount": len(REVENUE_FIELDS)}}


def test_graphql_pages_through_reported_columns(api_client):
    send(api_client, time=T0, outputs=[revenue_output()])
    query = """query ($urn: String!, $after: String) { table(urn: $urn) { columns(first: 3, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } } }"""
    names, after, pages = [], None, 0
    while True:
        page = data(api_client, query, urn=REVENUE, after=after)["table"]["columns"]
        assert page["totalCount"] == len(REVENUE_FIELDS)
        names += [e["node"]["name"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert names == [name for name, _, _ in REVENUE_FIELDS] and pages == 2


def test_an_uncrawled_input_keeps_its_schema_facet_too(api_client):
    source = InputDataset("kafka://raw", "orders", facets={"schema": schema_facet(ORDERS_FIELDS)})
    send(api_client, time=T0, inputs=[source], outputs=[revenue_output()])
    assert rest_columns(table(api_client, RAW_ORDERS)) == ORDERS_FIELDS
    assert graphql_columns(data(api_client, TABLE, urn=RAW_ORDERS)["table"]) == ORDERS_FIELDS


def test_column_lineage_fields_name_columns_the_schema_facet_left_out(api_client):
    lineage_facet = column_lineage_dataset.ColumnLineageDatasetFacet(fields={
        "revenue": column_lineage_dataset.Fields(inputFields=[
            column_lineage_dataset.InputField("kafka://raw", "orders", "amount")]),
        "margin": column_lineage_dataset.Fields(inputFields=[
            column_lineage_dataset.InputField("kafka://raw", "orders", "amount")]),
    })
    output = OutputDataset(WAREHOUSE, "mart.revenue", facets={"schema": schema_facet(REVENUE_FIELDS),
                                                              "columnLineage": lineage_facet})
    send(api_client, time=T0, inputs=[InputDataset("kafka://raw", "orders")], outputs=[output])
    assert rest_columns(table(api_client, REVENUE)) == [*REVENUE_FIELDS, ("margin", None, None)]


def test_a_newer_report_replaces_the_columns_and_a_stale_one_does_not(api_client):
    newer, older = REVENUE_FIELDS[:2], REVENUE_FIELDS
    newer_run = str(uuid.uuid4())
    send(api_client, time=T0 + timedelta(minutes=10), run_id=newer_run, outputs=[revenue_output(newer)])
    # a retry of an older run arrives late, from another job writing the same dataset: it must not win
    send(api_client, time=T0, outputs=[revenue_output(older)], job="backfill")

    body = table(api_client, REVENUE)
    assert rest_columns(body) == newer
    assert body["reported"]["run_id"] == newer_run and body["reported"]["event_time"] == "2026-12-05T10:10:00Z"
    assert graphql_columns(data(api_client, TABLE, urn=REVENUE)["table"]) == newer

    latest = [("day", "date", "renamed nothing, retyped nothing"), ("country", "char(2)", None)]
    send(api_client, time=T0 + timedelta(minutes=20), outputs=[revenue_output(latest)])
    assert rest_columns(table(api_client, REVENUE)) == latest


@pytest.mark.parametrize("withdrawn", [{"_deleted": True, "fields": [{"name": "gone"}]}, {"fields": None}],
                         ids=["deleted", "no-fields"])
def test_a_newer_facet_without_fields_leaves_the_columns_alone(api_client, withdrawn):
    send(api_client, time=T0, outputs=[revenue_output()])
    later = (T0 + timedelta(minutes=5)).isoformat()
    body = Serde.to_dict(RunEvent(
        eventType=RunState.COMPLETE, eventTime=later, run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="spark", name="daily_revenue"), producer="https://example.com/tests",
        outputs=[OutputDataset(WAREHOUSE, "mart.revenue")]))
    body["outputs"][0]["facets"] = {"schema": withdrawn}
    assert api_client.post("/api/v1/lineage", json=body).status_code == 201
    assert rest_columns(table(api_client, REVENUE)) == REVENUE_FIELDS


def test_a_crawl_of_the_same_table_wins_over_what_was_reported(api_client, catalog_ctx, tmp_path):
    source_id = register_sqlite(catalog_ctx, tmp_path, name="shop",
                                ddl="create table orders (id integer primary key, total real not null)")
    naming = api_client.get(f"/api/v1/sources/{source_id}").json()["lineage"]
    dataset = f"{naming['name_prefix']}main.orders"
    urn = dataset_urn("shop", "main", "orders")
    reported_fields = [("order_id", "bigint", "as the job wrote it"), ("amount", "double", None)]
    send(api_client, time=T0, outputs=[OutputDataset(naming["namespace"], dataset,
                                                     facets={"schema": schema_facet(reported_fields)})])
    assert rest_columns(table(api_client, urn)) == reported_fields  # not crawled yet: what the job reported
    reported_id = data(api_client, "query($urn: String!) { table(urn: $urn) { id } }", urn=urn)["table"]["id"]
    assert data(api_client, BY_ID, id=reported_id)["node"] == {"urn": urn, "origin": "reported", "databaseId": None}

    crawled(catalog_ctx, source_id)
    body = table(api_client, urn)
    # the SQLite file's own catalog is the oracle: (name, declared type)
    assert [(c["name"], c["data_type"]) for c in body["columns"]] == [("id", "INTEGER"), ("total", "REAL")]
    assert body["origin"] == "crawled" and body["reported"] is None
    found = data(api_client, TABLE, urn=urn)["table"]
    assert [e["node"]["name"] for e in found["columns"]["edges"]] == ["id", "total"]
    assert found["origin"] == "crawled" and found["reported"] is None
    # the global id is keyed by the URN: the id a client kept from the report now names the crawled table
    assert data(api_client, BY_ID, id=reported_id)["node"] == {"urn": urn, "origin": "crawled",
                                                             "databaseId": found["databaseId"]}

    # a later report about a crawled table changes nothing the catalog serves
    send(api_client, time=T0 + timedelta(hours=1), outputs=[OutputDataset(
        naming["namespace"], dataset, facets={"schema": schema_facet(reported_fields)})])
    assert [c["name"] for c in table(api_client, urn)["columns"]] == ["id", "total"]


def test_lineage_nodes_link_to_the_reported_table(api_client):
    send(api_client, time=T0, inputs=[InputDataset("kafka://raw", "orders")], outputs=[revenue_output()])
    nodes = {n["urn"]: n for n in lineage(api_client, REVENUE)["nodes"]}
    assert nodes[REVENUE]["reported"] is True and nodes[RAW_ORDERS]["reported"] is False
    assert nodes[RAW_ORDERS]["link"] is None  # no facet: nothing to show beyond the lineage
    followed = api_client.get(nodes[REVENUE]["link"])
    assert followed.status_code == 200 and rest_columns(followed.json()) == REVENUE_FIELDS

    query = "query ($urn: String!) { lineage(urn: $urn) { nodes { urn reported link } } }"
    graph = {n["urn"]: n for n in data(api_client, query, urn=REVENUE)["lineage"]["nodes"]}
    assert graph[REVENUE]["link"] == nodes[REVENUE]["link"] and graph[REVENUE]["reported"] is True


def test_the_openlineage_export_gives_back_the_reported_schema_facets(api_client):
    source = InputDataset("kafka://raw", "orders", facets={"schema": schema_facet(ORDERS_FIELDS)})
    send(api_client, time=T0, inputs=[source], outputs=[revenue_output()])
    exported = api_client.get("/api/v1/lineage", params={"urn": REVENUE, "direction": "UPSTREAM",
                                                         "format": "openlineage"})
    assert exported.status_code == 200, exported.text
    [event] = exported.json()
    given_back = [*event["inputs"], *event["outputs"]]

    def fields(dataset: dict) -> list[tuple]:
        return [(f["name"], f.get("type"), f.get("description")) for f in dataset["facets"]["schema"]["fields"]]

    assert {(d["namespace"], d["name"]): fields(d) for d in given_back} == {
        ("kafka://raw", "orders"): ORDERS_FIELDS, (WAREHOUSE, "mart.revenue"): REVENUE_FIELDS}


def wide_facets(facet: str, count: int) -> dict:
    """A `schema` or `columnLineage` facet of `count` fields named c0, c1, ..."""
    names = [f"c{i}" for i in range(count)]
    if facet == "schema":
        return {"schema": schema_facet([(n, "int", None) for n in names])}
    return {"columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(fields={
        n: column_lineage_dataset.Fields(inputFields=[column_lineage_dataset.InputField("kafka://raw", "orders", n)])
        for n in names})}


@pytest.mark.parametrize("facet", ["schema", "columnLineage"])
def test_a_facet_over_the_field_limit_is_refused_naming_it(api_client, facet):
    event = RunEvent(eventType=RunState.COMPLETE, eventTime=T0.isoformat(), run=Run(runId=str(uuid.uuid4())),
                     job=Job(namespace="spark", name="wide"), producer="https://example.com/tests",
                     outputs=[OutputDataset(WAREHOUSE, "mart.wide", facets=wide_facets(facet, MAX_FACET_FIELDS + 1))])
    response = api_client.post("/api/v1/lineage", json=Serde.to_dict(event))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == f"outputs.0.facets.{facet}.fields"
    assert f"{MAX_FACET_FIELDS:,}" in error["message"] or str(MAX_FACET_FIELDS) in error["message"], error
    wide = openlineage_placeholder_urn(WAREHOUSE, "mart.wide")
    assert api_client.get("/api/v1/tables/" + quote(wide, safe="")).status_code == 404
    assert lineage(api_client, wide)["edges"] == []


@pytest.mark.parametrize("facet", ["schema", "columnLineage"])
def test_exactly_the_field_limit_is_accepted(api_client, facet):
    send(api_client, time=T0, outputs=[OutputDataset(WAREHOUSE, "mart.wide",
                                                     facets=wide_facets(facet, MAX_FACET_FIELDS))])
    body = table(api_client, openlineage_placeholder_urn(WAREHOUSE, "mart.wide"))
    assert [c["name"] for c in body["columns"]] == [f"c{i}" for i in range(MAX_FACET_FIELDS)]
