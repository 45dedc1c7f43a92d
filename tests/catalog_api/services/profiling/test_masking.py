"""PII masking of profiles, through the running application: a viewer gets the values of columns tagged `pii.*`
withheld (min/max, aggregates, top values, anomaly figures, the HTML report) in REST and GraphQL alike, with counts
and null rates intact; a viewer with `pii:read` gets them; the tag decides when the profile is read; and no event
of a profile carries a PII value. The expected figures are SQLite's own aggregates over the profiled file."""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from catalog_api.services import api_keys, profiling, sources
from catalog_api.services.curation import set_tags
from catalog_api.urns import column_urn, dataset_urn
from tests.support.events import outbox
from tests.support.graphql import data
from tests.support.jobs import crawled, finished, reports_rendered
from tests.support.sqlite import build_database, oracle

PEOPLE = """
CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, name TEXT NOT NULL, salary REAL NOT NULL, city TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
INSERT INTO people
    SELECT i, CASE WHEN i % 6 = 0 THEN NULL ELSE 'person' || i || '@mail.test' END, 'Name ' || i,
           30000 + 250 * i, CASE i % 3 WHEN 0 THEN 'Oslo' WHEN 1 THEN 'Lima' ELSE 'Pune' END
    FROM n;
"""

TABLE = dataset_urn("people", "main", "people")
EMAIL, NAME, SALARY, CITY = (column_urn("people", "main", "people", c) for c in ("email", "name", "salary", "city"))

COLUMN_FIELDS = "name count nullCount nullRate min max mean stddev quantiles { name value } histogram { edges } " \
                "topValues { value count } patterns { pattern count } tags masked stats"
TABLE_PROFILE = f"""
query($urn: String!) {{
  table(urn: $urn) {{
    profile {{ columns {{ {COLUMN_FIELDS} }} anomalies {{ column kind observed expected message masked }} }}
    columns(first: 10) {{ edges {{ node {{ name profile {{ {COLUMN_FIELDS} }} }} }} }}
  }}
}}
"""


class People:
    """The profiled `people` file, the application over the catalog, and SQLite as the oracle."""

    def __init__(self, ctx, path: Path, source_id: int) -> None:
        self.ctx, self.path, self.source_id = ctx, path, source_id
        # The same catalog served with authentication required: each client sends its own API key.
        app = create_app(ctx=dataclasses.replace(ctx, settings=ctx.settings.model_copy(update={"auth": "required"})))
        viewer, reader = (api_keys.create_key(ctx, name, roles).secret
                          for name, roles in (("viewer", ["viewer"]), ("pii reader", ["viewer", "pii:read"])))
        self.viewer = TestClient(app, headers={"Authorization": f"Bearer {viewer}"})
        self.reader = TestClient(app, headers={"Authorization": f"Bearer {reader}"})

    def profile(self) -> None:
        job = finished(self.ctx, profiling.request_profile(self.ctx, self.source_id))
        assert job.status == "succeeded", (job.error_code, job.error_message)
        reports_rendered(self.ctx, job)

    def one(self, sql: str) -> tuple:
        (row,) = oracle(self.path, sql)
        return row

    def values(self, column: str) -> list:
        return [v for (v,) in oracle(self.path, f"SELECT {column} FROM people WHERE {column} IS NOT NULL")]


@pytest.fixture
def people(catalog_ctx, tmp_path, spark) -> People:
    path = build_database(tmp_path / "people.db", PEOPLE)
    source = sources.register_source(catalog_ctx, sources.SourceRegistration(name="people", kind="sqlite",
                                                                             config={"path": str(path)}))
    crawled(catalog_ctx, source.id)
    found = People(catalog_ctx, path, source.id)
    found.profile()
    return found


def rest_columns(client: TestClient) -> dict[str, dict]:
    response = client.get(f"/api/v1/tables/{quote(TABLE, safe='')}/profile")
    assert response.status_code == 200, response.text
    return {c["name"]: c for c in response.json()["columns"]}


def graphql_columns(client: TestClient) -> tuple[dict[str, dict], dict[str, dict], list[dict]]:
    """The newest profile's columns as `Table.profile` and as `Column.profile` show them, and its anomalies."""
    table = data(client, TABLE_PROFILE, urn=TABLE)["table"]
    by_table = {c["name"]: c for c in table["profile"]["columns"]}
    by_column = {e["node"]["name"]: e["node"]["profile"] for e in table["columns"]["edges"]}
    return by_table, by_column, table["profile"]["anomalies"]


def report(client: TestClient, profile_id: int | None = None):
    params = {"profile_id": profile_id} if profile_id else {}
    return client.get(f"/api/v1/tables/{quote(TABLE, safe='')}/profile/report", params=params)


