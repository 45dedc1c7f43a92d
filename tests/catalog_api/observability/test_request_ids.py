"""A request's id follows the work it starts: the crawl job it creates keeps it, the job's log lines carry it while
the job runs, and the events the request and the job record carry it as CloudEvents extensions (`requestid`, and
`traceparent` in the request's trace). The catalog database, read with SQL, is the oracle for jobs and events; the
log is read as a collector would (every line must be JSON)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import text

from catalog_api.observability.context import job_context, parse_traceparent, request_context, working_on
from tests.support.jobs import rest_job
from tests.support.logs import json_lines, process_logging
from tests.support.sources import sqlite_shop

CRAWL_REQUEST = "crawl-7f3a.1:batch/2"
TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
NEW_ID = re.compile(r"[0-9a-f]{32}")


def stored_events(ctx) -> list[dict]:
    with ctx.db.engine.connect() as connection:
        rows = connection.execute(text("select event from event_outbox order by id")).scalars()
        return [json.loads(event) for event in rows]


def stored_job(ctx, job_id: str) -> tuple[str | None, str | None]:
    with ctx.db.engine.connect() as connection:
        return connection.execute(text("select request_id, traceparent from jobs where id = :id"),
                                  {"id": job_id}).one()


def test_a_crawl_request_id_reaches_its_job_the_job_log_lines_and_its_events(api_client, catalog_ctx, tmp_path,
                                                                             capsys):
    with process_logging("json"):
        registered = api_client.post("/api/v1/sources", json={
            "name": "shop", "kind": "sqlite", "config": {"path": sqlite_shop(tmp_path / "shop.db")}})
        assert registered.status_code == 201, registered.text
        crawl = api_client.post(f"/api/v1/sources/{registered.json()['id']}/crawl",
                                headers={"X-Request-ID": CRAWL_REQUEST})
        assert crawl.headers["x-request-id"] == CRAWL_REQUEST
        job = rest_job(api_client, crawl.json())
        assert job["status"] == "succeeded", job
        catalog_ctx.jobs.shutdown()  # the job's threads have ended: all they logged is written
        logs = json_lines(capsys.readouterr().err)

    request_id, traceparent = stored_job(catalog_ctx, job["id"])
    assert request_id == CRAWL_REQUEST and TRACEPARENT.fullmatch(traceparent)
    assert job["request_id"] == CRAWL_REQUEST  # what REST shows is the record's
    shown = api_client.post("/graphql", json={"query": "query($id: String!) { job(id: $id) { requestId } }",
                                              "variables": {"id": job["id"]}}).json()
    assert shown == {"data": {"job": {"requestId": CRAWL_REQUEST}}}
    request_trace = parse_traceparent(traceparent)[0]

    events = stored_events(catalog_ctx)
    registration, *crawled = events
    assert registration["type"] == "catalog.source.registered"
    assert registration["requestid"] == registered.headers["x-request-id"]
    assert {e["type"] for e in crawled} >= {"catalog.table.created", "catalog.view.created", "catalog.job.succeeded"}
    assert {e["requestid"] for e in crawled} == {CRAWL_REQUEST}
    # The claim, before the attempt's span begins, names the request's own context; the attempt's events its span.
    (started,) = [e for e in crawled if e["type"] == "catalog.job.started"]
    assert started["traceparent"] == traceparent
    spans = {parse_traceparent(e["traceparent"]) for e in crawled if e is not started}
    assert {trace for trace, _, _ in spans} == {request_trace}
    assert len(spans) == 1 and spans != {parse_traceparent(traceparent)}  # the job's own span, under the request

    queued = [r for r in logs if r.get("message", "").endswith(f"job {job['id']} queued (manual)")]
    assert [(r["request_id"], r.get("job_id")) for r in queued] == [(CRAWL_REQUEST, None)]
    of_job = [r for r in logs if r.get("job_id") == job["id"]]
    assert [r["message"] for r in of_job] == ["crawl job started (attempt 1)", of_job[-1]["message"]]
    assert of_job[-1]["message"].startswith("crawl job succeeded after ")
    assert {(r["request_id"], r["trace_id"]) for r in of_job} == {(CRAWL_REQUEST, request_trace)}
    assert {r["span_id"] for r in of_job} == {spans.pop()[1]}


@pytest.mark.parametrize("sent", ["has space", "a" * 129, 'quo"te', "semi;colon", "-leading-dash", ""])
def test_an_unsafe_request_id_is_replaced_by_a_new_one_everywhere(api_client, catalog_ctx, tmp_path, sent):
    response = api_client.post("/api/v1/sources", headers={"X-Request-ID": sent}, json={
        "name": "shop", "kind": "sqlite", "config": {"path": sqlite_shop(tmp_path / "shop.db")}})
    assert response.status_code == 201, response.text
    answered = response.headers["x-request-id"]
    assert NEW_ID.fullmatch(answered), answered
    with catalog_ctx.db.engine.connect() as connection:
        audited = connection.execute(text("select request_id from audit_log")).scalars().all()
    assert audited == [answered]
    assert [e["requestid"] for e in stored_events(catalog_ctx)] == [answered]


@pytest.mark.parametrize("sent", ["Root=1-67891233-abcdef012345678912345678", "9b2f4c1e-0d3a-4e5f-8a7b-6c5d4e3f2a1b",
                                  "x" * 128])
def test_a_safe_request_id_is_kept_and_echoed(api_client, sent):
    assert api_client.get("/healthz", headers={"X-Request-ID": sent}).headers["x-request-id"] == sent


def test_a_callers_traceparent_puts_the_requests_events_in_its_trace(api_client, catalog_ctx, tmp_path):
    trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    response = api_client.post("/api/v1/sources", headers={"traceparent": f"00-{trace}-{caller_span}-01"}, json={
        "name": "shop", "kind": "sqlite", "config": {"path": sqlite_shop(tmp_path / "shop.db")}})
    assert response.status_code == 201, response.text
    [event] = stored_events(catalog_ctx)
    event_trace, event_span, flags = parse_traceparent(event["traceparent"])
    assert (event_trace, flags) == (trace, "01") and event_span != caller_span
    # Without an X-Request-ID the request is known by a new id, which is not the caller's trace id either.
    assert event["requestid"] == response.headers["x-request-id"] != trace


@pytest.mark.parametrize("invalid", ["00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                                     "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "garbage"])
def test_an_invalid_traceparent_starts_a_new_trace(api_client, catalog_ctx, tmp_path, invalid):
    response = api_client.post("/api/v1/sources", headers={"traceparent": invalid}, json={
        "name": "shop", "kind": "sqlite", "config": {"path": sqlite_shop(tmp_path / "shop.db")}})
    assert response.status_code == 201, response.text
    [event] = stored_events(catalog_ctx)
    trace, _, flags = parse_traceparent(event["traceparent"])
    assert trace == response.headers["x-request-id"] and flags == "00"


def test_a_logged_exception_is_one_json_line_with_its_traceback_and_request(capsys):
    with process_logging("json"), working_on(request_context("req-42")):
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            logging.getLogger("catalog_api.test").exception("it failed")
    [record] = json_lines(capsys.readouterr().err)
    assert (record["level"], record["logger"], record["message"], record["request_id"]) == (
        "ERROR", "catalog_api.test", "it failed", "req-42")
    assert record["exception"].startswith("Traceback") and record["exception"].endswith("ValueError: boom\nsecond line")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])


def test_text_lines_name_the_request_and_job_for_a_person(capsys):
    with process_logging("text"), working_on(job_context("job-7", "req-42", None)):
        logging.getLogger("catalog_api.test").info("crawl job started (attempt %s)", 1)
    [line] = capsys.readouterr().err.splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO catalog_api\.test: crawl job started \(attempt 1\) "
                        r"\[request_id=req-42 job_id=job-7\]", line), line
