"""OpenLineage events sent by the openlineage-python client to a running service, found again through GraphQL.

The service runs under uvicorn on a free local port; the client's own HTTP transport posts to it, exactly as an
Airflow or Spark integration pointed at the catalog would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset
from openlineage.client.transport.http import HttpConfig, HttpTransport

from catalog_api.app import create_app
from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import wait_for_job
from catalog_api.services.lineage import openlineage_placeholder_urn
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import dataset_urn
from tests.support.server import serve

pytestmark = pytest.mark.postgres

DDL = """
create schema shop;
create table shop.orders (id int primary key, customer_id int, total numeric);
create table shop.customers (id int primary key, name text);
"""

LINEAGE = """
query ($urn: String!) {
  lineage(urn: $urn, direction: UPSTREAM, depth: 3, columnLevel: true) {
    truncated
    nodes { urn name placeholder kind distance }
    edges { upstream downstream upstreamColumn downstreamColumn transformation origin }
  }
}
"""


@pytest.fixture
def server(catalog_ctx) -> Iterator[str]:
    with serve(create_app(ctx=catalog_ctx)) as url:
        yield url


def _graph(base: str, urn: str) -> dict:
    response = httpx.post(f"{base}/graphql", json={"query": LINEAGE, "variables": {"urn": urn}}, timeout=10)
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["lineage"]


def _event(state: RunState, run_id: str, namespace: str, database: str, inputs: list[str]) -> RunEvent:
    facet = column_lineage_dataset.ColumnLineageDatasetFacet(fields={
        "revenue": column_lineage_dataset.Fields(inputFields=[column_lineage_dataset.InputField(
            namespace, f"{database}.shop.orders", "total",
            transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype="AGGREGATION")])]),
        "order_id": column_lineage_dataset.Fields(inputFields=[column_lineage_dataset.InputField(
            namespace, f"{database}.shop.orders", "id",
            transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY")])]),
    })
    return RunEvent(
        eventType=state, eventTime=datetime.now(UTC).isoformat(), run=Run(runId=run_id),
        job=Job(namespace="spark", name="daily_revenue"), producer="https://example.com/tests",
        inputs=[InputDataset(namespace, f"{database}.shop.{name}") for name in inputs],
        outputs=[OutputDataset("s3://warehouse", "mart.revenue", facets={"columnLineage": facet})],
    )


def test_openlineage_client_events_show_up_in_graphql_and_merge_when_crawled(catalog_ctx, server, make_pg_database):
    config = make_pg_database(DDL)
    source = register_source(catalog_ctx, SourceRegistration(name="pg", kind="postgres", config=config))
    namespace, database = f"postgres://{config['host']}:{config['port']}", config["database"]
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=server)))
    run_id = str(uuid.uuid4())
    client.emit(_event(RunState.START, run_id, namespace, database, ["orders", "customers"]))
    client.emit(_event(RunState.COMPLETE, run_id, namespace, database, ["orders", "customers"]))

    revenue = openlineage_placeholder_urn("s3://warehouse", "mart.revenue")
    orders, customers = dataset_urn("pg", "shop", "orders"), dataset_urn("pg", "shop", "customers")
    found = _graph(server, revenue)
    assert {n["urn"]: (n["placeholder"], n["distance"]) for n in found["nodes"]} == {
        revenue: (True, 0), orders: (True, -1), customers: (True, -1)}
    assert {(e["upstream"], e["upstreamColumn"], e["downstreamColumn"], e["transformation"])
            for e in found["edges"]} == {
        (orders, None, None, None), (customers, None, None, None),
        (orders, "total", "revenue", "expression"), (orders, "id", "order_id", "identity")}
    assert {e["origin"] for e in found["edges"]} == {"openlineage"}

    # crawling the source turns the placeholders into its tables: same URNs, now known
    job = wait_for_job(catalog_ctx, request_crawl(catalog_ctx, source.id).id, timeout=120)
    assert job.status == "succeeded", job.error_message
    crawled = {n["urn"]: (n["placeholder"], n["kind"]) for n in _graph(server, revenue)["nodes"]}
    assert crawled[orders] == (False, "table") and crawled[customers] == (False, "table")

    # a later completed run that no longer reads customers replaces the job's edges
    client.emit(_event(RunState.COMPLETE, str(uuid.uuid4()), namespace, database, ["orders"]))
    assert {n["urn"] for n in _graph(server, revenue)["nodes"]} == {revenue, orders}


def test_malformed_events_are_refused_naming_the_field(api_client):
    missing = api_client.post("/api/v1/lineage", json={"eventType": "START", "eventTime": "2026-01-01T00:00:00Z",
                                                       "job": {"namespace": "n", "name": "j"}})
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "run"
    bad_type = api_client.post("/api/v1/lineage", json={
        "eventType": "EXPLODED", "eventTime": "2026-01-01T00:00:00Z", "run": {"runId": "r"},
        "job": {"namespace": "n", "name": "j"}})
    assert bad_type.status_code == 422 and bad_type.json()["error"]["field"] == "eventType"
    bad_time = api_client.post("/api/v1/lineage", json={
        "eventType": "START", "eventTime": "yesterday", "run": {"runId": "r"}, "job": {"namespace": "n", "name": "j"}})
    assert bad_time.status_code == 422 and bad_time.json()["error"]["field"] == "eventTime"
