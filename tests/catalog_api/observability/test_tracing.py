"""Traces (catalog_api/observability/tracing.py): a crawl asked for over REST is one trace, from the request's span
through the job's to the source's queries; a profile has a span per stage; without an exporter configured nothing
is installed; and the two exporters really send what they are given.

The spans are read with the SDK's own `InMemorySpanExporter`; PostgreSQL (the source crawled and profiled) is real.
The OTLP exporter posts to a real HTTP server of the test's; Azure Monitor cannot exist here, so its exporter, built
from a connection string as in production, sends to the same kind of local server named as the connection
string's ingestion endpoint: only the network edge is replaced. Those tests need the `otel` extra (the SDK and
exporters); without it, the test that runs instead checks that an exporter's variable leaves tracing off and says why.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from catalog_api.observability import tracing
from catalog_api.observability.context import parse_traceparent
from tests.support.api import register
from tests.support.jobs import rest_job
from tests.support.logs import json_lines, process_logging
from tests.support.postgres import pg_query

try:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind
except ImportError:  # an environment installed without the otel extra (the test extra brings it)
    HAVE_SDK = False
else:
    HAVE_SDK = True
needs_sdk = pytest.mark.skipif(not HAVE_SDK and os.environ.get("CI") != "true",
                               reason="the otel extra (OpenTelemetry SDK and exporters) is not installed")

pytestmark = pytest.mark.postgres

SHOP = """
create schema shop;
create table shop.customers (id bigint primary key, email text, signed_up date not null);
create table shop.orders (id bigint primary key, customer_id bigint not null references shop.customers (id),
                          total numeric(10, 2));
create view shop.big_orders as select * from shop.orders where total > 100;
insert into shop.customers select g, 'user' || g || '@example.com', date '2026-01-01' + g from generate_series(1, 60) g;
insert into shop.orders select g, 1 + g % 60, g * 1.5 from generate_series(1, 300) g;
"""

if HAVE_SDK:
    _EXPORTER = InMemorySpanExporter()
    _PROVIDER = TracerProvider()
    _PROVIDER.add_span_processor(SimpleSpanProcessor(_EXPORTER))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test, every finished span kept in memory (OpenTelemetry allows one provider per process:
    this one is installed once and its record emptied for each test)."""
    tracing.install(_PROVIDER)
    _EXPORTER.clear()
    yield _EXPORTER
    tracing.uninstall()
    _EXPORTER.clear()


def _ids(span: ReadableSpan) -> tuple[str, str]:
    return f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"


def _parent(span: ReadableSpan) -> str | None:
    return f"{span.parent.span_id:016x}" if span.parent else None


def _named(finished: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name == name]


def _succeeded(client, response) -> dict:
    assert response.status_code == 202, response.text
    job = rest_job(client, response.json(), timeout=300)
    assert job["status"] == "succeeded", (job["error_code"], job["error_message"])
    return job


@needs_sdk
def test_a_crawl_asked_for_over_rest_is_one_trace_from_request_to_source_queries(
        spans, api_client, catalog_ctx, make_pg_database, capsys):
    source = register(api_client, make_pg_database(SHOP), name="shop")
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    with process_logging("json"):
        job = _succeeded(api_client, api_client.post(f"/api/v1/sources/{source['id']}/crawl", headers={
            "traceparent": f"00-{caller_trace}-{caller_span}-01"}))
        catalog_ctx.jobs.shutdown()  # the job's thread has ended: its spans are finished and its lines written
        logs = json_lines(capsys.readouterr().err)
    finished = list(spans.get_finished_spans())

    [request] = [s for s in finished if s.name == "POST /api/v1/sources/{source_id}/crawl"]
    assert request.kind is SpanKind.SERVER and _parent(request) == caller_span  # the caller's trace, continued
    assert request.attributes["http.route"] == "/api/v1/sources/{source_id}/crawl"
    assert request.attributes["http.response.status_code"] == 202
    [job_span] = _named(finished, "crawl job")
    assert job_span.kind is SpanKind.CONSUMER and _parent(job_span) == _ids(request)[1]
    assert job_span.attributes["catalog.job.id"] == job["id"]
    assert job_span.attributes["catalog.job.status"] == "succeeded"
    [discover] = _named(finished, "discover")
    assert _parent(discover) == _ids(job_span)[1] and discover.attributes["catalog.source.kind"] == "postgres"
    queries = _named(finished, "source query")
    assert queries and {_parent(q) for q in queries} == {_ids(discover)[1]}
    assert all(q.kind is SpanKind.CLIENT for q in queries)
    assert any("pg_catalog" in q.attributes.get("db.query.text", "") for q in queries)
    # One trace, the caller's: request, job and every source query in it.
    assert {_ids(s)[0] for s in [request, job_span, discover, *queries]} == {caller_trace}

    # The job row, the job's log lines and its events name the real spans.
    with catalog_ctx.db.engine.connect() as connection:
        stored = connection.execute(text("select traceparent from jobs where id = :id"), {"id": job["id"]}).scalar()
        events = [json.loads(e) for e in connection.execute(text(
            "select event from event_outbox where event like '%catalog.table.created%'")).scalars()]
    assert parse_traceparent(stored)[:2] == _ids(request)
    assert events and {parse_traceparent(e["traceparent"])[:2] for e in events} == {_ids(job_span)}
    of_job = [r for r in logs if r.get("job_id") == job["id"]]
    assert of_job and {(r["trace_id"], r["span_id"]) for r in of_job} == {_ids(job_span)}


