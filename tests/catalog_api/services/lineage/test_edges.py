"""Extraction links a source table to its lake copy; the link is lineage with origin `extraction`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from catalog_api.db.models import ExtractionState, LineageEdge, Table
from catalog_api.services.lineage import lake_dataset_urn
from catalog_api.urns import dataset_urn
from tests.support.api import register
from tests.support.jobs import rest_job

pytestmark = pytest.mark.postgres

DDL = """
create schema app;
create table app.codes (code text primary key, label text);
insert into app.codes values ('a', 'alpha'), ('b', 'beta');
create view app.labels as select label from app.codes;
"""


def test_extraction_links_table_to_lake_dataset(api_client, catalog_ctx, make_pg_database):
    config = make_pg_database(DDL)
    source = register(api_client, config, name="app")
    crawled = rest_job(api_client, api_client.post(f"/api/v1/sources/{source['id']}/crawl").json())
    assert crawled["status"] == "succeeded"
    codes = dataset_urn("app", "app", "codes")
    job = rest_job(api_client, api_client.post(f"/api/v1/sources/{source['id']}/extract",
                                            json={"tables": [codes]}).json())
    assert job["status"] == "succeeded", job

    lake = lake_dataset_urn("app", "app", "codes")
    assert lake == "urn:catalog:dataset:_lake:app:app%2Fcodes"
    # upstream of the lake copy: the table; downstream of the table: the lake copy and the view reading it
    result = api_client.get("/api/v1/lineage", params={"urn": codes, "direction": "DOWNSTREAM",
                                                       "column_level": "true"}).json()
    by_origin = {(e["downstream"], e["origin"], e["upstream_column"]) for e in result["edges"]}
    assert by_origin == {
        (lake, "extraction", None), (lake, "extraction", "code"), (lake, "extraction", "label"),
        (dataset_urn("app", "app", "labels"), "view_sql", None),
        (dataset_urn("app", "app", "labels"), "view_sql", "label")}
    with catalog_ctx.db.session() as session:  # the run the lake holds is the one the edge names
        state = session.scalars(select(ExtractionState).join(Table).where(Table.urn == codes)).one()
        edge = session.scalars(select(LineageEdge).where(LineageEdge.downstream_urn == lake,
                                                         LineageEdge.upstream_column.is_(None))).one()
        assert (edge.run_id, edge.job_id) == (state.last_run_id, job["id"])

    # the OpenLineage export names the lake copy by the lake's URL and path
    exported = json.loads(api_client.get("/api/v1/lineage", params={
        "urn": lake, "direction": "UPSTREAM", "format": "openlineage"}).text)
    assert exported[0]["outputs"][0]["name"] == "app/app/codes"
    assert exported[0]["outputs"][0]["namespace"] == catalog_ctx.settings.effective_lake_url
    assert exported[0]["inputs"] == [{"namespace": source["lineage"]["namespace"],
                                      "name": source["lineage"]["name_prefix"] + "app.codes"}]
