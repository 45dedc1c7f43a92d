"""Profiles through REST: queue profile jobs, read statistics (checked against PostgreSQL's own aggregates),
history, column history, the HTML report, anomalies and per-table thresholds; and how bad requests are refused."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from catalog_api.urns import column_urn, dataset_urn
from tests.support.api import register
from tests.support.jobs import rest_job, rest_reports_rendered
from tests.support.postgres import pg_execute, pg_query

pytestmark = pytest.mark.postgres

SHOP = """
create schema shop;
create table shop.customers (
    id bigint primary key, email text, name text not null, signed_up timestamptz not null
);
create table shop."odd:name/with%chars" (x int, label text);
insert into shop.customers
    select g, case when g % 5 = 0 then null else 'user' || g || '@example.com' end, 'Customer ' || g,
           timestamptz '2026-01-01' + g * interval '1 hour'
    from generate_series(1, 400) g;
insert into shop."odd:name/with%chars" select g, 'label ' || (g % 3) from generate_series(1, 25) g;
insert into shop."odd:name/with%chars" select g % 4, 'label ' || (g % 4 % 3) from generate_series(1, 9) g;
"""

CUSTOMERS = dataset_urn("shop", "shop", "customers")
ODD = dataset_urn("shop", "shop", "odd:name/with%chars")
EMAIL = column_urn("shop", "shop", "customers", "email")


def _path(kind: str, urn: str, rest: str = "") -> str:
    return f"/api/v1/{kind}/{quote(urn, safe='')}{rest}"


def _queued(response) -> dict:
    assert response.status_code == 202, response.text
    return response.json()


def _succeeded(client, response) -> dict:
    job = rest_job(client, _queued(response), timeout=300)
    assert job["status"] == "succeeded", (job["error_code"], job["error_message"])
    return job


@pytest.fixture
def shop(api_client, make_pg_database) -> tuple[dict, dict]:
    """The shop database registered and crawled through REST."""
    config = make_pg_database(SHOP)
    source = register(api_client, config, name="shop")
    _succeeded(api_client, api_client.post(f"/api/v1/sources/{source['id']}/crawl"))
    return source, config


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_profiles_history_report_and_anomalies_through_rest(api_client, shop, spark):
    source, config = shop
    job = _succeeded(api_client, api_client.post(f"/api/v1/sources/{source['id']}/profile",
                                                 json={"tables": [CUSTOMERS, ODD]}))
    assert job["kind"] == "profile" and job["progress_done"] == job["progress_total"] == 2
    assert {t["urn"] for t in job["result"]["tables"]} == {CUSTOMERS, ODD}
    rest_reports_rendered(api_client, job)

    profile = api_client.get(_path("tables", CUSTOMERS, "/profile")).json()
    (expected,) = pg_query(config, """
        select count(*), count(email), min(email), max(email), min(id), max(id), min(signed_up), max(signed_up)
        from shop.customers""")
    rows, emails, first_email, last_email, low_id, high_id, first_signup, last_signup = expected
    assert (profile["table_urn"], profile["row_count"], profile["column_count"]) == (CUSTOMERS, rows, 4)
    stats = {c["name"]: c["stats"] for c in profile["columns"]}
    assert [c["name"] for c in profile["columns"]] == ["id", "email", "name", "signed_up"]
    assert profile["columns"][1]["column_urn"] == EMAIL
    assert (stats["email"]["count"], stats["email"]["null_count"]) == (emails, rows - emails)
    assert (stats["email"]["min"], stats["email"]["max"]) == (first_email, last_email)
    assert (stats["id"]["count"], stats["id"]["null_count"]) == (rows, 0)
    assert (int(stats["id"]["min"]), int(stats["id"]["max"])) == (low_id, high_id)
    assert (stats["signed_up"]["min"], stats["signed_up"]["max"]) == (first_signup.isoformat(),
                                                                        last_signup.isoformat())
    assert profile["anomalies"] == [] and profile["anomaly_count"] == 0

    # The stored report is reachable from the profile and from the table's links.
    assert profile["has_report"] is True
    report = api_client.get(profile["report_url"])
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "<html" in report.text.lower() and all(name in report.text for name in stats)
    links = api_client.get(_path("tables", CUSTOMERS)).json()["links"]
    assert links["profile"] == _path("tables", CUSTOMERS, "/profile")
    assert api_client.get(links["report"]).text == report.text

    # A URN holding ':', '/' and '%' routes to its own table.
    (odd_rows,) = pg_query(config, 'select count(*), count(distinct label) from shop."odd:name/with%chars"')
    odd = api_client.get(_path("tables", ODD, "/profile"))
    assert odd.status_code == 200, odd.text
    odd_stats = {c["name"]: c["stats"] for c in odd.json()["columns"]}
    assert (odd.json()["table_urn"], odd.json()["row_count"]) == (ODD, odd_rows[0])
    assert odd_stats["label"]["distinct_count"] == odd_rows[1]
    # Its duplicate rows, counted: the figure says it is exact, so its bounds are the figure itself.
    (odd_duplicates,) = pg_query(config, 'select count(*) - (select count(*) from (select distinct * from '
                                         'shop."odd:name/with%chars") d) from shop."odd:name/with%chars"')
    assert odd_duplicates[0] > 0
    assert odd.json()["duplicate_rows"] == {"value": odd_duplicates[0], "exact": True, "low": odd_duplicates[0],
                                            "high": odd_duplicates[0], "method": "counted", "confidence": None}
    assert odd.json()["duplicate_rows_estimate"] == odd_duplicates[0]
    assert len(api_client.get(_path("tables", ODD, "/profiles")).json()) == 1

    # A second profile of the table alone adds to its history; then most rows go and the third finds it.
    second = _succeeded(api_client, api_client.post(_path("tables", CUSTOMERS, "/profile")))
    assert [t["urn"] for t in second["result"]["tables"]] == [CUSTOMERS]
    assert [p["row_count"] for p in api_client.get(_path("tables", CUSTOMERS, "/profiles")).json()] == [400, 400]
    pg_execute(config, "delete from shop.customers where id > 100")
    third = _succeeded(api_client, api_client.post(_path("tables", CUSTOMERS, "/profile")))

    history = api_client.get(_path("tables", CUSTOMERS, "/profiles")).json()
    assert [p["row_count"] for p in history] == [100, 400, 400]
    assert [p["job_id"] for p in history] == [third["id"], second["id"], job["id"]]
    assert "columns" not in history[0] and history[0]["anomaly_count"] >= 1
    newest_two = api_client.get(_path("tables", CUSTOMERS, "/profiles"), params={"limit": 2}).json()
    assert [p["id"] for p in newest_two] == [p["id"] for p in history[:2]]

    (now_emails,) = pg_query(config, "select count(email), count(*) - count(email) from shop.customers")
    column_history = api_client.get(_path("columns", EMAIL, "/profiles")).json()
    assert [(c["stats"]["count"], c["stats"]["null_count"]) for c in column_history] == [
        tuple(now_emails), (emails, rows - emails), (emails, rows - emails)]
    assert [c["profile_id"] for c in column_history] == [p["id"] for p in history]

    anomalies = api_client.get("/api/v1/anomalies", params={"table": CUSTOMERS}).json()
    volume = next(a for a in anomalies if a["kind"] == "volume")
    assert (volume["observed"], volume["expected"], volume["subject_urn"]) == (100, 400, CUSTOMERS)
    assert volume["profile_id"] == history[0]["id"]
    by_source = api_client.get("/api/v1/anomalies", params={"source": "shop"}).json()
    assert [a["id"] for a in by_source] == [a["id"] for a in anomalies]  # the odd table has none
    severe = api_client.get("/api/v1/anomalies", params={"severity": volume["severity"]}).json()
    assert volume["id"] in [a["id"] for a in severe]

    latest = api_client.get(_path("tables", CUSTOMERS, "/profile")).json()
    assert latest["id"] == history[0]["id"] and {a["id"] for a in latest["anomalies"]} == {a["id"] for a in anomalies}
    assert api_client.get(f"/api/v1/profiles/{history[-1]['id']}").json()["row_count"] == 400
    older = api_client.get(_path("tables", CUSTOMERS, "/profile/report"), params={"profile_id": history[-1]["id"]})
    assert older.status_code == 200 and older.text == report.text


def test_unprofiled_tables_and_bad_requests_are_refused_with_the_reason(api_client, shop):
    source, _ = shop
    missing = _error(api_client.get(_path("tables", CUSTOMERS, "/profile")), 404)
    assert "not been profiled" in missing["message"] and CUSTOMERS in missing["message"]
    assert "profile" in _error(api_client.get(_path("tables", CUSTOMERS, "/profile/report")), 404)["message"]
    assert api_client.get(_path("tables", CUSTOMERS, "/profiles")).json() == []
    assert api_client.get(_path("columns", EMAIL, "/profiles")).json() == []
    assert _error(api_client.get("/api/v1/profiles/999"), 404)["code"] == "not_found"
    assert _error(api_client.get(_path("tables", "urn:catalog:dataset:shop:shop:nope", "/profile")), 404)
    assert _error(api_client.get("/api/v1/anomalies", params={"severity": "bad"}), 422)["field"] == "severity"
    assert _error(api_client.get(_path("tables", CUSTOMERS, "/profiles"), params={"limit": 0}), 422)["field"] == \
        "limit"

    defaults = api_client.get(_path("tables", CUSTOMERS, "/anomaly-thresholds")).json()
    assert defaults["urn"] == CUSTOMERS and defaults["thresholds"]["volume_change"] > 0
    bad = _error(api_client.put(_path("tables", CUSTOMERS, "/anomaly-thresholds"),
                                json={"thresholds": {"volume_change": -1}}), 422)
    assert bad["field"] == "thresholds.volume_change"
    assert "volume" in _error(api_client.put(_path("tables", CUSTOMERS, "/anomaly-thresholds"),
                                             json={"thresholds": {"volume": 0.5}}), 422)["message"]
    assert api_client.get(_path("tables", CUSTOMERS, "/anomaly-thresholds")).json() == defaults
    changed = api_client.put(_path("tables", CUSTOMERS, "/anomaly-thresholds"),
                             json={"thresholds": {"volume_change": 0.9}}).json()
    assert changed["thresholds"] == {**defaults["thresholds"], "volume_change": 0.9}
    assert api_client.get(_path("tables", CUSTOMERS, "/anomaly-thresholds")).json() == changed
    reset = api_client.put(_path("tables", CUSTOMERS, "/anomaly-thresholds"), json={"thresholds": None}).json()
    assert reset == defaults

    # A table of another source, or an unknown one, is refused before anything is queued.
    foreign = "urn:catalog:dataset:other:shop:customers"
    refused = _error(api_client.post(f"/api/v1/sources/{source['id']}/profile", json={"tables": [foreign]}), 404)
    assert refused["field"] == "tables.0"
    assert _error(api_client.post("/api/v1/sources/999/profile"), 404)["code"] == "not_found"
    assert [j["kind"] for j in api_client.get("/api/v1/jobs").json()] == ["crawl"]


def test_the_report_runs_sandboxed_and_fetches_nothing(catalog_ctx, tmp_path, monkeypatch):
    """ydata-profiling writes some sampled values into the report unescaped: a value holding a script runs, but in
    an opaque origin (not the API's), and the policy refuses its requests."""
    import pandas as pd

    from catalog_api.app import create_app
    from catalog_api.services import profiling
    from profiler.report import render_report
    from tests.support.browser import open_page
    from tests.support.server import serve

    payload = ("<script>document.title = 'origin:' + window.origin; fetch('/api/v1/sources')"
               ".then(() => { document.title += ' read' })</script>")
    html = render_report(pd.DataFrame({"id": range(20), "note": [payload] * 20}), "shop.customers")
    assert payload in html  # the premise: the value reaches the page as markup
    monkeypatch.setattr(profiling, "profile_report", lambda *_args, **_kwargs: html)
    with serve(create_app(ctx=catalog_ctx)) as url:
        report_url = url + _path("tables", CUSTOMERS, "/profile/report")
        policy = httpx.get(report_url).headers["content-security-policy"]
        page = open_page(report_url, tmp_path / "profile")
    assert "sandbox allow-scripts allow-popups" in policy and "allow-same-origin" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "<title>origin:null</title>" in page.dom  # the script ran, in an origin of its own
    assert page.blocked and all("/api/v1/sources" in line for line in page.blocked), page.blocked