def test_a_viewer_gets_the_values_of_a_pii_column_withheld_and_its_counts_intact(people):
    emails, nulls = people.one("SELECT count(email), count(*) - count(email) FROM people")
    every_email = people.values("email")
    response = people.viewer.get(f"/api/v1/tables/{quote(TABLE, safe='')}/profile")
    assert not [e for e in every_email if e in response.text]

    rest = rest_columns(people.viewer)["email"]
    assert "pii.email" in rest["stats"]["tags"]  # the profile itself found the column to be PII
    assert (rest["stats"]["count"], rest["stats"]["null_count"]) == (emails, nulls)
    assert (rest["stats"]["min"], rest["stats"]["max"]) == (None, None)
    assert rest["masked"] == ["min", "max", "top_values"]
    assert rest["stats"]["top_values"] and {t["value"] for t in rest["stats"]["top_values"]} == {None}
    assert all(t["count"] == 1 for t in rest["stats"]["top_values"])  # every email occurs once
    assert [p["pattern"] for p in rest["stats"]["patterns"]] == ["a9@a.a"]

    for gql in graphql_columns(people.viewer)[:2]:
        email = gql["email"]
        assert (email["count"], email["nullCount"]) == (emails, nulls)
        assert email["nullRate"] == pytest.approx(nulls / (emails + nulls))
        assert (email["min"], email["max"], email["stats"]["min"]) == (None, None, None)
        assert {t["value"] for t in email["topValues"]} == {None} and email["masked"] == rest["masked"]
        assert email["patterns"] == [{"pattern": "a9@a.a", "count": emails}]
    history = people.viewer.get(f"/api/v1/columns/{quote(EMAIL, safe='')}/profiles").json()
    assert [(c["stats"]["min"], c["masked"]) for c in history] == [(None, ["min", "max", "top_values"])]

    # Columns that are not PII show everything.
    city = rest_columns(people.viewer)["city"]
    assert (city["stats"]["min"], city["stats"]["max"], city["masked"]) == (*people.one(
        "SELECT min(city), max(city) FROM people"), [])


def test_a_profile_fetched_by_its_global_id_is_masked_as_by_its_number(people):
    fields = "columns { name min max topValues { value } masked }"
    by_node = f"query($id: ID!) {{ node(id: $id) {{ ... on TableProfile {{ {fields} }} }} }}"
    by_number = f"query($id: Int!) {{ profile(id: $id) {{ {fields} }} }}"
    ids = data(people.viewer, "query($urn: String!) { table(urn: $urn) { profile { id databaseId } } }",
               urn=TABLE)["table"]["profile"]
    shown = data(people.viewer, by_node, id=ids["id"])["node"]
    assert shown == data(people.viewer, by_number, id=ids["databaseId"])["profile"]
    email = next(c for c in shown["columns"] if c["name"] == "email")
    assert (email["min"], email["max"], email["masked"]) == (None, None, ["min", "max", "top_values"])
    assert not [e for e in people.values("email") if e in json.dumps(shown)]

    read = next(c for c in data(people.reader, by_node, id=ids["id"])["node"]["columns"] if c["name"] == "email")
    assert (read["min"], read["max"], read["masked"]) == (*people.one("SELECT min(email), max(email) FROM people"), [])


def test_a_viewer_with_pii_read_gets_the_values(people):
    first, last = people.one("SELECT min(email), max(email) FROM people")
    rest = rest_columns(people.reader)["email"]
    assert (rest["stats"]["min"], rest["stats"]["max"], rest["masked"]) == (first, last, [])
    assert {t["value"] for t in rest["stats"]["top_values"]} <= set(people.values("email"))
    for gql in graphql_columns(people.reader)[:2]:
        assert (gql["email"]["min"], gql["email"]["max"], gql["email"]["masked"]) == (first, last, [])