@needs_sdk
def test_an_extraction_reads_each_table_in_a_span_of_its_job(spans, api_client, catalog_ctx, make_pg_database):
    config = make_pg_database(SHOP)
    source = register(api_client, config, name="shop")
    _succeeded(api_client, api_client.post(f"/api/v1/sources/{source['id']}/crawl"))
    _EXPORTER.clear()
    _succeeded(api_client, api_client.post(f"/api/v1/sources/{source['id']}/extract"))
    catalog_ctx.jobs.shutdown()
    finished = list(spans.get_finished_spans())

    [job_span] = _named(finished, "extract job")
    reads = {s.attributes["db.collection.name"]: s for s in _named(finished, "read increment")}
    assert {"shop.customers", "shop.orders"} <= reads.keys()
    assert {_parent(s) for s in reads.values()} == {_ids(job_span)[1]}
    assert all(s.kind is SpanKind.CLIENT for s in reads.values())
    counted = {table: pg_query(config, f"select count(*) from shop.{table}")[0][0] for table in ("customers", "orders")}
    assert {t: reads[f"shop.{t}"].attributes["catalog.increment.rows"] for t in counted} == counted


@needs_sdk
def test_a_profile_has_a_span_per_stage_under_its_job(spans, api_client, catalog_ctx, make_pg_database):
    source = register(api_client, make_pg_database(SHOP), name="shop")
    _succeeded(api_client, api_client.post(f"/api/v1/sources/{source['id']}/crawl"))
    _EXPORTER.clear()
    job = _succeeded(api_client, api_client.post(f"/api/v1/sources/{source['id']}/profile"))
    catalog_ctx.jobs.shutdown()
    finished = list(spans.get_finished_spans())

    [job_span] = _named(finished, "profile job")
    tables = _named(finished, "profile table")
    profiled = {t["urn"].rsplit("/", 1)[-1] for t in job["result"]["tables"]}
    assert len(tables) == len(profiled) >= 2  # customers and orders at least (the view, too, if profiled)
    assert {_parent(t) for t in tables} == {_ids(job_span)[1]}
    for table in tables:
        stages = {s.name for s in finished if _parent(s) == _ids(table)[1]}
        expected = {"read", "statistics pass", "values pass", "keys", "stage report sample", "store"}
        assert stages == expected, table.attributes
    [store] = [s for s in finished if s.name == "store" and _parent(s) == _ids(tables[0])[1]]
    assert [s.name for s in finished if _parent(s) == _ids(store)[1]] == ["anomalies"]
    [foreign_keys] = _named(finished, "foreign keys")
    assert _parent(foreign_keys) == _ids(job_span)[1]
    rows = {s.attributes["db.collection.name"]: s for s in tables}
    [customers_pass] = [s for s in finished if s.name == "statistics pass"
                        and _parent(s) == _ids(rows["shop.customers"])[1]]
    assert customers_pass.attributes["catalog.profile.rows"] == 60  # as inserted above


