"""The log of the long-running commands, read as a log collector reads a container's output: `catalog serve` (its
uvicorn lines included) and `catalog worker` (dramatiq's master and worker processes) write one JSON object per
line on stdout and stderr when not on a terminal, and the lines of a crawl's job name the request that started it
and the span its event names as its parent. The job's record and its event, read with SQL, are the oracles."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
from sqlalchemy import create_engine, text

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from tests.support.api import API_HEADERS
from tests.support.cli import catalog_env, stop, wait_until_up
from tests.support.events import free_port
from tests.support.logs import json_lines
from tests.support.server import serve
from tests.support.sources import sqlite_shop
from tests.support.workers import BROKERS, check_broker, drop_namespace, new_namespace

CRAWL_REQUEST = "crawl-from-a-gateway-0001"


def job_row(database_url: str, job_id: str) -> tuple[str, str, str | None]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("select id, status, request_id from jobs where id = :id"),
                                      {"id": job_id}).one()
    finally:
        engine.dispose()


def job_event(database_url: str, job_id: str) -> dict:
    """The `catalog.job.succeeded` event of the job, as the outbox holds it."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            events = [json.loads(e) for e in connection.execute(
                text("select event from event_outbox where type = 'catalog.job.succeeded'")).scalars()]
    finally:
        engine.dispose()
    [event] = [e for e in events if e["data"]["job_id"] == job_id]
    return event


def assert_job_lines_and_event_agree(logs: list[dict], event: dict, job_id: str) -> None:
    """The job's lines carry the request id, and name the span its event names as the change's parent."""
    of_job = [r for r in logs if r.get("job_id") == job_id]
    assert [r["message"] for r in of_job][0] == "crawl job started (attempt 1)"
    assert [r["message"] for r in of_job][-1].startswith("crawl job succeeded after ")
    assert {(r["request_id"], f"00-{r['trace_id']}-{r['span_id']}-00") for r in of_job} == {
        (CRAWL_REQUEST, event["traceparent"])}
    assert event["requestid"] == CRAWL_REQUEST


def request_crawl(base: str, source_path: str) -> str:
    """Registers the SQLite database at `source_path` and requests its crawl with `X-Request-ID: CRAWL_REQUEST`;
    waits for the job to finish and returns its id."""
    with httpx.Client(base_url=base, headers=API_HEADERS, timeout=30) as client:
        source = client.post("/api/v1/sources", json={"name": "shop", "kind": "sqlite",
                                                      "config": {"path": source_path}})
        assert source.status_code == 201, source.text
        crawl = client.post(f"/api/v1/sources/{source.json()['id']}/crawl", headers={"X-Request-ID": CRAWL_REQUEST})
        assert crawl.headers["x-request-id"] == CRAWL_REQUEST, crawl.headers
        job = crawl.json()
        deadline = time.monotonic() + 120
        while job["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
            job = client.get(f"/api/v1/jobs/{job['id']}").json()
        assert job["status"] == "succeeded", job
        return job["id"]


def test_catalog_serve_writes_only_json_lines_that_follow_a_crawl_into_its_job(tmp_path):
    port = free_port()
    env = catalog_env(tmp_path, host="127.0.0.1", port=str(port))  # CATALOG_LOG_FORMAT unset: auto, not a terminal
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen([sys.executable, "-m", "catalog_api.cli", "serve"], env=env, cwd=tmp_path,
                                  stdout=stdout, stderr=stderr, start_new_session=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", server, err)
        job_id = request_crawl(f"http://127.0.0.1:{port}", sqlite_shop(tmp_path / "shop.db"))
        time.sleep(0.5)  # the job's last line is written just after its record ends (the same thread)
    finally:
        stop(server)
    banner, = json_lines(out.read_text())
    base = f"http://127.0.0.1:{port}"
    assert banner["message"] == (f"Catalog at {base}/ui (the web UI), GraphiQL at {base}/graphql, OpenAPI at "
                                 f"{base}/docs, REST under {base}/api/v1")
    logs = json_lines(err.read_text())

    database = f"sqlite:///{tmp_path / 'home' / 'catalog.db'}"
    assert job_row(database, job_id) == (job_id, "succeeded", CRAWL_REQUEST)
    access = [r for r in logs if r["logger"] == "uvicorn.access" and r["http_method"] == "POST"
              and r["http_path"].endswith("/crawl")]
    assert [(r["request_id"], r["http_status"]) for r in access] == [(CRAWL_REQUEST, 202)]
    assert_job_lines_and_event_agree(logs, job_event(database, job_id), job_id)
    assert {"Application startup complete.", "Application shutdown complete."} <= {r["message"] for r in logs}


def test_catalog_worker_writes_only_json_lines_and_its_job_lines_name_the_request(catalog_settings, tmp_path):
    check_broker("redis")
    namespace = new_namespace()
    settings = catalog_settings.model_copy(update={"broker_url": BROKERS["redis"], "broker_namespace": namespace,
                                                   "events_relay_enabled": False})
    ctx = build_context(settings, migrate=True, runner="broker")
    env = catalog_env(tmp_path, database_url=ctx.db.url, broker_url=BROKERS["redis"], broker_namespace=namespace)
    out, err = tmp_path / "worker.out", tmp_path / "worker.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        worker = subprocess.Popen([sys.executable, "-m", "catalog_api.cli", "worker", "--threads", "1"], env=env,
                                  cwd=tmp_path, stdout=stdout, stderr=stderr, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while "Worker process is ready for action" not in err.read_text():
            assert worker.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        with serve(create_app(ctx=ctx)) as base:
            job_id = request_crawl(base, sqlite_shop(tmp_path / "shop.db"))
    finally:
        stop(worker)
        ctx.close()
        drop_namespace(namespace)
    assert worker.returncode == 0, err.read_text()
    assert json_lines(out.read_text()) == []
    logs = json_lines(err.read_text())

    assert job_row(ctx.db.url, job_id) == (job_id, "succeeded", CRAWL_REQUEST)
    assert_job_lines_and_event_agree(logs, job_event(ctx.db.url, job_id), job_id)
    # dramatiq's master process (before it imports the catalog) and its worker process log in the same format.
    assert {"dramatiq.MainProcess", "dramatiq.WorkerProcess(0)"} <= {r["logger"] for r in logs}