def test_tagging_a_column_pii_masks_its_stored_profiles_at_once_and_untagging_reveals_them(people):
    low, high, mean = people.one("SELECT min(salary), max(salary), avg(salary) FROM people")
    before = rest_columns(people.viewer)["salary"]
    assert (before["stats"]["min"], before["stats"]["max"], before["masked"]) == (low, high, [])
    assert before["stats"]["mean"] == pytest.approx(mean)

    set_tags(people.ctx, SALARY, ["pii.salary"])
    tagged = rest_columns(people.viewer)["salary"]
    assert tagged["masked"] == ["min", "max", "sum", "mean", "stddev", "quantiles", "histogram", "top_values"]
    assert all(tagged["stats"][name] is None for name in tagged["masked"][:-1])
    assert (tagged["stats"]["count"], tagged["stats"]["null_count"]) == (60, 0)
    assert {t["value"] for t in tagged["stats"]["top_values"]} == {None}
    gql = graphql_columns(people.viewer)[0]["salary"]
    assert (gql["min"], gql["mean"], gql["stddev"], gql["quantiles"], gql["histogram"]) == (None,) * 5
    assert (gql["count"], gql["nullCount"]) == (60, 0)
    assert rest_columns(people.reader)["salary"]["stats"]["max"] == high

    set_tags(people.ctx, SALARY, [])
    assert rest_columns(people.viewer)["salary"]["stats"]["max"] == high
    set_tags(people.ctx, EMAIL, [])  # even the tag the profiler added: a curator may decide it is not PII
    assert rest_columns(people.viewer)["email"]["stats"]["min"] == people.one("SELECT min(email) FROM people")[0]


def test_the_html_report_holds_no_pii_value_and_is_withheld_once_it_would_show_one(people):
    shown = report(people.viewer)
    assert shown.status_code == 200 and "email" in shown.text
    assert not [e for e in people.values("email") if e in shown.text]
    assert "Values of email are masked as ***." in shown.text
    assert "Name 1" in shown.text  # the sample's other columns are there

    # Tagged after the report was rendered: its names are in the stored report, which a viewer no longer gets.
    set_tags(people.ctx, NAME, ["pii.name"])
    refused = report(people.viewer)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "pii_withheld" and "name" in refused.json()["error"]["message"]
    assert report(people.reader).text == shown.text

    people.profile()  # a new report masks the newly tagged column
    renewed = report(people.viewer)
    assert renewed.status_code == 200, renewed.text
    assert not [v for v in people.values("email") + people.values("name") if v in renewed.text]
    older = people.viewer.get(f"/api/v1/tables/{quote(TABLE, safe='')}/profiles").json()[-1]
    assert report(people.viewer, older["id"]).status_code == 403  # the first run's report still shows names


def test_anomalies_of_a_pii_column_are_masked_for_a_viewer_and_in_every_event(people):
    set_tags(people.ctx, SALARY, ["pii.salary"])
    oracle_before = set(people.values("salary"))
    with sqlite3.connect(people.path) as conn:
        conn.execute("UPDATE people SET salary = salary * 10")
    people.profile()
    low, high, mean = people.one("SELECT min(salary), max(salary), avg(salary) FROM people")

    quoting = {"mean_shift", "min_shift", "max_shift"}
    read = {a["kind"]: a for a in people.reader.get("/api/v1/anomalies", params={"table": TABLE}).json()
            if a["column"] == "salary"}
    assert quoting <= set(read)
    assert (read["min_shift"]["observed"], read["max_shift"]["observed"]) == (low, high)
    assert read["mean_shift"]["observed"] == pytest.approx(mean)

    seen = [a for a in people.viewer.get("/api/v1/anomalies", params={"table": TABLE}).json()
            if a["column"] == "salary" and a["kind"] in quoting]
    assert len(seen) == len(quoting)
    for anomaly in seen:
        assert (anomaly["observed"], anomaly["expected"], anomaly["expected_min"], anomaly["expected_max"]) == \
            (None,) * 4
        assert "withheld" in anomaly["message"] and "observed" in anomaly["masked"]
    gql = [a for a in graphql_columns(people.viewer)[2] if a["column"] == "salary" and a["kind"] in quoting]
    assert {(a["observed"], a["expected"]) for a in gql} == {(None, None)} and len(gql) == len(quoting)

    events = [json.loads(row.event) for row in outbox(people.ctx)]
    detected = [e["data"] for e in events if e["type"] == "catalog.anomaly.detected" and e["data"]["column"] == "salary"]
    assert {d["metric"] for d in detected} >= quoting
    assert all(d["observed"] is None and d["expected_min"] is None and "withheld" in d["message"]
               for d in detected if d["metric"] in quoting)
    salaries = oracle_before | set(people.values("salary")) | {low, high, mean}
    assert not [e for e in events if _numbers(e["data"]) & salaries]
    text = json.dumps(events)
    assert not [v for v in people.values("email") if v in text]
    # A salary quoted in a string (a message) as a number of its own, not digits inside a timestamp or an id.
    assert not [s for s in salaries if re.search(rf"(?<![\w.]){s:g}(?!\w)", text)]


def _numbers(value) -> set[float]:
    """Every number anywhere in a JSON value."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, (int, float)):
        return {value}
    if isinstance(value, dict):
        return set().union(*map(_numbers, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(_numbers, value)) if value else set()
    return set()