def _configure_in_a_fresh_process(tmp_path, *, without_sdk: bool = False, **env: str) -> subprocess.CompletedProcess:
    """`configure_tracing` as `catalog serve` calls it at start-up, in a process of its own with only `env` set;
    prints what it returned, whether tracing is on, and whether the SDK was imported. `without_sdk`: the process
    cannot import the SDK (a None in sys.modules fails its import), as in an installation without the otel extra."""
    hide = "sys.modules['opentelemetry.sdk'] = None;" if without_sdk else ""
    probe = (f"import logging, sys; {hide} logging.basicConfig(level=logging.INFO);"
             "from catalog_api.observability.tracing import configure_tracing, tracing_on;"
             "print(configure_tracing('catalog-api'), tracing_on(), sys.modules.get('opentelemetry.sdk') is not None)")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path), "HOME": str(tmp_path), **env}
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)


def test_without_an_exporter_configured_nothing_is_installed_or_imported(tmp_path):
    assert tracing.exporters_from_env({}) == []
    assert _configure_in_a_fresh_process(tmp_path).stdout.split() == ["False", "False", "False"]
    assert _configure_in_a_fresh_process(tmp_path, OTEL_SDK_DISABLED="true", OTEL_EXPORTER_OTLP_ENDPOINT=(
        "http://127.0.0.1:4318")).stdout.split() == ["False", "False", "False"]


def test_an_exporter_configured_without_the_otel_extra_leaves_tracing_off_and_says_why(tmp_path):
    done = _configure_in_a_fresh_process(tmp_path, without_sdk=True, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")
    assert done.stdout.split() == ["False", "False", "False"]
    assert "OTEL_EXPORTER_OTLP_ENDPOINT is set but" in done.stderr and "install catalog[otel]" in done.stderr


class _Collector(ThreadingHTTPServer):
    """A local HTTP server that keeps every POST it receives (path, headers, body) and answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                collector.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = b'{"itemsReceived": 1, "itemsAccepted": 1, "errors": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def collector() -> Iterator[_Collector]:
    server = _Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _one_span(provider: TracerProvider, name: str) -> None:
    with provider.get_tracer("test").start_as_current_span(name, attributes={"catalog.job.kind": "crawl"}):
        pass
    assert provider.force_flush(10_000)
    provider.shutdown()


@needs_sdk
def test_the_otlp_exporter_posts_protobuf_spans_to_the_configured_endpoint(collector, monkeypatch):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
    [exporter] = tracing.exporters_from_env()
    _one_span(tracing.build_provider("catalog-worker", [exporter]), "crawl job")

    [(path, headers, body)] = collector.received
    assert path == "/v1/traces" and headers["content-type"] == "application/x-protobuf"
    sent = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = sent.resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "catalog-worker" and resource["service.version"]
    assert [s.name for scope in resource_spans.scope_spans for s in scope.spans] == ["crawl job"]


@needs_sdk
def test_the_azure_monitor_exporter_sends_spans_to_the_connection_strings_endpoint(collector, monkeypatch, tmp_path):
    # No statsbeat (the exporter's own usage metrics, sent to Microsoft) and no retry folder: only the spans.
    monkeypatch.setenv("APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL", "true")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    key = "00000000-0000-0000-0000-0000000000ab"
    monkeypatch.setenv(tracing.AZURE_MONITOR_ENV, f"InstrumentationKey={key};IngestionEndpoint={collector.url}/")
    [exporter] = tracing.exporters_from_env()
    assert type(exporter).__name__ == "AzureMonitorTraceExporter"
    _one_span(tracing.build_provider("catalog-api", [exporter]), "GET /api/v1/jobs/{job_id}")

    tracks = [(path, body) for path, _, body in collector.received if path.endswith("/track")]
    assert tracks, [path for path, _, _ in collector.received]
    raw = tracks[0][1]
    items = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    [item] = [i for i in items if i["data"]["baseType"] in ("RequestData", "RemoteDependencyData")]
    assert item["iKey"] == key
    assert item["data"]["baseData"]["name"] == "GET /api/v1/jobs/{job_id}"
    assert item["tags"]["ai.cloud.role"] == "catalog-api"
